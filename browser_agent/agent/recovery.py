"""Crash recovery and cleanup: a new tab after a renderer crash, and closing what a
cut run opened."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from ..browser import Browser
from ..budget import Budget
from ..exceptions import (
    PageError,
)
from ..page import Page
from ..records import StepRecord
from ..timing import Timeline

if TYPE_CHECKING:
    from .facade import Agent


class Recovery:
    """The `_Run` methods that reopen a crashed page and close what a cut run opened."""

    agent: Agent
    budget: Budget
    tl: Timeline
    page: Page | None
    notes: list[str]

    async def recover(self, rec: StepRecord, page: Page) -> Page | None:
        """After a renderer crash: a new tab at the last URL, and a note for the model."""
        browser = page.browser
        if browser is None:
            return None
        last = page.last_observation
        url = last.url if last is not None else self.agent.start_url
        new = await browser.new_page()
        if self.budget.settle_s is not None:
            new.settle_settings.timeout = self.budget.settle_s
        if url and url.startswith(("http:", "https:")):
            try:
                await new.goto(url)
            except PageError as exc:
                rec.errors.append(f"reopening {url} after the crash failed: {exc}")
        with contextlib.suppress(Exception):
            await page.close()
        self.page = new
        rec.events.append(
            self.tl.event("recover", stage="observe", step=rec.n, detail=f"reopened {url}")
        )
        self.notes.append(
            f"Note: the page crashed and was reopened in a new tab at {url}; anything typed "
            "or opened since it last loaded is lost. Refs start over."
        )
        return new

    async def close_opened(self, target: Page | Browser | None, kept: set[Any]) -> None:
        """Close what a cut run (budget, cancellation) opened: its own tab or a crash's
        replacement, and the popups those opened. A page handed in stays open, and so
        does any page that was open before or another run's. Bounded per page."""
        page = self.page
        browser = page.browser if page is not None else None
        if page is None or browser is None:
            return
        root = page.playwright_page
        openers: dict[Page, Any] = {}
        for p in browser.pages:
            if p.playwright_page in kept or p.playwright_page is root:
                continue
            with anyio.move_on_after(2.0), contextlib.suppress(Exception):
                openers[p] = await p.playwright_page.opener()
        ours = {root}
        doomed = [] if page is target else [page]
        while grown := [p for p, o in openers.items() if o in ours and p not in doomed]:
            doomed += grown
            ours |= {p.playwright_page for p in grown}
        for p in reversed(doomed):  # popups before their openers
            with anyio.move_on_after(5.0), contextlib.suppress(Exception):
                await p.close()


def open_pages(target: Page | Browser | None) -> set[Any]:
    """The Playwright pages open in the target's browser before a run starts."""
    browser = target.browser if isinstance(target, Page) else target
    return {p.playwright_page for p in browser.pages} if browser is not None else set()
