"""Values the model read off a page: re-read on a cached run, never replayed.

A cached answer such as "Sencha cost €12.50" mixes the model's own words with values it
read from a page. Replaying the old text would report yesterday's price, so each value is
told apart by where it came from: a token holding a digit (a price, a count, a date, an
order number) that the task does not contain but a page of the run showed. Its place on
that page is kept as an `Anchor`: the line's shape with every token holding a digit left
open, the nearest line above it with no digit (its label), and which of the alike lines
it was. On a cached run the value is read again at that place on the live page.

A token holding a digit that neither the task nor any page of the run holds was worked
out by the model (a sum, a date it computed): no page can give it back, so `derive`
returns None and the step that produced it goes to the model. So does a value whose
anchor the live page no longer has (`recompute` returns None).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from ..secrets import PLACEHOLDER

_TOKEN = re.compile(r"\S+")
_EDGE = "\"'`()[]{}<>,.;:!?"
_REF = re.compile(r"^\[\d+\][ \t]+")
OPEN = "\x00"
"""Stands for a token holding a digit in a line's shape."""


class Anchor(msgspec.Struct, frozen=True):
    """Where a value stood: on the page of cached step `step`, in the `nth` line of this
    `shape` under this `label`, token `token`, between `prefix` and `suffix`."""

    step: int
    shape: str
    label: str
    nth: int
    token: int
    prefix: str = ""
    suffix: str = ""


class Slot(msgspec.Struct, frozen=True):
    """A value at `text[start:end]` of the model's output, read from `anchor`."""

    start: int
    end: int
    anchor: Anchor


class Template(msgspec.Struct, frozen=True):
    """The model's output with the values it read from pages marked as slots."""

    text: str
    slots: tuple[Slot, ...] = ()


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


def value_tokens(text: str) -> list[tuple[int, int]]:
    """Spans of the tokens of `text` that hold a digit, without the punctuation around
    them ("(€12.50)." gives "€12.50"); `{{secret}}` placeholders are not values."""
    hidden = PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), text)
    out = []
    for m in _TOKEN.finditer(hidden):
        start, end = m.start(), m.end()
        while start < end and text[start] in _EDGE:
            start += 1
        while end > start and text[end - 1] in _EDGE:
            end -= 1
        if start < end and _has_digit(text[start:end]):
            out.append((start, end))
    return out


class _Line(msgspec.Struct, frozen=True):
    tokens: tuple[str, ...]
    shape: str
    label: str


def _lines(page: str) -> list[_Line]:
    """The page's lines as tokens, without indentation and element refs (they change)."""
    out: list[_Line] = []
    label = ""
    for raw in page.split("\n"):
        line = _REF.sub("", raw.strip())
        if not line:
            continue
        tokens = tuple(_TOKEN.findall(line))
        shape = " ".join(OPEN if _has_digit(t) else t for t in tokens)
        out.append(_Line(tokens, shape, label))
        if not _has_digit(line):
            label = line
    return out


def _within(value: str) -> re.Pattern[str]:
    """`value` where it is not part of a longer number or word ("1" is not in "12")."""
    return re.compile(rf"(?<![\w]){re.escape(value)}(?![\w])")


def _anchor(value: str, step: int, page: str) -> Anchor | None:
    """The first place `value` shows on `page` (inside a token holding a digit)."""
    lines = _lines(page)
    for i, line in enumerate(lines):
        for k, tok in enumerate(line.tokens):
            m = _within(value).search(tok)
            if m is None:
                continue
            at = m.start()
            nth = sum(1 for o in lines[:i] if o.shape == line.shape and o.label == line.label)
            return Anchor(
                step=step,
                shape=line.shape,
                label=line.label,
                nth=nth,
                token=k,
                prefix=tok[:at],
                suffix=tok[at + len(value) :],
            )
    return None


def derive(text: str, task: str, pages: Mapping[int, str]) -> Template | None:
    """Mark the values of `text` the model read from `pages` (cached step -> page text,
    searched from the latest). None when a value came from no page and not the task."""
    slots = []
    for start, end in value_tokens(text):
        value = text[start:end]
        if _within(value).search(task):
            continue  # the task said it: replayed as it is
        anchor = None
        for step in sorted(pages, reverse=True):
            anchor = _anchor(value, step, pages[step])
            if anchor is not None:
                break
        if anchor is None:
            return None
        slots.append(Slot(start, end, anchor))
    return Template(text, tuple(slots))


def read_again(anchor: Anchor, page: str) -> str | None:
    """The value at `anchor` on the live `page`, or None when the page has no such place."""
    alike = [ln for ln in _lines(page) if ln.shape == anchor.shape and ln.label == anchor.label]
    if anchor.nth >= len(alike):
        return None
    tok = alike[anchor.nth].tokens[anchor.token]
    if not (tok.startswith(anchor.prefix) and tok.endswith(anchor.suffix)):
        return None
    value = tok[len(anchor.prefix) : len(tok) - len(anchor.suffix)]
    return value if _has_digit(value) else None


class Recomputed(msgspec.Struct, frozen=True):
    """The output with its values read again, and each value that changed (old, new)."""

    text: str
    changed: tuple[tuple[str, str], ...] = ()


def recompute(template: Template, pages: Mapping[int, str]) -> Recomputed | None:
    """`template` with every slot read again from the live `pages` (cached step -> page
    text); None when a page it needs was not seen or no longer holds the value's place."""
    text = template.text
    changed = []
    for slot in sorted(template.slots, key=lambda s: s.start, reverse=True):
        page = pages.get(slot.anchor.step)
        value = read_again(slot.anchor, page) if page is not None else None
        if value is None:
            return None
        old = text[slot.start : slot.end]
        if value != old:
            changed.append((old, value))
        text = text[: slot.start] + value + text[slot.end :]
    return Recomputed(text, tuple(reversed(changed)))
