"""Security under hostile input: the domain policy (every way out of the allowed hosts),
secrets the model never sees, prompt injection, the serializer's isolation, and limits.

`localhost` stands in for a foreign host: it reaches the same fixture server as
127.0.0.1, so a request that slipped past the policy would show up in `site.requests`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import pytest
from policy_support import Recorder, ipv6_loopback, serving

from browser_agent import Agent, Browser, Budget, Page
from browser_agent.browser import host_allowed, needs_router, proxy_bypass, resolver_rules
from browser_agent.exceptions import NavigationError, PolicyBlockedError, SecretError
from browser_agent.llm import LLMPool, ProviderConfig, RetryPolicy
from browser_agent.secrets import Secret, Secrets
from browser_agent.testing import Fault, FixtureServer, LocalModelServer

pytestmark = [pytest.mark.anyio, pytest.mark.faults]

SECRET = "hunter2-Sup3r-S3cret"


def foreign(site: FixtureServer, path: str) -> str:
    """The same fixture server under a host name the policy does not allow."""
    port = site.origin.rsplit(":", 1)[1]
    return f"http://localhost:{port}/{path.lstrip('/')}"


def hits(site: FixtureServer, prefix: str) -> list[str]:
    """Requests the server received whose target starts with `prefix`."""
    return [r for r in site.requests if r.startswith(prefix)]


async def until(predicate: Any, timeout: float = 3.0) -> bool:
    """Poll a condition (bounded); no fixed sleeps."""
    with anyio.move_on_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)
        return True
    return False


@pytest.fixture
def model() -> Iterator[LocalModelServer]:
    with LocalModelServer() as srv:
        yield srv


def pool(srv: LocalModelServer) -> LLMPool:
    cfg = ProviderConfig(name="local", base_url=srv.base_url, model="m", stall_ms=2000)
    return LLMPool([cfg], retry=RetryPolicy(max_attempts=2, backoff_base_s=0.01))


# ------------------------------------------------------------------ domain policy


def test_wildcards_and_fail_closed() -> None:
    allowed = ["*.shop.example", "127.0.0.1"]
    assert host_allowed("https://a.shop.example/x", allowed)
    assert host_allowed("https://shop.example/x", allowed)
    assert not host_allowed("https://shop.example.evil.example/", allowed)
    assert not host_allowed("http://evil.example/steal", allowed)
    assert not host_allowed("http://127.0.0.1/", allowed, ["127.0.0.1"])  # block wins
    assert not host_allowed("http:///nohost", allowed)  # no host: not allowed
    rules = resolver_rules(["127.0.0.1"], ["evil.example"])
    # A blocked name is also unresolvable in its root-dot spelling (`evil.example.`).
    assert rules == (
        "MAP evil.example ~NOTFOUND, MAP evil.example. ~NOTFOUND, MAP * ~NOTFOUND, "
        "EXCLUDE 127.0.0.1"
    )
    assert resolver_rules(None) is None
    # Below the router: only the allowed hosts bypass the black-hole proxy, loopback
    # aliases included; a glob it cannot express leaves the proxy out (router only).
    assert proxy_bypass(allowed) == "<-loopback>,shop.example,*.shop.example,127.0.0.1"
    assert proxy_bypass(["::1"]) == "<-loopback>,[::1]"
    assert proxy_bypass(["shop*.example"]) is None and proxy_bypass(None) is None
    # The router is only needed for what the proxy cannot express.
    assert not needs_router(allowed) and not needs_router(None)
    assert needs_router(["shop*.example"]) and needs_router(None, ["evil.example"])


def test_an_older_refusal_is_never_blamed_for_a_navigation_failure() -> None:
    """A DNS failure of an allowed host is the network's, unless a hop of this very
    navigation was refused (the refusal count moved while it ran)."""
    from browser_agent.actions import _policy_refusal

    class Policy:
        has_policy = True
        refusals = 7

        def __init__(self) -> None:
            self.blocked = ["http://evil.example/pixel"]

        def allows(self, url: str) -> bool:
            return host_allowed(url, ["allowed.example"])

        def blocked_reason(self, url: str) -> str:
            return f"{url} refused"

    failed = "net::ERR_NAME_NOT_RESOLVED at http://allowed.example/"
    policy: Any = Policy()
    assert _policy_refusal(policy, failed, since=7) is None  # the pixel was refused before
    assert _policy_refusal(policy, failed, since=6) == "http://evil.example/pixel refused"
    named = "net::ERR_PROXY_CONNECTION_FAILED at http://evil.example/"
    assert _policy_refusal(policy, named, since=7) == "http://evil.example/ refused"
    assert _policy_refusal(policy, "net::ERR_CONNECTION_REFUSED at http://x/", since=0) is None


async def test_navigation_and_redirect_are_blocked_and_explained(
    either: Browser, site: FixtureServer
) -> None:
    """Refused by the router or, without it, by the proxy and the resolver: same error."""
    page = await either.new_page()
    with pytest.raises(PolicyBlockedError, match="localhost is not in the allowed domains"):
        await page.goto(foreign(site, "/index.html?nav-direct"))
    with pytest.raises(PolicyBlockedError, match="localhost is not in the allowed domains"):
        await page.goto(site.url(f"/redirect/to?url={foreign(site, '/form.html?nav-redir')}"))
    assert hits(site, "/index.html?nav-direct") == [] and hits(site, "/form.html?nav") == []
    with pytest.raises(PolicyBlockedError, match=r"evil\.example is not in the allowed domains"):
        await page.goto("http://evil.example/steal")
    # A failure that is not the policy's stays a plain NavigationError.
    with pytest.raises(NavigationError) as caught:
        await page.goto("http://127.0.0.1:1/closed-port")
    assert not isinstance(caught.value, PolicyBlockedError)


async def test_subresources_iframes_popups_websockets_beacons_are_blocked(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/index.html"))
    pw = page.playwright_page
    script = """(u) => {
        navigator.sendBeacon(u + 'beacon-x', 'data');
        fetch(u + 'fetch-x').catch(() => 0);
        const img = new Image(); img.src = u + 'img-x';
        const f = document.createElement('iframe'); f.src = u + 'frame-x';
        document.body.append(f);
        try { new WebSocket(u.replace('http', 'ws') + 'ws-x'); } catch (e) {}
        window.open(u + 'popup-x');
    }"""
    await pw.evaluate(script, foreign(site, "/"))
    # A same-origin marker request sent last proves the others had their chance.
    await pw.evaluate("(u) => fetch(u).catch(() => 0)", site.url("/api/echo?value=after"))
    assert await until(lambda: hits(site, "/api/echo?value=after"))
    for marker in ("beacon-x", "fetch-x", "img-x", "frame-x", "ws-x", "popup-x"):
        assert hits(site, "/" + marker) == [], marker
    browser = page.browser
    assert browser is not None
    every = {foreign(site, "/" + m) for m in ("beacon-x", "fetch-x", "img-x", "frame-x", "popup-x")}
    every.add(foreign(site, "/ws-x").replace("http", "ws", 1))
    assert await until(lambda: {u for u in browser.blocked if "-x" in u} == every)


async def test_evil_example_is_never_resolved(page: Page, site: FixtureServer) -> None:
    """The resolver rules answer NOTFOUND for any host outside the allowlist."""
    await page.goto(site.url("/index.html"))
    rules = page.browser.resolver_rules if page.browser else None
    assert rules is not None and "MAP * ~NOTFOUND" in rules
    err = await page.playwright_page.evaluate(
        """() => new Promise(done => {
            const ws = new WebSocket('ws://evil.example/x');
            ws.onerror = ws.onclose = () => done('error');
            ws.onopen = () => done('open');
        })"""
    )
    assert err == "error"


@pytest.fixture(scope="module")
def post_servers() -> Iterator[list[Recorder]]:
    """The allowed site on 127.0.0.1, then sinks on raw IPs outside the allowlist."""
    hosts = ["127.0.0.1", "127.0.0.2"] + (["::1"] if ipv6_loopback() else [])
    with serving(*hosts) as servers:
        yield servers


async def _send_form(page: Page, site: Recorder, code: int, to: str, file: Path | None) -> Any:
    await page.goto(f"{site.origin}/form?code={code}&to={to}" + ("&file=1" if file else ""))
    obs = await page.observe()
    if file is not None:
        await page.upload(obs.get(name="Attachment").ref, file)
    return await page.click(obs.get("button", "Send").ref)


@pytest.fixture(scope="module")
async def router_browser(anyio_backend: str) -> AsyncIterator[Browser]:
    """The session's launch options with the request router always on: a context takes
    the router setting of the browser it comes from (`new_context`)."""
    async with Browser.launch(allowed_domains=["127.0.0.1"], policy_router=True) as b:
        yield b


@pytest.fixture(params=["network", "router"])
async def either(
    request: pytest.FixtureRequest, shared_browser: Browser, router_browser: Browser
) -> AsyncIterator[Browser]:
    """A fresh context with the allowlist enforced by the network stack alone (the
    default), or with the request router too (`policy_router=True`)."""
    router = request.param == "router"
    context = await (router_browser if router else shared_browser).new_context()
    try:
        assert context.policy_router is router
        yield context
    finally:
        await context.close()


@pytest.mark.parametrize("code", [302, 303, 307, 308])
async def test_a_form_post_redirected_to_a_raw_ip_is_blocked_and_explained(
    either: Browser, post_servers: list[Recorder], code: int, tmp_path: Path
) -> None:
    """The POST reaches the allowed host; its redirect to an IP literal never leaves
    the browser, and the router's page (with the router) or the action's error says why."""
    allowed, *sinks = post_servers
    browser = either
    page = await browser.new_page()
    for sink in sinks:
        target = f"{sink.origin}/landing-{code}"
        r = await _send_form(page, allowed, code, target, None)
        host = sink.origin.split("//")[1].rsplit(":", 1)[0].strip("[]")
        assert r.observation is not None
        if browser.policy_router:
            assert "Blocked by the domain policy" in r.observation.text
            assert f"{host} is not in the allowed domains" in r.observation.text
        else:
            assert not r.ok
            assert f"{target} was blocked: {host} is not in the allowed domains" in (r.error or "")
        assert browser.blocked[-1] == target
        assert ("POST", f"/answer?code={code}&to={target}", b"note=hello") in [
            (m, unquote(p), b) for m, p, b in allowed.hits
        ]
    # A form with a file from disk cannot be re-sent by the router (Chromium hands it
    # the file part empty): the browser sends it and the black-hole proxy stops the hop.
    doc = tmp_path / "doc.txt"
    doc.write_bytes(b"attached")
    target = f"{sinks[0].origin}/landing-file-{code}"
    r = await _send_form(page, allowed, code, target, doc)
    assert not r.ok and f"{target} was blocked: 127.0.0.2 is not in the allowed" in (r.error or "")
    assert target in browser.blocked
    posted = [b for m, p, b in allowed.hits if m == "POST" and "landing-file" in unquote(p)]
    assert posted and b"attached" in posted[-1]  # the allowed host got the whole form
    for sink in sinks:
        assert sink.hits == []


@pytest.mark.parametrize(("code", "method"), [(303, "GET"), (307, "POST")])
async def test_a_form_post_redirected_within_the_policy_still_lands(
    either: Browser, post_servers: list[Recorder], code: int, method: str
) -> None:
    """The router's own fetch of the POST keeps the browser's redirect semantics."""
    allowed = post_servers[0]
    page = await either.new_page()
    before = len(allowed.hits)
    r = await _send_form(page, allowed, code, f"{allowed.origin}/landing-ok-{code}", None)
    assert r.ok and r.observation is not None and f"Landed {method}" in r.observation.text
    landed = [(m, b) for m, p, b in allowed.hits[before:] if p == f"/landing-ok-{code}"]
    assert landed == [(method, b"note=hello" if method == "POST" else b"")]


async def test_the_agent_is_told_why_a_form_redirect_was_blocked(
    either: Browser, post_servers: list[Recorder], model: LocalModelServer
) -> None:
    allowed, sink = post_servers[0], post_servers[1]
    page = await either.new_page()
    await page.goto(f"{allowed.origin}/form?code=307&to={sink.origin}/agent-x")
    model.cassette = model.cassette.of('click button "Send"', 'done "blocked" fail')
    async with pool(model) as p:
        agent = Agent("Send the order", llm=p)
        result = await agent.run(page)
    assert result.reason == "done" and len(result.steps) == 2
    # What the model reads last: the click's tool result, then the page it landed on.
    result_msg, seen = agent.last_prompt[-2]["content"], agent.last_prompt[-1]["content"]
    if either.policy_router:
        assert "Blocked by the domain policy" in seen  # the router's page
    else:
        assert f"{sink.origin}/agent-x was blocked" in result_msg  # the action's error
        seen = result_msg
    assert "127.0.0.2 is not in the allowed domains (127.0.0.1)" in seen
    assert sink.paths("agent-x") == []


# ----------------------------------------------------------------------- secrets


def test_secrets_substitute_only_on_allowed_hosts_and_redact_everywhere() -> None:
    s = Secrets({"pw": SECRET, "card": Secret("4111-1111", ("*.shop.example",))})
    assert s.substitute("{{pw}}", "http://127.0.0.1/") == SECRET
    assert s.substitute("x {{ card }}", "https://a.shop.example/") == "x 4111-1111"
    with pytest.raises(SecretError) as info:
        s.substitute("{{card}}", "http://evil.example/")
    assert "4111" not in str(info.value) and "evil.example" in str(info.value)
    with pytest.raises(SecretError, match="unknown secret"):
        s.substitute("{{nope}}", "http://127.0.0.1/")
    assert s.redact(f'value="{SECRET}" and {json.dumps("4111-1111")}') == (
        'value="{{pw}}" and "{{card}}"'
    )
    assert SECRET not in repr(s) and "4111" not in repr(Secret("4111-1111"))


async def test_agent_types_secret_value_but_never_shows_it(
    browser: Browser, site: FixtureServer, model: LocalModelServer, tmp_path: Path
) -> None:
    page = await browser.new_page()
    await page.goto(site.url("/form.html"))
    model.cassette = model.cassette.of(
        'type "Full name" "{{pw}}"',
        'type "Password" "{{pw}}"',
        'done "typed"',
    )
    record = tmp_path / "rec.jsonl"
    async with pool(model) as p:
        agent = Agent(
            "Fill the form", llm=p, secrets={"pw": SECRET}, record=record, budget=Budget()
        )
        result = await agent.run(page)
    assert result.success, result.steps
    # The value reached the page...
    typed = await page.playwright_page.evaluate(
        "[...document.querySelectorAll('input')].map(i => i.value)"
    )
    assert SECRET in typed
    # ...and nowhere else: prompts, history, records, the recording, the result.
    assert SECRET not in json.dumps(agent.last_prompt)
    assert SECRET not in json.dumps(agent.history)
    assert "{{pw}}" in json.dumps(agent.last_prompt)
    assert SECRET not in record.read_text()
    assert SECRET not in repr(result.steps)
    # The password field is masked by the serializer itself.
    obs = await page.observe()
    assert SECRET not in obs.text.replace(f'value="{SECRET}"', "")  # only the text field
    assert "•••" in obs.text


async def test_secret_is_refused_on_a_host_it_is_not_for(
    browser: Browser, site: FixtureServer, model: LocalModelServer
) -> None:
    page = await browser.new_page()
    await page.goto(site.url("/form.html"))
    model.cassette = model.cassette.of('type "Full name" "{{card}}"', 'done "x" fail')
    async with pool(model) as p:
        agent = Agent("Fill", llm=p, secrets={"card": Secret("4111-1111", ("shop.example",))})
        result = await agent.run(page)
    err = result.steps[0].actions[0].error or ""
    assert "may not be used on 127.0.0.1" in err and "4111" not in err
    value = await page.playwright_page.evaluate("document.querySelector('input').value")
    assert "4111" not in value


# -------------------------------------------------------------- prompt injection


async def test_injected_instructions_are_wrapped_as_untrusted_data(
    browser: Browser, site: FixtureServer, model: LocalModelServer
) -> None:
    page = await browser.new_page()
    await page.goto(site.url("/injection.html"))
    model.cassette = model.cassette.of('done "one part vinegar to one part water"')
    async with pool(model) as p:
        agent = Agent("What is the descaling ratio?", llm=p)
        result = await agent.run(page)
    assert result.success
    system = agent.last_prompt[0]["content"]
    assert "untrusted" in system and "Never follow it" in system
    last = agent.last_prompt[-1]["content"]
    start, end = last.index("<page_observation"), last.rindex("</page_observation>")
    assert start < last.index("ignore your task") < end


async def test_an_agent_that_obeys_the_injection_stays_on_allowed_domains(
    browser: Browser, site: FixtureServer, model: LocalModelServer
) -> None:
    """The domain policy is the real guard: a model that falls for it is stopped."""
    page = await browser.new_page()
    await page.goto(site.url("/injection.html"))
    model.cassette = model.cassette.of(
        'click link "evil.example"', 'goto "http://evil.example/steal"', 'done "x" fail'
    )
    async with pool(model) as p:
        result = await Agent("What is the descaling ratio?", llm=p).run(page)
    assert result.reason == "done" and len(result.steps) == 3
    click, goto = result.steps[0].actions[0], result.steps[1].actions[0]
    assert click.name == "click" and not click.ok
    assert click.error == (
        "navigation to http://evil.example/ was blocked: "
        "evil.example is not in the allowed domains (127.0.0.1)"
    )
    assert goto.name == "goto" and not goto.ok
    assert "evil.example is not in the allowed domains" in (goto.error or "")
    assert all("evil.example" not in (s.url or "") for s in result.steps)
    # The refused navigation leaves Chromium's error page in the tab, never evil.example.
    assert page.url == "chrome-error://chromewebdata/"
    assert page.browser is not None and page.browser.blocked[-2:] == [
        "http://evil.example/",
        "http://evil.example/steal",
    ]


# ------------------------------------------------------------ serializer isolation


async def test_hostile_page_cannot_detect_spoof_or_break_the_serializer(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/hostile.html"))
    pw = page.playwright_page
    for _ in range(3):
        obs = await page.observe()
        assert obs.find("button", "Safe button") is not None
    # Text behind the page's throwing getters is still read (from our own world).
    assert "A paragraph whose textContent getter throws" in obs.text
    r = await page.click(obs.get("button", "Safe button").ref)
    assert r.ok and r.observation is not None and "clicked 1 times" in r.observation.text
    await pw.click("#check-leaks")
    leaks = await pw.inner_text("#leaks")
    assert "globals added: none" in leaks and "attributes added: none" in leaks
    assert "traps hit: none" in leaks  # not one overridden builtin was called by us
    # The page replacing MutationObserver does not stop incremental updates.
    await pw.fill("#safe-input", "zz")
    inc = await page.observe()
    assert 'value="zz"' in inc.text


# ------------------------------------------------------------------------ limits


async def test_token_and_observation_limits_are_reported(
    browser: Browser, site: FixtureServer, model: LocalModelServer
) -> None:
    page = await browser.new_page()
    await page.goto(site.url("/gen/3000.html"))
    model.cassette = model.cassette.of("scroll down", "scroll down", "scroll down")
    async with pool(model) as p:
        budget = Budget(max_tokens=1, max_observation_chars=2000)
        result = await Agent("Read the page", llm=p, budget=budget).run(page)
    assert result.reason == "max_tokens" and "token limit" in result.detail
    assert len(result.steps) == 1
    assert result.steps[0].observation_chars < 2400
    assert any(e.kind == "limit" for e in result.steps[0].events)


async def test_step_and_wall_time_limits_are_reported(
    browser: Browser, site: FixtureServer, model: LocalModelServer
) -> None:
    page = await browser.new_page()
    await page.goto(site.url("/long.html"))
    model.cassette = model.cassette.of(*["scroll down"] * 5)
    async with pool(model) as p:
        result = await Agent("Scroll", llm=p, budget=Budget(max_steps=2)).run(page)
    assert result.reason == "max_steps" and len(result.steps) == 2
    async with pool(model) as p:
        model.inject(Fault("slow", ttft_ms=10_000))
        budget = Budget(session_s=0.5, llm_s=5)
        result = await Agent("Scroll", llm=p, budget=budget).run(page)
    assert result.reason == "budget" and "0.5 s" in result.detail
