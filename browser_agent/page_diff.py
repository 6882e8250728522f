"""What differs between two observations of one document, as the model would notice it.

Both the tool result of an action (`change_summary`) and the agent's check for a page
that moved after an early observation (`churn`) ask the same question of two
observations; this module answers it once. Elements are compared by ref (a ref never
changes while its element lives); the plain text lines between them as multisets, so a
line that only moved is no change. A bbox alone is no change either: the model reads
text, not coordinates.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .observation import Element, Observation

ELEMENT_LINE = re.compile(r"^(\s*)\[(\d+)\] ")
"""An element line: its indent and its ref (see `Observation.text`)."""

_MARKER = re.compile(r"^(--- .* ---|… \d+ more elements? (above|below).*)$")
"""Viewport markers and overflow summaries: where the window is, not what the page says."""

_NUMBER = re.compile(r"[+-]?\d[\d,.:\u202f\u00a0]*")

QUIET_STATES = frozenset({"focused"})
"""States that move with every action (the focus follows the input): not a change."""


def masked(text: str) -> str:
    """The text with every number made one `#`: what stays put while a clock ticks."""
    return _NUMBER.sub("#", text)


@dataclass(frozen=True)
class ElementChange:
    """One element present before and after whose role, name, value or states differ."""

    before: Element
    after: Element

    @property
    def gained(self) -> tuple[str, ...]:
        return tuple(s for s in _states(self.after) if s not in self.before.states)

    @property
    def lost(self) -> tuple[str, ...]:
        return tuple(s for s in _states(self.before) if s not in self.after.states)

    @property
    def only_numbers(self) -> bool:
        """Name and value differ only in their numbers and no state changed (a live count)."""
        b, a = self.before, self.after
        return (
            b.role == a.role
            and _states(b) == _states(a)
            and masked(b.name) == masked(a.name)
            and masked(b.value or "") == masked(a.value or "")
        )


@dataclass(frozen=True)
class TextLine:
    """A plain text line and whether it sits by an element (see `NEAR_LINES`)."""

    text: str
    near_element: bool


@dataclass
class PageDiff:
    """Everything one observation shows that the other does not."""

    url_changed: bool = False
    added: list[Element] = field(default_factory=list)
    """In page order (the order of `after.text`)."""
    removed: list[Element] = field(default_factory=list)
    """In page order of `before.text`."""
    changed: list[ElementChange] = field(default_factory=list)
    text_added: list[TextLine] = field(default_factory=list)
    text_removed: list[TextLine] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.url_changed
            or self.added
            or self.removed
            or self.changed
            or self.text_added
            or self.text_removed
        )


def same_document(before: Observation, after: Observation) -> bool:
    """Whether `after` continues `before`'s document (refs carry over); a new document
    starts its versions over, as `Page.observe` also judges."""
    return after.version > before.version


def element_order(obs: Observation) -> list[tuple[int, int]]:
    """(ref, indent) of each element line in the order the text shows them."""
    out = []
    for line in obs.text.splitlines():
        m = ELEMENT_LINE.match(line)
        if m:
            out.append((int(m.group(2)), len(m.group(1))))
    return out


NEAR_LINES = 2
"""A text line this many lines (or fewer) from an element line sits by it: a price
above its button, a product's description above its price."""


def _text_lines(obs: Observation) -> list[tuple[str, bool]]:
    """(stripped text, near an element) for each plain text line.

    Near: an element line is at most `NEAR_LINES` lines above or below (markers and
    blank lines aside), or the line is indented under one (text inside a clickable
    card, a label beside its field).
    """
    lines = obs.text.splitlines()
    kinds: list[str] = []  # "el", "text", "mark"
    for line in lines:
        s = line.strip()
        if ELEMENT_LINE.match(line):
            kinds.append("el")
        elif not s or _MARKER.match(s):
            kinds.append("mark")
        else:
            kinds.append("text")
    content = [i for i, k in enumerate(kinds) if k != "mark"]
    at = {i: n for n, i in enumerate(content)}
    out = []
    for i, line in enumerate(lines):
        if kinds[i] != "text":
            continue
        n = at[i]
        window = content[max(0, n - NEAR_LINES) : n + NEAR_LINES + 1]
        near = any(kinds[j] == "el" for j in window)
        if not near:
            indent = len(line) - len(line.lstrip())
            for j in range(i - 1, -1, -1):
                above = lines[j]
                if kinds[j] == "mark":
                    continue
                if len(above) - len(above.lstrip()) < indent:
                    near = kinds[j] == "el"
                    break
        out.append((line.strip(), near))
    return out


def _states(el: Element) -> tuple[str, ...]:
    return tuple(s for s in el.states if s not in QUIET_STATES)


def _element_changed(a: Element, b: Element) -> bool:
    return a.role != b.role or a.name != b.name or a.value != b.value or _states(a) != _states(b)


def diff(before: Observation, after: Observation) -> PageDiff:
    """What `after` shows that `before` did not, and the reverse (one document)."""
    out = PageDiff(url_changed=before.url != after.url)
    old, new = before.elements, after.elements
    if new.keys() != old.keys() or any(_element_changed(old[r], new[r]) for r in new):
        for ref, _ in element_order(after):
            el = new.get(ref)
            if el is None:
                continue
            prev = old.get(ref)
            if prev is None:
                out.added.append(el)
            elif _element_changed(prev, el):
                out.changed.append(ElementChange(prev, el))
        out.removed = [old[r] for r, _ in element_order(before) if r in old and r not in new]
    if before.text != after.text:
        was, now = _text_lines(before), _text_lines(after)
        count_was = Counter(t for t, _ in was)
        count_now = Counter(t for t, _ in now)
        gone, came = count_was - count_now, count_now - count_was
        for text, near in now:
            if came[text] > 0:
                came[text] -= 1
                out.text_added.append(TextLine(text, near))
        for text, near in was:
            if gone[text] > 0:
                gone[text] -= 1
                out.text_removed.append(TextLine(text, near))
    return out


def common_ends(a: list[str], b: list[str]) -> tuple[int, int]:
    """How many lines two texts share at their start, then at their end (not overlapping):
    what a delta or a diff can leave out before comparing the middle."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, tail
