"""Spans, budget events and the timing report of an agent session.

Every step of an agent is a tree of monotonic spans (`step` → observe, prompt,
llm_total → llm_ttft/llm_first_action, act, settle) on one session clock, so a report
can say where each millisecond went and how much the overlap of stages saved. Spans
can also be exported to OpenTelemetry when `opentelemetry-api` is installed.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec

from .stats import percentile
from .terminal import PrintableTable, ms_text

STAGES = (
    "observe",
    "prompt",
    "llm_ttft",
    "llm_first_action",
    "llm_total",
    "act",
    "settle",
    "total",
)
"""Per-step stages, in the order of the report."""

SERIAL_STAGES = ("observe", "prompt", "llm_total", "act", "settle")
"""Stages that would add up to the step's wall time if nothing overlapped."""


class Span(msgspec.Struct, kw_only=True):
    """One timed stage; times are ms on the session's monotonic clock."""

    id: int
    name: str
    start_ms: float
    end_ms: float | None = None
    parent: int | None = None
    step: int | None = None
    session: str = ""
    attrs: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def ms(self) -> float:
        """Duration; 0 while the span is still open."""
        return 0.0 if self.end_ms is None else self.end_ms - self.start_ms


class Event(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Something the report must mention: an overrun, a degradation, a retry, a stop."""

    kind: str
    """"overrun", "degrade", "no_degrade" (an overrun no remedy fits, and why), "retry",
    "hedge", "error", "stop", or "cache" (a step replayed, or where the page left the
    cached run)."""
    at_ms: float
    stage: str = ""
    step: int | None = None
    limit_ms: float | None = None
    actual_ms: float | None = None
    detail: str = ""

    def describe(self) -> str:
        where = f"step {self.step} " if self.step is not None else ""
        if self.kind == "overrun":
            actual = f"{self.actual_ms:.0f}" if self.actual_ms is not None else "?"
            limit = f"{self.limit_ms:.0f}" if self.limit_ms is not None else "?"
            text = f"{where}{self.stage} overran: {actual} ms > {limit} ms"
            return text + (f" ({self.detail})" if self.detail else "")
        return f"{where}{self.kind}{' ' + self.stage if self.stage else ''}: {self.detail}".strip()


class Timeline:
    """The clock of one session: spans and events, all relative to its start.

    Spans are plain records (start and end stamps), so one can open in one task and
    close in another; nothing here awaits.
    """

    def __init__(self, session_id: str | None = None) -> None:
        self.session_id = session_id or uuid.uuid4().hex[:12]
        self.t0 = time.perf_counter()
        self.epoch_ns = time.time_ns()
        self.spans: list[Span] = []
        self.events: list[Event] = []
        self.root = self.begin("session")

    def now(self) -> float:
        return (time.perf_counter() - self.t0) * 1000.0

    def at(self, perf: float) -> float:
        """A `time.perf_counter()` stamp on this clock (ms)."""
        return (perf - self.t0) * 1000.0

    def begin(
        self,
        name: str,
        *,
        parent: Span | None = None,
        step: int | None = None,
        start_ms: float | None = None,
        **attrs: Any,
    ) -> Span:
        span = Span(
            id=len(self.spans),
            name=name,
            start_ms=self.now() if start_ms is None else start_ms,
            parent=None if parent is None else parent.id,
            step=step,
            session=self.session_id,
            attrs=attrs,
        )
        self.spans.append(span)
        return span

    def end(self, span: Span, end_ms: float | None = None) -> Span:
        span.end_ms = max(span.start_ms, self.now() if end_ms is None else end_ms)
        return span

    def add(
        self,
        name: str,
        start_ms: float,
        end_ms: float,
        *,
        parent: Span | None = None,
        step: int | None = None,
        **attrs: Any,
    ) -> Span:
        """A span measured elsewhere (e.g. from an action's own timings)."""
        span = self.begin(name, parent=parent, step=step, start_ms=start_ms, **attrs)
        return self.end(span, end_ms)

    @contextmanager
    def span(
        self, name: str, *, parent: Span | None = None, step: int | None = None, **attrs: Any
    ) -> Iterator[Span]:
        s = self.begin(name, parent=parent or self.root, step=step, **attrs)
        try:
            yield s
        finally:
            self.end(s)

    def event(self, kind: str, **fields: Any) -> Event:
        ev = Event(kind=kind, at_ms=self.now(), **fields)
        self.events.append(ev)
        return ev

    def close(self) -> None:
        if self.root.end_ms is None:
            self.end(self.root)
        for s in self.spans:  # nothing is left open in a finished session
            if s.end_ms is None:
                self.end(s)

    def children(self, span: Span) -> list[Span]:
        return [s for s in self.spans if s.parent == span.id]


# --------------------------------------------------------------------------- report


class StageStats(msgspec.Struct):
    """Percentiles of one stage over the steps where it happened (ms)."""

    p50: float
    p95: float
    p99: float
    max: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> StageStats:
        data = sorted(values)
        if not data:
            return cls(0.0, 0.0, 0.0, 0.0, 0)
        return cls(
            percentile(data, 50), percentile(data, 95), percentile(data, 99), data[-1], len(data)
        )


class StepTiming(msgspec.Struct):
    """What the report needs of one step: its stage times and which stages happened."""

    n: int
    spans_ms: dict[str, float]
    happened: list[str]
    page_wait_ms: float = 0.0
    """Part of the non-model time spent waiting for the page to settle after the reply."""
    source: str = "model"
    """"model", or "cache" for a step replayed from the action cache (no model call)."""

    @property
    def overhead_ms(self) -> float:
        """Non-model time that is the runtime's own work: observing, prompting, dispatching,
        acting and the scheduling in between (everything but waiting on the page)."""
        return max(0.0, self.non_model_ms - self.page_wait_ms)

    @property
    def model_ms(self) -> float:
        """The model's time on the step's critical path (a step cannot end before its
        reply does, so all of `llm_total`, a call cut with its step included)."""
        total = self.spans_ms.get("total", 0.0)
        return max(0.0, min(self.spans_ms.get("llm_total", 0.0), total))

    @property
    def non_model_ms(self) -> float:
        """Step time outside the model: the step's wall time minus `model_ms`, so the two
        always add up to the step."""
        return max(0.0, self.spans_ms.get("total", 0.0) - self.model_ms)


def overlap_saved(spans: Iterable[Span], steps: Collection[int]) -> float:
    """What running stages together saved, over `steps`: for each step, the sum of its
    serial stages' spans minus the time they covered together (never below 0; time in no
    stage at all, such as a call cancelled by a restart, is not counted either way)."""
    by_step: dict[int, list[tuple[float, float]]] = {}
    for s in spans:
        if s.step is None or s.end_ms is None:
            continue
        if s.step in steps and s.name in SERIAL_STAGES:
            by_step.setdefault(s.step, []).append((s.start_ms, s.end_ms))
    saved = 0.0
    for intervals in by_step.values():
        covered, reach = 0.0, -math.inf
        for start, end in sorted(intervals):
            if end > reach:
                covered += end - max(start, reach)
                reach = end
        saved += sum(end - start for start, end in intervals) - covered
    return saved


class SourceStats(msgspec.Struct):
    """The steps one source decided (the model, the action cache) and their time."""

    steps: list[int] = msgspec.field(default_factory=list)
    ms: float = 0.0

    @classmethod
    def of(cls, steps: Iterable[StepTiming]) -> dict[str, SourceStats]:
        out: dict[str, SourceStats] = {}
        for s in steps:
            stats = out.setdefault(s.source, cls())
            stats.steps.append(s.n)
            stats.ms += s.spans_ms.get("total", 0.0)
        return out

    def describe(self, source: str) -> str:
        n = len(self.steps)
        return f"{n} step{'s' * (n != 1)} from the {source} ({self.ms:.0f} ms)"


class HedgeSummary(msgspec.Struct):
    """How many model calls sent a second request, and whose reply won them."""

    calls: int = 0
    """Model calls (a call cut by its step's limit included)."""
    hedged: int = 0
    """Calls that sent a second request because the first token was late."""
    hedge_wins: int = 0
    """Hedged calls that the second request won (the others: the first one did)."""
    won_by: dict[str, int] = msgspec.field(default_factory=dict)
    """Hedged calls per provider that gave the reply."""
    cut: int = 0
    """Calls cut by their step's decision limit before a reply."""

    @classmethod
    def of(cls, spans: Iterable[Span]) -> HedgeSummary:
        out = cls()
        for s in spans:
            if s.name != "llm_total" or s.step is None:
                continue
            out.calls += 1
            out.cut += bool(s.attrs.get("cut"))
            if s.attrs.get("hedged"):
                out.hedged += 1
                out.hedge_wins += bool(s.attrs.get("hedge_won"))
                who = str(s.attrs.get("provider") or "?")
                out.won_by[who] = out.won_by.get(who, 0) + 1
        return out

    def describe(self) -> str:
        if not self.calls:
            return ""
        if not self.hedged:
            return f"no call of {self.calls} hedged"
        who = ", ".join(f"{k} {v}" for k, v in sorted(self.won_by.items(), key=lambda kv: -kv[1]))
        return (
            f"hedged {self.hedged} of {self.calls} calls ({self.hedge_wins} won by the "
            f"second request; replies from {who})"
        )


class TimingReport(msgspec.Struct, kw_only=True):
    """p50/p95/p99/max per stage, of the model's and the rest's time per step, overlap
    saved, hedged calls and budget events. `model_share + non_model_share` is 1."""

    session_id: str
    epoch_ns: int
    """Wall-clock time (ns since the epoch) of the session clock's zero."""
    stages: dict[str, StageStats]
    non_model_ms: StageStats
    overhead_ms: StageStats
    """Non-model time minus the wait for pages to settle: what the runtime itself costs."""
    page_wait_ms: StageStats
    non_model_share: float
    """Share of all step time spent outside the model (0..1)."""
    overlap_saved_ms: float
    """Sum over steps of (sum of stage times - step wall time)."""
    model_ms: float
    steps_ms: float
    session: dict[str, float]
    """Session-level spans (warm_up, launch, load, total)."""
    events: list[Event]
    spans: list[Span]
    model_step_ms: StageStats = msgspec.field(default_factory=lambda: StageStats.of(()))
    """The model's time per step (every step; 0 where no call was made)."""
    step_ms: StageStats = msgspec.field(default_factory=lambda: StageStats.of(()))
    """Wall time per step."""
    model_share: float = 0.0
    """Share of all step time spent in the model (0..1)."""
    hedging: HedgeSummary = msgspec.field(default_factory=HedgeSummary)
    sources: dict[str, SourceStats] = msgspec.field(default_factory=dict)
    """Steps and their wall time by who decided them: "model", "cache"."""

    @classmethod
    def build(cls, timeline: Timeline, steps: Sequence[StepTiming]) -> TimingReport:
        stages = {
            stage: StageStats.of(s.spans_ms[stage] for s in steps if stage in s.happened)
            for stage in STAGES
        }
        non_model = [s.non_model_ms for s in steps]
        model = [s.model_ms for s in steps]
        total = sum(s.spans_ms.get("total", 0.0) for s in steps)
        session: dict[str, float] = {}
        for span in timeline.spans:
            if span.parent == timeline.root.id and span.step is None:
                session[span.name] = session.get(span.name, 0.0) + span.ms
        session["total"] = timeline.root.ms if timeline.root.end_ms is not None else timeline.now()
        return cls(
            session_id=timeline.session_id,
            epoch_ns=timeline.epoch_ns,
            stages=stages,
            non_model_ms=StageStats.of(non_model),
            overhead_ms=StageStats.of(s.overhead_ms for s in steps),
            page_wait_ms=StageStats.of(s.page_wait_ms for s in steps),
            non_model_share=(sum(non_model) / total) if total > 0 else 0.0,
            overlap_saved_ms=overlap_saved(timeline.spans, {s.n for s in steps}),
            model_ms=sum(model),
            steps_ms=total,
            session=session,
            events=list(timeline.events),
            spans=list(timeline.spans),
            model_step_ms=StageStats.of(model),
            step_ms=StageStats.of(s.spans_ms.get("total", 0.0) for s in steps),
            model_share=(sum(model) / total) if total > 0 else 0.0,
            hedging=HedgeSummary.of(timeline.spans),
            sources=SourceStats.of(steps),
        )

    # -- output

    def stages_dict(self) -> dict[str, dict[str, float]]:
        """`{stage: {p50, p95, p99, max}}` for the stages that happened at least once."""
        return {
            name: {"p50": st.p50, "p95": st.p95, "p99": st.p99, "max": st.max}
            for name, st in self.stages.items()
            if st.n
        }

    def latency_dict(self) -> dict[str, dict[str, float]]:
        """`{model_ms, non_model_ms, step_ms: {p50, p95, p99, max}}` per step."""
        return {
            name: {"p50": st.p50, "p95": st.p95, "p99": st.p99, "max": st.max}
            for name, st in (
                ("model_ms", self.model_step_ms),
                ("non_model_ms", self.non_model_ms),
                ("step_ms", self.step_ms),
            )
        }

    def to_dict(self, *, spans: bool = True) -> dict[str, Any]:
        out = msgspec.to_builtins(self)
        if not spans:
            out.pop("spans")
        return out

    def to_json(self, *, spans: bool = True) -> bytes:
        return msgspec.json.encode(self.to_dict(spans=spans))

    def table(self, title: str = "timing report") -> PrintableTable:
        """The stages as a rich table, with the summary in the caption; `print()` and
        `str()` render it too. Only stages that took time are rows."""
        t = PrintableTable(title=title, title_justify="left")
        t.add_column("stage")
        for col in ("n", "p50 ms", "p95 ms", "p99 ms", "max ms"):
            t.add_column(col, justify="right")
        rows = [(name, st) for name, st in self.stages.items() if st.n and st.max > 0]
        rows.append(("model", self.model_step_ms))
        rows.append(("non-model", self.non_model_ms))
        rows.append(("  page wait", self.page_wait_ms))
        rows.append(("  overhead", self.overhead_ms))
        for name, st in rows:
            t.add_row(
                name,
                str(st.n),
                *(ms_text(v, 1) for v in (st.p50, st.p95, st.p99, st.max)),
                style="bold" if name in ("total", "model", "non-model") else None,
            )
        parts = [
            f"model {self.model_share:.1%}, outside the model: {self.non_model_share:.1%} "
            "of step time",
            f"overlap saved {self.overlap_saved_ms:.0f} ms",
        ]
        if "cache" in self.sources:  # which steps the action cache replayed, and their time
            parts += [self.sources[k].describe(k) for k in ("cache", "model") if k in self.sources]
        if self.hedging.calls:
            parts.append(self.hedging.describe())
        if self.hedging.cut:
            parts.append(f"{self.hedging.cut} call(s) cut by the step limit")
        parts += [f"{k} {v:.0f} ms" for k, v in self.session.items() if k != "total"]
        overruns = sum(1 for e in self.events if e.kind == "overrun")
        if overruns:
            parts.append(f"{overruns} overrun(s)")
        restarts = sum(1 for e in self.events if e.kind == "restart")
        if restarts:
            parts.append(f"{restarts} call(s) made again after the page moved (restart)")
        t.caption = " · ".join(parts)
        return t

    def export_otel(self, tracer: Any = None) -> int:
        """Send the spans to OpenTelemetry; returns how many were sent (0 without the API)."""
        return export_otel(self.spans, self.session_id, self.epoch_ns, tracer=tracer)


# --------------------------------------------------------------------- OpenTelemetry


def otel_available() -> bool:
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        return False
    return True


def export_otel(
    spans: Sequence[Span],
    session_id: str,
    epoch_ns: int,
    *,
    tracer: Any = None,
    attributes: Mapping[str, Any] | None = None,
) -> int:
    """Replay finished spans into OpenTelemetry with their real start and end times.

    `epoch_ns` is the wall-clock time of the session clock's zero. Without an SDK
    configured the API's tracer is a no-op, so this costs next to nothing.
    """
    try:
        from opentelemetry import trace
    except ImportError:
        return 0
    tracer = tracer or trace.get_tracer("browser_agent")
    made: dict[int, Any] = {}
    sent = 0
    for s in sorted(spans, key=lambda s: (s.start_ms, s.id)):
        if s.end_ms is None:
            continue
        parent = made.get(s.parent) if s.parent is not None else None
        ctx = trace.set_span_in_context(parent) if parent is not None else None
        attrs: dict[str, Any] = {"browser_agent.session": session_id, **(attributes or {})}
        if s.step is not None:
            attrs["browser_agent.step"] = s.step
        for k, v in s.attrs.items():
            if isinstance(v, str | bool | int | float):
                attrs[f"browser_agent.{k}"] = v
        otel_span = tracer.start_span(
            s.name,
            context=ctx,
            start_time=epoch_ns + int(s.start_ms * 1e6),
            attributes=attrs,
        )
        made[s.id] = otel_span
    for s in spans:
        otel_span = made.get(s.id)
        if otel_span is not None and s.end_ms is not None:
            otel_span.end(end_time=epoch_ns + int(s.end_ms * 1e6))
            sent += 1
    return sent


def check_spans(spans: Sequence[Span], *, slack_ms: float = 0.5) -> list[str]:
    """What is wrong with a span tree: open or negative spans, children outside parents."""
    by_id = {s.id: s for s in spans}
    problems: list[str] = []
    for s in spans:
        if s.end_ms is None:
            problems.append(f"{s.name}#{s.id} is still open")
            continue
        if s.end_ms < s.start_ms or math.isnan(s.start_ms) or math.isnan(s.end_ms):
            problems.append(f"{s.name}#{s.id} has a negative duration")
        p = by_id.get(s.parent) if s.parent is not None else None
        if s.parent is not None and p is None:
            problems.append(f"{s.name}#{s.id} has an unknown parent {s.parent}")
        if (
            p is not None
            and p.end_ms is not None
            and (s.start_ms < p.start_ms - slack_ms or s.end_ms > p.end_ms + slack_ms)
        ):
            problems.append(
                f"{s.name}#{s.id} [{s.start_ms:.2f}, {s.end_ms:.2f}] is outside its parent "
                f"{p.name}#{p.id} [{p.start_ms:.2f}, {p.end_ms:.2f}]"
            )
    return problems
