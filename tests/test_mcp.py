"""`browser-agent mcp` driven by the MCP SDK's own client over stdio, on the fixture site.

The server runs as a subprocess, as an MCP client configuration starts it, restricted to
loopback, and the tests use nothing but MCP tool calls to act (the crash test alone
reaches the browser from outside, to crash it). Tests of the server's options, its
start, its life (close, crash, recording, stderr) or its HTTP transport start a server
of their own; the others share one with default options (`server`), each from one new
blank tab.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
import websockets
from mcp import Client
from mcp_support import (
    ROOT,
    View,
    call,
    mcp_server,
    one_new_tab,
    submission_with,
    text_of,
)

from browser_agent import Browser
from browser_agent.cli import main
from browser_agent.mcp.formatting import CHANGE_HEADER
from browser_agent.mcp.options import CONDITION_WAIT_S
from browser_agent.page import Page
from browser_agent.recording import read
from browser_agent.replay import rerun
from browser_agent.testing import FixtureServer

CHANGED = CHANGE_HEADER

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def shared_server() -> AsyncIterator[Client]:
    """One server with default options for the tests below that need no fresh one:
    starting one (process, SDK, browser) costs seconds on two cores."""
    async with mcp_server() as client:
        yield client


@pytest.fixture
async def server(shared_server: Client) -> Client:
    """The shared server as a fresh one would be: one tab, new and blank (the tabs earlier
    tests left are closed). The browser's storage is shared: only the checkout test uses
    the shop's cart."""
    await one_new_tab(shared_server)
    return shared_server


async def test_tools_have_playwright_mcp_names_and_shapes(server: Client) -> None:
    tools = {t.name: t for t in (await server.list_tools()).tools}
    assert set(tools) == {
        "browser_navigate",
        "browser_observe",
        "browser_click",
        "browser_type",
        "browser_select",
        "browser_check",
        "browser_scroll",
        "browser_press",
        "browser_back",
        "browser_wait_for",
        "browser_extract",
        "browser_tabs",
        "browser_close",
    }
    click = tools["browser_click"].input_schema
    assert click["properties"]["ref"]["type"] == "integer"
    assert click["required"] == ["ref"]
    assert {"element", "doubleClick", "button"} <= set(click["properties"])
    typing = tools["browser_type"].input_schema
    assert set(typing["required"]) == {"ref", "text"} and "submit" in typing["properties"]
    assert set(tools["browser_wait_for"].input_schema["properties"]) == {"text", "textGone", "time"}
    assert tools["browser_select"].input_schema["properties"]["values"]["type"] == "array"


async def test_a_shop_checkout_through_mcp_tools_alone(site: FixtureServer, server: Client) -> None:
    view = View()
    c = server
    text = await call(c, view, "browser_navigate", {"url": site.url("/shop/index.html")})
    assert text.startswith("ok; navigated to") and "<page_observation" in text
    search = view.ref("searchbox", "Search products")
    text = await call(c, view, "browser_type", {"ref": search, "text": "kettle", "submit": 1})
    assert "search.html?q=kettle" in text.splitlines()[0]
    await call(c, view, "browser_click", {"ref": view.ref("link", "Blue Kettle")})
    page_chars = len(view.texts[-1])
    text = await call(
        c, view, "browser_click", {"ref": view.ref("button", "Add to cart"), "element": "Add"}
    )
    # The action changed a few lines: only those come back, as a change.
    assert CHANGED in text and '+ [4] link "Cart (1)"' in text
    assert "A 1.7 litre electric kettle" not in text  # an unchanged line
    assert len(text) < page_chars
    await call(c, view, "browser_click", {"ref": view.ref("link", "Cart (1)")})
    await call(c, view, "browser_click", {"ref": view.ref("link", "Checkout")})
    for name, value in (
        ("Full name", "Ada Lovelace"),
        ("Email", "ada.mcp@example.test"),
        ("Street address", "1 Loop Road"),
        ("City", "Paris"),
    ):
        text = await call(
            c, view, "browser_type", {"ref": view.ref("textbox", name), "text": value}
        )
        assert CHANGED in text and f'value="{value}"' in text
    country = view.ref("combobox", "Country")
    text = await call(c, view, "browser_select", {"ref": country, "values": ["France"]})
    assert 'value="France"' in text
    express = view.ref("radio", "Express (next day, €9.90)")
    await call(c, view, "browser_check", {"ref": express})
    agree = view.ref("checkbox", "I agree to the terms and conditions")
    text = await call(c, view, "browser_check", {"ref": agree})
    assert "checked" in text
    text = await call(c, view, "browser_click", {"ref": view.ref("button", "Place order")})
    assert "navigated to" in text.splitlines()[0]
    # browser_observe with nothing new says so in one line; full=true sends the page.
    same = await call(c, view, "browser_observe", {})
    assert same == "The page is as in your last view."
    whole = await call(c, view, "browser_observe", {"full": True})
    assert "<page_observation" in whole and "Received" in whole
    sub = submission_with(site, "email", "ada.mcp@example.test")
    assert sub.first("items") == "Blue Kettle x1" and sub.first("name") == "Ada Lovelace"
    assert sub.first("country") == "fr" and sub.first("shipping") == "express"
    assert sub.first("agree") == "yes" and sub.first("total") == "34.99"


async def test_a_stale_ref_is_a_tool_error_with_the_cli_message(
    site: FixtureServer, server: Client
) -> None:
    view = View()
    c = server
    await call(c, view, "browser_navigate", {"url": site.url("/spa.html")})
    apple = view.ref("button", "Pick Apple")
    text = await call(c, view, "browser_click", {"ref": view.ref("button", "Remove first item")})
    assert f'- [{apple}] button "Pick Apple"' in text
    result = await c.call_tool("browser_click", {"ref": apple})
    assert result.is_error
    assert text_of(result) == (
        f'error: [{apple}] button "Pick Apple" is gone; in its place: button "Pick Banana"'
    )
    # Nothing was clicked, and the server goes on.
    text = await call(c, view, "browser_observe", {"full": True})
    assert "Picked: nothing" in text


async def test_a_blocked_domain_is_a_tool_error_with_the_cli_message(
    site: FixtureServer, server: Client
) -> None:
    view = View()
    c = server
    await call(c, view, "browser_navigate", {"url": site.url("/index.html")})
    result = await c.call_tool("browser_navigate", {"url": "http://evil.example/"})
    assert result.is_error
    assert text_of(result) == (
        "error: goto failed: evil.example is not in the allowed domains (127.0.0.1); "
        "choose another way"
    )


async def test_a_blocked_domain_from_the_blocklist_and_non_web_urls_are_refused(
    site: FixtureServer,
) -> None:
    view = View()
    # The blocklist wins over the allowlist. (Blocking ``localhost`` would also block
    # 127.0.0.1, the address it resolves to, so the blocked name here is one of its own.)
    allowed = "127.0.0.1,localhost,blocked.test"
    args = ("--allowed-domains", allowed, "--blocked-domains", "blocked.test")
    async with mcp_server(*args) as c:
        await call(c, view, "browser_navigate", {"url": site.url("/index.html")})
        result = await c.call_tool("browser_navigate", {"url": "http://blocked.test/index.html"})
        assert result.is_error
        assert text_of(result) == (
            "error: goto failed: blocked.test is blocked by the domain policy (blocked_domains); "
            "choose another way"
        )
        for url in ("file:///etc/passwd", "javascript:alert(1)"):
            refused = await c.call_tool("browser_navigate", {"url": url})
            scheme = url.split(":")[0]
            assert refused.is_error and text_of(refused) == (
                f"error: browser_navigate opens http(s) pages only, not {scheme}: URLs"
            )
        # The server goes on; the refusal came before any request, so the tab keeps its page.
        text = await call(c, view, "browser_observe", {"full": True})
        assert text.startswith(f'<page_observation url="{site.url("/index.html")}"')


async def test_scroll_press_wait_back_tabs_and_close(site: FixtureServer) -> None:
    view = View()
    # A short --wait-timeout: the wait for text that never shows ends after it, not 10 s.
    async with mcp_server("--wait-timeout", "1") as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert "(up to 1 s)" in (tools["browser_wait_for"].description or "")
        await call(c, view, "browser_navigate", {"url": site.url("/long.html")})
        text = await call(c, view, "browser_scroll", {"direction": "down"})
        assert text.startswith("ok; scrolled ") and CHANGED in text and "viewport ---" in text
        text = await call(c, view, "browser_scroll", {"direction": "top"})
        assert text.startswith("ok; scrolled ") and " up" in text.splitlines()[0]
        await call(c, view, "browser_navigate", {"url": site.url("/settle.html")})
        text = await call(c, view, "browser_click", {"ref": view.ref("button", "After 100ms")})
        text = await call(c, view, "browser_wait_for", {"text": "after 100ms done"})
        assert text.startswith("ok; text 'after 100ms done' present")
        text = await call(c, view, "browser_wait_for", {"textGone": "waiting", "time": 0.01})
        assert text.startswith("ok; text 'waiting' gone")
        started = time.monotonic()
        waited = await c.call_tool("browser_wait_for", {"text": "never shown", "time": 0})
        assert time.monotonic() - started < CONDITION_WAIT_S  # the option, not the default
        assert waited.is_error and "timed out after 1 s waiting for text" in text_of(waited)
        button = view.ref("button", "Immediate")
        text = await call(c, view, "browser_press", {"key": "Enter", "ref": button})
        assert "+ Status: immediate done" in text
        text = await call(c, view, "browser_back", {})
        assert text.startswith(f"ok; navigated to {site.url('/long.html')}")
        # Tabs: a new one at a URL becomes current; select and close by index.
        text = await call(c, view, "browser_tabs", {"action": "new", "url": site.url("/form.html")})
        assert "# Order form" in text
        tabs = await call(c, view, "browser_tabs", {"action": "list"})
        assert "0: Long list <" in tabs and "1: (current) Order form <" in tabs
        text = await call(c, view, "browser_tabs", {"action": "select", "index": 0})
        assert text == "The page is as in your last view."
        text = await call(c, view, "browser_tabs", {"action": "close"})
        assert text.startswith("closed tab 0") and "0: (current) Order form <" in text
        assert "Long list" not in text
        text = await call(c, view, "browser_close", {})
        assert text == "closed the browser; the next call opens a new one"
        text = await call(c, view, "browser_observe", {})
        assert text.startswith('<page_observation url="about:blank">')


async def test_bad_arguments_are_tool_errors_not_tracebacks(
    site: FixtureServer, server: Client
) -> None:
    view = View()
    c = server
    bad = await c.call_tool("browser_navigate", {"url": "example.com"})
    assert bad.is_error and "needs a full URL" in text_of(bad)
    await call(c, view, "browser_navigate", {"url": site.url("/index.html")})
    for tool, args, says in (
        ("browser_click", {"ref": "the button"}, "ref"),
        ("browser_click", {"ref": 999}, "error: no element [999] on this page"),
        ("browser_tabs", {"action": "select", "index": 7}, "error: no tab 7 (1 open: 0 to 0)"),
        ("browser_select", {"ref": 1, "values": []}, "values"),
        ("browser_scroll", {"direction": "sideways"}, "direction"),
    ):
        result = await c.call_tool(tool, args)
        assert result.is_error, (tool, args)
        assert says in text_of(result) and "Traceback" not in text_of(result)
    await call(c, view, "browser_observe", {})  # still serving


async def _crash_renderer(endpoint: str, url: str) -> None:
    """Crash the renderer of the tab showing `url`, through the browser's own CDP."""
    async with httpx.AsyncClient() as http:
        targets = (await http.get(f"http://{endpoint}/json/list")).json()
    target = next(t for t in targets if t.get("type") == "page" and t.get("url") == url)
    async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
        await ws.send(json.dumps({"id": 1, "method": "Inspector.enable"}))
        await ws.send(json.dumps({"id": 2, "method": "Page.crash"}))
        with anyio.fail_after(10):
            async for message in ws:
                if json.loads(message).get("method") == "Inspector.targetCrashed":
                    return


async def test_a_crashed_page_is_reported_and_reopened(site: FixtureServer) -> None:
    view = View()
    async with Browser.launch() as browser:
        endpoint = browser.debug_endpoint
        assert endpoint is not None
        args = ("--cdp", f"http://{endpoint}", "--allowed-domains", "127.0.0.1")
        async with mcp_server(*args) as c:
            url = site.url("/form.html")
            await call(c, view, "browser_navigate", {"url": url})
            await _crash_renderer(endpoint, url)
            result = await c.call_tool(
                "browser_click", {"ref": view.ref("checkbox", "Extra cheese")}
            )
            assert result.is_error
            assert text_of(result) == (
                "error: the page crashed (its renderer is gone); it was reopened in a new tab "
                f"at {url}, where refs start over: observe it"
            )
            text = await call(c, view, "browser_observe", {})
            assert "<page_observation" in text and CHANGED not in text
            await call(c, view, "browser_check", {"ref": view.ref("checkbox", "Extra cheese")})


SECRET = "s3cr3t-Value_42"


async def test_secrets_are_typed_but_never_in_a_tool_result(
    site: FixtureServer, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"card": {"value": "4111-1111", "domains": ["shop.example"]}}))
    record = tmp_path / "session.jsonl"
    env = {"BROWSER_AGENT_SECRET_pw": SECRET}
    view = View()
    args = ("--secrets", str(secrets), "--record", str(record))
    async with mcp_server(*args, env=env) as c:
        assert "{{pw}}" in (c.instructions or "") and SECRET not in (c.instructions or "")
        await call(c, view, "browser_navigate", {"url": site.url("/shop/index.html")})
        search = view.ref("searchbox", "Search products")
        text = await call(
            c, view, "browser_type", {"ref": search, "text": "{{pw}}", "submit": True}
        )
        # The page got the value (in its URL, its field, its heading); the client only
        # ever sees the placeholder.
        assert "search.html?q={{pw}}" in text and 'value="{{pw}}"' in text
        assert "Results for “{{pw}}”" in text
        extract = await call(c, view, "browser_extract", {})
        assert "{{pw}}" in extract
        tabs = await call(c, view, "browser_tabs", {"action": "list"})
        assert "{{pw}}" in tabs
        refused = await c.call_tool(
            "browser_type", {"ref": view.ref("searchbox", "Search products"), "text": "{{card}}"}
        )
        assert refused.is_error
        assert text_of(refused) == "error: secret {{card}} may not be used on 127.0.0.1"
    assert site.wait_request(f"/shop/search.html?q={SECRET}")
    assert all(SECRET not in t and "4111-1111" not in t for t in view.texts)
    assert SECRET not in record.read_text() and "4111-1111" not in record.read_text()


async def test_a_recorded_session_replays(site: FixtureServer, tmp_path: Path, page: Page) -> None:
    record = tmp_path / "mcp.jsonl"
    view = View()
    async with mcp_server("--record", str(record)) as c:
        await call(c, view, "browser_navigate", {"url": site.url("/shop/index.html")})
        search = view.ref("searchbox", "Search products")
        await call(c, view, "browser_type", {"ref": search, "text": "mug", "submit": True})
        await call(c, view, "browser_observe", {})
        await call(c, view, "browser_click", {"ref": view.ref("link", "Red Mug")})
        await call(c, view, "browser_click", {"ref": view.ref("button", "Add to cart")})
    f = read(record)
    assert not f.problems and len(f.sessions) == 1
    session = f.sessions[0]
    assert session.header.start_url == site.url("/shop/index.html")
    assert [a.name for s in session.steps for a in s.actions] == [
        "goto",
        "type",
        "observe",
        "click",
        "click",
    ]
    assert [s.actions[0].kind for s in session.steps] == ["page", "page", "tool", "page", "page"]
    click = session.steps[3].actions[0]
    assert click.target is not None and click.target.name == "Red Mug"
    spans = session.steps[3].line.spans_ms  # the call's stages, each counted once
    assert set(spans) == {"act", "settle", "observe", "total"}
    assert 0 < spans["act"] + spans["settle"] + spans["observe"] <= spans["total"]
    assert session.footer is not None and session.footer.steps == 5
    # `browser-agent replay` shows it and re-runs it without a model.
    report = await rerun(f, page)
    assert report.ok, report.divergences
    assert "Cart (1)" in (await page.observe()).text
    shown = subprocess.run(
        [sys.executable, "-m", "browser_agent.cli", "replay", str(record), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0
    steps = json.loads(shown.stdout)["sessions"][0]["steps"]
    assert steps[3]["line"]["actions"][0]["label"].endswith(' link "Red Mug"')


async def test_timings_are_logged_per_call_to_stderr(site: FixtureServer, tmp_path: Path) -> None:
    log = tmp_path / "stderr.txt"
    view = View()
    with log.open("w") as errlog:
        async with mcp_server("--timings", errlog=errlog) as c:
            await call(c, view, "browser_navigate", {"url": site.url("/spa.html")})
            await call(c, view, "browser_click", {"ref": view.ref("button", "Clicked 0 times")})
            await c.call_tool("browser_click", {"ref": 999})
    lines = [ln for ln in log.read_text().splitlines() if ln.startswith("mcp #")]
    assert len(lines) == 3
    assert lines[0].startswith("mcp #1 browser_navigate ")
    assert lines[1].startswith("mcp #2 browser_click ")
    for stage in ("resolve", "act", "settle", "observe", "format"):
        assert f"{stage} " in lines[1]
    assert lines[1].endswith("change") and " ok, " in lines[1]
    assert lines[2].startswith("mcp #3 browser_click ") and " error, " in lines[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_streamable_http_transport(site: FixtureServer) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "browser_agent.cli", "mcp", "--http", str(port)]
    cmd += ["--allowed-domains", "127.0.0.1"]
    async with await anyio.open_process(cmd, cwd=ROOT) as proc:
        try:
            with anyio.fail_after(30):
                while True:  # until it listens (each attempt is one refused connect)
                    try:
                        stream = await anyio.connect_tcp("127.0.0.1", port)
                    except OSError:
                        await anyio.sleep(0.05)
                        continue
                    await stream.aclose()
                    break
            view = View()
            async with Client(f"http://127.0.0.1:{port}/mcp") as c:
                text = await call(c, view, "browser_navigate", {"url": site.url("/spa.html")})
                assert "Single-page app" in text
        finally:
            proc.terminate()
            with anyio.fail_after(20):
                await proc.wait()
        # SIGTERM is a clean stop: the HTTP server shuts down in order, no traceback.
        assert proc.stderr is not None
        err = b"".join([chunk async for chunk in proc.stderr]).decode(errors="replace")
        assert proc.returncode == 0 and "Traceback" not in err, err


def test_an_unwritable_recording_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["mcp", "--record", str(blocker / "session.jsonl")]) == 2
    err = "".join(capsys.readouterr().err.split())  # rich wraps long lines anywhere
    assert err.startswith(f"error:cannotwritetherecording{blocker / 'session.jsonl'}:")


def test_a_missing_secrets_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mcp", "--secrets", str(tmp_path / "nope.env")]) == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert err.startswith("error: cannot read secrets from") and "No such file" in err
