"""The interactive session, driven in a pseudo-terminal: a task, a follow-up on the same
page, /observe, /timings, /record, /quit, and Ctrl-C stopping a task, not the session."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from browser_agent.recording import read
from browser_agent.testing import Cassette, Fault, FixtureServer, LocalModelServer

TIMEOUT = 30


@pytest.fixture
def model() -> Iterator[LocalModelServer]:
    steps = [
        # First task: subscribe (the click does not navigate, so done follows at once).
        {"match": 'button "Newsletter"', "actions": ['click button "Newsletter"', 'done "ok"']},
        # Follow-up, on the page the first task left: the button now says Subscribed.
        {"match": 'button "Subscribed"', "actions": ['click link "Join the club"']},
        {"match": "# Join the club", "actions": ['done "On the join page"']},
    ]
    cassette = Cassette.loads(json.dumps({"steps": steps}))
    with LocalModelServer(cassette) as srv:
        yield srv


def spawn(model: LocalModelServer, url: str) -> pexpect.spawn:
    """`browser-agent --url URL` in a pseudo-terminal, on the local model server."""
    env = {
        **os.environ,
        "OPENAI_BASE_URL": model.base_url,
        "BROWSER_AGENT_MODEL": "local-model",
        "COLUMNS": "160",
    }
    env.pop("OPENAI_API_KEY", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "browser_agent.cli", "--url", url],
        env=env,
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(50, 160),
    )


def test_interactive_session(site: FixtureServer, model: LocalModelServer, tmp_path: Path) -> None:
    child = spawn(model, site.url("/replay/v1/index.html"))
    try:
        child.expect("task> ")
        child.sendline("/observe")
        child.expect(r'button "Newsletter"')
        child.expect("task> ")
        rec = tmp_path / "session.jsonl"
        child.sendline(f"/record {rec}")
        child.expect("recording:")
        child.expect("task> ")
        child.sendline("Subscribe to the newsletter")
        child.expect("done:.*ok")
        child.expect("task> ")
        child.sendline("Now open the join page")
        child.expect("On the join page")
        child.expect("task> ")
        child.sendline("/timings")
        child.expect("timings: 3 steps so far")
        child.expect("llm_total")
        child.expect("task> ")
        child.sendline("/quit")
        child.expect("bye")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    f = read(rec)
    assert [s.header.task for s in f.sessions] == [
        "Subscribe to the newsletter",
        "Now open the join page",
    ]
    assert f.sessions[1].steps[-1].line.url.endswith("/replay/v1/join.html")


def test_ctrl_c_stops_the_task_not_the_session(site: FixtureServer) -> None:
    steps = [
        {"match": 'button "Newsletter"', "actions": ['click button "Newsletter"']},
        {"match": 'button "Subscribed"', "actions": ['click link "Join the club"']},
        {"match": "# Join the club", "actions": ['done "On the join page"']},
    ]
    # The first decision comes at once; the second takes a minute: the task is still
    # waiting for it when Ctrl-C comes. The follow-up task's calls are quick again.
    slow = [Fault("slow"), Fault("slow", ttft_ms=60_000.0)]
    with LocalModelServer(Cassette.loads(json.dumps({"steps": steps})), faults=slow) as model:
        child = spawn(model, site.url("/replay/v1/index.html"))
        try:
            child.expect("task> ")
            child.sendline("Subscribe to the newsletter")
            child.expect(r'click \[\d+\] button "Newsletter"')
            child.expect("outside the model")  # step 1 is over: step 2 waits on the model
            # Ctrl-C once the slow call has reached the server: pressed earlier, it would
            # stop the task before the call is sent, and the follow-up would pay for it.
            deadline = time.monotonic() + TIMEOUT
            while model.stats().requests < 2:
                assert time.monotonic() < deadline, "the second model call was never sent"
                time.sleep(0.01)
            child.sendintr()
            child.expect("task stopped")
            child.expect("task> ")
            # Same browser, same page: the click of the stopped task is still there.
            child.sendline("/observe")
            seen = child.expect(['button "Subscribed"', "error:"])
            assert seen == 0, f"the page is gone: {child.readline()}"
            child.expect("task> ")
            child.sendline("Now open the join page")
            child.expect("done:.*On the join page")
            child.expect("task> ")
            child.sendline("/quit")
            child.expect("bye")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
    assert child.exitstatus == 0, child.before
    stats = model.stats()
    assert stats.cancelled == 1  # the slow call, abandoned when the task stopped
    slow_call = next(r for r in stats.log if r.ttft_ms == 60_000.0)
    # ... at Ctrl-C, not when the client's 10 s first-token timeout would have cut it.
    assert slow_call.cancelled and slow_call.server_ms < 5_000
