"""The sync facade: the same scripted tasks without async, plus its thread hygiene."""

from __future__ import annotations

import asyncio
import threading

import pytest

from browser_agent import ActionResult, StaleRefError, UnknownRefError
from browser_agent.page import Page as AsyncPage
from browser_agent.sync_api import Browser
from browser_agent.testing import FixtureServer, Submission

LOOPBACK = ["127.0.0.1"]


def submitted(site: FixtureServer, mark: int) -> Submission:
    """The first form submission made after `mark` (len(site.submissions) beforehand):
    the site is shared by the whole session, so earlier tests may have left some."""
    while True:
        sub = site.wait_submission(timeout=5.0)
        if any(s is sub for s in site.submissions[mark:]):
            return sub


def portal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "browser-agent"]


def test_scripted_form_task(site: FixtureServer) -> None:
    before = len(portal_threads())
    mark = len(site.submissions)
    with Browser.launch(allowed_domains=LOOPBACK) as browser:
        page = browser.new_page()
        result = page.goto(site.url("/form.html"))
        assert isinstance(result, ActionResult) and result.navigated
        obs = page.observe()
        name = obs.find(name="Full name")
        assert name is not None
        r = page.type(name.ref, "Sync Ada")
        assert r.observation is not None
        assert r.observation.find(name="Full name").value == "Sync Ada"  # type: ignore[union-attr]
        page.check(obs.get(name="Extra cheese").ref)
        page.select(obs.get(name="Country").ref, "Spain")
        r = page.click(obs.get(name="Submit order").ref)
        assert r.navigated and page.url.endswith("/submit")
        sub = submitted(site, mark)
        assert sub.first("full_name") == "Sync Ada"
        assert sub.first("country") == "es" and sub.fields["topping"] == ["cheese", "olives"]
        assert "Received" in page.extract("text")
    assert len(portal_threads()) == before
    browser.close()  # idempotent


def test_errors_and_popups(site: FixtureServer) -> None:
    with Browser.launch(allowed_domains=LOOPBACK) as browser:
        page = browser.new_page()
        page.goto(site.url("/spa.html"))
        obs = page.observe()
        with pytest.raises(UnknownRefError):
            page.click(4242)
        apple = obs.get(name="Pick Apple").ref
        page.click(obs.get(name="Remove first item").ref)
        with pytest.raises(StaleRefError):
            page.click(apple)

        page.goto(site.url("/popup.html"))
        obs = page.observe()
        r = page.click(obs.get(name="Open target in new tab").ref)
        assert len(r.new_pages) == 1 and len(browser.pages) == 2
        tab = browser.pages[-1]
        assert "Popup target" in tab.observe().text
        # The escape hatch: run async code (here Playwright itself) on the browser's loop.
        title = browser.run(tab.async_page.playwright_page.title)
        assert title == "Popup target"


def test_usable_from_inside_an_event_loop(site: FixtureServer) -> None:
    async def notebook_cell() -> str:
        with Browser.launch(allowed_domains=LOOPBACK) as browser:
            page = browser.new_page()
            page.goto(site.url("/settle.html"))
            obs = page.observe()
            r = page.click(obs.get(name="Immediate").ref)
            assert isinstance(browser.async_browser.pages[0], AsyncPage)
            return r.observation.text if r.observation else ""

    assert "Status: immediate done" in asyncio.run(notebook_cell())


def test_launch_failure_leaves_no_thread() -> None:
    before = len(portal_threads())
    with pytest.raises(Exception, match="does not exist"):
        Browser.launch(executable_path="/nonexistent/chromium")
    assert len(portal_threads()) == before
