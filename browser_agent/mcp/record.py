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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from ..recording import Footer, RecordingWriter, runtime_header
from ..records import ActionRecord, StepRecord
from ..secrets import Secrets
from ..timing import Timeline, TimingReport
from .call import Reply, ToolCall

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

    def call(
        self,
        call: ToolCall,
        reply: Reply,
        *,
        start_ms: float,
        tl: Timeline,
        browser: str,
        redact: Callable[[str], str],
    ) -> None:
        """One tool call as a step: the agent's action and arguments, its target as the
        client saw it, the first line of its result, and its stages."""
        before, result, page = call.before, call.result, call.page
        ref = call.args.get("ref")
        label = ""
        if isinstance(ref, int) and page is not None:
            el = (before.elements.get(ref) if before else None) or page.seen.get(ref)
            label = f"[{ref}] {el.label}" if el is not None else f"[{ref}]"
        elif call.name == "goto":
            label = str(call.args.get("url", ""))
        elif call.name == "press":
            label = str(call.args.get("key", ""))
        first = reply.text.split("\n", 1)[0]
        action = ActionRecord(
            id=f"mcp-{call.n}",
            name=call.name,
            args=dict(call.args),
            kind=call.kind,
            label=redact(label),
            ok=not reply.error,
            error=first.removeprefix("error: ") if reply.error else None,
            result=first,
            navigated=result.navigated if result is not None else False,
            url=result.url if result is not None else "",
            start_ms=start_ms,
            end_ms=tl.now(),
            timings=dict(result.timings) if result is not None else {},
        )
        st = call.stages
        spans = {"total": st.get("total", 0.0)}
        if "act" in st:
            spans["act"] = st.get("resolve", 0.0) + st["act"]
        for stage in ("settle", "observe"):
            if stage in st:
                spans[stage] = st[stage]
        rec = StepRecord(
            n=call.n,
            url=before.url if before is not None else "",
            title=before.title if before is not None else "",
            observation_version=before.version if before is not None else 0,
            observation_chars=len(before.text) if before is not None else 0,
            actions=[action],
            errors=[first] if reply.error else [],
            spans_ms=spans,
            happened=list(spans),
        )
        start_url = call.args.get("url") if call.n == 1 and call.name == "goto" else None
        self.step(
            rec,
            before,
            tl=tl,
            browser=browser,
            start_url=start_url,
            seen=page.seen if page is not None else None,
        )

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
