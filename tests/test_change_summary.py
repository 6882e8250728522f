"""The summary line of what an action did, from the observations before and after it,
on observations written as text (no browser). End to end: test_tool_results.py."""

from __future__ import annotations

from obs_support import obs

from browser_agent.change_summary import MAX_CHARS, NOTHING, summarize
from browser_agent.observation import Observation

BEFORE = """# Edit a post
[1] spinbutton "Qty" value="1"
[2] checkbox "I agree"
[3] button "Add tags" collapsed
[4] button "Preview"
Saved: never
dialog "Cookies"
  We use cookies to keep you signed in.
  [7] button "Accept all"
  [8] button "Reject all"
"""


def after(text: str, version: int = 2) -> Observation:
    return obs(text, version=version)


# ------------------------------------------------------------------ the pure function


def test_nothing_changed_is_said_plainly() -> None:
    assert summarize(obs(BEFORE), after(BEFORE)) == NOTHING


def test_a_new_listbox_is_one_group_named_by_its_container() -> None:
    text = BEFORE.replace(
        '[3] button "Add tags" collapsed\n',
        '[3] button "Add tags" expanded\n[9] listbox "Tags"\n  [10] option "news"\n'
        '  [11] option "recipes"\n  [12] option "travel"\n  [13] option "how-to"\n',
    )
    assert summarize(obs(BEFORE), after(text)) == (
        '+5 elements: listbox "Tags" [9]–[13]; [3] button "Add tags" now expanded'
    )


def test_a_dialog_that_went_is_named_by_its_line() -> None:
    text = BEFORE.split('dialog "Cookies"')[0]
    assert summarize(obs(BEFORE), after(text)) == '-2 elements: dialog "Cookies" [7]–[8]'


def test_states_and_values_say_what_they_are_now() -> None:
    text = BEFORE.replace('value="1"', 'value="2"').replace(
        '[2] checkbox "I agree"', '[2] checkbox "I agree" checked'
    )
    assert summarize(obs(BEFORE), after(text)) == (
        '[1] spinbutton "Qty" value "2"; [2] checkbox "I agree" now checked'
    )
    back = summarize(after(text), obs(BEFORE, version=3))
    assert back == '[1] spinbutton "Qty" value "1"; [2] checkbox "I agree" now unchecked'


def test_a_value_is_quoted_exactly_with_its_white_space() -> None:
    text = BEFORE.replace('value="1"', 'value="2 \\" "')
    assert summarize(obs(BEFORE), after(text)) == '[1] spinbutton "Qty" value "2 \\" "'


def test_text_alone_is_reported_when_no_element_changed() -> None:
    text = BEFORE.replace("Saved: never", "Saved: just now")
    assert summarize(obs(BEFORE), after(text)) == 'new text: "Saved: just now"'


def test_what_ticks_by_itself_is_left_out() -> None:
    before = BEFORE + "Elapsed: 4.1 s\n"
    text = BEFORE + "Elapsed: 4.3 s\n"
    assert summarize(obs(before), after(text), churn=["4.2"]) == NOTHING
    assert summarize(obs(before), after(text)) == 'new text: "Elapsed: 4.3 s"'
    # A change in words is kept even beside a ticker: the action may have made it.
    words = text.replace("Saved: never", "Saved: just now")
    assert summarize(obs(before), after(words), churn=["4.2"]) == 'new text: "Saved: just now"'


def test_a_new_document_or_no_observation_says_nothing() -> None:
    assert summarize(obs(BEFORE, version=5), after(BEFORE, version=1)) == ""
    assert summarize(None, after(BEFORE)) == ""
    assert summarize(obs(BEFORE), None) == ""


def test_the_summary_is_bounded() -> None:
    many = "\n".join(f'[{100 + i}] link "{"x" * 80} {i}"' for i in range(500))
    out = summarize(obs(BEFORE), after(BEFORE + many))
    assert len(out) <= MAX_CHARS
    assert out.startswith("+500 elements: ")
    assert out.count("x" * 40) == 0  # names are cut
    changed = BEFORE + "\n".join(f'[{100 + i}] checkbox "c{i}"' for i in range(40))
    checked = BEFORE + "\n".join(f'[{100 + i}] checkbox "c{i}" checked' for i in range(40))
    out = summarize(obs(changed), after(checked))
    assert out.count("now checked") == 3 and out.endswith("37 more changed")


def test_a_long_value_is_never_shown_in_part() -> None:
    """Redaction replaces whole secret values: a cut one could leak its start."""
    secret = "s3cret-" * 20
    text = BEFORE.replace('value="1"', f'value="{secret}"')
    assert summarize(obs(BEFORE), after(text)) == (
        f'[1] spinbutton "Qty" value now {len(secret)} characters'
    )


def test_the_cap_never_cuts_inside_quoted_text() -> None:
    names = [f"name {i} " + "y" * 30 + ", z; w" for i in range(12)]
    before = BEFORE + "\n".join(f'[{100 + i}] button "{n}"' for i, n in enumerate(names))
    text = before.replace(' w"', ' w!"')
    out = summarize(obs(before), after(text))
    assert len(out) <= MAX_CHARS and out.endswith("; …")
    assert out.count('"') % 2 == 0  # every quote that opens closes
