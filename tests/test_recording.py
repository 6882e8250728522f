"""Recordings: what a session writes, redaction, torn files, cassettes made from them,
and the `replay --show` / `--html` views."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import msgspec
import pytest
from replay_support import PASSWORD, TASK, record_join

from browser_agent import Browser
from browser_agent.cli import EXIT_OK, main
from browser_agent.recording import (
    FORMAT,
    Footer,
    Header,
    Prefix,
    RecordingError,
    StepLine,
    apply_delta,
    line_delta,
    read,
)
from browser_agent.testing import Cassette, FixtureServer

pytestmark = pytest.mark.anyio


async def cli(argv: list[str]) -> int:
    """The CLI runs its own event loop: call it from a worker thread."""
    return await anyio.to_thread.run_sync(main, argv)


@pytest.fixture(scope="module")
async def rbrowser(shared_browser: Browser) -> AsyncIterator[Browser]:
    """A context of the session's browser (same loopback policy) for this module."""
    async with await shared_browser.new_context() as b:
        yield b


@pytest.fixture(scope="module")
async def recorded(
    rbrowser: Browser, site: FixtureServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("rec") / "join.jsonl"
    result, agent = await record_join(site, rbrowser, path, latency=None)
    assert result.success, (result.reason, result.detail)
    return path, agent


async def test_a_session_is_written_as_header_prefix_steps_footer(
    recorded: tuple[Path, object],
) -> None:
    path, agent = recorded
    lines = path.read_bytes().splitlines()
    decoded = [msgspec.json.decode(ln, type=Header | Prefix | StepLine | Footer) for ln in lines]
    assert isinstance(decoded[0], Header) and decoded[0].format == FORMAT
    assert decoded[0].task == TASK and decoded[0].python
    assert "budget" in decoded[0].settings
    assert sum(isinstance(d, Prefix) for d in decoded) == 1  # the stable prefix, once
    assert isinstance(decoded[-1], Footer) and decoded[-1].success
    assert decoded[-1].browser  # the browser's version

    rec = read(path).sessions[0]
    assert [len(s.actions) for s in rec.steps] == [2, 5, 1]
    first, form = rec.steps[0], rec.steps[1]
    assert first.line.observation is not None and first.line.observation.full
    target = form.actions[-1].target
    assert target is not None
    assert (target.role, target.name, target.tag) == ("button", "Create account", "button")
    assert target.text == 'button "Create account"'
    # The DOM path, computed in the page before the click: an id that looks stable
    # anchors it; the ids of the other fields too (none of them looks generated).
    assert target.path == 'button#join-btn[type="submit"]'
    paths = [a.target.path for a in form.actions if a.target is not None]
    assert paths[0] == 'input#fullname[name="name"][type="text"]'
    assert all(s.line.spans_ms["total"] > 0 for s in rec.steps)
    assert "# Join the club" in form.text
    # The request of the last step is rebuilt exactly from the file (password masked).
    sent = json.dumps(agent.last_prompt).replace(PASSWORD, "***")  # type: ignore[attr-defined]
    assert json.dumps(rec.messages(rec.steps[-1])) == sent


async def test_passwords_never_reach_the_file(
    recorded: tuple[Path, object], site: FixtureServer
) -> None:
    path, _ = recorded
    assert any(s.first("password") == PASSWORD for s in site.submissions)  # it was typed
    data = path.read_text()
    assert PASSWORD not in data
    rec = read(path).sessions[0]
    typed = [a for a in rec.steps[1].actions if a.name == "type"]
    assert typed[1].args["text"] == "***"
    assert typed[0].args["text"] == "Ada Lovelace"


async def test_a_torn_last_line_is_accepted_and_reported(
    recorded: tuple[Path, object], tmp_path: Path
) -> None:
    path, _ = recorded
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(b"".join(lines[:-2]) + lines[-2][: len(lines[-2]) // 2])  # mid-line
    f = read(torn)
    assert f.torn and f.torn_line == len(lines) - 1
    rec = f.sessions[0]
    assert rec.torn and not rec.complete and len(rec.steps) == 2

    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]))
    with pytest.raises(RecordingError, match=":2:"):
        read(broken)


def test_line_deltas_round_trip() -> None:
    old = "a\nb\nc\nd"
    for new in ("a\nb\nc\nd", "a\nx\nd", "", "z\na\nb\nc\nd\ne", "a\nb\nb\nc\nd"):
        assert apply_delta(old, line_delta(old, new)) == new


async def test_a_recording_is_a_cassette_for_the_whole_pipeline(
    recorded: tuple[Path, object], rbrowser: Browser, site: FixtureServer, tmp_path: Path
) -> None:
    path, _ = recorded
    cassette = Cassette.load(path)  # recognized as a recording
    assert cassette.normalized()[1].actions[-1] == 'click button "Create account"'
    # Served by the local model server, it drives the agent again, here on the
    # reordered site with other ids: the targets are named by role and name.
    before = len(site.submissions)
    result, _ = await record_join(
        site, rbrowser, tmp_path / "again.jsonl", variant="v2", cassette=cassette, latency=None
    )
    assert result.success, (result.reason, result.detail)
    assert site.submissions[before].first("plan") == "green"


async def test_show_and_html(
    recorded: tuple[Path, object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, _ = recorded
    monkeypatch.setenv("COLUMNS", "250")
    assert await cli(["replay", str(path), "--show"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Create account" in out and "model ms" in out
    assert out.startswith("recording join.jsonl: 1 task\ntask 1: Join the Tea Club")

    html = tmp_path / "report.html"
    assert await cli(["replay", str(path), "--html", str(html)]) == EXIT_OK
    page = html.read_text()
    assert "<svg" in page and "Create account" in page and "<script" not in page
    assert "http://" not in page.split("<body>", 1)[1] or "src=" not in page  # self-contained

    capsys.readouterr()
    assert await cli(["replay", str(path), "--show", "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["sessions"][0]["header"]["task"] == TASK


async def test_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(["replay", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
