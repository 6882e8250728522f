"""What actions must reach: targets clipped by scrolling containers (nested, in same- and
cross-origin frames) in a page that needs no window scroll; what still covers a target;
`scroll(ref)` on a container moving it by about a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from browser_agent import ActionError, Browser, Page
from browser_agent.testing import FixtureServer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def scrollers(browser: Browser, site: FixtureServer) -> AsyncIterator[Page]:
    page = await browser.new_page()
    await page.goto(site.url("/reach/scrollers.html"))
    for frame in page.playwright_page.frames[1:]:
        await frame.wait_for_load_state()
    await page.observe()
    page.action_settings.timeout = 1.0
    yield page
    await page.close()


def ref(page: Page, name: str) -> int:
    o = page.last_observation
    el = o.find(name=name) if o is not None else None
    assert el is not None, f"no {name!r} in the observation"
    return el.ref


def picked(page: Page) -> str:
    o = page.last_observation
    assert o is not None
    line = next(ln for ln in o.text.splitlines() if ln.startswith("Picked:"))
    return line.removeprefix("Picked:").strip()


async def scroll_top(page: Page, selector: str) -> float:
    return float(await page.playwright_page.eval_on_selector(selector, "e => e.scrollTop"))


@pytest.mark.parametrize(
    ("name", "boxes"),
    [
        ("Result 15", ["#results"]),  # clipped by one box, inside the window
        ("Inner 8", ["#outer", "#inner"]),  # by a box inside another
        ("Framed 6", ["#frame-box"]),  # in a same-origin frame, itself scrolled away
        ("Far 6", ["#far-box"]),  # in a cross-origin frame inside a scrolled box
    ],
)
async def test_a_click_scrolls_every_box_around_a_clipped_target(
    scrollers: Page, name: str, boxes: list[str]
) -> None:
    target = ref(scrollers, name)
    if name.startswith("Far") and not scrollers.last_observation.elements[target].frame:  # type: ignore[union-attr]
        pytest.skip("the serializer does not stitch cross-origin frames")
    assert [await scroll_top(scrollers, b) for b in boxes] == [0.0] * len(boxes)
    r = await scrollers.click(target)
    assert r.ok and picked(scrollers) == name
    assert all([await scroll_top(scrollers, b) > 0 for b in boxes])
    assert r.observation is not None and r.observation.scroll == (0.0, 0.0)  # the window stayed


async def test_a_target_that_stays_covered_says_by_what(scrollers: Page) -> None:
    # The banner is pinned for good: the click waits out its whole timeout, and a short
    # one gives the same error (the page scrolls the target first whatever the bound).
    scrollers.action_settings.timeout = 0.2
    with pytest.raises(ActionError) as err:
        await scrollers.click(ref(scrollers, "Under the banner"))
    assert str(err.value).endswith('covered by <div.banner> "Sale banner pinned over the list"')
    assert picked(scrollers) == "nothing"


async def test_scrolling_a_container_moves_it_by_about_a_page(scrollers: Page) -> None:
    pw = scrollers.playwright_page
    height = await pw.eval_on_selector("#results", "e => e.clientHeight")
    r = await scrollers.scroll("down", ref=ref(scrollers, "Results"))
    moved = await scroll_top(scrollers, "#results")
    assert 0.85 * height <= moved < height  # a page, less a little overlap
    assert r.note == f'scrolled {moved:.0f} px down in region "Results"'
    # A ref on an element inside a list scrolls the list.
    r = await scrollers.scroll("down", ref=ref(scrollers, "Result 2"))
    assert await scroll_top(scrollers, "#results") == 2 * moved
    # A widget whose ref is its frame, not the box inside that scrolls: the box moves.
    inner = await pw.eval_on_selector("#feed-scroller", "e => e.clientHeight")
    r = await scrollers.scroll("down", ref=ref(scrollers, "Feed"))
    fed = await scroll_top(scrollers, "#feed-scroller")
    assert 0.85 * inner <= fed < inner
    assert re.fullmatch(r"scrolled \d+ px down in scrollable \"\"", r.note)  # the box has a line
