"""Recordings under faults: a process killed mid-step leaves a readable file that says
what is missing; a recording from a newer format version is refused by name."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import msgspec
import pexpect
import pytest

from browser_agent.cli import EXIT_OK, EXIT_USAGE, main
from browser_agent.exceptions import BrowserAgentError
from browser_agent.recording import VERSION, RecordingVersionError, read, runtime_header
from browser_agent.testing import Cassette, Fault, FixtureServer, LocalModelServer

pytestmark = pytest.mark.faults
ROOT = Path(__file__).resolve().parent.parent

# The agent runs in a child process that prints a line once each step is written to
# the recording (the loop writes the step, then announces it).
CHILD = """
import sys, anyio
from browser_agent import Agent, Browser
from browser_agent.agent import StepFinished
from browser_agent.llm import ProviderConfig

async def main() -> None:
    url, base_url, path = sys.argv[1:4]
    def announce(event: object) -> None:
        if isinstance(event, StepFinished):
            print(f"STEP {event.record.n} WRITTEN", flush=True)
    config = ProviderConfig(name="local", base_url=base_url, model="local-model")
    agent = Agent("Subscribe, then stop", llm=config, start_url=url, record=path,
                  on_event=announce)
    async with Browser.launch(allowed_domains=["127.0.0.1"]) as browser:
        await agent.run(browser)

anyio.run(main)
"""


def test_a_process_killed_mid_step_leaves_a_readable_recording(
    site: FixtureServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = Cassette.loads(
        json.dumps(
            {
                "steps": [
                    {"match": 'button "Newsletter"', "actions": ['click button "Newsletter"']},
                    {"match": 'button "Subscribed"', "actions": ['done "subscribed"']},
                ]
            }
        )
    )
    # The first call is answered; every later one stalls before its first byte for
    # longer than the test lasts, so step 2 is in flight whenever the kill lands.
    faults = [Fault("slow"), *[Fault("stall", after_events=0, hold_s=120.0)] * 4]
    path = tmp_path / "killed.jsonl"
    with LocalModelServer(cassette, faults=faults) as model:
        url = site.url("/replay/v1/index.html")
        child = pexpect.spawn(
            sys.executable,
            ["-c", CHILD, url, model.base_url, str(path)],
            cwd=str(ROOT),
            encoding="utf-8",
            timeout=60,
        )
        try:
            child.expect("STEP 1 WRITTEN")
            child.kill(signal.SIGKILL)
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
    assert child.signalstatus == signal.SIGKILL

    f = read(path)
    (rec,) = f.sessions
    assert rec.header.task == "Subscribe, then stop"
    assert [s.n for s in rec.steps] == [1]
    assert [a.name for a in rec.steps[0].actions] == ["click"]
    assert rec.steps[0].text and "Newsletter" in rec.steps[0].text
    assert rec.footer is None and not rec.complete
    assert f.unfinished == [0] and not f.torn
    assert f.problems == [
        "session 1 ('Subscribe, then stop') has no footer: it stopped before its end "
        "(crash, kill or interrupt); 1 complete step kept"
    ]

    # `replay --show` shows what is there and says what is missing.
    assert main(["replay", str(path), "--show"]) == EXIT_OK
    err = " ".join(capsys.readouterr().err.split())  # whatever rich wrapped
    assert "no footer" in err and "1 complete step" in err

    # Cut inside the step line as well: the torn line is reported, never dropped silently.
    torn = tmp_path / "torn.jsonl"
    data = path.read_bytes()
    torn.write_bytes(data[: data.rindex(b'"type":"step"') + 40])
    f = read(torn)
    assert f.torn and f.sessions[0].steps == [] and len(f.problems) == 2
    assert "torn" in f.problems[0] and "0 complete steps" in f.problems[1]


def _newer(path: Path, *, settings: object) -> Path:
    header = msgspec.to_builtins(
        runtime_header("a task from the future", start_url=None, session_id="s")
    )
    header.update(version=VERSION + 1, settings=settings)
    path.write_text(json.dumps({"type": "header", **header}) + "\n")
    return path


@pytest.mark.parametrize("settings", [{}, "a shape this version does not know"])
def test_a_recording_from_a_newer_format_version_is_refused_by_name(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    settings: object,
) -> None:
    path = _newer(tmp_path / "future.jsonl", settings=settings)
    with pytest.raises(RecordingVersionError) as info:
        read(path)
    exc = info.value
    assert isinstance(exc, BrowserAgentError)
    assert (exc.found, exc.supported) == (VERSION + 1, VERSION)
    assert f"version {VERSION + 1}" in str(exc) and f"up to version {VERSION}" in str(exc)

    for argv in (["replay", str(path)], ["replay", str(path), "--rerun"]):
        assert main(argv) == EXIT_USAGE
        err = " ".join(capsys.readouterr().err.split())
        assert f"version {VERSION + 1}" in err and f"up to version {VERSION}" in err
