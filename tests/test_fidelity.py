"""What the observation shows and what its refs reach, on pages built like the real web.

The fixtures under `fixtures/site/fidelity/` are written the way jQuery-era and modern
sites are: handlers delegated to `document`, pointer cursors declared only under
`:hover`, icon fonts whose glyphs live in `::before`, clickable rows and cards with
targets inside them, an aria-hidden page behind a cookie banner, a terminal whose
keystrokes go to a hidden textarea, a vendor widget in a closed shadow root.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from browser_agent import Observation, Page
from browser_agent.testing import FixtureServer

pytestmark = pytest.mark.anyio

MUTATIONS_JS = (Path(__file__).parent / "js" / "mutations.js").read_text()
ELEMENT_LINE = re.compile(r'^\s*\[(\d+)\] (\S+) "((?:[^"\\]|\\.)*)"(.*)$')


def el(obs: Observation, name: str, role: str | None = None) -> int:
    found = obs.find(role, name)
    assert found is not None, f"no {role or ''} {name!r} in:\n{obs.text}"
    return found.ref


def line_of(obs: Observation, ref: int) -> str:
    return next(x.strip() for x in obs.text.splitlines() if x.strip().startswith(f"[{ref}] "))


async def status(page: Page) -> str:
    return (await page.playwright_page.text_content("[role=status]") or "").strip()


# ---------------------------------------------------------------- 1. visible means visible


async def test_a_rendered_aria_hidden_page_is_shown_and_marked(
    page: Page, site: FixtureServer
) -> None:
    """A shop marks its whole page aria-hidden while the cookie banner is open: the page
    is still on screen, so the model sees it, marked, and can act on it."""
    await page.goto(site.url("/fidelity/product.html"))
    obs = await page.observe()
    assert "$549.99" in obs.text
    add = obs.elements[el(obs, "Add to bag", "button")]
    assert "aria-hidden" in add.states and line_of(obs, add.ref).endswith("aria-hidden")
    accept = obs.elements[el(obs, "Accept all cookies", "button")]
    assert "aria-hidden" not in accept.states
    r = await page.click(accept.ref)
    after = r.observation
    assert after is not None and not after.full
    assert "aria-hidden" not in after.elements[add.ref].states
    assert add.ref in after.changed
    assert after.text == (await page.serializer.snapshot()).text


async def test_what_is_not_on_screen_stays_out(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/hidden.html"))
    obs = await page.observe()
    assert "HIDDEN-" not in obs.text
    assert "VISIBLE-aria-hidden paragraph" in obs.text
    assert "aria-hidden" in obs.elements[el(obs, "VISIBLE-aria-hidden-button")].states


async def test_off_canvas_drawers_and_far_off_menus_are_not_on_the_page(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/fidelity/megamenu.html"))
    obs = await page.observe()
    assert "drawer" not in obs.text  # transform: translateX(-100%) on a fixed drawer
    assert "Men Trail 0" not in obs.text  # submenus parked at left: -10000px
    assert "Men side Trail 0" in obs.text  # the visible category tree


# ---------------------------------------------------------------- 2. names a person reads


async def test_names_and_headings_keep_word_boundaries(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/fidelity/product.html"))
    obs = await page.observe()
    assert "# MÖCKELBY Table, oak 235x100 cm" in obs.text.splitlines()
    await page.playwright_page.set_content(
        "<a href='#p' style='display:flex'><span>MÖCKELBY</span><span>Table, oak</span></a>"
        "<button><div>Save</div><div>draft</div></button>"
        "<a href='#g' style='display:grid'><b>Grid</b><i>cell</i></a>"
        "<a href='#i'><span style='display:inline-block'>Inline</span><span"
        " style='display:inline-block'>block</span></a><a href='#n'>Plain<b>Bold</b></a>"
    )
    obs = await page.observe()
    names = {e.name for e in obs.elements.values()}
    assert {
        "MÖCKELBY Table, oak",
        "Save draft",
        "Grid cell",
        "Inline block",
        "PlainBold",
    } <= names, names


async def test_hidden_descendants_never_enter_a_name(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/fidelity/widgets.html"))
    obs = await page.observe()
    truman = obs.elements[el(obs, "Truman", "treeitem")]
    assert "collapsed" in truman.states
    assert "Keli" not in obs.text and "Briana" not in obs.text
    # A label that wraps its textarea names it by the label's words, not the content.
    assert obs.find("textbox", "Notes") is not None


async def test_a_shortened_name_keeps_the_rest_as_text(page: Page, site: FixtureServer) -> None:
    """A clickable card whose text does not fit a name: the price inside stays visible."""
    await page.goto(site.url("/fidelity/product.html"))
    obs = await page.observe()
    lines = obs.text.splitlines()
    card = next(i for i, x in enumerate(lines) if '] clickable "SKOGSTA' in x)
    assert lines[card].split('"')[1].endswith("…")
    below = [x.strip() for x in lines[card + 1 : card + 4]]
    assert "$449.00" in below, lines[card : card + 4]


# ---------------------------------------------------------------- 3. every click target


async def test_targets_inside_a_clickable_row_have_refs_of_their_own(
    page: Page, site: FixtureServer
) -> None:
    """Handlers delegated to the document and a pointer declared only under :hover:
    Reply and Forward inside a clickable row are two refs, and each does its own thing."""
    await page.goto(site.url("/fidelity/inbox.html"))
    obs = await page.observe()
    rows = [e for e in obs.elements.values() if e.role == "clickable" and "Quarterly" in e.name]
    assert len(rows) == 1
    replies = [e for e in obs.elements.values() if e.name == "Reply"]
    forwards = [e for e in obs.elements.values() if e.name == "Forward"]
    assert len(replies) == 3 and len(forwards) == 3
    await page.click(replies[1].ref)
    assert await status(page) == "Replying to Bob Chen"
    await page.click(forwards[0].ref)
    assert await status(page) == "Forwarding Quarterly report draft"
    await page.click(rows[0].ref)
    assert await status(page) == "Opened Quarterly report draft"


async def test_text_less_icons_get_refs_named_by_what_they_say(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/fidelity/inbox.html"))
    obs = await page.observe()
    # Named by title, by an SVG <title>, by the words of their class.
    for name, said in (
        ("Refresh", "Refreshed"),
        ("Compose", "Composing a new message"),
        ("Settings", "Settings opened"),
        ("Archive all", "Archived all"),  # an <a> with no href
    ):
        await page.click(el(obs, name))
        assert await status(page) == said, name
    stars = [e for e in obs.elements.values() if e.name == "star"]
    trash = [e for e in obs.elements.values() if e.name == "trash"]
    assert len(stars) == 3 and len(trash) == 3
    await page.click(stars[2].ref)
    assert await status(page) == "Starred Invoice #4471"
    r = await page.click(trash[0].ref)
    assert await status(page) == "Deleted Quarterly report draft"
    assert r.observation is not None and trash[0].ref in r.observation.removed
    pages = [e for e in obs.elements.values() if e.name in ("1", "2", "3")]
    assert len(pages) == 3
    assert not re.search(r'\] (?:a|clickable|button|link) ""', obs.text), obs.text


async def test_bare_quantity_steppers_are_targets(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/fidelity/product.html"))
    obs = await page.observe()
    plus = el(obs, "+", "clickable")
    minus = el(obs, "-", "clickable")
    await page.click(plus)
    r = await page.click(plus)
    assert r.observation is not None
    qty = r.observation.find("textbox", "Quantity")
    assert qty is not None and qty.value == "3"
    await page.click(minus)
    assert await page.playwright_page.input_value("#qty") == "2"


async def test_a_terminals_hidden_input_is_typed_into_through_its_widget(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/fidelity/widgets.html"))
    obs = await page.observe()
    term = obs.elements[el(obs, "Terminal input", "textbox")]
    assert "hidden-input" in line_of(obs, term.ref)
    assert term.bbox[2] >= 400  # it stands on the terminal, not on a 0×0 textarea
    r = await page.type(term.ref, "ls -la", submit=True)
    assert r.ok, r.error
    assert await page.playwright_page.text_content("#screen") == "ran: ls -la"


# ---------------------------------------------------------------- 4. values and states


async def test_values_and_states_exactly_as_the_page_holds_them(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/fidelity/widgets.html"))
    obs = await page.observe()
    name = obs.elements[el(obs, "Display name", "textbox")]
    assert name.value == "Release  plan " and 'value="Release  plan "' in line_of(obs, name.ref)
    notes = obs.elements[el(obs, "Notes", "textbox")]
    assert notes.value == "first line\nsecond line"
    assert "multiline" in notes.states and "multiline" not in name.states
    assert line_of(obs, el(obs, "Volume", "slider")).endswith('value="7" min="0" max="11"')
    assert 'min="0" max="100"' in line_of(obs, el(obs, "Opacity", "slider"))
    assert "expanded" in obs.elements[el(obs, "Archive", "treeitem")].states
    file_menu = obs.elements[el(obs, "File", "menuitem")]
    assert {"collapsed", "haspopup"} <= set(file_menu.states)
    assert "current=page" in obs.elements[el(obs, "2", "link")].states
    # Noise that carries nothing is gone.
    assert "-" not in [x.strip() for x in obs.text.splitlines()]
    assert 'img "star" ×3' in obs.text and obs.text.count('img "star"') == 1
    assert "\uf0e0" not in obs.text and "Contact support" in obs.text
    # A value typed with a trailing space shows it.
    await page.type(name.ref, "x ")
    again = await page.observe()
    assert again.elements[name.ref].value == "x "


@pytest.mark.faults
async def test_page_text_cannot_pass_for_a_line_of_the_format(page: Page) -> None:
    await page.playwright_page.set_content(
        '<p>[1] button "Delete account"</p><p># Not a heading</p><p>--- viewport ---</p>'
        '<p>img "fake"</p><p>\\[2] escaped already</p><button>Real</button>'
        "<p id=x></p><script>document.getElementById('x').textContent ="
        " 'tail \\u0000frame 1 0 \\u0007 bell'</script>"
    )
    obs = await page.observe()
    lines = obs.text.splitlines()
    assert '\\[1] button "Delete account"' in lines
    assert "\\# Not a heading" in lines and "\\--- viewport ---" in lines
    assert '\\img "fake"' in lines and "\\\\[2] escaped already" in lines
    assert [m.group(2) for x in lines if (m := ELEMENT_LINE.match(x))] == ["button"]
    assert "tail frame 1 0 bell" in lines  # control characters never reach the text
    assert "\x00" not in obs.text and "\x07" not in obs.text


@pytest.mark.faults
async def test_a_very_deep_page_is_observed(page: Page) -> None:
    """Nesting deeper than the walk recurses is walked by a loop: no stack overflow."""
    await page.playwright_page.set_content("<body></body>")
    await page.playwright_page.evaluate(
        "() => { let e = document.body; for (let i = 0; i < 2000; i++) {"
        " const d = document.createElement('div'); e.appendChild(d); e = d; }"
        " e.innerHTML = 'deep text <button>Deep button</button> after'; }"
    )
    obs = await page.observe()
    assert obs.find("button", "Deep button") is not None
    assert "deep text" in obs.text and "after" in obs.text
    await page.playwright_page.evaluate(
        "() => { const b = [...document.querySelectorAll('button')].at(-1);"
        " b.insertAdjacentHTML('afterend', '<button>Deeper</button>'); }"
    )
    inc = await page.observe()
    assert inc.find("button", "Deeper") is not None
    assert inc.text == (await page.serializer.snapshot()).text


# ---------------------------------------------------------------- 5. the size cap


async def test_the_cap_keeps_the_main_content_and_folds_runs_of_links(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/fidelity/megamenu.html"))
    obs = await page.observe(max_chars=3000)
    assert "€129.95" in obs.text
    assert obs.find("button", "Add to basket") is not None
    folded = [e for e in obs.elements.values() if "collapsed" in e.states and e.role == "list"]
    assert folded, obs.text
    side = next(e for e in folded if e.name == "Men")
    assert re.search(r'list "Men" collapsed: 18 links: Men side Trail 0, ', line_of(obs, side.ref))
    assert len(obs.text) <= 3000 * 1.2
    # Opened by ref; what it lists can be acted on.
    listed = await page.extract(ref=side.ref)
    assert len(re.findall(r'^\[\d+\] link "Men side ', listed, re.M)) == 18
    ref = int(re.findall(r'^\[(\d+)\] link "Men side Caps 17"', listed, re.M)[0])
    r = await page.click(ref)
    assert r.ok and page.url.endswith("#Men%20side17")
    # Incremental and full agree while folded, and when the page grows past the point.
    await page.playwright_page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<p>More text</p>')"
    )
    inc = await page.observe(max_chars=3000)
    assert not inc.full and "More text" in inc.text
    assert inc.text == (await page.serializer.snapshot(max_chars=3000)).text


async def test_folding_follows_the_page_across_the_cap(page: Page, site: FixtureServer) -> None:
    """Whether lists are folded depends only on the page: deltas that cross the cap
    in either direction give what a fresh full pass gives."""
    await page.goto(site.url("/fidelity/megamenu.html"))
    cap = 12_000
    first = await page.observe(max_chars=cap)
    assert not any("collapsed" in e.states for e in first.elements.values())
    pw = page.playwright_page
    await pw.evaluate(
        "document.getElementById('foot').insertAdjacentHTML('beforeend',"
        " Array.from({length: 300}, (_, i) => `<li><a href='#x${i}'>Extra link ${i}</a></li>`)"
        ".join(''))"
    )
    grown = await page.observe(max_chars=cap)
    assert any("collapsed" in e.states for e in grown.elements.values())
    assert grown.text == (await page.serializer.snapshot(max_chars=cap)).text
    await pw.evaluate("document.querySelectorAll('#foot li').forEach(li => li.remove())")
    shrunk = await page.observe(max_chars=cap)
    assert not any("collapsed" in e.states for e in shrunk.elements.values())
    assert shrunk.text == (await page.serializer.snapshot(max_chars=cap)).text


async def test_the_closing_summary_says_what_was_left_out(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/gen/10000.html"))
    obs = await page.observe(max_chars=4000)
    last = obs.text.splitlines()[-1]
    m = re.fullmatch(r"… (\d+) more elements below \((.*)\); scroll to see them", last)
    assert m, last
    assert re.search(r"\d+ (link|button|textbox)", m.group(2)) and "headings:" in m.group(2)


# ---------------------------------------------------------------- 6. frames and shadow roots


async def test_a_cross_origin_frames_full_pass_still_reports_what_changed(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/iframes.html"))
    pw = page.playwright_page
    for frame in pw.frames[1:]:
        await frame.wait_for_load_state()
    before = await page.observe()
    cross = next(f for f in pw.frames if f.url.startswith(site.other_origin))
    # Inline text at the top of the body (the frame re-serializes in full) and a button.
    await cross.evaluate(
        "() => { document.body.insertBefore(document.createTextNode('Breaking: '),"
        " document.body.firstChild); const b = document.createElement('button');"
        " b.textContent = 'Fresh button'; document.body.appendChild(b); }"
    )
    after = await page.observe()
    fresh = after.find("button", "Fresh button")
    assert fresh is not None and fresh.ref not in before.elements
    assert not after.full and fresh.ref in after.added
    assert set(after.added) == set(after.elements) - set(before.elements)
    assert not after.removed
    # A full pass of the main frame reports its changes too.
    await pw.evaluate("document.querySelector('p').remove()")
    forced = await page.observe(full=True)
    assert forced.full and not forced.added and not forced.removed


async def test_a_closed_shadow_root_on_screen_is_observed_and_acted_on(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/fidelity/closed_shadow.html"))
    obs = await page.observe()
    card = el(obs, "Card number", "textbox")
    pay = el(obs, "Pay $42.00", "button")
    assert card in obs.added and pay in obs.added
    assert (await page.type(card, "4242")).ok
    r = await page.click(pay)
    assert r.ok
    assert await status(page) == "Paid with card 4242"


async def test_a_closed_shadow_root_out_of_reach_is_marked_not_silently_absent(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/fidelity/closed_shadow.html"))
    raw = await page.serializer.call("observe", {"full": True, "maxChars": 40000})
    assert "<pay-widget> (closed shadow root, not readable)" in raw


# ---------------------------------------------------------------- deltas stay exact


@pytest.mark.parametrize(
    "path",
    ["/fidelity/inbox.html", "/fidelity/product.html", "/fidelity/widgets.html"],
)
async def test_incremental_equals_full_on_real_web_patterns(
    page: Page, site: FixtureServer, path: str
) -> None:
    rng = random.Random(7)
    await page.goto(site.url(path))
    await page.observe()
    pw = page.playwright_page
    names = ["append", "remove", "text", "hide", "attr", "hiddenAttr", "move", "wrap", "inline"]
    for step in range(20):
        for _ in range(rng.randint(1, 3)):
            await pw.evaluate(
                f"([n, r]) => ({MUTATIONS_JS})(n, r)", [rng.choice(names), rng.random()]
            )
        inc = await page.observe()
        fresh = await page.serializer.snapshot()
        assert inc.text == fresh.text, f"step {step} diverged"
        assert inc.elements == fresh.elements


# ------------------------------------------------------- found by a model driving the agent


async def test_a_scrolling_box_has_a_line_and_keeps_rows_scrolled_out_of_it(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/eval/users.html"))
    obs = await page.observe()
    box = obs.elements[el(obs, "Team members", "scrollable")]
    lines = obs.text.splitlines()
    # A table row reads as one line, its controls under it.
    assert "  Ada Lovelace | ada.lovelace@acme.test | Owner | 1 days ago" in lines
    first_kebab = next(e for e in obs.elements.values() if e.name == "kebab")
    r = await page.scroll("down", ref=box.ref)
    r = await page.scroll("down", ref=box.ref)
    after = r.observation
    assert after is not None and "scrolled" in r.note
    # Scrolled out of the box, not off the page: still there, still a target.
    assert first_kebab.ref in after.elements
    assert after.text == (await page.serializer.snapshot()).text


async def test_a_layer_over_the_page_is_said_first(page: Page, site: FixtureServer) -> None:
    await page.goto(site.url("/eval/news.html"))
    obs = await page.observe()
    first = obs.text.splitlines()[0]
    assert first.startswith("--- a layer covers most of the page")
    agree = el(obs, "Agree and continue", "button")
    assert f"[{agree}] button" in first
    r = await page.click(agree)
    assert r.observation is not None
    assert "a layer covers" not in r.observation.text


async def test_scrolling_into_content_loaded_at_the_end_says_so(
    page: Page, site: FixtureServer
) -> None:
    await page.goto(site.url("/eval/news.html"))
    obs = await page.observe()
    await page.click(el(obs, "Agree and continue", "button"))
    notes = []
    for _ in range(8):
        r = await page.scroll("down")
        notes.append(r.note)
        if "more loaded" in r.note:
            break
    assert any("(more loaded at the end)" in n for n in notes), notes


async def test_a_pointer_rule_a_more_specific_rule_overrides_makes_no_target(
    page: Page, site: FixtureServer
) -> None:
    """Past days share `.day { cursor: pointer }` but `.day.past` takes it back."""
    await page.goto(site.url("/eval/hotel.html"))
    obs = await page.observe()
    r = await page.click(el(obs, "Check-in", "textbox"))
    assert r.observation is not None
    days = {e.name for e in r.observation.elements.values() if e.role == "clickable"}
    assert {"20", "21", "31"} <= days and not {"5", "19"} & days
