"""Shared fixtures: the loopback fixture site, a browser per module, anyio on asyncio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from browser_agent import Browser, Page
from browser_agent.testing import FixtureServer

LOOPBACK = ["127.0.0.1"]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def site() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture
async def browser(anyio_backend: str) -> AsyncIterator[Browser]:
    # Every request outside loopback is aborted by the domain policy.
    async with Browser.launch(allowed_domains=LOOPBACK) as b:
        yield b


@pytest.fixture
async def page(browser: Browser) -> Page:
    return await browser.new_page()
