"""What one look at the page returns: the model's text plus typed element records."""

from __future__ import annotations

import msgspec

from .exceptions import ElementNotFoundError

BBox = tuple[float, float, float, float]


class Element(msgspec.Struct, frozen=True, gc=False):
    """One interactive element as the model saw it; `bbox` is in viewport CSS px."""

    ref: int
    tag: str
    role: str
    name: str
    value: str | None
    states: tuple[str, ...]
    bbox: BBox
    frame: str = ""

    @property
    def label(self) -> str:
        """`role "name"`, the form cassettes and fingerprints match on."""
        return f'{self.role} "{self.name}"'


class Observation(msgspec.Struct, frozen=True):
    """The complete current page text and its elements, with what changed since last time."""

    text: str
    elements: dict[int, Element]
    full: bool
    added: tuple[int, ...]
    removed: tuple[int, ...]
    changed: tuple[int, ...]
    version: int
    url: str
    title: str
    timings: dict[str, float]
    truncated: bool = False
    scroll: tuple[float, float] = (0.0, 0.0)
    viewport: tuple[float, float] = (0.0, 0.0)
    full_reason: str = ""

    @property
    def refs(self) -> list[int]:
        return list(self.elements)

    def find(self, role: str | None = None, name: str | None = None) -> Element | None:
        """First element with this role and/or exact name, in page order."""
        for el in self.elements.values():
            if (role is None or el.role == role) and (name is None or el.name == name):
                return el
        return None

    def get(self, role: str | None = None, name: str | None = None) -> Element:
        """Like `find`, but an element that is not there raises `ElementNotFoundError`
        (what a test or a script that needs it wants, rather than a None to check)."""
        el = self.find(role, name)
        if el is None:
            what = " ".join(x for x in (role, f'"{name}"' if name is not None else None) if x)
            raise ElementNotFoundError(f"no {what or 'element'} in the observation of {self.url}")
        return el
