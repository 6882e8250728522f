"""`batch`: many tasks over a pool of browser contexts on a Playwright server, with a
recording per task, a summary and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from replay_support import CASSETTE, TASK
from test_remote import playwright_server  # noqa: F401  (a module-scoped fixture)

from browser_agent.cli import EXIT_OK, EXIT_USAGE, main
from browser_agent.recording import read
from browser_agent.testing import Cassette, FixtureServer, LocalModelServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalModelServer]:
    with LocalModelServer(Cassette.load(CASSETTE)) as srv:
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
    tasks = tmp_path / "tasks.jsonl"
    variants = ["v1", "v2"] * 4
    tasks.write_text(
        "".join(
            json.dumps({"id": f"t{i}", "task": TASK, "url": site.url(f"/replay/{v}/index.html")})
            + "\n"
            for i, v in enumerate(variants)
        )
    )
    before = len(site.submissions)
    out_dir = tmp_path / "recs"
    argv = ["batch", str(tasks), "--concurrency", "4", "--cdp", playwright_server]
    argv += ["--record-dir", str(out_dir), "--json"]
    code = await anyio.to_thread.run_sync(main, argv)
    data = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK, data
    assert data["ok"] and data["concurrency"] == 4
    assert [t["id"] for t in data["tasks"]] == [f"t{i}" for i in range(8)]
    assert all(t["success"] and t["endpoint"] == playwright_server for t in data["tasks"])
    # Contexts are not shared: every task submitted its own order.
    assert len(site.submissions) - before == 8
    for t in data["tasks"]:
        rec = read(t["record"]).sessions[0]
        assert rec.complete and rec.footer is not None and rec.footer.success
    # With 4 at a time, 8 tasks take well under 8 sequential runs.
    assert data["ms"] < sum(t["ms"] for t in data["tasks"]) * 0.75


async def test_batch_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task": "x", "url": "nowhere"}\n')
    code = await anyio.to_thread.run_sync(main, ["batch", str(bad), "--model", "m"])
    assert code == EXIT_USAGE
    assert "full URL" in capsys.readouterr().err
