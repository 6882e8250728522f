"""Spans, the timing report and its JSON: nesting, no negative or missing spans, the
stage statistics, and the machine-readable output validating against its schema."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from rich.console import Console

from browser_agent import Agent, Browser, Budget, timeline_report
from browser_agent.agent import run_json_schema, validate_run_json
from browser_agent.budget import OverrunCause
from browser_agent.demo import TASK, load_cassette
from browser_agent.llm import LLMPool, ProviderConfig
from browser_agent.recording import read
from browser_agent.testing import Fault, FixtureServer, LatencyProfile, LocalModelServer
from browser_agent.timing import (
    SERIAL_STAGES,
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
    # Their spans: step 1's act and settle ran under the model's last 33 ms; step 2 has a
    # gap (a call cancelled by a restart is in no stage), which saves nothing.
    for name, start, end in (
        ("observe", 0, 2),
        ("prompt", 2, 3),
        ("llm_total", 3, 203),
        ("act", 170, 190),
        ("settle", 190, 250),
    ):
        tl.add(name, start, end, step=1)
    for name, start, end in (("prompt", 300, 301), ("llm_total", 800, 980)):
        tl.add(name, start, end, step=2)
    tl.close()
    report = TimingReport.build(tl, steps)
    assert steps[0].non_model_ms == 50 and steps[1].non_model_ms == 1
    assert steps[0].overhead_ms == 10
    assert report.non_model_ms.max == 50
    assert report.non_model_share == pytest.approx(51 / 431)
    assert report.overlap_saved_ms == pytest.approx((283 - 250) + 0)
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


def test_model_and_non_model_shares_add_up_and_hedges_are_counted() -> None:
    tl = Timeline()
    for n, attrs in (
        (1, {"provider": "a"}),
        (2, {"provider": "b", "hedged": True, "hedge_won": True}),
        (3, {"provider": "a", "hedged": True, "hedge_won": False}),
        (4, {"cut": True}),
    ):
        tl.add("llm_total", 0, 10, step=n, **attrs)
    tl.add("llm_total", 0, 10)  # not a step's call (no step): not counted
    steps = [
        _step(1, llm_total=100, total=120),
        _step(2, llm_total=300, total=290),  # a reply that ended a hair after its step
        _step(3, llm_total=50, total=400),
        _step(4, llm_total=600, total=600),  # cut mid-call by the decision limit
        _step(5, observe=5, total=5),  # no model call at all
    ]
    tl.close()
    report = TimingReport.build(tl, steps)
    assert [s.model_ms for s in steps] == [100, 290, 50, 600, 0]
    assert report.model_ms == 1040 and report.steps_ms == 1415
    assert report.model_share + report.non_model_share == pytest.approx(1.0)
    assert report.model_share == pytest.approx(1040 / 1415)
    assert report.model_step_ms.n == 5 and report.model_step_ms.max == 600
    assert report.step_ms.p50 == 290 and report.step_ms.p99 == pytest.approx(592.0)
    h = report.hedging
    assert (h.calls, h.hedged, h.hedge_wins, h.cut) == (4, 2, 1, 1)
    assert h.won_by == {"b": 1, "a": 1}
    lat = report.latency_dict()
    assert set(lat) == {"model_ms", "non_model_ms", "step_ms"}
    assert all(set(v) == {"p50", "p95", "p99", "max"} for v in lat.values())
    console = Console(record=True, width=160)
    console.print(report.table())
    text = " ".join(console.export_text().split())
    assert "│ model" in text and "│ non-model" in text and "│ total" in text
    assert "hedged 2 of 4 calls" in text and "1 call(s) cut by the step limit" in text
    assert "model 73.5%, outside the model: 26.5%" in text


# ------------------------------------------------------- degradations that fit


def test_a_slow_model_gets_a_model_remedy_not_a_smaller_observation() -> None:
    b = Budget()
    slow = OverrunCause(stage="llm_total", observation_chars=20_000, providers=2)
    assert b.choose(slow)[0] == "hedge"
    hedging = OverrunCause(stage="llm_total", providers=2, hedging=True, fast_tier=True)
    assert b.choose(hedging)[0] == "fast_tier"
    assert b.choose(hedging, applied={"fast_tier"})[0] is None
    # One provider, small page, no faster tier: nothing fits, and the reason says why.
    alone = OverrunCause(stage="llm_total", observation_chars=3_000, hedging=True)
    remedy, why = b.choose(alone)
    assert remedy is None
    assert "one provider" in why and "no larger than the viewport cut" in why
    # A step mostly spent in the model is the model's overrun, whatever its stage name.
    step = OverrunCause(stage="decision", step_ms=1000, model_ms=900, observation_chars=3_000)
    assert b.choose(step)[0] is None
    assert (
        Budget(hedge="on_overrun").choose(
            OverrunCause(stage="decision", step_ms=1000, model_ms=900, providers=2)
        )[0]
        == "hedge"
    )
    # Same-provider hedging counts as a second request.
    assert (
        Budget(hedge="on_overrun").choose(OverrunCause(stage="llm_ttft", same_provider_hedge=True))[
            0
        ]
        == "hedge"
    )


def test_a_smaller_observation_only_when_the_prompt_made_the_call_slow() -> None:
    b = Budget()
    big = {"stage": "llm_total", "observation_chars": 40_000, "hedging": True}
    # Consistently slow at this size (first token as usual): the prompt is the lever.
    remedy, why = b.choose(OverrunCause(**big, ttft_ms=2_500, usual_ttft_ms=2_000))
    assert remedy == "viewport" and "prompt's size" in why
    # The provider's tail (10x its usual) or a stall is not the prompt's fault.
    remedy, why = b.choose(OverrunCause(**big, ttft_ms=20_000, usual_ttft_ms=2_000))
    assert remedy is None and "tail" in why
    remedy, why = b.choose(OverrunCause(**big, ttft_ms=None))
    assert remedy is None and "stall" in why
    # The page, not the model, was slow: a smaller observation.
    page = OverrunCause(stage="decision", step_ms=1000, model_ms=100)
    remedy, why = b.choose(page)
    assert remedy == "viewport" and "outside the model" in why
    assert b.choose(OverrunCause(stage="observe"))[0] == "viewport"
    assert b.choose(OverrunCause(stage="observe"), applied={"viewport"})[0] is None


def test_hedging_is_adaptive_by_default() -> None:
    assert Budget().hedge == "adaptive"
    assert Budget(hedge="always").hedge == "adaptive"  # the older name
    with pytest.raises(ValueError):
        Budget(hedge="sometimes")  # type: ignore[arg-type]


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
async def session(shared_browser: Browser, site: FixtureServer) -> AsyncIterator[Any]:
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
            async with await shared_browser.new_context() as browser:
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
    saved = 0.0
    for rec in result.steps:
        stages = [s for s in spans if s.step == rec.n and s.name in SERIAL_STAGES]
        assert stages and all(s.end_ms is not None for s in stages)
        covered = set()  # the covered time, in 0.01 ms slots
        for s in stages:
            covered |= set(range(round(s.start_ms * 100), round(s.end_ms * 100)))  # type: ignore[operator]
        saved += sum(s.ms for s in stages) - len(covered) / 100
    assert report.overlap_saved_ms == pytest.approx(saved, abs=0.05 * len(result.steps))
    assert report.overlap_saved_ms >= 0
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


# ------------------------------------------- accounting of cut and hedged calls


@pytest.fixture(scope="module")
async def shop_browser(shared_browser: Browser) -> AsyncIterator[Browser]:
    """A context of the session's browser (same loopback policy) for this module."""
    async with await shared_browser.new_context() as b:
        yield b


async def _shop_page(browser: Browser, site: FixtureServer) -> Any:
    page = await browser.new_page()
    await page.goto(site.url("/shop/index.html"))
    await page.playwright_page.evaluate("localStorage.clear()")
    return page


def _provider(srv: LocalModelServer, name: str) -> ProviderConfig:
    return ProviderConfig(name=name, base_url=srv.base_url, model="m", stall_ms=30_000)


@pytest.mark.anyio
async def test_a_step_cut_mid_call_records_the_model_time_it_spent(
    shop_browser: Browser, site: FixtureServer
) -> None:
    with LocalModelServer(load_cassette("shop_price")) as srv:
        srv.inject(Fault("slow", ttft_ms=20_000))
        async with LLMPool([_provider(srv, "only")]) as pool:
            agent = Agent("Price of the Green Teapot?", llm=pool, budget=Budget(decision_s=0.8))
            page = await _shop_page(shop_browser, site)
            try:
                result = await agent.run(page)
            finally:
                await page.close()
    assert result.success
    cut = result.steps[0]
    assert cut.reply is None and "0.8 s budget" in cut.errors[0]
    # The model had the step's time, not 0: the shares say where it went.
    assert cut.spans_ms["llm_total"] >= 500
    assert cut.timing().model_ms + cut.non_model_ms == pytest.approx(cut.spans_ms["total"])
    assert cut.non_model_ms < cut.spans_ms["llm_total"]
    report = result.report
    assert report.model_share + report.non_model_share == pytest.approx(1.0)
    assert report.hedging.cut == 1 and report.model_step_ms.max >= 500
    assert check_spans(report.spans) == []
    # One provider, a small page, no faster tier: no smaller observation, and why.
    kinds = {(e.kind, e.stage) for e in cut.events}
    assert ("overrun", "decision") in kinds and ("no_degrade", "decision") in kinds
    assert not any(e.kind == "degrade" for e in report.events)
    why = next(e.detail for e in cut.events if e.kind == "no_degrade")
    assert "one provider" in why and "kept whole" in why
    assert result.steps[1].observation_chars > 0
    data = json.loads(result.to_json())
    assert data["steps"][0]["model_ms"] >= 500 and data["hedging"]["calls"] >= 2


@pytest.mark.anyio
async def test_an_agent_hedges_by_default_and_every_report_says_so(
    shop_browser: Browser, site: FixtureServer, tmp_path: Path
) -> None:
    with (
        LocalModelServer(load_cassette("shop_price")) as a,
        LocalModelServer(load_cassette("shop_price")) as b,
    ):
        a.latency = LatencyProfile(ttft_ms=5_000)  # every call: a slow first token
        async with LLMPool([_provider(a, "a"), _provider(b, "b")]) as pool:
            record = tmp_path / "run.jsonl"
            agent = Agent("Price of the Green Teapot?", llm=pool, record=record)  # default budget
            page = await _shop_page(shop_browser, site)
            try:
                result = await agent.run(page)
            finally:
                await page.close()
    assert result.success
    first, *rest = [s.reply for s in result.steps if s.reply is not None]
    # The first call waited its 1 s threshold, then b answered; the next ones go to b.
    assert first.hedged and first.hedge_won and first.provider == "b"
    assert rest and all(r.provider == "b" and not r.hedged for r in rest)
    assert result.steps[0].spans_ms["llm_total"] >= 1000
    h = result.report.hedging
    assert (h.calls, h.hedged, h.hedge_wins, h.won_by) == (1 + len(rest), 1, 1, {"b": 1})
    data = json.loads(result.to_json())
    assert data["hedging"]["won_by"] == {"b": 1} and data["steps"][0]["hedge_won"]
    assert set(data["latency"]) == {"model_ms", "non_model_ms", "step_ms"}
    assert data["latency"]["model_ms"]["max"] >= 1000 > data["latency"]["model_ms"]["p50"]
    validate_run_json(data)
    events = [e.detail for e in result.report.events if e.kind == "hedge"]
    assert events == ["won by b (the second request)"]
    # The recording's HTML report and terminal timeline say the same.
    sessions = read(record).sessions
    summary = timeline_report.summary(sessions)
    assert (summary.calls, summary.hedged, summary.won_by) == (h.calls, 1, {"b": 1})
    assert summary.model_ms["max"] == pytest.approx(result.report.model_step_ms.max, abs=1)
    page_html = timeline_report.html_report(sessions)
    assert "<td>model</td>" in page_html and "<th>p99</th>" in page_html
    assert "hedged 1 (won by b 1)" in page_html
    assert "hedged 1 of" in str(timeline_report.table(sessions).caption)
