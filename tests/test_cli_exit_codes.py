"""Exit codes that tell the truth, and the record-and-replay path with no key.

A rerun passes only when it re-ran something and the page it ends on is the one the
recording ended on (a form post that now fails does not pass); a bench whose own check
failed exits 1; `demo --record F`, `replay F --rerun` and `replay F --html` all work
with no key and no network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from replay_support import record_join

from browser_agent import Browser
from browser_agent.cli import EXIT_FAILED, EXIT_OK, failed_checks, main
from browser_agent.recording import Header, RecordingWriter
from browser_agent.replay import rerun
from browser_agent.testing import FixtureServer

pytestmark = pytest.mark.anyio


async def cli(argv: list[str]) -> int:
    return await anyio.to_thread.run_sync(main, argv)


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "BROWSER_AGENT_MODEL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
async def join_recording(
    shared_browser: Browser, site: FixtureServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Path, Browser]]:
    path = tmp_path_factory.mktemp("join") / "join.jsonl"
    async with await shared_browser.new_context() as browser:
        result, _ = await record_join(site, browser, path)
        assert result.success, result.detail
        yield path, browser


async def test_demo_record_then_replay_with_no_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "demo.jsonl"
    assert await cli(["demo", "--record", str(rec)]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"recorded to {rec}" in " ".join(out.split())

    assert await cli(["replay", str(rec), "--rerun"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "a demo recording: re-running it on the bundled shop" in err
    assert out.count("✓ task 1 step") == 7 and "rerun passed" in out

    html = tmp_path / "out" / "demo.html"  # a folder that does not exist yet
    assert await cli(["replay", str(rec), "--html", str(html)]) == EXIT_OK
    assert "Blue Kettle" in html.read_text()
    assert f"wrote {html}" in capsys.readouterr().out

    assert await cli(["replay", str(rec), "--rerun", "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["problem"] is None and len(data["steps"]) == 7


async def test_a_recording_with_no_complete_step_does_not_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], site: FixtureServer
) -> None:
    rec = tmp_path / "empty.jsonl"
    with RecordingWriter(rec) as w:  # the process died before its first step ended
        w.header(Header(task="t", start_url=site.url("/index.html")))
    code = await cli(["replay", str(rec), "--rerun"])
    out, err = capsys.readouterr()
    assert code == EXIT_FAILED
    assert "nothing to re-run: the recording has no complete step" in out
    assert "rerun failed" in out and "no footer" in err


async def test_a_rerun_whose_form_post_now_fails_does_not_pass(
    join_recording: tuple[Path, Browser], site: FixtureServer
) -> None:
    path, browser = join_recording
    start = site.url("/replay/v1/index.html")
    page = await browser.new_page()
    try:
        site.refuse_submissions = "Sign-ups are closed for maintenance."
        report = await rerun(path, page, start_url=start)
    finally:
        site.refuse_submissions = None
        await page.close()
    # Every step found its target and every URL was as recorded ...
    assert report.divergences == [] and all(s.ok for s in report.steps)
    # ... but the post landed on an error page: the rerun fails and says why.
    assert not report.ok
    assert report.problem is not None and "'Service unavailable'" in report.problem
    assert "'Received'" in report.problem

    page = await browser.new_page()
    try:
        again = await rerun(path, page, start_url=start)
    finally:
        await page.close()
    assert again.ok and again.problem is None  # the same rerun passes when the post lands


async def test_the_cli_exit_code_of_a_failing_form_post(
    join_recording: tuple[Path, Browser],
    site: FixtureServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _ = join_recording
    site.refuse_submissions = "Down."
    try:
        argv = ["replay", str(path), "--rerun", "--url", site.url("/replay/v1/index.html")]
        code = await cli(argv)
    finally:
        site.refuse_submissions = None
    out = capsys.readouterr().out
    assert code == EXIT_FAILED
    assert "✗ task 1: the page ends titled 'Service unavailable'" in out
    assert "rerun failed" in out


async def test_a_bench_whose_check_fails_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from browser_agent.bench import agent as bench_agent
    from browser_agent.bench import llm as bench_llm

    async def llm_run(json_output: bool = False, quick: bool = False) -> dict[str, Any]:
        return {"targets": {"pooled_overhead_within_1ms": True, "no_action_from_a_loser": False}}

    async def agent_run(json_output: bool = False, quick: bool = False) -> dict[str, Any]:
        return {"target_met": False, "overhead_target_met": True}

    monkeypatch.setattr(bench_llm, "run", llm_run)
    monkeypatch.setattr(bench_agent, "run", agent_run)
    assert await cli(["bench", "llm", "--quick"]) == EXIT_FAILED
    assert "FAIL: bench llm: no action from a loser" in capsys.readouterr().err
    assert await cli(["bench", "agent", "--quick"]) == EXIT_FAILED
    assert "FAIL: bench agent: target not met" in capsys.readouterr().err
    assert failed_checks({"targets": {"a": True}, "target_met": True}) == []
