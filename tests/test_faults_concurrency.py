"""Concurrency and cancellation: `batch` with 8 tasks at once keeps every recording
complete and every browser context to itself; a run cut by its caller (Ctrl-C, a
cancel scope) or by its wall-clock budget closes what it opened and leaves a readable
recording that says how it ended."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from test_remote import _descendants, _wait_gone

from browser_agent import Agent, Browser, Budget, Page
from browser_agent.agent import StepFinished
from browser_agent.batch import BatchTask, run_batch
from browser_agent.demo import load_cassette
from browser_agent.llm import LLMPool, ProviderConfig
from browser_agent.recording import Recording, read
from browser_agent.testing import FixtureServer, LocalModelServer

pytestmark = [pytest.mark.anyio, pytest.mark.faults]

STORES = ("cookie", "localStorage", "sessionStorage", "indexedDB")
TASKS = 8


def stores_seen(text: str) -> dict[str, list[str]]:
    """What read.html lists: store -> tokens visible to the page."""
    seen: dict[str, list[str]] = {}
    for line in text.splitlines():
        head, _, rest = line.strip().lstrip("- ").partition(": ")
        if head in STORES:
            seen[head] = [] if rest == "(none)" else rest.split()
    return seen


def check_complete(rec: Recording, task: str, steps: int) -> None:
    """Header, every step in order, and a footer with the outcome."""
    assert rec.header.task == task and not rec.torn
    assert [s.n for s in rec.steps] == list(range(1, steps + 1))
    assert rec.footer is not None and rec.footer.steps == steps


def check_cut(rec: Recording, task: str) -> None:
    """A run cut inside step 2: header, step 1, the cut step as far as it got, and a
    footer that counts it."""
    assert rec.header.task == task and not rec.torn
    assert rec.footer is not None and rec.footer.steps == 2
    assert [s.n for s in rec.steps] == [1, 2] and rec.steps[0].actions[0].name == "click"


# ---------------------------------------------------------------- isolation


async def test_the_isolation_pages_do_see_tokens_that_share_a_context(
    page: Page, site: FixtureServer
) -> None:
    """The detector works: two tokens written in one context are both seen."""
    for token in ("a1", "b2"):
        await page.goto(site.url(f"/isolation/write.html?who={token}"))
        obs = await page.observe()
        r = await page.click(obs.get("button", "Save my token").ref)
        assert r.observation is not None and f"Saved token {token}" in r.observation.text
    await page.goto(site.url("/isolation/read.html"))
    r = await page.wait_for("Check complete")
    assert r.observation is not None
    seen = stores_seen(r.observation.text)
    assert seen == {
        "cookie": ["a1", "b2"],
        "localStorage": ["a1", "b2"],
        "sessionStorage": ["a1", "b2"],  # one tab: its session storage is shared too
        "indexedDB": ["a1", "b2"],
    }


@pytest.fixture
def isolation_model() -> Iterator[LocalModelServer]:
    with LocalModelServer(load_cassette("isolation")) as srv:
        yield srv


async def test_batch_of_8_keeps_contexts_isolated_and_recordings_complete(
    site: FixtureServer, isolation_model: LocalModelServer, tmp_path: Path
) -> None:
    """8 tasks at once on 2 cores: each writes its token into cookie, localStorage,
    sessionStorage and IndexedDB, then lists every token it can see. The last reader
    reads after every task wrote, so a shared store would show foreign tokens. (The same
    tasks over a Playwright server, 4 at a time: test_batch.)"""
    tasks = [
        BatchTask(
            task="Save your token, then check which tokens the storage holds",
            url=site.url(f"/isolation/write.html?who=t{i}"),
            id=f"t{i}",
        )
        for i in range(TASKS)
    ]
    cfg = ProviderConfig(name="local", base_url=isolation_model.base_url, model="m")
    async with LLMPool([cfg]) as pool:
        report = await run_batch(
            tasks,
            pool,
            concurrency=TASKS,
            record_dir=tmp_path / "recs",
            allowed_domains=["127.0.0.1"],
            progress=False,
        )
    assert report.ok and report.concurrency == TASKS, [(t.id, t.detail) for t in report.tasks]
    # The tasks really overlapped (8 sequential runs would take the sum).
    assert report.ms < sum(t.ms for t in report.tasks) * 0.5
    for t in report.tasks:
        rec = read(t.record).sessions[0]
        check_complete(rec, tasks[0].task, t.steps)
        assert rec.footer is not None and rec.footer.reason == "done" and rec.footer.success
        assert "Check complete" in rec.steps[-1].text
        seen = stores_seen(rec.steps[-1].text)
        assert seen == {store: [t.id] for store in STORES}, (t.id, seen)


# ------------------------------------------------------------- cancellation

SCRIPT = ['click button "Open popup window"', 'wait_for "Text that never shows"']
"""Step 1 opens a popup; step 2 waits (10 s) for text that never comes: the run is cut
while it is in flight."""


def _pool(srv: LocalModelServer) -> LLMPool:
    return LLMPool([ProviderConfig(name="local", base_url=srv.base_url, model="m")])


async def test_a_run_cancelled_by_its_caller_closes_its_pages_and_ends_its_recording(
    browser: Browser, site: FixtureServer, tmp_path: Path
) -> None:
    keep = await browser.new_page()  # the caller's own page: not the run's to close
    record = tmp_path / "cancelled.jsonl"
    first_step = anyio.Event()
    seen: list[int] = []

    def on_event(ev: Any) -> None:
        if isinstance(ev, StepFinished):
            seen.append(len(browser.pages))
            first_step.set()

    with LocalModelServer(SCRIPT) as srv:
        async with _pool(srv) as pool:
            agent = Agent(
                "Open the popup, then read",
                llm=pool,
                start_url=site.url("/popup.html"),
                budget=Budget(max_steps=50),
                record=record,
                on_event=on_event,
            )
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(agent.run, browser)
                    with anyio.fail_after(30):
                        await first_step.wait()
                    scope.cancel()  # what Ctrl-C does to the task running the agent
    assert scope.cancelled_caught
    assert seen[0] == 3  # the caller's page, the run's tab and the popup it opened
    assert browser.pages == [keep]
    rec = read(record).sessions[0]
    assert rec.footer is not None and rec.footer.reason == "cancelled" and not rec.footer.success
    assert "cancelled" in rec.footer.detail
    check_cut(rec, "Open the popup, then read")


async def test_a_run_cut_by_its_budget_closes_its_pages_and_says_so(
    browser: Browser, site: FixtureServer, tmp_path: Path
) -> None:
    record = tmp_path / "budget.jsonl"
    caller = await browser.new_page()
    await caller.goto(site.url("/popup.html"))
    with LocalModelServer(SCRIPT) as srv:
        async with _pool(srv) as pool:
            budget = Budget(session_s=3, max_steps=50)
            agent = Agent("Open the popup, then read", llm=pool, record=record, budget=budget)
            result = await agent.run(caller)
    assert result.reason == "budget" and "3 s" in result.detail
    # The popup the run opened is closed; the page the caller handed in is not.
    assert browser.pages == [caller] and not caller.playwright_page.is_closed()
    rec = read(record).sessions[0]
    assert rec.footer is not None and rec.footer.reason == "budget"
    check_cut(rec, "Open the popup, then read")
    assert result.steps[0].actions[0].ok and len(result.steps) == 2


async def test_a_cancelled_run_that_launched_its_browser_leaves_no_process(
    site: FixtureServer, tmp_path: Path
) -> None:
    before = _descendants(os.getpid())
    record = tmp_path / "launched.jsonl"
    started = anyio.Event()

    def on_event(ev: Any) -> None:
        if isinstance(ev, StepFinished):
            started.set()

    with LocalModelServer(SCRIPT) as srv:
        async with _pool(srv) as pool:
            agent = Agent(
                "Open the popup, then read",
                llm=pool,
                start_url=site.url("/popup.html"),
                allowed_domains=["127.0.0.1"],
                budget=Budget(max_steps=50),
                record=record,
                on_event=on_event,
            )
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(agent.run)
                    with anyio.fail_after(30):
                        await started.wait()
                    assert _descendants(os.getpid()) - before  # its browser is running
                    scope.cancel()
    left = _descendants(os.getpid()) - before
    _wait_gone(sorted(left), 10.0)
    assert not _descendants(os.getpid()) - before, "the launched browser outlived the run"
    rec = read(record).sessions[0]
    assert rec.footer is not None and rec.footer.reason == "cancelled"
