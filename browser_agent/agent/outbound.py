"""What leaves a run, redacted once: messages to the model, action records shown to the
`on_event` hook, the recording's header and the answer handed back."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from ..browser import Browser
from ..budget import Budget
from ..llm import LLMPool
from ..page import Page
from ..recording import Header, RecordingWriter, runtime_header
from ..records import ActionRecord, AgentResult, StepRecord, StopReason
from ..redaction import Redactor
from ..timing import Timeline, TimingReport, otel_available
from .events import ActionFinished, ActionStarted, AgentEvent

if TYPE_CHECKING:
    from .facade import Agent

log = logging.getLogger("browser_agent.agent")


class Outbound:
    """The `_Run` methods everything passes on its way out of the run."""

    agent: Agent
    budget: Budget
    tl: Timeline
    tier: str
    tools: list[dict[str, Any]]
    redactor: Redactor
    pending: list[AgentEvent]
    page: Page | None
    recorder: RecordingWriter | None
    steps: list[StepRecord]
    finished: tuple[bool, Any] | None
    stop: tuple[StopReason, str] | None

    def seal(self, messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Messages on their way to the model, redacted: the only road into the prompt.

        Observations, notes, tool results (navigated URLs, dialog text, `extract`
        output, error messages) and the assistant's own turns pass here once, when
        they join the conversation; the history keeps them redacted.
        """
        return [self.redactor.obj(m) for m in messages]

    def scrub(self, r: ActionRecord) -> None:
        """Redact what an action record shows (display, result, recording), in place."""
        red = self.redactor.text
        r.result, r.label, r.url = red(r.result), red(r.label), red(r.url)
        r.error = red(r.error) if r.error else r.error
        r.args = self.redactor.obj(r.args)

    async def emit(self, event: AgentEvent | None) -> None:
        """Hand events to the hook: budget notices queued by sync code first."""
        hook = self.agent.on_event
        pending, self.pending = self.pending, []
        if hook is None:
            return
        for ev in [*pending, event]:
            if ev is None:
                continue
            if isinstance(ev, ActionStarted | ActionFinished):
                self.scrub(ev.record)
                if isinstance(ev, ActionStarted):
                    ev.url = self.redactor.text(ev.url)
            try:
                out = hook(ev)
                if inspect.isawaitable(out):
                    await out
            except Exception:  # a broken display must not break the task
                log.exception("on_event hook failed")

    def redact_output(self, output: Any) -> Any:
        """The answer as handed back and printed (`--json`): a key or secret the model
        echoed is masked like anywhere else."""
        if not self.redactor or output is None:
            return output
        if isinstance(output, BaseModel):
            data = output.model_dump(mode="json")
            clean = self.redactor.obj(data, patterns=True)
            if clean == data:
                return output
            with contextlib.suppress(ValidationError):
                return type(output).model_validate(clean)
            return clean
        return self.redactor.obj(output, patterns=True)

    def result(self) -> AgentResult:
        tl = self.tl
        reason, detail = self.stop or ("error", "stopped")
        if self.stop is not None and reason != "done":
            tl.event("stop", detail=f"{reason}: {detail}")
        report = TimingReport.build(tl, [s.timing() for s in self.steps])
        if self.agent.otel or (self.agent.otel is None and otel_available()):
            report.export_otel()
        success, output = self.finished if self.finished is not None else (False, None)
        detail, output = self.redactor.text(detail), self.redact_output(output)
        result = AgentResult(
            task=self.agent.task,
            success=success,
            output=output,
            reason=reason,
            detail=detail,
            steps=self.steps,
            report=report,
            session_id=tl.session_id,
        )
        if self.recorder is not None:
            browser = self.page.browser if self.page is not None else None
            self.recorder.footer(result, browser=browser.version if browser is not None else "")
        return result

    def recording_header(self, target: Page | Browser | None) -> Header:
        """The recording's first line: the task, the runtime, the settings of this run."""
        browser = target.browser if isinstance(target, Page) else target
        return runtime_header(
            self.agent.task,
            start_url=self.agent.start_url,
            session_id=self.tl.session_id,
            browser=browser.version if browser is not None else "",
            settings={
                "budget": self.budget.model_dump(mode="json"),
                "tier": self.tier,
                "tools": [t["function"]["name"] for t in self.tools],
                "allowed_domains": list(self.agent.allowed_domains or []) or None,
                "headless": self.agent.headless,
            },
        )


API_KEY_MIN_CHARS = 8
"""Shorter "keys" are the placeholders local servers take (`EMPTY`, `ollama`): masking
them would blank ordinary words on every page the model reads."""


def _api_keys(pool: LLMPool) -> list[str]:
    """The API keys of the pool's providers: masked wherever they might be echoed."""
    keys = []
    for c in getattr(pool, "_clients", ()):
        key = getattr(c.config, "api_key", None)
        value = key.get_secret_value() if key is not None else ""
        if len(value) >= API_KEY_MIN_CHARS:
            keys.append(value)
    return keys
