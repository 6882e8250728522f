"""A page the agent observes and acts on, by the refs the model sees."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page as PWPage

from extractors.driver import InPageSerializer

from .exceptions import NavigationError, PageClosedError
from .observation import Observation

if TYPE_CHECKING:
    from .browser import Browser


class Page:
    """Wraps a Playwright page with the in-page serializer attached."""

    def __init__(self, pw_page: PWPage, browser: Browser | None = None) -> None:
        self._page = pw_page
        self._browser = browser
        self.serializer = InPageSerializer(pw_page)
        self.last_observation: Observation | None = None

    async def _attach(self) -> None:
        await self.serializer.attach()

    @property
    def playwright_page(self) -> PWPage:
        return self._page

    @property
    def url(self) -> str:
        return self._page.url

    async def goto(self, url: str, *, timeout: float = 30.0, wait_until: str = "load") -> None:
        await self.serializer.attach()
        try:
            await self._page.goto(url, timeout=timeout * 1000, wait_until=wait_until)  # type: ignore[arg-type]
        except PlaywrightError as exc:
            if self._page.is_closed():
                raise PageClosedError("the page was closed") from exc
            raise NavigationError(f"navigation to {url} failed: {exc.message}") from exc

    async def observe(self, full: bool = False, *, max_chars: int | None = None) -> Observation:
        """The complete current page; after the first call only changes cross the wire."""
        if self._page.is_closed():
            raise PageClosedError("the page was closed")
        obs = await self.serializer.observe(full=full, max_chars=max_chars)
        self.last_observation = obs
        return obs

    async def close(self) -> None:
        await self._page.close()
