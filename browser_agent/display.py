"""A live view of an agent run for the terminal: actions as they finish, stage times per step."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from rich.console import Console

from .agent import ActionFinished, ActionStarted, AgentEvent, BudgetNotice, StepFinished
from .budget import Budget
from .records import ActionRecord, StepRecord
from .terminal import console as make_console
from .terminal import plain

BAR_WIDTH = 16


def budget_bar(used: float, limit: float, width: int = BAR_WIDTH) -> str:
    """A text bar of `used` against `limit`: green, yellow past 60 %, red past 90 %."""
    share = min(max(used / limit, 0.0), 1.0) if limit > 0 else 1.0
    full = round(share * width)
    colour = "red" if share > 0.9 else "yellow" if share > 0.6 else "green"
    return f"[{colour}]{'█' * full}[/][dim]{'░' * (width - full)}[/]"


class LiveDisplay:
    """An `on_event` hook for `Agent`: a header per step, a line per action, stage times.

    Printing is synchronous and short; it happens between actions and steps, and its
    microseconds are part of the step totals like any other work.
    """

    def __init__(self, console: Console | None = None, budget: Budget | None = None) -> None:
        self.console = console or make_console()
        self.budget = budget
        """When given, each step ends with a bar of the session's time and steps used."""
        self._step = 0
        self._t0 = time.monotonic()

    def __call__(self, event: AgentEvent) -> None:
        if isinstance(event, ActionStarted):
            self._header(event.step, event.url)
        elif isinstance(event, ActionFinished):
            self._header(event.step, "")
            self.console.print(self._action_line(event.record), highlight=False)
        elif isinstance(event, StepFinished):
            self._header(event.record.n, event.record.url)
            self.console.print(self._step_line(event.record), highlight=False)
            if self.budget is not None:
                self.console.print(self._budget_line(event.record), highlight=False)
        elif isinstance(event, BudgetNotice):
            self.console.print(f"  [yellow]⚠ {plain(event.event.describe())}[/]", highlight=False)

    def _header(self, n: int, url: str) -> None:
        if n != self._step:
            self._step = n
            where = urlsplit(url)
            path = where.path + (f"?{where.query}" if where.query else "")
            self.console.print(f"[bold]step {n}[/] [dim]{plain(path)}[/]", highlight=False)

    @staticmethod
    def _action_line(r: ActionRecord) -> str:
        if r.skipped:
            mark = "[dim]–[/]"
        elif r.ok:
            mark = "[green]✓[/]"
        else:
            mark = "[red]✗[/]"
        what = f"{r.name} {r.label}".strip()
        if r.name in ("type", "select"):
            what += f" ← {r.args.get('text', r.args.get('option', ''))!r}"
        elif r.name == "done":
            what += f" {r.args.get('result', '')!r}"
        t = r.timings
        times = ""
        if "act" in t:
            act = t.get("resolve", 0.0) + t.get("act", 0.0)
            settle = t.get("settle", 0.0) + t.get("observe", 0.0)
            times = f"  [dim]{act:.0f}+{settle:.0f} ms[/]"
        elif r.kind == "tool" and r.end_ms > r.start_ms:
            times = f"  [dim]{r.end_ms - r.start_ms:.0f} ms[/]"
        line = f"  {mark} {plain(what)}{times}"
        if r.error and not r.skipped:
            line += f"\n      [red]{plain(r.error)}[/]"
        return line

    def _budget_line(self, rec: StepRecord) -> str:
        """The session's clock and step count against the budget, and this step's share
        of its decision limit: a run that drifts towards a limit shows it before it hits."""
        b = self.budget
        assert b is not None
        used = time.monotonic() - self._t0
        step_s = rec.spans_ms.get("total", 0.0) / 1000
        return (
            f"  [dim]budget[/] {budget_bar(used, b.session_s)} "
            f"[dim]{used:.1f}/{b.session_s:g} s · step {rec.n}/{b.max_steps} · "
            f"this step {step_s:.2f}/{b.decision_s:g} s[/]"
        )

    @staticmethod
    def _step_line(rec: StepRecord) -> str:
        s = rec.spans_ms
        line = (
            f"  [dim]model {s['llm_total']:.0f} ms (first token {s['llm_ttft']:.0f}) · "
            f"outside the model {rec.non_model_ms:.0f} ms · step {s['total']:.0f} ms[/]"
        )
        if rec.source == "cache":  # replayed: no model call
            line = f"  [dim]from the action cache, no model call · step {s['total']:.0f} ms[/]"
        r = rec.reply
        if r is not None and (r.attempts > 1 or r.hedged):
            how = "hedged" if r.hedged else f"{r.attempts} attempts"
            line += f"  [yellow]{how}, answered by {plain(r.provider)}[/]"
        for err in rec.errors:
            line += f"\n  [red]{plain(err)}[/]"
        return line
