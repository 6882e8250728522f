"""Output for people at a terminal and for pipes: one rule for both, no hard wrapping.

Rich fits everything to the terminal's width, and to 80 columns when the output is
piped or redirected, which breaks "one line per element" and any script reading the
output. `console()` keeps rich's fitting for a terminal and turns it off for a pipe or a
file: text is written as it is, tables keep their natural width. `PrintableTable`
renders itself the same way when `print()` or `str()` meets it.
"""

from __future__ import annotations

import re
import sys
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

UNWRAPPED_WIDTH = 100_000
"""The width given to a console that is not a terminal: wider than any line we print,
so rich never wraps or crops (tables still take only the width their cells need)."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: object) -> str:
    """`text` (a page's, a provider's or a model's) made inert for a terminal: control
    characters, escape sequences and bidi overrides are shown as `\\xNN` / `\\uNNNN`
    instead of acting on the terminal. Tabs and newlines stay. Rich markup is a separate
    matter: print such text as `Text` or through `rich.markup.escape`."""
    return _CONTROL.sub(lambda m: _shown(m.group()), str(text))


def plain(text: object) -> str:
    """Untrusted text for a rich markup string: inert for the terminal and never markup."""
    return escape(safe(text))


def _shown(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def console(*, stderr: bool = False, file: IO[str] | None = None) -> Console:
    """A console for the CLI: the window's width on a terminal, never wrapped elsewhere."""
    probe = Console(stderr=stderr, file=file)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, file=file, soft_wrap=True, width=UNWRAPPED_WIDTH)


def print_error(message: str, *, prefix: str = "error") -> None:
    """One `error:` line on stderr; the message is plain text (never read as markup)."""
    line = " ".join(safe(message).split()) or "failed"
    console(stderr=True).print(f"[red]{prefix}:[/] {escape(line)}", highlight=False)


def render(renderable: object, *, file: IO[str] | None = None) -> str:
    """What `console().print(renderable)` would write to `file` (stdout by default)."""
    out = console(file=file or sys.stdout)
    with out.capture() as cap:
        out.print(renderable)
    return cap.get().rstrip("\n")


def ms_text(value: float, digits: int = 0) -> str:
    """Milliseconds for a table cell, with two decimals below 1 ms: a stage that took
    0.04 ms must not read as one that took nothing (0 stays 0)."""
    if 0 < value < 1:
        return f"{value:.2f}"
    return f"{value:.{digits}f}"


class PrintableTable(Table):
    """A rich `Table` that prints as a table wherever it is printed: `console.print(t)`,
    but also `print(t)` and `str(t)` (rendered for stdout: the window's width on a
    terminal, unwrapped when piped)."""

    def __str__(self) -> str:
        return render(self)
