"""Chromium features switched off at launch, merged with the ones Playwright switches off.

Chromium keeps only the last `--disable-features` it is given, and Playwright passes its
own list first: a second flag would silently turn Playwright's choices back on. So the
flag we add repeats Playwright's list (read from its driver, which is the only place it
lives) plus ours and the caller's. When the list cannot be read, ours are left out and
the caller's flag is passed as given: slower navigations, never a changed Playwright.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

SPEED_DISABLED_FEATURES = (
    "RenderDocument",
    "WebUIOmniboxPopup",
    "WebUIOmniboxAimPopup",
    "WebUIOmniboxFullPopup",
)
"""Work on the critical path that an agent never needs.

* RenderDocument gives every new document a new frame host and renderer-side frame, same
  site or not: work on every page load an action sets off (see `browser-agent bench
  agent`, steps that load a page).
* The WebUI omnibox popups: a headless window still loads two address-bar popups
  (chrome://omnibox-popup.top-chrome/) in a renderer of their own, which then burns
  ~0.5 s of CPU compiling their scripts right after every new tab. On two cores that
  made the first page load in a fresh tab ~25 ms slower. Nothing here has an omnibox.
"""

_FLAG = "--disable-features="
_LIST = re.compile(r"disabledFeatures\s*=\s*\[(.*?)\]", re.S)
_NAME = re.compile(r"""["']([A-Za-z0-9_]+)["']""")


@cache
def playwright_disabled_features() -> tuple[str, ...] | None:
    """The features Playwright's Chromium launch disables, or None if not found."""
    try:
        import playwright

        lib = Path(playwright.__file__).parent / "driver" / "package" / "lib"
        sources = [lib / "coreBundle.js", *sorted(lib.glob("server/chromium/chromiumSwitches.js"))]
        for source in sources:
            if not source.is_file():
                continue
            match = _LIST.search(source.read_text("utf-8", "replace"))
            if match:
                body = "\n".join(line.split("//", 1)[0] for line in match.group(1).splitlines())
                names = tuple(_NAME.findall(body))
                if names:
                    return names
    except (OSError, ImportError):
        pass
    return None


def with_features(args: Sequence[str]) -> list[str]:
    """`args` with one `--disable-features`: Playwright's, ours and the caller's."""
    base = playwright_disabled_features()
    if base is None:
        return list(args)
    theirs = [a.removeprefix(_FLAG) for a in args if a.startswith(_FLAG)]
    names: list[str] = []
    for group in (base, SPEED_DISABLED_FEATURES, *(t.split(",") for t in theirs)):
        names += [n for n in group if n and n not in names]
    return [a for a in args if not a.startswith(_FLAG)] + [_FLAG + ",".join(names)]
