"""`browser-agent` with no arguments: one browser, one page, tasks typed one after another.

Each task runs on the page the previous one left (follow-ups work), with the live
display. Commands: `/observe` prints the current serialization, `/timings` the stage
report of every step so far, `/record PATH` records the next tasks to PATH,
`/goto URL` opens a page, `/help`, `/quit`. Ctrl-C stops the running task, not the
session (at the prompt it only reminds you of `/quit`).
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import anyio
from playwright.async_api import Error as PlaywrightError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .agent import Agent, StepRecord
from .browser import Browser
from .budget import Budget
from .display import LiveDisplay
from .exceptions import BrowserAgentError
from .llm import LLMPool, ProviderConfig
from .page import Page
from .stats import percentile
from .timing import STAGES

HELP = (
    "Type a task and press Enter. Commands: /observe, /timings, /record PATH, "
    "/goto URL, /help, /quit"
)
_URL = re.compile(r"https?://\S+")


def _input(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


class Session:
    """The state of one interactive session."""

    def __init__(self, console: Console, pool: LLMPool, budget: Budget) -> None:
        self.console = console
        self.pool = pool
        self.budget = budget
        self.steps: list[StepRecord] = []
        self.record: Path | None = None
        self.running: anyio.CancelScope | None = None

    async def watch_interrupts(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                if self.running is not None:
                    self.console.print("\n[yellow]stopping the task…[/]")
                    self.running.cancel()
                else:
                    self.console.print("\n[dim](type /quit to leave)[/]")

    async def task(self, text: str, browser: Browser) -> None:
        page = await _page(browser)
        start = None
        if page.url in ("", "about:blank") and (m := _URL.search(text)):
            start = m.group(0).rstrip(".,;)")
        agent = Agent(
            text,
            llm=self.pool,
            start_url=start,
            budget=self.budget,
            record=self.record,
            on_event=LiveDisplay(self.console, self.budget),
        )
        with anyio.CancelScope() as scope:
            self.running = scope
            try:
                result = await agent.run(page)
            finally:
                self.running = None
        if scope.cancelled_caught:
            self.console.print("[yellow]task stopped[/]")
            return
        self.steps += result.steps
        if result.success:
            self.console.print(f"[green]✓ done:[/] {escape(str(result.output))}", highlight=False)
        else:
            why = result.output if result.reason == "done" else result.detail
            self.console.print(f"[red]✗ {result.reason}:[/] {escape(str(why))}", highlight=False)

    def timings(self) -> Table:
        t = Table(title=f"timings: {len(self.steps)} steps so far (ms)")
        for col in ("stage", "p50", "p95", "max"):
            t.add_column(col, justify="left" if col == "stage" else "right")
        for stage in STAGES:
            vals = sorted(s.spans_ms.get(stage, 0.0) for s in self.steps)
            if not vals:
                t.add_row(stage, "-", "-", "-")
                continue
            t.add_row(
                stage,
                f"{percentile(vals, 50):.1f}",
                f"{percentile(vals, 95):.1f}",
                f"{vals[-1]:.1f}",
            )
        return t


async def run_interactive(
    config: ProviderConfig,
    *,
    url: str | None = None,
    headless: bool = True,
    record: str | None = None,
    budget: Budget | None = None,
    console: Console | None = None,
) -> int:
    console = console or Console()
    async with (
        LLMPool([config]) as pool,
        Browser.launch(headless=headless) as browser,
        anyio.create_task_group() as tg,
    ):
        session = Session(console, pool, budget or Budget())
        session.record = Path(record) if record else None
        tg.start_soon(session.watch_interrupts)
        page = await browser.new_page()
        if url:
            await page.goto(url)
        console.print(f"[bold]browser-agent[/] interactive · model {escape(config.model)}")
        console.print(f"[dim]{HELP}[/]")
        while True:
            line = await anyio.to_thread.run_sync(_input, "task> ", abandon_on_cancel=True)
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            cmd, _, arg = line.partition(" ")
            if cmd in ("/quit", "/exit"):
                break
            try:
                await _command(session, browser, console, cmd, arg, line)
            except (BrowserAgentError, PlaywrightError) as exc:
                # One command failing (a page that went away, a bad URL) is reported;
                # the session goes on, and /quit still works.
                msg = exc.message if isinstance(exc, PlaywrightError) else str(exc)
                console.print(f"[red]error:[/] {escape(msg)}", highlight=False)
        console.print("bye")
        tg.cancel_scope.cancel()
    sys.stdout.flush()
    return 0


async def _command(
    session: Session, browser: Browser, console: Console, cmd: str, arg: str, line: str
) -> None:
    """One line typed at the prompt: a command, or else a task."""
    if cmd == "/help":
        console.print(HELP)
    elif cmd == "/observe":
        obs = await (await _page(browser)).observe()
        console.print(obs.text, markup=False, highlight=False)
    elif cmd == "/timings":
        console.print(session.timings())
    elif cmd == "/record":
        session.record = Path(arg.strip()) if arg.strip() else None
        where = session.record or "off"
        console.print(f"recording: {escape(str(where))}", highlight=False)
    elif cmd == "/goto":
        page = await _page(browser)
        await page.goto(arg.strip())
        console.print(f"at {escape(page.url)}", highlight=False)
    elif cmd.startswith("/"):
        console.print(f"[red]unknown command {escape(cmd)}[/] · {HELP}")
    else:
        await session.task(line, browser)


async def _page(browser: Browser) -> Page:
    """The session's page: the first tab (the agent may have replaced a crashed one)."""
    return browser.pages[0] if browser.pages else await browser.new_page()
