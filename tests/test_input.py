"""Clicks and typed text sent in one flight on the direct socket: the page sees a user's
events, in order, the same as through Playwright; a broken socket never loses a click
and never sends one twice."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from input_support import assert_user_clicks, clicks_seen
from playwright.async_api import Mouse

from browser_agent import ActionError, ObservationError, Page
from browser_agent.exceptions import CDPConnectionError, CDPError
from browser_agent.extractors import driver
from browser_agent.extractors.cdp import Call, DirectCDP
from browser_agent.testing import FixtureServer

pytestmark = pytest.mark.anyio

COUNTER = "<button id=c onclick='this.textContent = `n=${++window.n}`'>n=0</button>"


async def counter_page(page: Page, site: FixtureServer) -> int:
    await page.goto(site.url("/index.html"))
    await page.playwright_page.set_content(f"<script>window.n = 0</script>{COUNTER}")
    obs = await page.observe()
    return obs.get("button", "n=0").ref


def count_playwright_clicks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    original = Mouse.click

    async def spy(self: Mouse, *args: Any, **kwargs: Any) -> None:
        calls.append(args)
        await original(self, *args, **kwargs)

    monkeypatch.setattr(Mouse, "click", spy)
    return calls


async def test_a_click_reaches_the_page_as_a_users_events_in_one_flight(
    page: Page, site: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    via_playwright = count_playwright_clicks(monkeypatch)
    assert_user_clicks(await clicks_seen(page, site))
    assert not via_playwright, "a launched browser has a direct socket: clicks go there"


def break_the_socket_for_input(monkeypatch: pytest.MonkeyPatch, *, after_sending: bool) -> None:
    """Input calls on the direct socket fail as a closed socket, before or after they left."""
    original = DirectCDP.send_many

    async def broken(self: DirectCDP, calls: Any, **kw: Any) -> list[dict[str, Any]]:
        if not calls[0][0].startswith("Input."):
            return await original(self, calls, **kw)
        if after_sending:
            await original(self, calls, **kw)  # the events left and acted, then it "broke"
        raise CDPConnectionError("Target closed: gone", sent=after_sending)

    monkeypatch.setattr(DirectCDP, "send_many", broken)


async def test_a_socket_that_breaks_before_sending_falls_back_to_playwright(
    page: Page, site: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await counter_page(page, site)
    via_playwright = count_playwright_clicks(monkeypatch)
    break_the_socket_for_input(monkeypatch, after_sending=False)
    r = await page.click(ref)
    assert r.ok and len(via_playwright) == 1
    assert await page.playwright_page.evaluate("window.n") == 1


async def test_a_socket_that_breaks_after_sending_never_clicks_twice(
    page: Page, site: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await counter_page(page, site)
    via_playwright = count_playwright_clicks(monkeypatch)
    original = DirectCDP.send_many
    break_the_socket_for_input(monkeypatch, after_sending=True)
    r = await page.click(ref)
    assert r.ok and not via_playwright
    assert await page.playwright_page.evaluate("window.n") == 1
    monkeypatch.setattr(DirectCDP, "send_many", original)
    r = await page.click(ref)  # the socket was replaced: the next click goes through as well
    assert r.ok and await page.playwright_page.evaluate("window.n") == 2


async def test_a_failed_call_in_a_flight_raises_and_leaves_the_socket_in_step(
    page: Page, site: FixtureServer
) -> None:
    await counter_page(page, site)
    await page.observe()
    fast = page.serializer._fast
    assert fast is not None
    calls: list[Call] = [
        ("Runtime.evaluate", {"expression": "window.n += 10"}),
        ("No.suchMethod", {}),
        ("Runtime.evaluate", {"expression": "window.n += 100"}),
    ]
    with pytest.raises(CDPError, match="wasn't found"):
        await fast.send_many(calls)
    # Every call ran, in order, and each reply was read: the next call gets its own.
    got = await fast.send("Runtime.evaluate", {"expression": "window.n", "returnByValue": True})
    assert got["result"]["value"] == 110


BUSY = "{ const t = performance.now(); while (performance.now() - t < 800); }"
"""Keeps the page's main thread busy for 0.8 s."""


async def test_a_page_slow_to_answer_is_neither_asked_twice_nor_a_broken_socket(
    page: Page, site: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await counter_page(page, site)
    await page.observe()
    fast = page.serializer._fast
    assert fast is not None
    # The socket: a flight the page answers late times out as such, and its late reply
    # does not answer the next call.
    monkeypatch.setattr(fast, "_timeout", 0.2)
    with pytest.raises(CDPConnectionError, match=r"no answer from the page within 0\.2 s") as e:
        await fast.send("Runtime.evaluate", {"expression": BUSY + " window.n = 7"})
    assert e.value.sent and e.value.timed_out
    monkeypatch.setattr(fast, "_timeout", 30.0)
    got = await fast.send("Runtime.evaluate", {"expression": "[window.n]", "returnByValue": True})
    assert got["result"]["value"] == [7]
    # The driver: a slow observation is one typed error, sent once, on the same socket.
    sent: list[str] = []
    original = DirectCDP.send_many

    async def busy_first(
        self: DirectCDP, flight: Sequence[Call], **kw: Any
    ) -> list[dict[str, Any]]:
        methods = [method for method, _ in flight]
        sent.extend(methods)
        if "Runtime.callFunctionOn" in methods:  # the page is busy when the call comes
            flight = [("Runtime.evaluate", {"expression": BUSY}), *flight]
        return (await original(self, flight, **kw))[-len(methods) :]

    monkeypatch.setattr(DirectCDP, "send_many", busy_first)
    monkeypatch.setattr(fast, "_timeout", 0.2)
    with pytest.raises(ObservationError, match=r"no answer from the page within 0\.2 s"):
        await page.observe(full=True)
    assert sent.count("Runtime.callFunctionOn") == 1
    assert page.serializer._fast is fast
    monkeypatch.setattr(DirectCDP, "send_many", original)
    monkeypatch.setattr(fast, "_timeout", 30.0)
    assert (await page.observe(full=True)).get("button", "n=0")  # and it answers again


async def test_a_call_that_waits_on_purpose_is_bounded_by_its_wait(
    page: Page, site: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await counter_page(page, site)
    seen = await page.observe()
    fast = page.serializer._fast
    assert fast is not None
    monkeypatch.setattr(fast, "_timeout", 0.3)
    monkeypatch.setattr(driver, "CALL_TIMEOUT_S", 0.3)
    # Watching for late UI waits in the page (`timeoutMs`) longer than the socket's bound.
    await page.playwright_page.evaluate("setTimeout(() => document.body.append('late'), 1000)")
    assert await page.confirm(seen, settle_first=False, until=time.perf_counter() + 5)
    assert page.serializer._fast is fast


async def test_an_unknown_mouse_button_or_no_press_is_a_clear_error(
    page: Page, site: FixtureServer
) -> None:
    ref = await counter_page(page, site)
    with pytest.raises(ActionError, match="unknown mouse button 'back'"):
        await page.click(ref, button="back")
    with pytest.raises(ActionError, match="at least one press, not 0"):
        await page.click(ref, count=0)
    assert await page.playwright_page.evaluate("window.n") == 0


FORM = """<form id=f><input id=q aria-label=Query><button>Go</button></form><script>
window.seen = [];
const q = document.getElementById("q");
for (const t of ["keydown", "keypress", "beforeinput", "input", "keyup"])
  q.addEventListener(t, (e) => seen.push(`${t}:${e.key || e.inputType}:${e.isTrusted}`));
document.getElementById("f").addEventListener("submit", (e) => {
  e.preventDefault();
  seen.push(`submit:${q.value}:${e.isTrusted}`);
});
</script>"""


async def typed_and_submitted(page: Page, site: FixtureServer) -> list[str]:
    await page.goto(site.url("/index.html"))
    await page.playwright_page.set_content(FORM)
    obs = await page.observe()
    r = await page.type(obs.get("textbox", "Query").ref, "kettle", submit=True)
    assert r.ok, r.error
    return await page.playwright_page.evaluate("window.seen")


async def test_typed_text_and_its_enter_reach_the_page_as_playwright_sends_them(
    page: Page, site: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct = await typed_and_submitted(page, site)
    assert direct == [
        "beforeinput:insertText:true", "input:insertText:true", "keydown:Enter:true",
        "keypress:Enter:true", "beforeinput:insertLineBreak:true", "submit:kettle:true",
        "keyup:Enter:true",
    ]  # fmt: skip

    async def no_socket(calls: Any) -> bool:
        return False

    monkeypatch.setattr(page.serializer, "send_input", no_socket)
    assert await typed_and_submitted(page, site) == direct  # Playwright's keyboard: the same
