"""Spans, the timing report and its JSON: nesting, no negative or missing spans, the
stage statistics, and the machine-readable output validating against its schema."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from rich.console import Console

from browser_agent import Agent, Browser, Budget
from browser_agent.agent import run_json_schema, validate_run_json
from browser_agent.demo import TASK, load_cassette
from browser_agent.llm import LatencyProfile, LLMPool, LocalModelServer, ProviderConfig
from browser_agent.timing import (
    STAGES,
    Span,
    StageStats,
    StepTiming,
    Timeline,
    TimingReport,
    check_spans,
    export_otel,
    otel_available,
)
from fixtures.server import FixtureServer

# ------------------------------------------------------------------- unit level


def test_spans_nest_on_one_monotonic_clock() -> None:
    tl = Timeline("s1")
    with tl.span("warm_up"):
        pass
    step = tl.begin("step", parent=tl.root, step=1)
    with tl.span("observe", parent=step, step=1) as obs:
        pass
    llm = tl.add("llm_total", obs.end_ms or 0, tl.now(), parent=step, step=1)
    tl.add("llm_ttft", llm.start_ms, llm.start_ms, parent=llm, step=1)
    tl.end(step)
    tl.close()
    assert check_spans(tl.spans) == []
    assert [s.name for s in tl.children(step)] == ["observe", "llm_total"]
    assert all(s.session == "s1" for s in tl.spans)
    assert all(s.end_ms is not None and s.end_ms >= s.start_ms for s in tl.spans)
    assert tl.root.end_ms >= step.end_ms  # type: ignore[operator]


def test_check_spans_finds_what_is_wrong() -> None:
    spans = [
        Span(id=0, name="step", start_ms=10, end_ms=20),
        Span(id=1, name="act", start_ms=15, end_ms=25, parent=0),
        Span(id=2, name="settle", start_ms=18, end_ms=None, parent=0),
        Span(id=3, name="observe", start_ms=12, end_ms=11, parent=0),
        Span(id=4, name="prompt", start_ms=12, end_ms=13, parent=9),
    ]
    problems = "\n".join(check_spans(spans))
    assert "act#1" in problems and "outside its parent" in problems
    assert "settle#2 is still open" in problems
    assert "observe#3 has a negative duration" in problems
    assert "unknown parent 9" in problems


def test_stage_stats_are_percentiles_not_means() -> None:
    st = StageStats.of([10.0] * 98 + [500.0, 1000.0])
    assert st.p50 == 10.0 and st.max == 1000.0 and st.n == 100
    assert st.p99 > st.p95 >= 10.0
    assert StageStats.of([]) == StageStats(0.0, 0.0, 0.0, 0.0, 0)


def _step(n: int, **ms: float) -> StepTiming:
    spans = {s: ms.get(s, 0.0) for s in STAGES}
    return StepTiming(n, spans, [s for s in STAGES if s in ms], ms.get("wait", 0.0))


def test_report_non_model_time_overlap_and_share() -> None:
    tl = Timeline()
    with tl.span("launch"):
        pass
    steps = [
        # The action (act 20 + settle 60) ran partly under the model's 200 ms.
        _step(
            1,
            observe=2,
            prompt=1,
            llm_ttft=150,
            llm_total=200,
            act=20,
            settle=60,
            total=250,
            wait=40,
        ),
        _step(2, observe=0, prompt=1, llm_ttft=150, llm_total=180, total=181),
    ]
    tl.close()
    report = TimingReport.build(tl, steps)
    assert steps[0].non_model_ms == 50 and steps[1].non_model_ms == 1
    assert steps[0].overhead_ms == 10
    assert report.non_model_ms.max == 50
    assert report.non_model_share == pytest.approx(51 / 431)
    assert report.overlap_saved_ms == pytest.approx((283 - 250) + (181 - 181))
    assert report.stages["act"].n == 1  # only where it happened, no zeros averaged in
    assert report.stages["llm_first_action"].n == 0
    assert "launch" in report.session and "total" in report.session
    stages = report.stages_dict()
    assert "llm_first_action" not in stages and set(stages["total"]) == {"p50", "p95", "p99", "max"}
    table = report.table()
    assert "overlap saved 33 ms" in str(table.caption)
    console = Console(record=True, width=120)
    console.print(table)
    assert "non-model" in console.export_text()
    data = json.loads(report.to_json())
    assert data["session_id"] == report.session_id and data["spans"]


def test_export_otel_without_the_api_is_a_no_op() -> None:
    if otel_available():
        pytest.skip("opentelemetry-api is installed")
    assert export_otel([Span(id=0, name="session", start_ms=0, end_ms=1)], "s", 0) == 0


def test_export_otel_keeps_times_and_parents() -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tl = Timeline("sess")
    step = tl.begin("step", parent=tl.root, step=1)
    tl.add("llm_total", 1.0, 3.5, parent=step, step=1, provider="local")
    tl.end(step)
    tl.close()
    sent = export_otel(tl.spans, "sess", tl.epoch_ns, tracer=provider.get_tracer("t"))
    assert sent == 3
    got = {s.name: s for s in exporter.get_finished_spans()}
    llm, st, root = got["llm_total"], got["step"], got["session"]
    assert llm.parent.span_id == st.context.span_id
    assert st.parent.span_id == root.context.span_id
    assert llm.end_time - llm.start_time == 2_500_000
    assert llm.attributes["browser_agent.step"] == 1
    assert llm.attributes["browser_agent.provider"] == "local"
    assert llm.attributes["browser_agent.session"] == "sess"


# ---------------------------------------------------------- a real agent session


@pytest.fixture(scope="module")
async def session(anyio_backend: str, site: FixtureServer) -> AsyncIterator[Any]:
    """One checkout run with a streaming model, shared by the report tests."""
    latency = LatencyProfile(ttft_ms=20, tokens_per_s=1500)
    with LocalModelServer(load_cassette("shop_checkout"), latency=latency) as srv:
        config = ProviderConfig(name="local", base_url=srv.base_url, model="m")
        async with LLMPool([config]) as pool:
            agent = Agent(
                TASK,
                llm=pool,
                start_url=site.url("/shop/index.html"),
                allowed_domains=["127.0.0.1"],
                budget=Budget(session_s=60),
            )
            async with Browser.launch(allowed_domains=["127.0.0.1"]) as browser:
                page = await browser.new_page()
                await page.goto(site.url("/shop/index.html"))
                await page.playwright_page.evaluate("localStorage.clear()")
                yield await agent.run(page)


@pytest.mark.anyio
async def test_spans_add_up(session: Any) -> None:
    result = session
    assert result.success
    spans = result.report.spans
    assert check_spans(spans, slack_ms=0.0) == []
    by_id = {s.id: s for s in spans}
    for rec in result.steps:
        step = next(s for s in spans if s.name == "step" and s.step == rec.n)
        assert step.parent == 0 and by_id[0].name == "session"
        kids = [s for s in spans if s.parent == step.id]
        assert {"observe", "prompt", "llm_total"} <= {s.name for s in kids}
        assert all(s.step == rec.n for s in kids)
        # Every stage present, none negative, none longer than its step.
        assert set(rec.spans_ms) == set(STAGES)
        assert all(0 <= v <= rec.spans_ms["total"] + 1e-6 for v in rec.spans_ms.values())
        assert rec.spans_ms["total"] == pytest.approx(step.ms)
        llm = rec.spans_ms
        assert llm["llm_ttft"] <= llm["llm_first_action"] <= llm["llm_total"]
        if rec.actions[0].name != "done":
            assert "act" in rec.happened and "settle" in rec.happened
        # Sum of stage spans = what the step's children add up to.
        for stage in ("act", "settle"):
            total = sum(s.ms for s in kids if s.name == stage)
            assert rec.spans_ms[stage] == pytest.approx(total)
        # The part of the step outside the model is what the JSON reports.
        assert rec.non_model_ms == pytest.approx(llm["total"] - llm["llm_total"])
        assert 0 <= rec.page_wait_ms <= rec.non_model_ms + 1e-6
    # Steps follow one another on the session clock.
    steps = [s for s in spans if s.name == "step"]
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(steps))
    report = result.report
    assert report.overlap_saved_ms == pytest.approx(
        sum(s.timing().overlap_ms for s in result.steps)
    )
    assert report.non_model_share == pytest.approx(
        sum(s.non_model_ms for s in result.steps) / sum(s.spans_ms["total"] for s in result.steps)
    )


@pytest.mark.anyio
async def test_the_json_validates_against_its_schema(session: Any) -> None:
    result = session
    text = result.to_json(spans=True)
    parsed = validate_run_json(text)
    assert parsed.success is True and len(parsed.steps) == len(result.steps)
    data = json.loads(text)
    assert data["steps"][0]["actions"][0] == {
        **data["steps"][0]["actions"][0],
        "name": "type",
        "ok": True,
        "error": None,
    }
    assert set(data["steps"][0]["spans_ms"]) >= set(STAGES)
    assert set(data["report"]) <= set(STAGES)
    assert set(data["non_model_ms"]) >= {"p50", "p95"}
    schema = run_json_schema()
    assert schema["$ref"].endswith("RunJSON") and "StepJSON" in schema["$defs"]
    try:
        import jsonschema
    except ImportError:  # optional: msgspec already checked the same contract
        pass
    else:
        jsonschema.validate(data, schema)
    # A broken document does not validate.
    del data["steps"][0]["spans_ms"]["llm_total"]
    with pytest.raises(msgspec.ValidationError):
        validate_run_json(data)
