"""Wait exactly as long as the page is busy after an action, and never past a bound.

The page has settled when all of these hold at once:
  * no DOM mutation for `quiet_ms`, measured inside the page by a MutationObserver
    (elements that were already ticking before the action began, such as spinners,
    clocks and carousels, do not count: they would hold every action to the bound);
  * no network request started since the action is still pending;
  * a navigation the action started has committed and reached DOMContentLoaded;
  * UI the action set on its way has shown, or `ui_ms` passed since the action: a
    popup its target announced by ARIA, an animation it started that is revealing
    something still hidden (see `SettleSettings.ui_ms`).
All of it is bounded by `timeout`; reaching the bound is reported (`settled=False`),
never raised, because a page that never stops moving is still usable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
from playwright.async_api import CDPSession, Dialog, Download, Request
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page as PWPage
from pydantic import BaseModel, ConfigDict, Field

from .exceptions import ContextGoneError, PageClosedError

if TYPE_CHECKING:
    from .plumbing import PagePlumbing


class SettleSettings(BaseModel):
    """How long to wait after an action; set on `page.settle_settings`."""

    model_config = ConfigDict(validate_assignment=True)

    quiet_ms: float = Field(50.0, ge=0)
    """The DOM must stay unchanged this long (ms) to count as settled."""
    timeout: float = Field(5.0, gt=0)
    """Upper bound (s) on the whole settle; reaching it gives `settled=False`."""
    network: bool = True
    """Wait for requests the action started (off: DOM quiet and navigation only)."""
    ignored_resource_types: frozenset[str] = frozenset(
        {"eventsource", "websocket", "ping", "manifest"}
    )
    """Long-lived or fire-and-forget requests that never hold settle."""
    popups: bool = True
    """Wait (within the bound) for pages the action opened to reach DOMContentLoaded."""
    observe: bool = True
    """Observe the page once it settled (the result's `observation`). Off when nobody
    would read it: the agent turns it off for an action that more of the reply follow."""
    ui_ms: float = Field(500.0, ge=0)
    """How long after an action (ms) UI it set on its way still counts as its doing.
    Settle holds, within this bound, for a popup the target announces (a combobox, an
    aria-autocomplete field, aria-haspopup, a collapsed aria-expanded, a `list=`
    datalist) until new UI shows, and for a CSS animation or transition the action
    started that is still revealing something (a show delay, a fade-in from nothing).
    The agent keeps watching the page this long while the model thinks (see `Agent`).
    0 turns both off."""


class DialogInfo(msgspec.Struct, frozen=True):
    """A JavaScript dialog the action raised, and how it was answered."""

    type: str
    message: str
    accepted: bool
    answer: str | None = None


class DownloadInfo(msgspec.Struct, frozen=True):
    """A download the action started; `path` once it finished within the bound."""

    url: str
    suggested_filename: str
    path: str | None = None
    error: str | None = None


class Watch:
    """Everything one action set off: requests, navigation, dialogs, pages, downloads."""

    def __init__(self) -> None:
        self.pending: set[Request] = set()
        self.nav_pending = False
        self.nav_committed = False
        self.navigated = False
        self.error: str | None = None
        self.dialogs: list[DialogInfo] = []
        self.popups: list[PWPage] = []
        self.downloads: list[Download] = []
        self.closed = False
        self.crashed = False
        self.opening = 0  # windows announced (Page.windowOpen) whose page has not arrived
        self.generation = 0
        self._changed = anyio.Event()

    def bump(self) -> None:
        self.generation += 1
        self._changed.set()
        self._changed = anyio.Event()

    async def changed(self) -> None:
        await self._changed.wait()

    def idle(self, network: bool = True) -> bool:
        if self.closed or self.crashed:
            return True
        return not self.nav_pending and not self.opening and not (network and self.pending)


class PageEvents:
    """Playwright page events fanned out to the actions in flight; answers dialogs."""

    def __init__(self, page: PagePlumbing) -> None:
        self._owner = page
        self._page = page.playwright_page
        self.watches: list[Watch] = []
        p = self._page
        p.on("request", self._on_request)
        p.on("requestfinished", self._on_request_done)
        p.on("requestfailed", self._on_request_failed)
        p.on("framenavigated", self._on_navigated)
        p.on("domcontentloaded", self._on_dcl)
        p.on("popup", self._on_popup)
        p.on("download", self._on_download)
        p.on("download", self._guard_download)
        self.downloads = 0
        """Downloads this page started, cancelled ones included."""
        self.cancelled: dict[str, str] = {}
        """Download URL → why it was cancelled (the count or size cap)."""
        p.on("dialog", self._on_dialog)
        p.on("close", self._on_close)
        p.on("crash", self._on_crash)

    def hook_cdp(self, cdp: CDPSession) -> None:
        """A new window is announced on the opener's session long before Playwright's
        `popup` event (which waits for the new page's first commit): count it as work."""
        cdp.on("Page.windowOpen", self._on_window_open)

    def _on_window_open(self, _event: Any) -> None:
        def opening(w: Watch) -> None:
            w.opening += 1

        self._bump(opening)

    @contextmanager
    def watch(self) -> Iterator[Watch]:
        w = Watch()
        self.watches.append(w)
        try:
            yield w
        finally:
            self.watches.remove(w)

    def _bump(self, fn: Callable[[Watch], None]) -> None:
        for w in self.watches:
            fn(w)
            w.bump()

    def _is_main_nav(self, req: Request) -> bool:
        try:
            return req.is_navigation_request() and req.frame == self._page.main_frame
        except PlaywrightError:
            return False

    def _on_request(self, req: Request) -> None:
        if not self.watches:
            return
        if req.resource_type in self._owner.settle_settings.ignored_resource_types:
            return
        nav = self._is_main_nav(req)

        def add(w: Watch) -> None:
            w.pending.add(req)
            if nav:
                w.nav_pending = True
                w.nav_committed = False

        self._bump(add)

    def _on_request_done(self, req: Request) -> None:
        self._bump(lambda w: w.pending.discard(req))

    def _on_request_failed(self, req: Request) -> None:
        nav = self._is_main_nav(req)
        failure = req.failure or ""
        error = f"navigation to {req.url} failed: {failure}"
        browser = self._owner.browser
        if nav and browser is not None and browser.has_policy and not browser.allows(req.url):
            # Refused by the domain policy (router, proxy or resolver): say so, in its words.
            error = f"navigation to {req.url} was blocked: {browser.blocked_reason(req.url)}"

        def fail(w: Watch) -> None:
            w.pending.discard(req)
            if nav:
                w.nav_pending = False
                if "ERR_ABORTED" not in failure:
                    w.error = error

        self._bump(fail)

    def _on_navigated(self, frame: Any) -> None:
        if frame != self._page.main_frame:
            return

        def nav(w: Watch) -> None:
            w.navigated = True
            if w.nav_pending:
                w.nav_committed = True

        self._bump(nav)

    def _on_dcl(self, _page: Any) -> None:
        def loaded(w: Watch) -> None:
            if w.nav_committed:
                w.nav_pending = False

        self._bump(loaded)

    def _on_popup(self, popup: PWPage) -> None:
        def add(w: Watch) -> None:
            w.popups.append(popup)
            w.opening = max(w.opening - 1, 0)

        self._bump(add)

    def _on_download(self, download: Download) -> None:
        def add(w: Watch) -> None:
            w.downloads.append(download)
            w.nav_pending = False  # a navigation that turned into a download never commits

        self._bump(add)

    async def _guard_download(self, download: Download) -> None:
        """Hold every download to the page's caps: a count, and a size watched as the
        file grows (on this machine's browser). A cancelled one says why, in
        `cancelled`, `Page.limits` and the action's result."""
        s = self._owner.action_settings
        self.downloads += 1
        why = None
        if self.downloads > s.max_downloads:
            why = f"more than {s.max_downloads} downloads on this page"
        else:
            why = await _watch_size(download, s.max_download_mb, self._owner)
        if why is None:
            return
        reason = f"download {download.suggested_filename} cancelled: {why}"
        self.cancelled[download.url] = reason
        self._owner.limits.append(reason)
        with suppress(PlaywrightError):
            await download.cancel()

    def _on_close(self, _page: Any) -> None:
        self._bump(lambda w: setattr(w, "closed", True))

    def _on_crash(self, _page: Any) -> None:
        def crash(w: Watch) -> None:
            w.crashed = True
            w.error = "the page crashed"

        self._bump(crash)

    async def _on_dialog(self, dialog: Dialog) -> None:
        """Answer at once (the page is frozen until then), as `page.action_settings` says."""
        s = self._owner.action_settings
        kind = dialog.type
        answer: str | None = None
        if kind == "confirm":
            accept = s.accept_confirm
        elif kind == "prompt":
            accept = s.accept_prompt
            answer = dialog.default_value if s.prompt_text is None else s.prompt_text
        else:  # alert, beforeunload
            accept = True
        info = DialogInfo(kind, dialog.message, accept, answer if accept else None)
        for w in self.watches:
            w.dialogs.append(info)
        self._owner.dialogs.append(info)
        try:
            if accept:
                await dialog.accept(answer) if kind == "prompt" else await dialog.accept()
            else:
                await dialog.dismiss()
        except PlaywrightError:
            pass  # the page went away with its dialog


class SettleNotes:
    """What the page said about an action while it settled, beyond being quiet."""

    def __init__(self) -> None:
        self.churn: list[str] = []
        """Texts of elements that ticked by themselves meanwhile (a clock, a counter)."""
        self.restyled = False
        """UI was revealed by style alone (a CSS hover menu): no mutation marked it, so
        the observation that follows must be a full pass to see it."""


QuietFn = Callable[[float, float], Awaitable[bool | None]]
"""`quiet(quiet_ms, limit_ms)`: True once the DOM was calm that long, False at the limit,
None when the document announced that a navigation is replacing it."""

NAV_GRACE_S = 1.0
"""How long an announced navigation may take to reach the network (or be dropped,
e.g. answered by a 204) before settle stops waiting for it and times the quiet window."""


async def settle(watch: Watch, quiet: QuietFn, settings: SettleSettings) -> tuple[bool, float]:
    """Wait until `watch` is idle and `quiet(quiet_ms, limit_ms)` reports a calm DOM.

    Returns (settled, elapsed ms). The DOM check runs only once the network and
    navigation are idle, and is repeated if anything happened meanwhile. A document
    that announces it is being replaced is not timed: settle waits for its successor.
    """
    t0 = time.perf_counter()
    deadline = t0 + settings.timeout
    settled = False
    with anyio.move_on_after(settings.timeout):
        while True:
            while not watch.idle(settings.network):
                await watch.changed()
            if watch.closed or watch.crashed:
                settled = True
                break
            generation = watch.generation
            left_ms = (deadline - time.perf_counter()) * 1000
            try:
                calm = await quiet(settings.quiet_ms, max(left_ms, 1.0))
            except ContextGoneError:
                continue  # it navigated under us: wait for the new document
            except PageClosedError:
                settled = True
                break
            if calm is None:
                if watch.generation == generation:
                    with anyio.move_on_after(NAV_GRACE_S):
                        await watch.changed()
                continue
            if not calm:
                break
            if watch.generation == generation and watch.idle(settings.network):
                settled = True
                break
    if settings.popups and watch.popups:
        for popup in watch.popups:
            with anyio.move_on_after(max(deadline - time.perf_counter(), 0.0)):
                with suppress(PlaywrightError):
                    await popup.wait_for_load_state("domcontentloaded")
    return settled, (time.perf_counter() - t0) * 1000


async def _watch_size(download: Download, limit_mb: float, page: PagePlumbing) -> str | None:
    """Why the download must stop (it grew past `limit_mb`), or None once it ended.

    Chromium writes a download in progress to `<artifact>.crdownload` next to where
    Playwright keeps it; that file's size is polled. Only for a browser that shares our
    file system; elsewhere (or if Playwright keeps the file elsewhere) only the count
    cap applies.
    """
    browser = page.browser
    if browser is not None and not browser.is_local:
        return None
    try:
        final = Path(download._impl_obj._artifact._initializer["absolutePath"])
    except (AttributeError, KeyError, TypeError):
        return None
    partial = final.with_name(final.name + ".crdownload")
    limit = limit_mb * 1024 * 1024
    seen = False
    with anyio.move_on_after(DOWNLOAD_WATCH_S):
        while not page.playwright_page.is_closed():
            try:
                size = partial.stat().st_size
                seen = True
            except OSError:
                if seen or final.exists():
                    return None  # finished (renamed) or cancelled
                size = 0
            if size > limit:
                return f"larger than {limit_mb:g} MB"
            await anyio.sleep(0.05)
    return None


DOWNLOAD_WATCH_S = 600.0
"""Bound on watching one download's size."""


async def downloads(
    watch: Watch, deadline: float, page: PagePlumbing | None = None
) -> list[DownloadInfo]:
    """Describe the action's downloads, with their local path if done by `deadline`."""
    out = []
    cancelled = page.events.cancelled if page is not None else {}
    for d in watch.downloads:
        path = error = None
        with anyio.move_on_after(max(deadline - time.perf_counter(), 0.0)):
            try:
                path = str(await d.path())
            except PlaywrightError as exc:
                error = exc.message
        if d.url in cancelled:
            path, error = None, cancelled[d.url]
        out.append(DownloadInfo(d.url, d.suggested_filename, path, error))
    return out
