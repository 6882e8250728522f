"""What the CLI prints: never hard-wrapped when piped, `replay --show` fitted to the
terminal with the task and its outcome first, `batch` results whole, timing figures that
measure something, and report tables that print as tables wherever they are printed."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from browser_agent import timeline_report
from browser_agent.batch import BatchReport, TaskOutcome, summary_table
from browser_agent.cli import EXIT_OK, main
from browser_agent.recording import Footer, Header, RecordingWriter, read
from browser_agent.records import ActionRecord, StepRecord
from browser_agent.terminal import PrintableTable, safe
from browser_agent.timing import Timeline, TimingReport

ROOT = Path(__file__).resolve().parent.parent
FORM = ROOT / "fixtures" / "site" / "form.html"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The demo, recorded (no key, no network): its recording and its JSON output."""
    path = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["demo", "--json", "--record", str(path)]) == EXIT_OK
    return path, json.loads(out.getvalue())


@pytest.fixture
def demo_recording(demo_run: tuple[Path, dict[str, Any]]) -> Path:
    return demo_run[0]


def terminal(width: int) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, force_terminal=True, color_system=None), buf


# ----------------------------------------------------------------- 1: no wrapping


def test_observe_prints_exactly_the_text_unwrapped(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["observe", str(FORM), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    text = data["text"]
    assert max(len(line) for line in text.splitlines()) > 100  # would wrap at 80
    assert main(["observe", str(FORM)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out == text + "\n"  # one line per element, byte for byte
    assert len(err.strip().splitlines()) == 1 and "elements" in err


def test_piped_tables_and_lines_are_never_wrapped(
    demo_recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(demo_recording), "--show"]) == EXIT_OK
    out = capsys.readouterr().out
    task = read(demo_recording).sessions[0].header.task
    assert f"task 1: {task}\n" in out  # the whole task on one line
    rows = [line for line in out.splitlines() if re.match(r"^\s+\d+\s", line)]
    assert len(rows) == 7  # one line per step
    assert "…" not in out  # nothing cut
    assert "type textbox \"Email\" ← 'ada@example.com'" in rows[5]


# ------------------------------------------------------------ 2: replay --show


def test_replay_show_fits_the_terminal_and_says_what_happened(demo_recording: Path) -> None:
    sessions = read(demo_recording).sessions
    for width in (60, 80, 120, 200):
        console, buf = terminal(width)
        timeline_report.show(sessions, console, name="demo.jsonl")
        out = buf.getvalue()
        lines = out.splitlines()
        assert all(len(line) <= width for line in lines), (width, out)
        assert lines[0] == "recording demo.jsonl: 1 task"
        assert "task 1: On the Kitchen Corner shop" in out
        assert "✓ succeeded: Ordered one Blue Kettle" in " ".join(out.split())
        rows = [line for line in lines if re.match(r"^\s+[1-7]\s{2}", line)]
        assert [int(r.split()[0]) for r in rows] == [1, 2, 3, 4, 5, 6, 7], out
        header = next(line for line in lines if line.lstrip().startswith("step "))
        assert "actions" in header and "step ms" in header
        if width <= 80:
            assert "settle ms" not in header  # fewer columns
            assert "…" in rows[5]  # the checkout step, cut to fit
        if width >= 200:
            assert "observe ms" in header and "…" not in rows[0]


def test_show_marks_failed_steps_and_unfinished_sessions(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path) as w:
        w.header(Header(task="Find \x1b[31mred\x1b[0m mugs"))
        rec = StepRecord(n=1)
        rec.actions.append(
            ActionRecord(id="1", name="click", args={"ref": 3}, label="[3]", ok=False, error="gone")
        )
        w.step(rec, None)
    console, buf = terminal(100)
    timeline_report.show(read(path).sessions, console)
    out = buf.getvalue()
    assert "\x1b" not in out and "Find \\x1b[31mred" in out  # escapes are shown, inert
    assert "✗ incomplete" in out and "✗ click [3]  gone" in out


# ------------------------------------------------------ 3: batch, figures, report


def test_batch_results_are_never_cut() -> None:
    long = "Ordered one Blue Kettle (€34.99) for Ada Lovelace, express shipping to London"
    report = BatchReport(
        ok=True,
        tasks=[TaskOutcome(id="1", task="Buy a kettle", success=True, reason="done", output=long)],
        ms=1000,
        concurrency=1,
    )
    table = summary_table(report)
    assert long in str(table)  # piped: whole
    console, buf = terminal(80)
    console.print(table)
    assert "express shipping to London" in " ".join(buf.getvalue().replace("│", " ").split())


def test_the_report_shows_what_was_measured(demo_run: tuple[Path, dict[str, Any]]) -> None:
    demo_recording, data = demo_run
    sessions = read(demo_recording).sessions
    steps = sessions[0].steps
    acting = [s for s in steps if any(a.name != "done" for a in s.actions)]
    # The observation an action made is timed as observe, not inside settle.
    assert all(s.line.spans_ms["observe"] > 0 for s in acting)
    assert data["report"]["observe"]["p50"] > 0
    assert data["overlap_saved_ms"] >= 0
    page = timeline_report.html_report(sessions)
    bars = re.findall(r"<title>(\w+): (\d+) ms</title>", page)
    assert {name for name, _ in bars} >= {"observe", "llm_total", "act", "settle"}
    assert all(int(ms) > 0 or name != "observe" for name, ms in bars)
    assert "too short to draw: prompt" in page  # named, never a bar of 0
    assert "no call made again" in page


def test_restarts_and_overlap_in_the_report() -> None:
    tl = Timeline()
    tl.add("llm_total", 0, 100, step=1)
    tl.add("act", 150, 170, step=1)  # a gap in no stage: a call cancelled by a restart
    tl.event("restart", step=1, detail="the page moved")
    tl.close()
    from browser_agent.timing import StepTiming

    spans = {"llm_total": 100.0, "act": 20.0, "total": 170.0}
    report = TimingReport.build(tl, [StepTiming(1, spans, list(spans))])
    assert report.overlap_saved_ms == 0  # was -50: a gap is not a saving
    caption = str(report.table().caption)
    assert "1 call(s) made again after the page moved (restart)" in caption
    assert "observe" not in str(report.table())  # not measured: not shown


def test_recorded_restarts_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    with RecordingWriter(path) as w:
        w.header(Header(task="t"))
        rec = StepRecord(n=1)
        rec.events.append(tl_event := Timeline().event("restart", step=1, detail="moved"))
        assert tl_event.kind == "restart"
        w.step(rec, None)
        w.write(Footer(success=True, reason="done"))
    sessions = read(path).sessions
    assert timeline_report.summary(sessions).restarts == 1
    assert "1 call made again after the page moved" in str(timeline_report.table(sessions).caption)


# ------------------------------------------------------ 4: printable report tables


def test_report_tables_print_as_tables(
    demo_recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tl = Timeline()
    tl.add("llm_total", 0, 100, step=1)
    tl.close()
    from browser_agent.timing import StepTiming

    report = TimingReport.build(tl, [StepTiming(1, {"llm_total": 100.0, "total": 100.0}, [])])
    table = report.table()
    assert isinstance(table, PrintableTable)
    print(table)
    out = capsys.readouterr().out
    assert "<rich.table.Table" not in out and "timing report" in out and "non-model" in out
    assert "┃ stage" in out or "stage" in out.splitlines()[1]
    shown = str(timeline_report.table(read(demo_recording).sessions))
    assert "Blue Kettle" in shown and "object at 0x" not in shown


def test_safe_makes_terminal_escapes_inert() -> None:
    assert safe("a\x1b[2Jb\u202ec\td\ne") == "a\\x1b[2Jb\\u202ec\td\ne"
