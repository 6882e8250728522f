"""Python's copy of one frame's serialization, kept current by applying deltas."""

from __future__ import annotations

from typing import Any

import msgspec

from ..observation import BBox, Element

VIEWPORT_TOP = "--- viewport ---"
VIEWPORT_BOTTOM = "--- below viewport ---"
FRAME_SLOT = "\x00frame "
COVERED = (
    "--- a layer covers most of the page (what is under it cannot be clicked until it is closed):"
)


class Payload(msgspec.Struct, gc=False):
    """What the in-page `observe` entry point returns (see js/serializer/entry.js)."""

    full: bool
    version: int
    base: int
    url: str
    title: str
    scroll: tuple[float, float, float, float]
    marks: tuple[int, int]
    above: int
    below: int
    elements: list[list[Any]]
    added: list[int]
    removed: list[int]
    changed: list[int]
    lines: list[str] = []
    ops: list[tuple[int, int, list[str]]] = []
    ms: float = 0.0
    why: str = ""
    notes: tuple[str, str] = ("", "")
    cover: str = ""
    """The first lines of a fixed layer over most of the viewport, when there is one."""
    hosts: list[int] = []
    """Refs of elements that look like hosts of closed shadow roots (driver adopts them)."""
    """What the parts above and below the window hold (role counts, headings)."""


_decoder = msgspec.json.Decoder(Payload)


def decode(raw: str | bytes) -> Payload:
    return _decoder.decode(raw)


class Mirror:
    """Window of lines plus element records; `apply` is O(size of the change)."""

    def __init__(self, frame: str = "") -> None:
        self.frame = frame
        self.version = 0
        self.lines: list[str] = []
        self._raw: dict[int, list[Any]] = {}
        self.elements: dict[int, Element] = {}
        self.scroll: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self.marks: tuple[int, int] = (0, 0)
        self.above = 0
        self.below = 0
        self.notes: tuple[str, str] = ("", "")
        self.cover = ""
        self.url = ""
        self.title = ""

    def reset(self) -> None:
        self.__init__(self.frame)  # type: ignore[misc]

    def element(self, raw: list[Any]) -> Element:
        ref, tag, role, name, value, states, x, y, w, h, fixed = raw
        sx, sy = (0.0, 0.0) if fixed else (self.scroll[0], self.scroll[1])
        bbox: BBox = (x - sx, y - sy, w, h)
        return Element(ref, tag, role, name, value, tuple(states), bbox, self.frame)

    def apply(self, p: Payload) -> None:
        """Bring the mirror to `p.version`; a delta must be based on our version.

        A full pass says nothing about what changed: its added/removed/changed are
        filled in here against what the mirror held, so every observation reports them."""
        rescroll = p.scroll[:2] != self.scroll[:2]
        self.scroll = p.scroll
        if p.full:
            old = self._raw
            self.lines = p.lines
            self._raw = {raw[0]: raw for raw in p.elements}
            p.added = [r for r in self._raw if r not in old]
            p.removed = [r for r in old if r not in self._raw]
            p.changed = [r for r, raw in self._raw.items() if r in old and old[r][1:6] != raw[1:6]]
            self.elements = {ref: self.element(raw) for ref, raw in self._raw.items()}
        else:
            if p.base != self.version:
                raise ValueError(f"delta based on v{p.base}, mirror at v{self.version}")
            lines = self.lines
            for start, deleted, new in p.ops:
                lines[start : start + deleted] = new
            for ref in p.removed:
                self._raw.pop(ref, None)
                self.elements.pop(ref, None)
            for raw in p.elements:
                self._raw[raw[0]] = raw
            if rescroll:
                self.elements = {ref: self.element(raw) for ref, raw in self._raw.items()}
            else:
                els = self.elements
                for raw in p.elements:
                    els[raw[0]] = self.element(raw)
        self.version = p.version
        self.marks = p.marks
        self.above = p.above
        self.below = p.below
        self.notes = p.notes
        self.cover = p.cover
        self.url = p.url
        self.title = p.title

    def render(self) -> list[str]:
        """The window's lines with viewport markers and overflow summaries."""
        top, bottom = self.marks
        lines = self.lines
        parts: list[str] = []
        if self.cover:
            parts.append(f"{COVERED} {self.cover}")
        if self.above:
            parts.append(_left_out(self.above, "above", self.notes[0]))
        if 0 < top <= len(lines):
            parts.extend(lines[:top])
            parts.append(VIEWPORT_TOP)
        else:
            top = 0
        if bottom < len(lines) and bottom >= top:
            parts.extend(lines[top:bottom])
            parts.append(VIEWPORT_BOTTOM)
            parts.extend(lines[bottom:])
        else:
            parts.extend(lines[top:])
        if self.below:
            parts.append(_left_out(self.below, "below", self.notes[1]))
        return parts


def _left_out(count: int, where: str, note: str) -> str:
    """The line that stands for what the size cap left out on one side of the window."""
    line = f"… {count} more elements {where}"
    return f"{line} ({note}); scroll to see them" if note else f"{line}; scroll to see them"
