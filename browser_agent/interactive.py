"""`browser-agent` with no arguments: one browser, one page, tasks typed one after another.

Each task runs on the page the previous one left (follow-ups work), with the live
display. Commands act on the page directly, as agent-browser users expect: `/observe`
prints the current serialization, `/click 5`, `/type 3 "text" [--submit]`,
`/select 4 France`, `/check 7 [off]`, `/press Enter`, `/scroll down`, `/back` and
`/goto URL` act and print the one-line result with the lines that changed; `/timings`
prints the stage report of every step so far, `/record PATH` records the next tasks to
PATH, `/help`, `/quit`. Ctrl-C stops whatever runs (a task, a `/goto`), not the
session; at the prompt it only reminds you of `/quit`. Lines can also be piped in
(`printf '/goto URL\n/observe\n' | browser-agent`).
"""

from __future__ import annotations

import re
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
from playwright.async_api import Error as PlaywrightError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .actions import ActionResult
from .agent import Agent, StepRecord
from .agent.registry import ACTIONS as REGISTRY
from .agent.registry import SPECS, describe_result, run_action
from .arguments import guess_url
from .browser import Browser
from .budget import Budget
from .display import LiveDisplay
from .exceptions import BrowserAgentError, ConfigurationError
from .llm import LLMPool, ProviderConfig
from .page import Page
from .stats import percentile
from .terminal import console as make_console
from .terminal import safe
from .timing import STAGES

HELP = (
    "Type a task and press Enter. Commands: /observe, /click REF, /type REF TEXT [--submit], "
    "/select REF OPTION, /check REF [off], /press KEY, /scroll up|down, /back, /goto URL, "
    "/timings, /record PATH, /help, /quit. Ctrl-C stops what is running."
)
_URL = re.compile(r"https?://\S+")
ACTIONS = {f"/{s.name}": s.name for s in SPECS if s.session is not None}
"""Session commands that act on the page directly, by the agent's action names (their
forms are in the registry: `ActionSpec.session`)."""


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

    async def stoppable(self, line: str, run: Any) -> None:
        """Run one typed line under a cancel scope Ctrl-C cancels (a task, a /goto)."""
        with anyio.CancelScope() as scope:
            self.running = scope
            try:
                await run
            finally:
                self.running = None
        if scope.cancelled_caught:
            what = "task" if not line.startswith("/") else line.split(" ", 1)[0]
            self.console.print(Text(f"{what} stopped", style="yellow"))

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
        result = await agent.run(page)
        self.steps += result.steps
        if result.success:
            self.console.print(Text("✓ done: ", style="green") + Text(safe(result.output)))
        else:
            why = result.output if result.reason == "done" else result.detail
            self.console.print(Text(f"✗ {result.reason}: ", style="red") + Text(safe(why)))

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
    console = console or make_console()
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
        console.print(Text(HELP, style="dim"))
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
                await session.stoppable(line, _command(session, browser, console, cmd, arg, line))
            except (BrowserAgentError, PlaywrightError) as exc:
                # One command failing (a page that went away, a bad URL) is reported;
                # the session goes on, and /quit still works.
                msg = exc.message if isinstance(exc, PlaywrightError) else str(exc)
                msg = " ".join(safe(msg).split())
                console.print(Text("error: ", style="red") + Text(msg))
        console.print("bye")
        tg.cancel_scope.cancel()
    sys.stdout.flush()
    return 0


async def _command(
    session: Session, browser: Browser, console: Console, cmd: str, arg: str, line: str
) -> None:
    """One line typed at the prompt: a command, or else a task."""
    if cmd == "/help":
        console.print(Text(HELP))
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
        url, note = guess_url(arg) if arg.strip() else (None, "/goto needs a URL")
        if url is None:
            raise ConfigurationError(note)
        if note:
            console.print(Text(f"note: {safe(note)}", style="dim"))
        page = await _page(browser)
        console.print(Text(f"opening {safe(url)} (Ctrl-C stops it)", style="dim"))
        await page.goto(url)
        console.print(Text(f"at {safe(page.url)}"))
    elif cmd in ACTIONS:
        page = await _page(browser)
        before = page.last_observation or await page.observe()
        result = await _act(page, ACTIONS[cmd], arg)
        _show_result(console, result, before.text)
    elif cmd.startswith("/"):
        console.print(Text(f"unknown command {safe(cmd)}", style="red") + Text(f" · {HELP}"))
    else:
        await session.task(line, browser)


async def _act(page: Page, name: str, arg: str) -> ActionResult:
    """`/click 5`, `/type 3 "some text" --submit`, `/select 4 France`, `/check 7 off`,
    `/press Enter`, `/scroll up`, `/back`: the agent's action on the current page."""
    try:
        words = shlex.split(arg)
    except ValueError as exc:
        raise ConfigurationError(f'/{name}: {exc} (quote text with "…")') from None
    spec = REGISTRY[name]
    assert spec.session is not None
    result = await run_action(page, name, spec.session(words))
    assert not isinstance(result, str)
    return result


def _show_result(console: Console, result: ActionResult, before: str) -> None:
    """The action's one-line result, then the lines of the page that changed (the whole
    page after a navigation: a new document's refs start over)."""
    from .mcp.formatting import changed_lines

    style = "green" if result.ok else "red"
    console.print(Text(" ".join(safe(describe_result(result)).split()), style=style))
    after = result.observation
    if after is None:
        return
    lines = None if result.navigated else changed_lines(before, after.text)
    if lines is None:
        console.print(Text(after.text))
    for line in lines or ():
        console.print(Text(line, style="green" if line.startswith("+") else "red dim"))


async def _page(browser: Browser) -> Page:
    """The session's page: the first tab (the agent may have replaced a crashed one)."""
    return browser.pages[0] if browser.pages else await browser.new_page()
