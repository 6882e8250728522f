"""Shared fixtures: the loopback fixture site, browsers launched once for the session
(one per set of launch options) with a fresh context per test, anyio on asyncio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from browser_agent import Browser, Page
from browser_agent.testing import FixtureServer

LOOPBACK = ["127.0.0.1"]
CROSS_SITE = ["127.0.0.1", "localhost"]
"""Loopback and `localhost`: the fixture server's second site (a frame there runs out of
process), allowed."""


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def site() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture(scope="session")
async def shared_browser(anyio_backend: str) -> AsyncIterator[Browser]:
    """One launched browser for every test that needs no launch options of its own:
    launching one costs 1-3 s on two cores, a context a few ms. Every request outside
    loopback is aborted by the domain policy."""
    async with Browser.launch(allowed_domains=LOOPBACK) as b:
        yield b


@pytest.fixture
async def browser(shared_browser: Browser) -> AsyncIterator[Browser]:
    """A fresh context of the shared browser: its own pages, cookies, storage, cache and
    policy bookkeeping (`blocked`, `refusals`), closed after the test."""
    context = await shared_browser.new_context()
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture(scope="session")
async def cross_site_browser(anyio_backend: str) -> AsyncIterator[Browser]:
    """One launched browser for the tests that need `localhost` allowed too (the domain
    policy's resolver rules are fixed at launch); use `cross_site` for a fresh context."""
    async with Browser.launch(allowed_domains=CROSS_SITE) as b:
        yield b


@pytest.fixture
async def cross_site(cross_site_browser: Browser) -> AsyncIterator[Browser]:
    """A fresh context of `cross_site_browser`, closed after the test."""
    context = await cross_site_browser.new_context()
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(browser: Browser) -> Page:
    return await browser.new_page()
