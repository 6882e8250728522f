"""An MCP session written as a recording, so `browser-agent replay` shows and re-runs it.

Each tool call is one step of the file, holding one action named as the agent names
it (`click`, `type`, `goto`, …) with the agent's arguments, so `replay --rerun` drives
it through the same dispatch as an agent's recording. Calls an agent has no action
for (observe, tabs, close, a double click) are written as `kind: "tool"` steps: shown
in the timeline, skipped by a rerun. The header is written with the first call (its
start URL is the first navigation's), the footer when the server stops.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..agent._result import StepRecord
from ..recording import Footer, RecordingWriter, runtime_header
from ..secrets import Secrets
from ..timing import Timeline, TimingReport

if TYPE_CHECKING:
    from ..observation import Element, Observation
    from ..page import Page

TASK = "MCP session"


class SessionRecorder:
    """Appends one MCP session to a recording file; every line is flushed when written."""

    def __init__(self, path: Path, *, secrets: Secrets, settings: dict[str, Any]) -> None:
        self.writer = RecordingWriter(path, secrets=secrets.values())
        self.settings = settings
        self.steps: list[StepRecord] = []
        self._started = False
        self._t0 = time.perf_counter()

    def __enter__(self) -> SessionRecorder:
        self.writer.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.writer.__exit__(*exc)

    async def capture(self, page: Page, ref: int) -> None:
        """The target's DOM path, taken before the action runs (it may navigate away)."""
        await self.writer.capture(page, ref)

    def step(
        self,
        rec: StepRecord,
        seen_before: Observation | None,
        *,
        tl: Timeline,
        browser: str,
        start_url: str | None,
        seen: dict[int, Element] | None,
    ) -> None:
        """One tool call: the page the client saw before it, the action and its times."""
        if not self._started:
            self._started = True
            self.writer.header(
                runtime_header(
                    TASK,
                    start_url=start_url,
                    session_id=tl.session_id,
                    browser=browser,
                    settings=self.settings,
                )
            )
        self.steps.append(rec)
        self.writer.step(rec, seen_before, seen=seen)

    def footer(self, tl: Timeline, *, browser: str, detail: str) -> None:
        """How the session ended; nothing is written for a session without a call."""
        if not self._started:
            return
        report = TimingReport.build(tl, [s.timing() for s in self.steps])
        self.writer.write(
            Footer(
                success=all(s.ok for s in self.steps),
                reason="closed",
                detail=detail,
                steps=len(self.steps),
                session_ms=(time.perf_counter() - self._t0) * 1000,
                browser=browser,
                report=msgspec.to_builtins(report.to_dict(spans=False)),
            )
        )
