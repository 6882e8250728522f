"""What an MCP tool result says about the page: the whole page, or only what changed.

A client keeps the page text from earlier results, so after an action it needs only
the lines that differ from its last view of that tab. The page itself was already
re-serialized incrementally (the in-page MutationObserver re-walks only what changed);
here the text the client last saw is compared with the current text, both already in
memory, and whichever is shorter is sent: the changed lines or the whole page.

Page text is untrusted: it always travels inside the same `<page_observation>` block
the agent's prompts use (`observation_message`), which the page cannot close.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..llm import observation_message
from ..llm._prompts import escape_untrusted
from ..observation import Observation
from ..page_diff import common_ends

if TYPE_CHECKING:
    from ..page import Page

CHANGE_HEADER = "Changes since your last view (+ new or changed, - removed):"
UNCHANGED = "The page is as in your last view."
HUNK_GAP = "…"
"""Between two runs of changed lines that unchanged lines separate (never prefixed,
so page text, which always is, cannot be mistaken for it)."""
MAX_DIFF_LINES = 20_000
"""Past this many differing lines the whole page is sent without comparing further."""

_REF = re.compile(r"^\s*\[(\d+)\]")


class View(NamedTuple):
    """What a client was last shown of a tab: the page text, its URL and title."""

    text: str
    url: str
    title: str

    @classmethod
    def of(cls, obs: Observation) -> View:
        return cls(obs.text, obs.url, obs.title)


def whole_page(obs: Observation) -> str:
    """The complete page inside its untrusted block."""
    return observation_message(obs.text, url=obs.url, title=obs.title)["content"]


def page_view(obs: Observation, last: View | None) -> tuple[str, str]:
    """What to tell a client whose last view of this tab was `last` (None: never saw it).

    Returns (text, kind) with kind "full", "change" or "same". The change is sent only
    when it is shorter than the whole page, so a result never costs more than the page;
    its block names the URL and title only when they changed.
    """
    full = whole_page(obs)
    if last is None:
        return full, "full"
    if last == View.of(obs):
        return UNCHANGED, "same"
    lines = changed_lines(last.text, obs.text)
    if lines is None:
        return full, "full"
    moved = (last.url, last.title) != (obs.url, obs.title)
    url, title = (obs.url, obs.title) if moved else (None, None)
    body = observation_message("\n".join(lines), url=url, title=title)["content"]
    change = f"{CHANGE_HEADER}\n{body}"
    if len(change) < len(full):
        return change, "change"
    return full, "full"


def changed_lines(old: str, new: str) -> list[str] | None:
    """The lines of `new` that differ from `old`, as `+ line` / `- line`, in page order.

    A removed element line whose ref shows up again among the new lines is left out:
    the new line already says what that element is now. None when the texts differ in
    more than `MAX_DIFF_LINES` lines (the whole page is the better answer then).
    """
    a, b = old.split("\n"), new.split("\n")
    head, tail = common_ends(a, b)
    a_mid, b_mid = a[head : len(a) - tail], b[head : len(b) - tail]
    if len(a_mid) + len(b_mid) > MAX_DIFF_LINES:
        return None
    # autojunk keeps this near-linear on pages full of repeated lines ("-", "·"): it
    # may report a few extra lines as changed, never miss one.
    ops = difflib.SequenceMatcher(None, a_mid, b_mid).get_opcodes()
    added_refs = {
        m.group(1) for _, _, _, j1, j2 in ops for line in b_mid[j1:j2] if (m := _REF.match(line))
    }
    out: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            if out:
                out.append(HUNK_GAP)
            continue
        for line in a_mid[i1:i2]:
            m = _REF.match(line)
            if m is None or m.group(1) not in added_refs:
                out.append(f"- {line}")
        out.extend(f"+ {line}" for line in b_mid[j1:j2])
    while out and out[-1] == HUNK_GAP:
        out.pop()
    return out


def tab_list(pages: Sequence[Page], current: Page | None) -> str:
    """The open tabs, by index, with their titles and URLs (page-controlled: in a block)."""
    if not pages:
        return "No tab is open; browser_navigate or browser_tabs new opens one."
    lines = []
    for i, p in enumerate(pages):
        obs = p.last_observation
        title = (obs.title if obs is not None else "") or "(untitled)"
        mark = " (current)" if p is current else ""
        crashed = " [crashed]" if p.crashed else ""
        lines.append(f"{i}:{mark}{crashed} {' '.join(title.split())} <{p.url}>")
    return untrusted_block("tabs", "\n".join(lines))


def untrusted_block(tag: str, text: str, **attrs: str) -> str:
    """Page-controlled text (extracted content, dialog messages, the tab list) in a
    delimited block, escaped by the one rule the agent's prompts use (`escape_untrusted`):
    no spelling of any of our tags inside it can open or close a block."""
    head = "".join(f' {k}="{_attr(escape_untrusted(v))}"' for k, v in attrs.items() if v)
    return f"<{tag}{head}>\n{escape_untrusted(text)}\n</{tag}>"


def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace("\n", " ")
    )
