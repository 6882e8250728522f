"""Cross-site iframes that Chromium runs out of process (OOPIFs): observed and acted on.

The fixture page is on 127.0.0.1 and its iframe on `localhost` (another site), so site
isolation gives the frame its own renderer process, which the page's CDP session
cannot see into. Every test first checks that the frame really is out of process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Frame

from browser_agent import Browser, Observation, Page
from browser_agent.extractors.driver import FRAME_REF_STRIDE
from browser_agent.testing import FixtureServer

pytestmark = pytest.mark.anyio

PAGE = "/frames/cross_site.html"


@pytest.fixture
async def page(cross_site: Browser) -> Page:
    """A page in a fresh context of the session's browser that allows `localhost` too:
    the policy must let the second site in, or its frame would be an error page."""
    return await cross_site.new_page()


def ref_of(obs: Observation, name: str) -> int:
    el = obs.find(name=name)
    assert el is not None, f"no {name!r} in:\n{obs.text}"
    return el.ref


async def open_oopif(page: Page, site: FixtureServer, path: str = PAGE) -> Frame:
    """Load the page and return its child frame, having checked it is out of process."""
    await page.goto(site.url(path))
    pw = page.playwright_page
    frame = next(f for f in pw.frames if f.url.startswith(site.other_site))
    await frame.wait_for_load_state()
    await assert_out_of_process(page, frame)
    return frame


async def assert_out_of_process(page: Page, frame: Frame) -> None:
    pw = page.playwright_page
    cdp = await pw.context.new_cdp_session(pw)
    try:
        targets = (await cdp.send("Target.getTargets"))["targetInfos"]
    finally:
        await cdp.detach()
    kinds = {t["url"]: t["type"] for t in targets}
    assert kinds.get(frame.url) == "iframe", f"{frame.url} is not an OOPIF: {targets}"
    # Playwright only hands out a session for a frame with a target of its own.
    session = await pw.context.new_cdp_session(frame)
    await session.detach()


async def navigate_frame(page: Page, frame: Frame, url: str) -> None:
    """Point the iframe at `url` from the top page (Playwright's `frame.goto` gives up
    when the frame changes process) and wait for the new document to load."""
    pw = page.playwright_page
    async with pw.expect_event("framenavigated", lambda f: f is frame and f.url == url):
        await pw.evaluate("u => { document.getElementById('oopif').src = u; }", url)
    await frame.wait_for_load_state()


def assert_same(inc: Observation, fresh: Observation) -> None:
    assert inc.text == fresh.text
    assert inc.elements == fresh.elements


async def test_oopif_is_stitched_with_unique_refs(page: Page, site: FixtureServer) -> None:
    await open_oopif(page, site)
    obs = await page.observe()
    button = obs.find("button", "Site button")
    field = obs.find(name="Site input")
    assert button is not None and field is not None, obs.text
    assert button.frame and button.frame == field.frame
    assert button.ref >= FRAME_REF_STRIDE and field.ref >= FRAME_REF_STRIDE
    assert obs.get("button", "Top button").frame == ""
    assert "\x00" not in obs.text
    # Every ref in the text is unique, and the frame's lines sit under its iframe line.
    refs = [int(x.split("]")[0].strip(" [")) for x in obs.text.splitlines() if "] " in x]
    assert len(refs) == len(set(refs)) and set(refs) == set(obs.elements)
    lines = obs.text.splitlines()
    at = next(i for i, x in enumerate(lines) if x.startswith("[") and " iframe " in x)
    assert lines[at + 1] == "  ## Cross-site frame page"
    assert f"  [{field.ref}] textbox" in obs.text
    assert lines.index("Text after the frame.") > at
    assert_same(obs, await page.serializer.snapshot())


async def test_changes_inside_the_oopif_are_deltas(page: Page, site: FixtureServer) -> None:
    frame = await open_oopif(page, site)
    first = await page.observe()
    await frame.get_by_role("button", name="Site button").click()
    await frame.evaluate(
        """() => {
            const b = document.createElement("button");
            b.id = "added";
            b.textContent = "Added button";
            document.body.append(b);
            document.querySelector("#oopif-list").insertAdjacentHTML(
                "beforeend", "<li>Second item</li>");
        }"""
    )
    inc = await page.observe()
    assert "Site clicked" in inc.text and "- Second item" in inc.text
    added = inc.find("button", "Added button")
    assert added is not None and added.frame and added.ref >= FRAME_REF_STRIDE
    # Shipped as the frame's delta, not a full pass: refs kept, the new one reported.
    assert not inc.full and added.ref in inc.added
    assert inc.get("button", "Site button").ref == first.get("button", "Site button").ref
    assert_same(inc, await page.serializer.snapshot())
    # Removal and an attribute change, and nothing at all.
    await frame.evaluate(
        """() => {
            document.querySelector("#added").remove();
            document.querySelector("#oopif-text").disabled = true;
        }"""
    )
    inc = await page.observe()
    assert added.ref in inc.removed and inc.find("button", "Added button") is None
    assert "disabled" in inc.get(name="Site input").states
    assert_same(inc, await page.serializer.snapshot())
    quiet = await page.observe()
    assert quiet.text == inc.text and not quiet.added and not quiet.removed


async def test_click_and_type_inside_the_oopif(page: Page, site: FixtureServer) -> None:
    frame = await open_oopif(page, site)
    obs = await page.observe()
    r = await page.click(ref_of(obs, "Site button"))
    assert r.ok, r.error
    assert await frame.text_content("#oopif-status") == "Site clicked"
    assert "Site clicked" in r.observation.text  # type: ignore[union-attr]
    field = ref_of(obs, "Site input")
    r = await page.type(field, "typed across sites")
    assert r.ok, r.error
    assert await frame.input_value("#oopif-text") == "typed across sites"
    assert r.observation.elements[field].value == "typed across sites"  # type: ignore[union-attr]
    # The top page's own controls still work beside it.
    r = await page.click(ref_of(obs, "Top button"))
    assert r.ok, r.error


async def test_upload_into_the_oopif(page: Page, site: FixtureServer, tmp_path: Path) -> None:
    """The file input's object id belongs to the frame's own session: the upload must go
    through that session, not the page's."""
    frame = await open_oopif(page, site)
    await frame.evaluate(
        """() => document.body.insertAdjacentHTML("beforeend",
            '<label>Site file <input type="file" id="oopif-file"></label>')"""
    )
    obs = await page.observe()
    doc = tmp_path / "cv.txt"
    doc.write_text("curriculum vitae")
    r = await page.upload(ref_of(obs, "Site file"), doc)
    assert r.ok, r.error
    assert await frame.evaluate("document.getElementById('oopif-file').files[0].name") == "cv.txt"


async def test_oopif_moving_between_processes(page: Page, site: FixtureServer) -> None:
    """A frame that navigates to its parent's site rejoins the page's process, and back."""
    frame = await open_oopif(page, site)
    await page.observe()
    # Same site as the page, other origin: in process, still stitched (by the page's session).
    await navigate_frame(page, frame, site.other_url("/frame_child.html"))
    obs = await page.observe()
    assert obs.find("button", "Frame button") is not None, obs.text
    assert obs.find("button", "Site button") is None
    assert_same(obs, await page.serializer.snapshot())
    r = await page.click(ref_of(obs, "Frame button"))
    assert r.ok and await frame.text_content("#frame-status") == "Frame clicked"
    # And out of process again.
    await navigate_frame(page, frame, site.other_site_url("/frames/cross_site_child.html"))
    await assert_out_of_process(page, frame)
    obs = await page.observe()
    assert obs.find("button", "Site button") is not None, obs.text
    assert_same(obs, await page.serializer.snapshot())
    r = await page.click(ref_of(obs, "Site button"))
    assert r.ok and await frame.text_content("#oopif-status") == "Site clicked"


async def test_in_process_frames_are_probed_once(
    page: Page, site: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telling OOPIFs from in-process frames costs round trips once per frame, not per
    observation (pages without cross-origin frames never get there at all)."""
    await page.goto(site.url("/iframes.html"))
    for f in page.playwright_page.frames[1:]:
        await f.wait_for_load_state()
    context = page.playwright_page.context
    probes: list[object] = []
    real = context.new_cdp_session

    async def counting(target: object) -> object:
        probes.append(target)
        return await real(target)  # type: ignore[arg-type]

    monkeypatch.setattr(context, "new_cdp_session", counting)
    first = await page.observe()
    assert first.find("button", "Frame button") is not None
    n = len(probes)
    assert n <= 2  # the two child frames, neither of them an OOPIF
    for _ in range(3):
        await page.observe()
    assert len(probes) == n


async def test_cross_origin_frame_inside_an_oopif(page: Page, site: FixtureServer) -> None:
    """A frame nested in an OOPIF, cross-origin to it but of its site, lives in the
    OOPIF's process: it is found through the OOPIF's session and stitched in too."""
    await page.goto(site.url("/frames/cross_site_nested.html"))
    pw = page.playwright_page
    outer = next(f for f in pw.frames if f.url.startswith(site.other_site))
    inner = next(f for f in pw.frames if f.url.startswith(site.localhost_origin))
    for f in (outer, inner):
        await f.wait_for_load_state()
    await assert_out_of_process(page, outer)
    obs = await page.observe()
    outer_button = obs.find("button", "Outer button")
    inner_button = obs.find("button", "Frame button")
    assert outer_button is not None and inner_button is not None, obs.text
    assert len({outer_button.frame, inner_button.frame, ""}) == 3
    assert "\x00" not in obs.text
    # Each frame one level deeper, under its own iframe line.
    lines = obs.text.splitlines()
    inner_at = next(i for i, x in enumerate(lines) if x.endswith('iframe "Inner frame"'))
    assert lines[inner_at].startswith("  [") and lines[inner_at + 1].startswith("    ## ")
    assert f'    [{inner_button.ref}] button "Frame button"' in lines[inner_at:]
    assert f'  [{outer_button.ref}] button "Outer button"' in lines[:inner_at]
    assert_same(obs, await page.serializer.snapshot())
    await inner.get_by_role("button", name="Frame button").click()
    inc = await page.observe()
    assert "Frame clicked" in inc.text
    assert_same(inc, await page.serializer.snapshot())


async def test_oopifs_beside_an_in_process_frame(page: Page, site: FixtureServer) -> None:
    """Two OOPIFs and one in-process cross-origin frame: three serializers, one text."""
    await page.goto(site.url("/frames/mixed.html"))
    pw = page.playwright_page
    for f in pw.frames[1:]:
        await f.wait_for_load_state()
    oopifs = [f for f in pw.frames if f.url.startswith(site.other_site)]
    assert len(oopifs) == 2
    for f in oopifs:
        await assert_out_of_process(page, f)
    obs = await page.observe()
    buttons = [e for e in obs.elements.values() if e.name in ("Frame button", "Site button")]
    assert len(buttons) == 3 and len({b.frame for b in buttons}) == 3, obs.text
    refs = [int(x.split("]")[0].strip(" [")) for x in obs.text.splitlines() if "] " in x]
    assert len(refs) == len(set(refs)) and set(refs) == set(obs.elements)
    assert_same(obs, await page.serializer.snapshot())
    for b in buttons:
        r = await page.click(b.ref)
        assert r.ok, r.error
    texts = [await f.evaluate("document.body.innerText") for f in pw.frames[1:]]
    assert sum("Frame clicked" in t for t in texts) == 2
    assert sum("Site clicked" in t for t in texts) == 1
    inc = await page.observe()
    assert inc.text.count("Frame clicked") == 2 and "Site clicked" in inc.text
    assert_same(inc, await page.serializer.snapshot())
