"""What a run returns: steps, actions, output, success, the timing report, and its JSON."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from pydantic import BaseModel

from .llm import ModelReply
from .timing import STAGES, Event, StepTiming, TimingReport

StopReason = Literal[
    "done", "max_steps", "max_failures", "max_tokens", "budget", "page_closed", "error", "cancelled"
]


class ActionRecord(msgspec.Struct, kw_only=True):
    """One action of a reply: what the model asked, what happened, what it was told."""

    id: str
    name: str
    args: dict[str, Any]
    kind: Literal["page", "tool", "done", "unknown"] = "page"
    label: str = ""
    """The target as the model saw it, e.g. `[5] button "Add to cart"`."""
    ok: bool = True
    error: str | None = None
    skipped: bool = False
    """Not run: the page changed under it, an earlier action failed, or done came first."""
    result: str = ""
    """The tool result the model reads in its next prompt."""
    navigated: bool = False
    url: str = ""
    start_ms: float = 0.0
    end_ms: float = 0.0
    timings: dict[str, float] = msgspec.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "args": self.args,
            "ok": self.ok,
            "error": self.error,
            "skipped": self.skipped,
            "label": self.label,
            "result": self.result,
            "navigated": self.navigated,
            "timings_ms": self.timings,
        }


class StepRecord(msgspec.Struct, kw_only=True):
    """One decision: the observation it saw, the prompt, the reply, the actions, the time."""

    n: int
    observation_version: int = 0
    url: str = ""
    title: str = ""
    prompt_chars: int = 0
    prompt_messages: int = 0
    reply: ModelReply | None = None
    actions: list[ActionRecord] = msgspec.field(default_factory=list)
    errors: list[str] = msgspec.field(default_factory=list)
    spans_ms: dict[str, float] = msgspec.field(default_factory=dict)
    happened: list[str] = msgspec.field(default_factory=list)
    """Stages that ran in this step (the others are 0 in `spans_ms`)."""
    events: list[Event] = msgspec.field(default_factory=list)
    tier: str = ""
    observation_chars: int = 0
    page_wait_ms: float = 0.0
    """Non-model time spent waiting for the page to settle after the reply had ended."""
    source: Literal["model", "cache"] = "model"
    """Who decided the step: the model, or the action cache (a replayed step, no call)."""

    @property
    def ok(self) -> bool:
        """At least one action did what it should (a failed step counts toward max_failures)."""
        return any(a.ok and not a.skipped for a in self.actions)

    @property
    def non_model_ms(self) -> float:
        return self.timing().non_model_ms

    @property
    def overhead_ms(self) -> float:
        return self.timing().overhead_ms

    def timing(self) -> StepTiming:
        return StepTiming(self.n, self.spans_ms, self.happened, self.page_wait_ms, self.source)

    def to_dict(self) -> dict[str, Any]:
        r = self.reply
        return {
            "n": self.n,
            "source": self.source,
            "actions": [a.to_dict() for a in self.actions],
            "spans_ms": {s: self.spans_ms.get(s, 0.0) for s in STAGES},
            "non_model_ms": self.non_model_ms,
            "page_wait_ms": self.page_wait_ms,
            "overhead_ms": self.overhead_ms,
            "url": self.url,
            "observation_version": self.observation_version,
            "observation_chars": self.observation_chars,
            "prompt_chars": self.prompt_chars,
            "tokens_in": r.usage.prompt_tokens if r else 0,
            "cached_tokens": r.usage.cached_tokens if r else 0,
            "tokens_out": r.usage.completion_tokens if r else 0,
            "provider": r.provider if r else "",
            "tier": self.tier,
            "attempts": r.attempts if r else 0,
            "hedged": r.hedged if r else False,
            "hedge_won": r.hedge_won if r else False,
            "model_ms": self.timing().model_ms,
            "errors": self.errors,
            "events": [msgspec.to_builtins(e) for e in self.events],
        }


CacheOutcome = Literal["hit", "partial", "miss"]


class CacheSummary(msgspec.Struct, kw_only=True):
    """Which steps came from the cache and which from the model, and why.

    `outcome`: "hit" (every step from the cache), "partial" (some), "miss" (none).
    """

    key: str
    outcome: CacheOutcome = "miss"
    cached_steps: list[int] = msgspec.field(default_factory=list)
    """Step numbers replayed from the cache, without a model call."""
    model_steps: list[int] = msgspec.field(default_factory=list)
    """Step numbers the model took."""
    miss: str = ""
    """Why no entry was used (none yet, unreadable, …)."""
    diverged: list[str] = msgspec.field(default_factory=list)
    """Where the page differed from the cached run, one line each ("step 3: …")."""
    resumed: list[str] = msgspec.field(default_factory=list)
    """Where replaying started again after the model's steps."""
    retargeted: list[str] = msgspec.field(default_factory=list)
    """Targets found again by their fingerprint rather than their ref."""
    recomputed: list[str] = msgspec.field(default_factory=list)
    """Values read again from the live page (`old -> new`), in typed text and answers."""
    stored: bool = False
    """This run's recording replaced the entry."""
    error: str = ""
    """Why the entry could not be stored."""

    def describe(self) -> str:
        """One line for a terminal."""
        n, m = len(self.cached_steps), len(self.model_steps)
        text = f"cache {self.outcome}: {n} step{'s' * (n != 1)} from the cache, {m} from the model"
        if self.miss and not n:
            text += f" ({self.miss})"
        if self.stored:
            text += "; entry stored"
        elif self.error:
            text += f"; not stored: {self.error}"
        return text


class AgentResult(msgspec.Struct, kw_only=True):
    """The outcome of `Agent.run()`."""

    task: str
    success: bool
    output: Any
    """The `done` result: text, or an instance of the agent's `output_model`."""
    reason: StopReason
    detail: str = ""
    steps: list[StepRecord]
    report: TimingReport
    session_id: str = ""
    cache: CacheSummary | None = None
    """What the run did with the action cache (`Agent(cache=...)`; None without one)."""

    @property
    def non_model_ms(self) -> list[float]:
        return [s.non_model_ms for s in self.steps]

    def to_dict(self, *, spans: bool = False) -> dict[str, Any]:
        """The machine-readable form printed by `--json` (stable names; see RunJSON)."""
        out = self.output
        if isinstance(out, BaseModel):
            out = out.model_dump(mode="json")
        rep = self.report
        nm = rep.non_model_ms
        data: dict[str, Any] = {
            "success": self.success,
            "output": out,
            "steps": [s.to_dict() for s in self.steps],
            "report": rep.stages_dict(),
            "non_model_ms": {"p50": nm.p50, "p95": nm.p95, "p99": nm.p99, "max": nm.max},
            "reason": self.reason,
            "detail": self.detail,
            "task": self.task,
            "session_id": self.session_id,
            "overhead_ms": {"p50": rep.overhead_ms.p50, "p95": rep.overhead_ms.p95},
            "page_wait_ms": {"p50": rep.page_wait_ms.p50, "p95": rep.page_wait_ms.p95},
            "non_model_share": rep.non_model_share,
            "model_share": rep.model_share,
            "latency": rep.latency_dict(),
            "hedging": msgspec.to_builtins(rep.hedging),
            "overlap_saved_ms": rep.overlap_saved_ms,
            "model_ms": rep.model_ms,
            "steps_ms": rep.steps_ms,
            "session_ms": rep.session,
            "events": [msgspec.to_builtins(e) for e in rep.events],
        }
        if self.cache is not None:
            data["cache"] = msgspec.to_builtins(self.cache)
        if spans:
            data["spans"] = [msgspec.to_builtins(s) for s in rep.spans]
        return data

    def to_json(self, *, spans: bool = False) -> str:
        return msgspec.json.encode(self.to_dict(spans=spans)).decode()


# ------------------------------------------------------------ the JSON contract


class ActionJSON(msgspec.Struct):
    name: str
    args: dict[str, Any]
    ok: bool
    error: str | None


class SpansJSON(msgspec.Struct):
    observe: float
    prompt: float
    llm_ttft: float
    llm_first_action: float
    llm_total: float
    act: float
    settle: float
    total: float


class StepJSON(msgspec.Struct):
    n: int
    actions: list[ActionJSON]
    spans_ms: SpansJSON


class StatsJSON(msgspec.Struct):
    p50: float
    p95: float
    p99: float
    max: float


class NonModelJSON(msgspec.Struct):
    p50: float
    p95: float


class LatencyJSON(msgspec.Struct):
    """Per step: the model's time, the rest, and the whole step (they add up per step)."""

    model_ms: StatsJSON
    non_model_ms: StatsJSON
    step_ms: StatsJSON


class HedgingJSON(msgspec.Struct):
    calls: int
    hedged: int
    hedge_wins: int
    won_by: dict[str, int]


class RunJSON(msgspec.Struct):
    """The stable part of `browser-agent run|demo --json`; other fields may be added."""

    success: bool
    output: Any
    steps: list[StepJSON]
    report: dict[str, StatsJSON]
    non_model_ms: NonModelJSON
    latency: LatencyJSON
    hedging: HedgingJSON


def run_json_schema() -> dict[str, Any]:
    """JSON Schema of the `--json` output (extra fields allowed)."""
    return msgspec.json.schema(RunJSON)


def validate_run_json(data: bytes | str | dict[str, Any]) -> RunJSON:
    """Check a `--json` output against the contract; raises msgspec.ValidationError."""
    if isinstance(data, dict):
        return msgspec.convert(data, RunJSON)
    return msgspec.json.decode(data, type=RunJSON)
