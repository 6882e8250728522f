"""One short line saying what an action did to the page, for the model's tool result.

`ok` alone tells a model nothing: it cannot tell a click that opened a list from one
that did nothing, and clicks again. From the observations before and after the action
(the delta the runtime already has) this says what appeared, what went, what changed
state or value, and says so plainly when nothing did:

    +5 elements: listbox "Tags" [7]–[11]
    -3 elements: dialog "Cookies" [20]–[22]
    [4] checkbox "I agree" now checked; [9] textbox "Qty" value "2"
    new text: "Status: saved"
    nothing on the page changed

Bounded: at most a few elements are named, names are cut, the whole line is capped.
Page text goes in JSON-quoted (a trailing space or a quote stays visible and cannot
end the quote).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from .observation import Element, Observation
from .page_diff import (
    ELEMENT_LINE,
    ElementChange,
    PageDiff,
    diff,
    element_order,
    masked,
    same_document,
)

NOTHING = "nothing on the page changed"
MAX_CHARS = 300
"""Hard cap on the whole summary."""
MAX_NAME = 40
"""Names and values are cut to this many characters."""
MAX_NAMED = 3
"""At most this many changed elements, groups or text lines are spelled out per kind."""
MAX_VALUE = 80
"""A value is shown whole up to this length, else only its length: never a piece of it,
which could be the start of a secret that redaction (whole values only) cannot match."""

_UNDONE = {
    "checked": "unchecked",
    "unchecked": "checked",
    "expanded": "collapsed",
    "collapsed": "expanded",
    "disabled": "enabled",
}


def summarize(
    before: Observation | None, after: Observation | None, *, churn: Iterable[str] = ()
) -> str:
    """What changed from `before` to `after`, in one line; "" when it cannot be told
    (no observation after the action, or a new document: say where it navigated).

    `churn`: texts of things that ticked by themselves meanwhile (a clock, a counter);
    plain text lines holding one are not the action's doing and are left out.
    """
    if before is None or after is None or not same_document(before, after):
        return ""
    d = diff(before, after)
    _drop_ticks(d, [c for c in churn if c])
    return describe(d, before, after)


def _drop_ticks(d: PageDiff, ticking: list[str]) -> None:
    """Leave out what tickers changed: a line whose only difference is its numbers when
    it holds a ticker's text, or when a ticker is a bare number (it may have ticked
    again between settle and the observation); and such a change of an element's name.
    A line that changed in words is always kept: the action may have done it."""
    if not ticking:
        return
    numeric = any(masked(c) == "#" for c in ticking)
    was = {masked(t.text) for t in d.text_removed}
    ticked = set()
    kept = []
    for t in d.text_added:
        shape = masked(t.text)
        if shape in was and (numeric or any(c in t.text for c in ticking)):
            ticked.add(shape)
        else:
            kept.append(t)
    d.text_added = kept
    d.text_removed = [t for t in d.text_removed if masked(t.text) not in ticked]
    if numeric:
        d.changed = [c for c in d.changed if not c.only_numbers]


def describe(d: PageDiff, before: Observation, after: Observation) -> str:
    """The summary line of a diff between `before` and `after`."""
    parts: list[str] = []
    if d.url_changed:
        url = after.url
        parts.append(f"url now {json.dumps(url)}" if len(url) <= 200 else "the url changed")
    if d.added:
        parts.append(_group("+", d.added, after, {t.text for t in d.text_added}))
    if d.removed:
        parts.append(_group("-", d.removed, before, {t.text for t in d.text_removed}))
    if d.changed:
        shown = [_changed(c) for c in d.changed[:MAX_NAMED]]
        more = len(d.changed) - len(shown)
        parts.append("; ".join(shown) + (f"; {more} more changed" if more > 0 else ""))
    if not d.added and not d.removed and not d.changed:
        if d.text_added:
            parts.append("new text: " + _texts([t.text for t in d.text_added]))
        elif d.text_removed:
            parts.append("text gone: " + _texts([t.text for t in d.text_removed]))
    if not parts:
        return NOTHING
    return _cap("; ".join(parts))


def _quote(text: str, limit: int = MAX_NAME) -> str:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def _label(el: Element) -> str:
    return f"{el.role} {_quote(el.name)}" if el.name else el.role


def _span(refs: Sequence[int]) -> str:
    if len(refs) == 1:
        return f"[{refs[0]}]"
    ordered = sorted(refs)
    contiguous = ordered[-1] - ordered[0] == len(ordered) - 1
    return f"[{ordered[0]}]{'–' if contiguous else '…'}[{ordered[-1]}]"


def _group(sign: str, els: list[Element], obs: Observation, came_or_went: set[str]) -> str:
    """`+5 elements: listbox "Tags" [7]–[11]`: runs of neighbouring elements, each named
    by the container heading it (an element, or a `dialog "Cookies"` line that came or
    went with them), or by its first members when they are siblings."""
    by_ref = {e.ref: e for e in els}
    heads = _headings(obs, came_or_went)
    runs: list[list[tuple[int, int]]] = []
    run: list[tuple[int, int]] = []
    placed = set()
    for ref, indent in element_order(obs):
        if ref in by_ref:
            run.append((ref, indent))
            placed.add(ref)
        elif run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    runs += [[(e.ref, 0)] for e in els if e.ref not in placed]
    named = []
    for r in runs[:2]:
        head = by_ref[r[0][0]]
        if r[0][0] in heads:
            what = heads[r[0][0]]
        elif len(r) > 1 and r[1][1] > r[0][1]:
            what = _label(head)  # a container and its content
        else:
            firsts = [_label(by_ref[ref]) for ref, _ in r[:2]]
            what = ", ".join(firsts) + (", …" if len(r) > 2 else "")
        named.append(f"{what} {_span([ref for ref, _ in r])}")
    if len(runs) > 2:
        named.append("…")
    n = len(els)
    return f"{sign}{n} element{'s' if n != 1 else ''}: " + ", ".join(named)


_ROLE_LINE = re.compile(r'^[a-z]+ "(?:[^"\\]|\\.)*"$')


def _headings(obs: Observation, came_or_went: set[str]) -> dict[int, str]:
    """ref -> the text line that heads it, for elements right under a line (less
    indented) that came or went with them: a dialog or region shown as `dialog "Cookies"`."""
    out: dict[int, str] = {}
    lines = obs.text.splitlines()
    for i in range(1, len(lines)):
        m = ELEMENT_LINE.match(lines[i])
        if not m:
            continue
        for j in range(i - 1, -1, -1):
            above = lines[j]
            if not above.strip() or ELEMENT_LINE.match(above):
                break
            if len(above) - len(above.lstrip()) < len(m.group(1)):
                text = above.strip()
                if text in came_or_went:
                    out[int(m.group(2))] = text if _ROLE_LINE.match(text) else _quote(text)
                break
    return out


def _changed(c: ElementChange) -> str:
    a, b = c.before, c.after
    head = f"[{b.ref}] {_label(a)}"
    if a.role != b.role:
        return f"[{b.ref}] now {_label(b)}"
    bits = []
    if a.name != b.name:
        bits.append(f"now {_quote(b.name)}")
    if a.value != b.value:
        bits.append(_value(b.value))
    gained = c.gained
    states = list(gained)
    states += [_UNDONE.get(s, f"not {s}") for s in c.lost if _UNDONE.get(s) not in gained]
    if states:
        bits.append("now " + ", ".join(states))
    return f"{head} {', '.join(bits)}" if bits else head


def _texts(lines: list[str]) -> str:
    shown = [_quote(t, 80) for t in lines[:2]]
    more = len(lines) - len(shown)
    return ", ".join(shown) + (f" and {more} more lines" if more > 0 else "")


def _value(value: str | None) -> str:
    if value is None:
        return "value cleared"
    if len(value) > MAX_VALUE:
        return f"value now {len(value)} characters"
    return f"value {json.dumps(value, ensure_ascii=False)}"


def _cap(text: str) -> str:
    """At most MAX_CHARS, cut only between two items (after "; " or ", " outside any
    quote), so no quoted page text is ever cut in the middle."""
    if len(text) <= MAX_CHARS:
        return text
    cut = 0
    quoted = escaped = False
    for i, ch in enumerate(text[: MAX_CHARS - 2]):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch in ";," and not quoted and text[i + 1 : i + 2] == " ":
            cut = i
    if not cut:
        return text[: MAX_CHARS - 1] + "…"
    return text[:cut] + (", …" if text[cut] == "," else "; …")
