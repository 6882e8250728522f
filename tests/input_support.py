"""What a page sees of our clicks: the events, in order, on the fixture SPA's counter."""

from __future__ import annotations

from browser_agent import Page
from browser_agent.testing import FixtureServer

EVENTS = (
    "pointermove", "mousemove", "pointerover", "mouseover", "pointerdown", "mousedown",
    "pointerup", "mouseup", "click", "dblclick", "contextmenu", "auxclick",
)  # fmt: skip

_LOG = """(names) => {
  window.__seen = [];
  const counter = document.getElementById("counter");
  for (const name of names)
    counter.addEventListener(name, (e) => {
      if (name === "contextmenu") e.preventDefault();
      window.__seen.push(`${name}:${e.button}:${e.detail}:${e.isTrusted}`);
    });
}"""


async def clicks_seen(page: Page, site: FixtureServer) -> dict[str, list[str]]:
    """The counter's events for a left click, a double click and a right click, on a
    freshly loaded page (the pointer arrives from outside), and whether it hovers."""
    await page.goto(site.url("/spa.html"))
    obs = await page.observe()
    ref = obs.get(role="button", name="Clicked 0 times").ref
    await page.playwright_page.evaluate(_LOG, list(EVENTS))
    seen: dict[str, list[str]] = {}
    for case, kwargs in (("left", {}), ("double", {"count": 2}), ("right", {"button": "right"})):
        await page.playwright_page.evaluate("window.__seen = []")
        r = await page.click(ref, **kwargs)  # type: ignore[arg-type]
        assert r.ok and r.observation is not None, r.error
        seen[case] = await page.playwright_page.evaluate("window.__seen")
        ref = next(e.ref for e in r.observation.elements.values() if e.name.startswith("Clicked"))
    hover = "document.getElementById('counter').matches(':hover')"
    seen["hover"] = [str(await page.playwright_page.evaluate(hover))]
    return seen


def _presses(events: list[str]) -> list[str]:
    return [e for e in events if not e.startswith(("pointerover", "mouseover", "pointermove"))]


def assert_user_clicks(seen: dict[str, list[str]]) -> None:
    """Trusted events in a user's order: the pointer arrives and moves, then presses."""
    assert seen["left"][:4] == [
        "pointerover:-1:0:true", "mouseover:0:0:true", "pointermove:-1:0:true",
        "mousemove:0:0:true",
    ], seen["left"]  # fmt: skip
    assert _presses(seen["left"]) == [
        "mousemove:0:0:true", "pointerdown:0:0:true", "mousedown:0:1:true",
        "pointerup:0:0:true", "mouseup:0:1:true", "click:0:1:true",
    ], seen["left"]  # fmt: skip
    assert _presses(seen["double"]) == [
        "mousemove:0:0:true",
        "pointerdown:0:0:true", "mousedown:0:1:true", "pointerup:0:0:true", "mouseup:0:1:true",
        "click:0:1:true",
        "pointerdown:0:0:true", "mousedown:0:2:true", "pointerup:0:0:true", "mouseup:0:2:true",
        "click:0:2:true", "dblclick:0:2:true",
    ], seen["double"]  # fmt: skip
    assert _presses(seen["right"]) == [
        "mousemove:0:0:true", "pointerdown:2:0:true", "mousedown:2:1:true",
        "contextmenu:2:0:true", "pointerup:2:0:true", "mouseup:2:1:true", "auxclick:2:1:true",
    ], seen["right"]  # fmt: skip
    assert seen["hover"] == ["True"], "the pointer is not over what it clicked"
