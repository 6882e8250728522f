"""A page the agent observes and acts on, by the refs the model sees.

The public API over `PagePlumbing` (the page below its actions): each action method
hands itself to browser_agent/actions.py, which is built on the plumbing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from . import actions as _actions
from .action_types import ActionResult, Direction, UrlMatch
from .exceptions import (
    PageClosedError,
    PageCrashedError,
    PolicyBlockedError,
    UnknownRefError,
)
from .extractors.readable import extract as extract_readable
from .observation import Observation
from .plumbing import PagePlumbing
from .settle import settle

if TYPE_CHECKING:
    pass


class Page(PagePlumbing):
    """Wraps a Playwright page with the in-page serializer attached.

    Every action takes a ref from the latest observation, acts with trusted input,
    waits for the page to settle (see `settle_settings`) and returns an
    `ActionResult` carrying the observation that followed, so a loop never needs a
    separate `observe()` after acting. One action runs at a time per page.
    """

    async def confirm(
        self,
        seen: Observation,
        *,
        settle_first: bool = True,
        until: float | None = None,
        matters: Callable[[Observation, Observation], bool] | None = None,
    ) -> bool:
        """Whether the page moved since `seen` in a way that matters; waits while it looks.

        An agent may start its next model call on an observation taken after a short
        quiet window (`seen`), then call this while the model thinks: with
        `settle_first` it waits for the full `settle_settings` window and compares what
        the model would see now; then, until `until` (a `time.perf_counter()` time), it
        keeps watching for late UI (a list of suggestions 300 ms after the keystroke)
        and compares again after each change. True means the call is on a stale page
        and must be made again. `matters(seen, now)` judges a difference (default: any
        change of URL or text; the agent passes `Churn.matters`).
        """
        if self.crashed:
            raise PageCrashedError("the page crashed (its renderer is gone)")
        differs = matters or (lambda a, b: a.url != b.url or a.text != b.text)
        async with self.action_lock:
            if settle_first:
                with self.events.watch() as watch:
                    await settle(watch, self.quiet_check(None), self.settle_settings)
                if watch.navigated:
                    return True
            while True:
                if differs(seen, await self.observe()):
                    return True
                left = (until or 0.0) - time.perf_counter()
                if left <= 0:
                    return False
                with self.events.watch() as watch:
                    arg = {"timeoutMs": left * 1000}
                    if not await self.call_in_page("changed", arg, await_promise=True):
                        until = None  # nothing more came: the look above is the last
                        continue
                    window = self.settle_settings.model_copy(update={"timeout": left})
                    await settle(watch, self.quiet_check(None), window)
                if watch.navigated:
                    return True

    async def extract(
        self, format: Literal["markdown", "text"] = "markdown", *, ref: int | None = None
    ) -> str:
        """The readable main content of the page (navigation and chrome stripped); with
        `ref`, that element's content in full, in the observation's format (how a list of
        links folded by the size cap is opened). Its refs become actionable."""
        if self._page.is_closed():
            raise PageClosedError("the page was closed")
        if ref is not None:
            if not isinstance(ref, int) or isinstance(ref, bool) or ref <= 0:
                raise UnknownRefError(f"{ref!r} is not a ref", -1)
            lines, elements = await self.serializer.region(ref)
            for r, el in elements.items():
                self.seen.setdefault(r, el)
            return "\n".join(lines)
        html = await self._page.content()
        return extract_readable(html, url=self._page.url, format=format)

    # ---- navigation ----

    async def goto(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        wait_until: Literal["commit", "domcontentloaded", "load", "networkidle"] = "load",
        observe: bool = False,
    ) -> ActionResult:
        """Open `url` in this tab. With `observe=True` also settle and observe.

        Observing is off by default so the first `observe()` of a new document stays
        the caller's to time (and is a full pass).
        """
        browser = self._browser
        if browser is not None and browser.has_policy:
            # Refused before the browser is asked: the network stack never sees file:
            # and other local schemes, and a name may resolve to a blocked address.
            why = await browser.refusal(url)
            if why is not None:
                browser._refused(url)
                raise PolicyBlockedError(f"goto failed: {why}; choose another way")
        await self.attach()
        return await _actions.navigate(
            self,
            "goto",
            lambda: self._page.goto(url, timeout=timeout * 1000, wait_until=wait_until),
            observe=observe,
            timeout=timeout,
        )

    async def back(self, *, timeout: float = 30.0, observe: bool = True) -> ActionResult:
        """Go back one entry in this tab's history."""
        go = self._page.go_back
        return await _actions.navigate(
            self,
            "back",
            lambda: go(timeout=timeout * 1000, wait_until="commit"),
            observe=observe,
            timeout=timeout,
        )

    async def forward(self, *, timeout: float = 30.0, observe: bool = True) -> ActionResult:
        """Go forward one entry in this tab's history."""
        go = self._page.go_forward
        return await _actions.navigate(
            self,
            "forward",
            lambda: go(timeout=timeout * 1000, wait_until="commit"),
            observe=observe,
            timeout=timeout,
        )

    async def reload(self, *, timeout: float = 30.0, observe: bool = True) -> ActionResult:
        """Reload the current document."""
        go = self._page.reload
        return await _actions.navigate(
            self,
            "reload",
            lambda: go(timeout=timeout * 1000, wait_until="commit"),
            observe=observe,
            timeout=timeout,
        )

    # ---- acting on refs ----

    async def click(
        self, ref: int, *, button: str = "left", count: int = 1, timeout: float | None = None
    ) -> ActionResult:
        """Click the element's centre with a trusted mouse event."""
        return await _actions.click(self, ref, button=button, count=count, timeout=timeout)

    async def type(
        self,
        ref: int,
        text: str,
        submit: bool = False,
        clear: bool = True,
        *,
        timeout: float | None = None,
        fill: Callable[[str], str] | None = None,
    ) -> ActionResult:
        """Replace (or, with clear=False, append to) the field's text; submit presses Enter.

        Date, time, colour and range inputs take their value in the input's own
        format (`2024-05-01`, `13:45`, `#ff0000`, `7`). `fill(origin)`, if given,
        gives the text to type once the origin of the field's own document is known
        (how the agent substitutes secrets only where they may go).
        """
        return await _actions.type_text(
            self, ref, text, submit=submit, clear=clear, timeout=timeout, fill=fill
        )

    async def select(
        self, ref: int, option: str | Sequence[str], *, timeout: float | None = None
    ) -> ActionResult:
        """Choose option(s) by visible label or by value; a list for multi-selects."""
        return await _actions.select(self, ref, option, timeout=timeout)

    async def check(
        self, ref: int, on: bool = True, *, timeout: float | None = None
    ) -> ActionResult:
        """Set a checkbox, radio or switch on or off (a no-op if it already is)."""
        return await _actions.check(self, ref, on, timeout=timeout)

    async def hover(self, ref: int, *, timeout: float | None = None) -> ActionResult:
        """Move the mouse over the element (menus, tooltips)."""
        return await _actions.hover(self, ref, timeout=timeout)

    async def press(
        self, key: str, *, ref: int | None = None, timeout: float | None = None
    ) -> ActionResult:
        """Press a key or chord (`Enter`, `Escape`, `Control+A`), on `ref` if given."""
        return await _actions.press(self, key, ref=ref, timeout=timeout)

    async def scroll(
        self,
        direction: Direction = "down",
        ref: int | None = None,
        amount: float | None = None,
        *,
        timeout: float | None = None,
    ) -> ActionResult:
        """Scroll the page, or the scrollable area holding `ref`, by `amount` px.

        The default amount is about one screen of the viewport (or area): its size less
        a little overlap, like Page Down; `top`/`bottom` go to an end. The area of `ref`
        is the element if it scrolls that way, else a box inside that fills it, else the
        nearest scrolling ancestor.
        """
        return await _actions.scroll(self, direction, ref, amount, timeout=timeout)

    async def upload(
        self,
        ref: int,
        path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        timeout: float | None = None,
    ) -> ActionResult:
        """Put local file(s) into a file input, or answer the chooser `ref` opens."""
        return await _actions.upload(self, ref, path, timeout=timeout)

    async def wait_for(
        self,
        text: str | None = None,
        *,
        ref: int | None = None,
        url: UrlMatch | None = None,
        gone: bool = False,
        timeout: float = 10.0,
    ) -> ActionResult:
        """Wait until text shows, a ref is visible, or the URL matches (or, gone=True,
        until they stop being so); with no condition, just let the page settle.

        Raises ActionError after `timeout` seconds.
        """
        return await _actions.wait_for(
            self, text=text, ref=ref, url=url, gone=gone, timeout=timeout
        )

    def __repr__(self) -> str:
        return f"<Page {self._page.url}>"
