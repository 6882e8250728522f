"""The page below its actions: the Playwright page, the in-page serializer, and the
plumbing every action shares.

`Page` (browser_agent/page.py) is the public API; its actions (browser_agent/actions.py)
are built on this class, and so are recording and replay. What they use here is the
interface of this one owner, never another module's privates: `call_in_page` (an
entry point of the in-page scripts), `action_lock` (one action at a time), `events`
(what the page did while an action ran), `quiet_check` (the DOM-quiet test settle
polls) and `local_files`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
from playwright.async_api import Page as PWPage

from .action_types import ActionSettings, Target
from .exceptions import ObservationError, PageClosedError, PageCrashedError
from .extractors.driver import InPageSerializer
from .observation import Element, Observation
from .settle import DialogInfo, PageEvents, QuietFn, SettleNotes, SettleSettings

if TYPE_CHECKING:
    from .browser import Browser


class PagePlumbing:
    """A Playwright page with the in-page serializer attached; see the module docstring."""

    def __init__(self, pw_page: PWPage, browser: Browser | None = None) -> None:
        self._page = pw_page
        self._browser = browser
        endpoint = browser.debug_endpoint if browser is not None else None
        self.serializer = InPageSerializer(pw_page, endpoint=endpoint)
        self.last_observation: Observation | None = None
        self.settle_settings = SettleSettings()
        self.action_settings = ActionSettings()
        self.seen: dict[int, Element] = {}
        """Every element observed in the current document, as last seen: what a ref
        is checked against before acting (the model may act on an older observation)."""
        self.limits: list[str] = []
        """What a cap refused on this page, e.g. a download past its count or size."""
        self.dialogs: list[DialogInfo] = []
        """Every dialog this page raised and how it was answered, actions or not."""
        self.action_lock = anyio.Lock()
        """Held by an action from resolving its target to its observation: one at a time."""
        self.events = PageEvents(self)
        """Playwright events fanned out to the actions in flight (`settle.Watch`)."""
        self._hooked: object = None
        self.crashed = False
        """The renderer crashed: the page is dead; open a new one (the agent does)."""
        pw_page.on("crash", self._on_crash)

    def _on_crash(self, _page: object) -> None:
        self.crashed = True

    async def attach(self) -> None:
        await self.serializer.attach()
        await self.serializer.install_actions()
        cdp = self.serializer.cdp
        if cdp is None:
            self._hooked = False  # no CDP (other engines): Playwright's events only
        elif cdp is not self._hooked:
            self._hooked = cdp
            self.events.hook_cdp(cdp)

    @property
    def playwright_page(self) -> PWPage:
        return self._page

    @property
    def url(self) -> str:
        return self._page.url

    @property
    def browser(self) -> Browser | None:
        return self._browser

    # ---- observing ----

    async def observe(self, full: bool = False, *, max_chars: int | None = None) -> Observation:
        """The complete current page; after the first call only changes cross the wire."""
        if self.crashed:
            raise PageCrashedError("the page crashed (its renderer is gone)")
        if self._page.is_closed():
            raise PageClosedError("the page was closed")
        obs = await self.serializer.observe(full=full, max_chars=max_chars)
        last = self.last_observation
        if last is None or obs.version <= last.version:
            self.seen = {}  # a new document: its refs start over
        self.seen.update(obs.elements)
        self.last_observation = obs
        return obs

    async def close(self) -> None:
        await self._page.close()

    # ---- for the actions above (browser_agent.actions), recording and replay ----

    @property
    def local_files(self) -> bool:
        """Whether the browser reads our file system (so uploads can pass paths)."""
        return self._browser is None or self._browser.is_local

    async def call_in_page(
        self,
        name: str,
        arg: Any = None,
        *,
        frame: str | None = None,
        await_promise: bool = False,
        by_value: bool = True,
        retry_gone: bool = True,
    ) -> Any:
        if self._hooked is None:
            await self.attach()
        return await self.serializer.call_actions(
            name,
            arg,
            frame_id=frame,
            await_promise=await_promise,
            by_value=by_value,
            retry_gone=retry_gone,
        )

    def quiet_check(
        self,
        target: Target | None,
        acted_at: float | None = None,
        *,
        ui_ms: float = 0.0,
        notes: SettleNotes | None = None,
    ) -> QuietFn:
        """DOM-quiet check for the main frame and, if elsewhere, the action's frame.

        `acted_at` (wall-clock ms) is when the action began: a document created after it
        counts its calm from its DOMContentLoaded, so a page that loaded and stayed
        still is settled the moment it is asked, not a quiet window later. `ui_ms`: how
        long after the action UI it set on its way is waited for (see
        `SettleSettings.ui_ms`). `notes` receives what the page said besides (see
        `SettleNotes`).
        """
        frames: list[str | None] = [None]
        if target is not None and target.frame is not None:
            frames.append(target.frame)
        seen_nav = 0.0  # the last navigation the main document announced (wall-clock ms)

        async def quiet(quiet_ms: float, limit_ms: float) -> bool | None:
            nonlocal seen_nav
            calm: list[bool] = []
            failed: list[ObservationError] = []
            leaving: list[float] = []

            async def one(frame: str | None) -> None:
                arg = {"quietMs": quiet_ms, "timeoutMs": limit_ms, "uiMs": ui_ms}
                if acted_at is not None:
                    arg["bornAfter"] = acted_at
                if frame is None:
                    arg["navSince"] = seen_nav
                try:
                    # Not retried in a new document: a quiet window that began on the
                    # old one says nothing of it, and settle must first wait for its load.
                    res = await self.call_in_page(
                        "settle", arg, frame=frame, await_promise=True, retry_gone=False
                    )
                except ObservationError as exc:
                    if frame is None:
                        failed.append(exc)  # re-raised below, outside the task group
                        return
                    res = {"quiet": True}  # the child frame went away: nothing to wait for
                if frame is None and res and res.get("navigating"):
                    leaving.append(float(res["navigating"]))
                if notes is not None and res:
                    notes.churn += [str(t) for t in res.get("churn") or ()][:20]
                    notes.restyled = notes.restyled or bool(res.get("restyled"))
                calm.append(bool(res and res["quiet"]))

            if len(frames) == 1:
                await one(None)
            else:
                async with anyio.create_task_group() as tg:
                    for f in frames:
                        tg.start_soon(one, f)
            if failed:
                raise failed[0]
            if leaving:
                seen_nav = leaving[0]
                return None
            return all(calm)

        return quiet
