"""The domain policy holds for every kind of request, directly and through redirect hops,
to host names and to raw IP literals — on a launched browser and, above all, on one
reached with `Browser.connect` (CDP or a Playwright server), which cannot take the
launch-time resolver rules: there the request router, `route_web_socket` and the
black-hole proxy set per context must do it alone.

`localhost` stands in for a foreign host name (it reaches the fixture server, so a leak
shows in `site.requests`); sinks on 127.0.0.2 and [::1] record any request that gets out.
Chromium's Local Network Access checks would also stop a page the router fulfilled from
reaching loopback addresses of another origin — on their own, for loopback only — so
these browsers run without them: the stand-ins then behave like foreign public hosts
and only the policy stands between the page and them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import anyio
import pytest
from policy_support import Recorder, ipv6_loopback, serving
from test_remote import _playwright_server, cdp_endpoint, launching, shared  # noqa: F401

from browser_agent import Browser
from browser_agent.testing import FixtureServer

pytestmark = [pytest.mark.anyio, pytest.mark.faults]

LOOPBACK = ["127.0.0.1"]
NO_LNA = "--disable-features=LocalNetworkAccessChecks"
KINDS = ("img", "fetch", "beacon", "iframe", "popup", "worker", "websocket")


@pytest.fixture(scope="module")
def cdp_url(cdp_endpoint: str) -> str:  # noqa: F811
    """The session's CDP Chromium (test_remote), which runs without Local Network Access
    checks and without its popup blocker (with it, only the first popup of the probes
    would open and the others would go untested): yields http://127.0.0.1:PORT."""
    return f"http://127.0.0.1:{urlsplit(cdp_endpoint).port}"


@pytest.fixture(scope="module")
def server_url(request: pytest.FixtureRequest) -> str:
    """The session's Playwright server (test_remote), launching our Chromium without
    Local Network Access checks."""
    return launching(shared(request, "playwright-server", _playwright_server), NO_LNA)


@pytest.fixture(params=["launch", "launch-router", "cdp", "playwright-server"])
async def browser(request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    """The same policy on a launched browser (the network stack alone, then with the
    request router too), over CDP and on a Playwright server."""
    if request.param.startswith("launch"):
        router = True if request.param == "launch-router" else None
        opening = Browser.launch(allowed_domains=LOOPBACK, args=[NO_LNA], policy_router=router)
    else:
        name = "cdp_url" if request.param == "cdp" else "server_url"
        opening = Browser.connect(request.getfixturevalue(name), allowed_domains=LOOPBACK)
    async with opening as b:
        yield b


@pytest.fixture(scope="module")
def servers() -> Iterator[list[Recorder]]:
    """An allowed form site on 127.0.0.1, then sinks on raw IPs outside the allowlist."""
    hosts = ["127.0.0.1", "127.0.0.2"] + (["::1"] if ipv6_loopback() else [])
    with serving(*hosts) as found:
        yield found


async def until(predicate: object, timeout: float = 5.0) -> bool:
    """Poll a condition (bounded); no fixed sleeps."""
    with anyio.move_on_after(timeout):
        while not predicate():  # type: ignore[operator]
            await anyio.sleep(0.02)
        return True
    return False


def _probes(site: FixtureServer, outside: list[str]) -> tuple[list[object], list[str]]:
    """Every kind of request at every outside origin, directly and through a redirect
    on the allowed site; and the request paths that must never arrive."""
    probes: list[object] = []
    markers: list[str] = []
    for i, origin in enumerate(outside):
        for kind in KINDS:
            direct, hop = f"{origin}/{kind}-d{i}-x", f"{origin}/{kind}-r{i}-x"
            markers += [f"/{kind}-d{i}-x", f"/{kind}-r{i}-x"]
            if kind == "websocket":
                probes.append([kind, "ws" + direct.removeprefix("http")])
                continue
            probes += [[kind, direct], [kind, site.url(f"/redirect/to?url={quote(hop)}")]]
        sw, sw_hop = f"{origin}/sw-d{i}-x", f"{origin}/sw-r{i}-x"
        markers += [f"/sw-d{i}-x", f"/sw-r{i}-x"]
        probes.append(["serviceworker", [sw, site.url(f"/redirect/to?url={quote(sw_hop)}")]])
    return probes, markers


async def test_every_kind_of_request_and_every_hop_off_the_policy_is_blocked(
    browser: Browser,
    site: FixtureServer,
    servers: list[Recorder],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    allowed, *sinks = servers
    port = site.origin.rsplit(":", 1)[1]
    probes, markers = _probes(site, [f"http://localhost:{port}"] + [s.origin for s in sinks])
    page = await browser.new_page()
    await page.goto(site.url("/policy/index.html"))
    pw = page.playwright_page
    popups = sum(1 for p in probes if isinstance(p, list) and p[0] == "popup")
    with anyio.fail_after(30):
        # Every probe ran its course (none sat on the page's cap, still in flight)...
        assert await pw.evaluate("(probes) => probe(probes)", probes) == {
            "late": [],
            "popups": popups,
        }
        # ...and the popups, opened last, each loaded the page that ended its navigation.
        assert await until(lambda: len(browser.context.pages) == 1 + popups, timeout=20)
        for opened in browser.context.pages:
            await opened.wait_for_load_state("load")
    # Sent last, same-origin: once it arrived, the others had their chance.
    await pw.evaluate("(u) => fetch(u).catch(() => 0)", site.url("/api/echo?value=policy-after"))
    assert await until(lambda: any("policy-after" in q for q in site.requests))
    # A form POST answered with 307 to a raw IP: refused, and the router's page or,
    # without the router, the action's error says why...
    assert browser.policy_router == (request.node.callspec.params["browser"] == "launch-router")
    target = f"{sinks[0].origin}/form-r-x"
    await page.goto(f"{allowed.origin}/form?code=307&to={target}")
    obs = await page.observe()
    r = await page.click(obs.get("button", "Send").ref)
    assert r.observation is not None
    if browser.policy_router:
        assert "127.0.0.2 is not in the allowed domains" in r.observation.text
    else:
        assert not r.ok and f"{target} was blocked: 127.0.0.2 is not in the allowed" in (
            r.error or ""
        )
    # ...and one carrying a file from disk (the browser must send it itself) is
    # stopped at the black-hole proxy.
    doc = tmp_path / "doc.txt"
    doc.write_bytes(b"attached")
    await page.goto(f"{allowed.origin}/form?code=307&to={target}-file&file=1")
    obs = await page.observe()
    await page.upload(obs.get(name="Attachment").ref, doc)
    r = await page.click(obs.get("button", "Send").ref)
    assert not r.ok and "127.0.0.2 is not in the allowed domains" in (r.error or "")

    leaked = [q for q in site.requests if any(q.startswith(m) for m in markers)]
    assert leaked == []
    for sink in sinks:
        assert sink.paths("-x") == [], sink.origin
    # What the policy refused is on record (the latest 50), hops included.
    refused = {u.split("/")[-1] for u in browser.blocked}
    assert {"form-r-x", "form-r-x-file"} <= refused
    assert any(re.fullmatch(r"\w+-r\d-x", u) for u in refused)
