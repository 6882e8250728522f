"""Settle without sleeps: an action returns once the page is quiet, never past the bound.

Assertions are about the order of events (what the returned observation already
shows, what the server received), never about durations.
"""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
import pytest

from browser_agent import ActionResult, Observation, Page, SettleSettings
from browser_agent.exceptions import CDPError, ContextGoneError
from browser_agent.testing import FixtureServer

pytestmark = pytest.mark.anyio


def ref_of(obs: Observation | None, name: str) -> int:
    assert obs is not None
    el = obs.find(name=name)
    assert el is not None, f"no {name!r} in:\n{obs.text}"
    return el.ref


def text(obs: Observation | None) -> str:
    assert obs is not None
    return obs.text


async def open_page(page: Page, site: FixtureServer, path: str) -> Observation:
    await page.goto(site.url(path))
    return await page.observe()


async def test_immediate_change(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/settle.html")
    r = await page.click(ref_of(obs, "Immediate"))
    assert r.settled and r.ok
    assert "Status: immediate done" in text(r.observation)
    assert set(r.timings) == {"resolve", "act", "settle", "observe", "total"}
    # Results cross boundaries (recordings, tool answers) as typed data.
    again = msgspec.json.decode(msgspec.json.encode(r), type=ActionResult)
    assert again == r


async def test_change_after_a_timer(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/settle.html")
    # A quiet window longer than the page's own delay sees the delayed change.
    page.settle_settings.quiet_ms = 300
    r = await page.click(ref_of(obs, "After 100ms"))
    assert r.settled
    assert "Status: after 100ms done" in text(r.observation)


async def test_change_after_a_fetch(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/settle.html")
    before = len(site.requests)
    r = await page.click(ref_of(obs, "Fetch"))
    assert r.settled
    assert any(p.startswith("/api/echo") for p in site.requests[before:])
    # The response arrived and was rendered before the action returned.
    assert "Status: fetched" in text(r.observation)


async def test_every_mutation_restarts_the_quiet_window(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/actions/settle_cases.html")
    page.settle_settings.quiet_ms = 150  # well above the page's 30 ms between steps
    r = await page.click(ref_of(obs, "Five steps"))
    assert r.settled
    lines = [ln.strip() for ln in text(r.observation).splitlines()]
    assert [ln for ln in lines if ln.startswith("- step")] == [f"- step {i}" for i in range(1, 6)]


async def test_chained_requests(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/actions/settle_cases.html")
    r = await page.click(ref_of(obs, "Chained fetches"))
    assert r.settled
    lines = [ln.strip() for ln in text(r.observation).splitlines() if ln.strip().startswith("- ")]
    assert lines == ["- chain started", "- got first", "- got second", "- chain done"]


async def test_navigation_is_awaited(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/settle.html")
    r = await page.click(ref_of(obs, "Navigate"))
    assert r.settled and r.navigated
    assert r.url.endswith("/settle_target.html")
    assert "Arrived at the target page." in text(r.observation)


async def test_navigation_started_from_a_timer(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/actions/settle_cases.html")
    r = await page.click(ref_of(obs, "Navigate soon"))
    assert r.settled and r.navigated
    assert "Arrived at the target page." in text(r.observation)


async def test_forever_is_bounded_and_then_ignored(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/settle.html")
    page.settle_settings.timeout = 0.5
    r = await page.click(ref_of(obs, "Forever"))
    assert not r.settled  # it mutates every 16 ms: only the bound ends the wait
    assert "Status: spinning forever" in text(r.observation)
    # The spinner was already ticking when this action began: it does not hold it.
    r = await page.click(ref_of(obs, "Immediate"))
    assert r.settled
    assert "Status: immediate done" in text(r.observation)
    stop = next(e for e in obs.elements.values() if e.name.startswith("Stop"))
    r = await page.click(stop.ref)
    assert r.settled and "Status: spinner stopped" in text(r.observation)


async def test_background_ticker_does_not_hold_the_first_action(
    page: Page, site: FixtureServer
) -> None:
    obs = await open_page(page, site, "/actions/settle_cases.html")
    await page.playwright_page.click("#tick")  # ticking before we ever act
    await page.playwright_page.wait_for_function(
        "+document.getElementById('ticker').textContent >= 5"
    )
    page.settle_settings.timeout = 30  # were the ticker counted, this would take 30 s
    r = await page.click(ref_of(obs, "Chained fetches"))
    assert r.settled and "- chain done" in text(r.observation)
    r = await page.click(ref_of(obs, "Stop ticker"))
    assert r.settled


async def test_pending_request_is_bounded(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/actions/settle_cases.html")
    page.settle_settings = SettleSettings(timeout=0.5)
    r = await page.click(ref_of(obs, "Hang a request"))
    assert not r.settled and "Status: hanging" in text(r.observation)
    # Without the network condition only the DOM has to be quiet.
    page.settle_settings.network = False
    r = await page.click(ref_of(obs, "Hang a request"))
    assert r.settled


async def test_settle_settings_validate(page: Page) -> None:
    with pytest.raises(ValueError):
        page.settle_settings.quiet_ms = -1
    with pytest.raises(ValueError):
        page.settle_settings.timeout = 0


async def test_failed_navigation_is_reported_not_raised(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/actions/widgets.html")
    # The domain policy aborts the request: the click happened, its navigation failed.
    r = await page.click(ref_of(obs, "Leave the site"))
    assert not r.ok and r.settled
    assert r.error == (
        "navigation to http://localhost/ was blocked: "
        "localhost is not in the allowed domains (127.0.0.1)"
    )


async def test_the_observation_after_an_action_is_a_delta(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/spa.html")
    r = await page.click(ref_of(obs, "Add item"))
    assert r.observation is not None and not r.observation.full
    added = [r.observation.elements[ref].name for ref in r.observation.added]
    assert added == ["Pick Item 4"]
    assert page.last_observation is r.observation


async def test_without_observe_an_action_still_settles_and_the_next_delta_has_it_all(
    page: Page, site: FixtureServer
) -> None:
    obs = await open_page(page, site, "/spa.html")
    page.settle_settings = page.settle_settings.model_copy(update={"observe": False})
    r = await page.click(ref_of(obs, "Add item"))
    r2 = await page.click(ref_of(obs, "Add item"))
    assert r.ok and r.settled and r.observation is None and r2.observation is None
    assert page.last_observation is obs
    now = await page.observe()
    assert not now.full  # a delta over both actions, equal to a fresh full pass
    assert [now.elements[ref].name for ref in now.added] == ["Pick Item 4", "Pick Item 5"]
    assert now.text == (await page.serializer.snapshot()).text


# A quiet window far shorter than the time a navigation takes to reach the network:
# settle must know from the page itself that a navigation is on its way.


async def test_a_link_to_a_slow_page_is_awaited_with_a_tiny_quiet_window(
    page: Page, site: FixtureServer
) -> None:
    obs = await open_page(page, site, "/actions/settle_cases.html")
    page.settle_settings.quiet_ms = 1
    r = await page.click(ref_of(obs, "Slow link"))
    assert r.settled and r.navigated
    assert "Delayed 300 ms" in text(r.observation)


async def test_a_form_submitted_with_enter_is_awaited_with_a_tiny_quiet_window(
    page: Page, site: FixtureServer
) -> None:
    obs = await open_page(page, site, "/actions/settle_cases.html")
    page.settle_settings.quiet_ms = 1
    r = await page.type(ref_of(obs, "Slow search"), "kettle", submit=True)
    assert r.settled and r.navigated
    assert "q=kettle" in r.url
    assert "Delayed 300 ms" in text(r.observation)


async def test_a_navigation_the_page_cancels_is_not_awaited(
    page: Page, site: FixtureServer
) -> None:
    obs = await open_page(page, site, "/actions/settle_cases.html")
    page.settle_settings.quiet_ms = 1
    before = len(site.requests)
    r = await page.click(ref_of(obs, "Cancelled link"))
    assert r.settled and not r.navigated
    assert "Settle cases" in text(r.observation)
    assert not any("cancelled=1" in p for p in site.requests[before:])


async def test_a_same_document_link_keeps_the_document(page: Page, site: FixtureServer) -> None:
    obs = await open_page(page, site, "/actions/settle_cases.html")
    r = await page.click(ref_of(obs, "Hash link"))
    assert r.settled
    assert r.url.endswith("#events")
    assert "Settle cases" in text(r.observation)


async def test_a_page_that_keeps_rendering_after_its_load_is_awaited(
    page: Page, site: FixtureServer
) -> None:
    """A new document's calm counts from its load: mutations after it still hold settle."""
    obs = await open_page(page, site, "/actions/settle_cases.html")
    page.settle_settings.quiet_ms = 60  # longer than the page's 40 ms between parts
    r = await page.click(ref_of(obs, "Late render link"))
    assert r.settled and r.navigated
    assert "Rendered all parts" in text(r.observation)
    assert "Part 5" in text(r.observation)


async def test_calm_counts_from_the_load_only_for_a_document_born_after_the_action(
    page: Page, site: FixtureServer
) -> None:
    """`bornAfter` (the action's start, wall clock) lets a document created after it
    count the calm it had since its watch began; any other keeps timing from the call."""
    r = await page.goto(site.url("/settle_target.html"), observe=True)
    assert r.ok
    await page.call_in_page("begin", None)  # the actions are in this document and watching it
    pw = page.playwright_page
    origin, watched = await pw.evaluate("[performance.timeOrigin, performance.now()]")
    quiet = 400.0
    # Wait (on the page's clock, no sleep) until the page has been still that long.
    await pw.wait_for_function(f"performance.now() > {watched + quiet + 50}")
    arg = {"quietMs": quiet, "timeoutMs": 5000}
    born = await page.call_in_page("settle", {**arg, "bornAfter": origin - 1}, await_promise=True)
    older = await page.call_in_page("settle", {**arg, "bornAfter": origin + 1}, await_promise=True)
    plain = await page.call_in_page("settle", arg, await_promise=True)
    assert born["quiet"] and older["quiet"] and plain["quiet"]
    assert born["ms"] < quiet  # calm since its load already counted
    assert older["ms"] >= quiet and plain["ms"] >= quiet  # a full window from the call


async def test_a_call_cut_by_a_navigation_leaves_the_new_documents_world_alone(
    page: Page, site: FixtureServer
) -> None:
    """A call pending in a document that navigates can fail after the new document's
    world was announced (its reply and the announcement travel on different sockets):
    that failure must not make the next call create the world anew, a needless round
    trip and script run on the path of the step after a page load."""
    await open_page(page, site, "/settle.html")
    ser = page.serializer
    cdp, fast = ser._cdp, ser._fast
    assert cdp is not None and fast is not None, "needs the direct socket"
    announced = anyio.Event()

    def on_context(e: dict) -> None:
        if e["context"].get("name") == ser.world:
            announced.set()

    cdp.on("Runtime.executionContextCreated", on_context)
    direct = fast.send

    async def late(method: str, params: dict | None = None, **kw: Any) -> dict:
        try:
            return await direct(method, params, **kw)
        except CDPError:  # the slow order, made certain: the failure after the news
            await announced.wait()
            raise

    fast.send = late  # type: ignore[method-assign]
    sent: list[str] = []
    send = cdp.send

    async def spy(method: str, params: dict | None = None) -> dict:
        sent.append(method)
        return await send(method, params)

    cdp.send = spy  # type: ignore[method-assign]

    async def pending(cut: list[BaseException]) -> None:
        try:  # a long quiet window: it is still waiting when the document goes
            await page.call_in_page(
                "settle",
                {"quietMs": 60_000, "timeoutMs": 60_000},
                await_promise=True,
                retry_gone=False,
            )
        except ContextGoneError as exc:
            cut.append(exc)

    for target in ("/settle_target.html", "/settle.html"):
        announced = anyio.Event()
        cut: list[BaseException] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(pending, cut)
            await page.call_in_page("begin", None)  # the pending call reached the page before it
            await page.playwright_page.goto(site.url(target))
        assert cut, "the pending call outlived its document"
        obs = await page.observe()
        assert obs.full and obs.url.endswith(target)
    assert "Page.createIsolatedWorld" not in sent
