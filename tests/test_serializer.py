"""The in-page serializer: content, refs, hiding, frames, shadow DOM, and deltas."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from browser_agent import Browser, Observation, Page
from browser_agent.extractors.driver import InPageSerializer
from browser_agent.extractors.mirror import VIEWPORT_BOTTOM, VIEWPORT_TOP
from browser_agent.extractors.offline import serialize_html
from browser_agent.testing import FixtureServer

pytestmark = pytest.mark.anyio

REF_LINE = re.compile(r"^\s*\[(\d+)\] (\S+) \"((?:[^\"\\]|\\.)*)\"")


def ref_lines(text: str) -> list[tuple[int, str, str]]:
    out = []
    for line in text.splitlines():
        m = REF_LINE.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2), m.group(3)))
    return out


def without_markers(text: str) -> str:
    return "\n".join(x for x in text.splitlines() if x not in (VIEWPORT_TOP, VIEWPORT_BOTTOM))


class _Oracle:
    """Fresh full serializations in the same world, leaving the incremental state alone."""

    def __init__(self, page: Page) -> None:
        self.page = page

    async def observe(self, full: bool = True, max_chars: int | None = None) -> Observation:
        return await self.page.serializer.snapshot(max_chars=max_chars)


async def oracle(page: Page) -> _Oracle:
    return _Oracle(page)


async def test_form_has_every_control(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/form.html"))
    obs = await page.observe()
    assert obs.full and obs.version == 1
    roles = {e.role for e in obs.elements.values()}
    assert {"textbox", "checkbox", "radio", "combobox", "listbox", "button", "slider"} <= roles
    for line in obs.text.splitlines():
        if line.lstrip().startswith("["):
            assert REF_LINE.match(line), line
    # Every element line in the text is in `elements` and vice versa.
    assert [r for r, _, _ in ref_lines(obs.text)] == list(obs.elements)
    types = {m.group(1) for m in re.finditer(r" type=(\S+)", obs.text)}
    assert {"email", "password", "date", "color", "file"} <= types
    for el in obs.elements.values():
        _, _, w, h = el.bbox
        assert w > 0 and h > 0


async def test_password_never_in_clear(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/form.html"))
    pw = page.playwright_page
    await pw.fill("input[type=password]", "hunter2-secret")
    obs = await page.observe()
    assert "hunter2-secret" not in obs.text
    assert all("hunter2" not in (e.value or "") for e in obs.elements.values())


async def test_hidden_content_is_left_out(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/hidden.html"))
    obs = await page.observe()
    assert "HIDDEN-" not in obs.text, [x for x in obs.text.splitlines() if "HIDDEN-" in x]
    assert "VISIBLE-" in obs.text
    assert "VISIBLE-child-of-hidden" in obs.text
    below = obs.text.split(VIEWPORT_BOTTOM, 1)
    assert len(below) == 2 and "OFFSCREEN-below" in below[1]


async def test_refs_stable_and_never_reused(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/spa.html"))
    first = await page.observe()
    by_label = {(e.role, e.name): e.ref for e in first.elements.values()}
    add = first.find("button", "Add item")
    remove = first.find("button", "Remove first item")
    assert add and remove
    pw = page.playwright_page
    await pw.get_by_role("button", name="Add item").click()
    after_add = await page.observe()
    assert not after_add.full and after_add.added
    assert min(after_add.added) > max(first.elements)
    for e in after_add.elements.values():
        if (e.role, e.name) in by_label and e.ref not in after_add.added:
            assert by_label[(e.role, e.name)] == e.ref
    await pw.get_by_role("button", name="Re-render list").click()
    rerendered = await page.observe()
    gone = set(after_add.elements) - set(rerendered.elements)
    assert set(rerendered.removed) == gone
    assert gone.isdisjoint(rerendered.elements)
    assert all(r > max(after_add.elements) for r in rerendered.added)


MUTATIONS_JS = (Path(__file__).parent / "js" / "mutations.js").read_text()
MUTATIONS = [
    "append", "remove", "text", "hide", "attr", "hiddenAttr", "move", "input", "check", "wrap",
    "inline",
]  # fmt: skip


@pytest.mark.parametrize("path", ["/spa.html", "/form.html", "/gen/1000.html", "/shadow.html"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_incremental_equals_full(
    page: Page, site: FixtureServer, path: str, seed: int
) -> None:
    rng = random.Random(seed)
    await page.goto(site.url(path))
    ref = await oracle(page)
    await page.observe()
    pw = page.playwright_page
    deltas = 0
    reasons = []
    for step in range(25):
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(MUTATIONS)
            names = await pw.evaluate(f"([n, r]) => ({MUTATIONS_JS})(n, r)", [name, rng.random()])
            assert sorted(names) == sorted(MUTATIONS)
        inc = await page.observe()
        deltas += not inc.full
        reasons.append(inc.full_reason)
        fresh = await ref.observe(full=True)
        assert inc.text == fresh.text, f"step {step} ({name}) diverged"
        assert inc.elements == fresh.elements
    # Nearly every step really was a delta, edits at the top level of <body> included;
    # full passes only for stylesheets or inline content at the top level.
    # shadow.html has four top-level elements: most random edits land on <body>.
    assert deltas >= (14 if path == "/shadow.html" else 22) and set(reasons) <= {
        "",
        "style",
        "unanchored",
    }, reasons


async def test_top_level_dialogs_and_toasts_are_deltas(page: Page, site: FixtureServer) -> None:
    """What apps append to <body> (dialogs, toasts, portals) is spliced in and out by
    itself: a delta, equal to a fresh full serialization, not a full pass."""
    await page.goto(site.url("/spa.html"))
    ref = await oracle(page)
    await page.observe()
    pw = page.playwright_page
    await pw.evaluate(
        """() => {
        const d = document.createElement("div");
        d.id = "portal";
        d.setAttribute("role", "dialog");
        d.setAttribute("aria-label", "Cookie choices");
        d.innerHTML = "<p>We use cookies.</p><button>Accept all</button>";
        document.body.appendChild(d);
        const t = document.createElement("section");
        t.innerHTML = "<p>Saved!</p>";
        document.body.insertBefore(t, document.body.firstElementChild);
    }"""
    )
    shown = await page.observe()
    assert not shown.full and shown.full_reason == ""
    accept = shown.find("button", "Accept all")
    assert accept is not None and accept.ref in shown.added
    fresh = await ref.observe(full=True)
    assert shown.text == fresh.text and shown.elements == fresh.elements
    assert "Saved!" in shown.text.splitlines()[0]

    await pw.evaluate("() => { document.getElementById('portal').style.display = 'none'; }")
    hidden = await page.observe()
    assert not hidden.full and accept.ref in hidden.removed
    fresh = await ref.observe(full=True)
    assert hidden.text == fresh.text and hidden.elements == fresh.elements

    await pw.evaluate("() => { document.getElementById('portal').style.display = ''; }")
    again = await page.observe()
    assert not again.full and accept.ref in again.added  # the same element, the same ref
    await pw.evaluate("() => document.getElementById('portal').remove()")
    gone = await page.observe()
    assert not gone.full and accept.ref in gone.removed
    fresh = await ref.observe(full=True)
    assert gone.text == fresh.text and gone.elements == fresh.elements


async def test_a_panel_that_grows_without_a_mutation_appears_in_the_next_delta(
    page: Page, site: FixtureServer
) -> None:
    """A collapsed panel opened by a CSS animation alone (no DOM mutation): the
    serializer learns of it from its size, and the delta equals a full pass."""
    await page.goto(site.url("/spa.html"))
    ref = await oracle(page)
    pw = page.playwright_page
    await pw.evaluate(
        """() => {
        const style = document.createElement("style");
        style.textContent = `@keyframes open { from { height: 0 } to { height: 40px } }
          #drawer { overflow: hidden; height: 0; animation: open 1ms linear 300ms forwards; }`;
        document.head.appendChild(style);
        const d = document.createElement("div");
        d.id = "drawer";
        d.innerHTML = "<button>Hidden until open</button>";
        document.querySelector("main, body").appendChild(d);
    }"""
    )
    before = await page.observe()
    assert before.find("button", "Hidden until open") is None
    await pw.wait_for_function("document.getElementById('drawer').offsetHeight === 40")
    await pw.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    after = await page.observe()
    assert not after.full, after.full_reason
    opened = after.find("button", "Hidden until open")
    assert opened is not None and opened.ref in after.added
    fresh = await ref.observe(full=True)
    assert after.text == fresh.text and after.elements == fresh.elements


async def test_same_and_cross_origin_frames(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/iframes.html"))
    pw = page.playwright_page
    for frame in pw.frames[1:]:
        await frame.wait_for_load_state()
    obs = await page.observe()
    frames = [e for e in obs.elements.values() if e.role == "iframe"]
    assert len(frames) == 2
    # Content of both frames is inline, under its iframe line, with unique refs.
    buttons = [e for e in obs.elements.values() if e.name == "Frame button"]
    assert len(buttons) == 2, obs.text
    refs = [r for r, _, _ in ref_lines(obs.text)]
    assert len(refs) == len(set(refs))
    lines = obs.text.splitlines()
    for f in frames:
        i = next(i for i, x in enumerate(lines) if x.lstrip().startswith(f"[{f.ref}] iframe"))
        indent = len(lines[i]) - len(lines[i].lstrip())
        assert lines[i + 1].startswith(" " * (indent + 2))
    # A change inside the cross-origin frame shows up on the next observation.
    cross = next(f for f in pw.frames if f.url.startswith(site.other_origin))
    await cross.get_by_role("button", name="Frame button").click()
    again = await page.observe()
    assert "Frame clicked" in again.text


async def test_open_shadow_dom_is_inline(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/shadow.html"))
    obs = await page.observe()
    assert obs.find(name="Shadow input") is not None
    assert obs.find("button", "Shadow button") is not None
    await page.playwright_page.get_by_role("button", name="Shadow button").click()
    inc = await page.observe()
    full = await (await oracle(page)).observe(full=True)
    assert inc.text == full.text


@pytest.mark.faults
async def test_hostile_page_serializes_and_sees_nothing(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/hostile.html"))
    pw = page.playwright_page
    before = await pw.evaluate("document.documentElement.outerHTML")
    obs = await page.observe()
    assert "Hostile page" in obs.text
    assert obs.find("button", "Safe button") is not None
    assert obs.find(name="Safe input") is not None
    await pw.get_by_role("button", name="Safe button").click()
    await page.observe()
    after = await pw.evaluate("document.documentElement.outerHTML")
    # No marker attributes, and nothing the page can find of us in its own world.
    assert "data-ref" not in after and "__browserAgent" not in after
    assert before.count("<") <= after.count("<")
    leaks = await pw.evaluate(
        "Object.getOwnPropertyNames(window).filter(k => /browserAgent|__ba_/i.test(k))"
    )
    assert leaks == []


async def test_the_bench_floor_visits_every_node_and_sends_what_it_is_asked(
    page: Page, site: FixtureServer
) -> None:
    """`floor` is `bench extract`'s yardstick: it must do the walk it claims to do."""
    await page.goto(site.url("/hostile.html"))  # its replaced globals must not matter
    nodes = await page.playwright_page.evaluate(
        "(() => { let k = 0; const w = document.createTreeWalker(document.documentElement);"
        " while (w.nextNode()) k++; return k; })()"
    )
    assert nodes > 10
    assert await page.serializer.call("floor", 5) == "xxxxx" + str(nodes)
    assert await page.serializer.call("floor", -3) == str(nodes)


async def test_the_bench_bare_pass_keeps_what_shows_and_drops_what_is_hidden(
    page: Page, site: FixtureServer
) -> None:
    """`bare` is the least a serializer must do: it may skip names, never the visibility."""
    await page.goto(site.url("/hidden.html"))
    text = await page.serializer.call("bare")
    assert "VISIBLE-text in a normal paragraph." in text
    for hidden in ("HIDDEN-display paragraph", "HIDDEN-visibility paragraph",
                   "HIDDEN-opacity paragraph", "HIDDEN-attribute paragraph"):  # fmt: skip
        assert hidden not in text
    box = await page.playwright_page.locator("#visible-button").bounding_box()
    assert box is not None
    line = f"button {round(box['x'])},{round(box['y'])},{round(box['width'])},"
    assert re.search(rf"^\[\d+\] {line}", text, re.M)
    assert await page.serializer.call("bare") == text  # its refs are stable


async def test_navigation_resets_to_full(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/spa.html"))
    first = await page.observe()
    await page.goto(site.url("/form.html"))
    second = await page.observe()
    assert second.full and second.url.endswith("/form.html")
    assert second.text != first.text


async def test_size_cap_keeps_view_first_and_summarizes(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/gen/10000.html"))
    obs = await page.observe(max_chars=4000)
    assert obs.truncated
    assert len(obs.text) < 4000 * 1.2
    # The closing line says what was left out, not only how many elements.
    assert re.search(r"… \d+ more elements below \(\d+ \w+.*\); scroll to see them$", obs.text)
    ref = await oracle(page)
    pw = page.playwright_page
    await pw.evaluate("document.querySelector('p').textContent = 'first paragraph changed'")
    inc = await page.observe()
    assert not inc.full and "first paragraph changed" in inc.text
    fresh = await ref.observe(full=True, max_chars=4000)
    assert inc.text == fresh.text
    # A change far below the window only moves the count.
    await pw.evaluate(
        "(() => { const b = [...document.querySelectorAll('button')].at(-1);"
        " b.insertAdjacentHTML('afterend', '<button>extra</button>'); })()"
    )
    inc2 = await page.observe()
    fresh2 = await ref.observe(full=True, max_chars=4000)
    assert inc2.text == fresh2.text


@pytest.mark.faults
async def test_mutation_flood_is_bounded(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/mutate.html"))
    pw = page.playwright_page
    await page.observe()
    await pw.get_by_role("button", name="Start flood").click()
    for _ in range(5):
        obs = await page.observe()
        assert obs.find("button", "Stop flood") is not None
    await pw.get_by_role("button", name="Stop flood").click()


async def test_main_world_fallback_matches_isolated(browser: Browser, site: FixtureServer) -> None:
    page = await browser.new_page()
    await page.goto(site.url("/form.html"))
    isolated = await page.observe()
    fallback = InPageSerializer(page.playwright_page, isolated=False)
    main = await fallback.observe()
    assert main.text == isolated.text
    leaks = await page.playwright_page.evaluate(
        "Object.getOwnPropertyNames(window).filter(k => /browserAgent|__ba_/i.test(k))"
    )
    assert leaks == []


async def test_offline_serializer_agrees_on_static_page(page: Page, site: FixtureServer) -> None:
    html = (
        "<html><body><h1>Static</h1><p>Hello <b>there</b>, <a href='/a'>a link</a>.</p>"
        "<form><label for=q>Query</label><input id=q value=abc>"
        "<label><input type=checkbox checked> Keep</label>"
        "<select aria-label=Size><option>S</option><option selected>M</option></select>"
        "<textarea aria-label=Notes>n</textarea><button disabled>Go</button></form>"
        "<ul><li>One</li><li>Two <button>x</button></li></ul>"
        "<details><summary>More</summary><p>secret</p></details>"
        "<div hidden>gone</div><p style='display:none'>gone too</p></body></html>"
    )
    await page.playwright_page.set_content(html)
    live = await page.observe(full=True)
    assert without_markers(live.text) == serialize_html(html)
