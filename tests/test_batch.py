"""`batch`: many tasks over a pool of browser contexts on a Playwright server, with a
recording per task, a summary and exit codes. The batch over the server is also the one
that checks contexts stay isolated over a server (test_faults_concurrency checks it on a
launched browser): every run of 8 agents costs ~10 s on two cores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from test_faults_concurrency import STORES, TASKS, check_complete, stores_seen
from test_remote import playwright_server  # noqa: F401  (a module-scoped fixture)

from browser_agent.cli import EXIT_OK, EXIT_USAGE, main
from browser_agent.demo import load_cassette
from browser_agent.recording import read
from browser_agent.testing import FixtureServer, LocalModelServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalModelServer]:
    with LocalModelServer(load_cassette("isolation")) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("BROWSER_AGENT_MODEL", "local-model")
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        yield srv


async def test_batch_over_a_playwright_server(
    playwright_server: str,  # noqa: F811
    model: LocalModelServer,
    site: FixtureServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """8 tasks, 4 at a time, each in a context of its own: each writes its token into
    cookie, localStorage, sessionStorage and IndexedDB, then lists every token it can
    see. Tasks 5-8 start in slots tasks 1-4 left: a context kept or shared would show
    them foreign tokens."""
    tasks = tmp_path / "tasks.jsonl"
    task = "Save your token, then check which tokens the storage holds"
    tasks.write_text(
        "".join(
            json.dumps(
                {"id": f"t{i}", "task": task, "url": site.url(f"/isolation/write.html?who=t{i}")}
            )
            + "\n"
            for i in range(TASKS)
        )
    )
    out_dir = tmp_path / "recs"
    argv = ["batch", str(tasks), "--concurrency", "4", "--cdp", playwright_server]
    argv += ["--record-dir", str(out_dir), "--json"]
    code = await anyio.to_thread.run_sync(main, argv)
    data = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK, data
    assert data["ok"] and data["concurrency"] == 4
    assert [t["id"] for t in data["tasks"]] == [f"t{i}" for i in range(TASKS)]
    assert all(t["success"] and t["endpoint"] == playwright_server for t in data["tasks"])
    for t in data["tasks"]:
        rec = read(t["record"]).sessions[0]
        check_complete(rec, task, t["steps"])
        assert rec.footer is not None and rec.footer.reason == "done" and rec.footer.success
        # Contexts are not shared: each task sees its own token and no other.
        assert "Check complete" in rec.steps[-1].text
        seen = stores_seen(rec.steps[-1].text)
        assert seen == {store: [t["id"]] for store in STORES}, (t["id"], seen)
    # With 4 at a time, 8 tasks take well under 8 sequential runs.
    assert data["ms"] < sum(t["ms"] for t in data["tasks"]) * 0.75


async def test_batch_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task": "x", "url": "nowhere"}\n')
    code = await anyio.to_thread.run_sync(main, ["batch", str(bad), "--model", "m"])
    assert code == EXIT_USAGE
    assert "full URL" in capsys.readouterr().err
