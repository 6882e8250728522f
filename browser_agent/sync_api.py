"""The same API without async, for scripts and notebooks.

    from browser_agent.sync_api import Browser

    with Browser.launch() as browser:
        page = browser.new_page()
        page.goto("https://example.com/")
        obs = page.observe()
        page.click(obs.find("link").ref)

Like Playwright's `sync_api`, the async runtime runs on a private event-loop thread
(an anyio blocking portal, one per browser) and every call blocks until it is done.
It also works inside a running event loop (Jupyter), since the work happens on the
browser's own thread. Results and exceptions are the async API's own.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Literal, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from .actions import ActionResult, ActionSettings, Direction, UrlMatch
from .browser import Browser as AsyncBrowser
from .observation import Observation
from .page import Page as AsyncPage
from .settle import DialogInfo, SettleSettings

__all__ = ["Browser", "Page"]

T = TypeVar("T")


class Browser:
    """A browser driven from synchronous code; see `browser_agent.Browser`."""

    def __init__(
        self,
        portal_cm: AbstractContextManager[BlockingPortal],
        portal: BlockingPortal,
        browser: AsyncBrowser,
    ) -> None:
        self._portal_cm = portal_cm
        self._portal = portal
        self._browser = browser
        self._pages: dict[AsyncPage, Page] = {}
        self._closed = False

    @classmethod
    def _open(cls, factory: Callable[[], Awaitable[AsyncBrowser]]) -> Browser:
        cm = start_blocking_portal(name="browser-agent")
        portal = cm.__enter__()
        try:
            browser = portal.call(factory)
        except BaseException as exc:
            cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return cls(cm, portal, browser)

    @classmethod
    def launch(
        cls, headless: bool = True, allowed_domains: Sequence[str] | None = None, **kwargs: Any
    ) -> Browser:
        """Launch a local Chromium; use as a context manager or call `close()`."""

        async def factory() -> AsyncBrowser:
            return await AsyncBrowser.launch(headless, allowed_domains, **kwargs)

        return cls._open(factory)

    @classmethod
    def connect(
        cls, url: str, allowed_domains: Sequence[str] | None = None, **kwargs: Any
    ) -> Browser:
        """Drive a remote browser: a CDP endpoint or a Playwright browser server."""

        async def factory() -> AsyncBrowser:
            return await AsyncBrowser.connect(url, allowed_domains, **kwargs)

        return cls._open(factory)

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run an async function on the browser's loop (e.g. to use `playwright_page`)."""
        return self._portal.call(fn, *args)

    def _wrap(self, page: AsyncPage) -> Page:
        if page not in self._pages:
            self._pages[page] = Page(self, page)
        return self._pages[page]

    def new_page(self) -> Page:
        return self._wrap(self.run(self._browser.new_page))

    @property
    def pages(self) -> list[Page]:
        """Open pages, including tabs and popups the page opened itself."""
        return [self._wrap(p) for p in self._browser.pages]

    @property
    def version(self) -> str:
        return self._browser.version

    @property
    def async_browser(self) -> AsyncBrowser:
        """The async Browser underneath; only usable through `run`."""
        return self._browser

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.run(self._browser.close)
        finally:
            self._portal_cm.__exit__(None, None, None)

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Page:
    """A page driven from synchronous code; see `browser_agent.Page` for each method."""

    def __init__(self, browser: Browser, page: AsyncPage) -> None:
        self._browser = browser
        self._page = page

    def _run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        async def call() -> T:
            return await fn(*args, **kwargs)

        return self._browser.run(call)

    # ---- state ----

    @property
    def url(self) -> str:
        return self._page.url

    @property
    def last_observation(self) -> Observation | None:
        return self._page.last_observation

    @property
    def settle_settings(self) -> SettleSettings:
        return self._page.settle_settings

    @settle_settings.setter
    def settle_settings(self, value: SettleSettings) -> None:
        self._page.settle_settings = value

    @property
    def action_settings(self) -> ActionSettings:
        return self._page.action_settings

    @action_settings.setter
    def action_settings(self, value: ActionSettings) -> None:
        self._page.action_settings = value

    @property
    def dialogs(self) -> list[DialogInfo]:
        return self._page.dialogs

    @property
    def async_page(self) -> AsyncPage:
        """The async Page underneath; only usable through `browser.run`."""
        return self._page

    # ---- observing and navigating ----

    def observe(self, full: bool = False, *, max_chars: int | None = None) -> Observation:
        return self._run(self._page.observe, full, max_chars=max_chars)

    def extract(self, format: Literal["markdown", "text"] = "markdown") -> str:
        return self._run(self._page.extract, format)

    def goto(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        wait_until: Literal["commit", "domcontentloaded", "load", "networkidle"] = "load",
        observe: bool = False,
    ) -> ActionResult:
        return self._run(
            self._page.goto, url, timeout=timeout, wait_until=wait_until, observe=observe
        )

    def back(self, *, timeout: float = 30.0, observe: bool = True) -> ActionResult:
        return self._run(self._page.back, timeout=timeout, observe=observe)

    def forward(self, *, timeout: float = 30.0, observe: bool = True) -> ActionResult:
        return self._run(self._page.forward, timeout=timeout, observe=observe)

    def reload(self, *, timeout: float = 30.0, observe: bool = True) -> ActionResult:
        return self._run(self._page.reload, timeout=timeout, observe=observe)

    # ---- acting ----

    def click(
        self, ref: int, *, button: str = "left", count: int = 1, timeout: float | None = None
    ) -> ActionResult:
        return self._run(self._page.click, ref, button=button, count=count, timeout=timeout)

    def type(
        self,
        ref: int,
        text: str,
        submit: bool = False,
        clear: bool = True,
        *,
        timeout: float | None = None,
    ) -> ActionResult:
        return self._run(self._page.type, ref, text, submit, clear, timeout=timeout)

    def select(
        self, ref: int, option: str | Sequence[str], *, timeout: float | None = None
    ) -> ActionResult:
        return self._run(self._page.select, ref, option, timeout=timeout)

    def check(self, ref: int, on: bool = True, *, timeout: float | None = None) -> ActionResult:
        return self._run(self._page.check, ref, on, timeout=timeout)

    def hover(self, ref: int, *, timeout: float | None = None) -> ActionResult:
        return self._run(self._page.hover, ref, timeout=timeout)

    def press(
        self, key: str, *, ref: int | None = None, timeout: float | None = None
    ) -> ActionResult:
        return self._run(self._page.press, key, ref=ref, timeout=timeout)

    def scroll(
        self,
        direction: Direction = "down",
        ref: int | None = None,
        amount: float | None = None,
        *,
        timeout: float | None = None,
    ) -> ActionResult:
        return self._run(self._page.scroll, direction, ref, amount, timeout=timeout)

    def upload(
        self,
        ref: int,
        path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        timeout: float | None = None,
    ) -> ActionResult:
        return self._run(self._page.upload, ref, path, timeout=timeout)

    def wait_for(
        self,
        text: str | None = None,
        *,
        ref: int | None = None,
        url: UrlMatch | None = None,
        gone: bool = False,
        timeout: float = 10.0,
    ) -> ActionResult:
        return self._run(self._page.wait_for, text, ref=ref, url=url, gone=gone, timeout=timeout)

    def close(self) -> None:
        self._run(self._page.close)

    def __repr__(self) -> str:
        return f"<sync Page {self._page.url}>"
