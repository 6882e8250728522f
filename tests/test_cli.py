"""The command line: `run` (config, live display, JSON, exit codes), `demo`, `bench agent`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser_agent.agent import validate_run_json
from browser_agent.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from browser_agent.demo import load_cassette
from browser_agent.display import budget_bar
from browser_agent.testing import Cassette, FixtureServer, LocalModelServer

ENV = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "BROWSER_AGENT_MODEL", "BROWSER_AGENT_PRESET")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def model() -> Iterator[LocalModelServer]:
    with LocalModelServer(load_cassette("shop_price")) as srv:
        yield srv


def run_args(site: FixtureServer, model: LocalModelServer, *extra: str) -> list[str]:
    return [
        "run",
        "How much does the Green Teapot cost?",
        "--url",
        site.url("/shop/index.html"),
        "--base-url",
        model.base_url,
        "--model",
        "local-model",
        *extra,
    ]


def test_run_without_a_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "do it", "--url", "http://127.0.0.1:1/"])
    assert code == EXIT_USAGE
    assert "no model" in capsys.readouterr().err


def test_run_with_a_bad_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "do it", "--url", "example", "--model", "m"])
    assert code == EXIT_USAGE
    assert "--url" in capsys.readouterr().err


def test_run_takes_its_model_from_the_environment(
    site: FixtureServer,
    model: LocalModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
    monkeypatch.setenv("BROWSER_AGENT_MODEL", "local-model")
    code = main(["run", "Teapot price?", "--url", site.url("/shop/index.html"), "--json"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    data = json.loads(out)
    validate_run_json(data)
    assert data["success"] is True and data["output"] == "The Green Teapot costs €27.00"
    assert [a["name"] for s in data["steps"] for a in s["actions"]] == ["type", "click", "done"]


def test_run_json_prints_one_object_and_records(
    site: FixtureServer,
    model: LocalModelServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = tmp_path / "run.jsonl"
    code = main(run_args(site, model, "--json", "--record", str(record), "--budget", "60"))
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert out.count("\n") == 1  # one JSON object, nothing else on stdout
    parsed = validate_run_json(out)
    assert parsed.success and len(parsed.steps) == 3
    assert set(parsed.report) >= {"llm_total", "total"}
    lines = record.read_text().splitlines()
    assert json.loads(lines[0])["type"] == "header"
    assert json.loads(lines[-1])["type"] == "footer"


def test_run_shows_steps_live_and_the_report(
    site: FixtureServer, model: LocalModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(run_args(site, model))
    out = capsys.readouterr().out
    assert code == EXIT_OK
    for text in ("step 1", 'type [5] searchbox "Search products"', "step 3", "timing report"):
        assert text in out
    assert out.index("step 1") < out.index("step 2") < out.index("timing report")
    assert "€27.00" in out
    # A budget bar after every step: the session's clock and steps against the limits.
    bars = [line for line in out.splitlines() if line.strip().startswith("budget")]
    assert len(bars) == out.count("(first token") == 3
    assert "/300 s · step 1/30 · this step" in bars[0] and "step 3/30" in bars[-1]


def test_budget_bar_fills_and_colours_with_use() -> None:
    assert budget_bar(0, 10, width=10) == "[green][/][dim]░░░░░░░░░░[/]"
    assert budget_bar(7, 10, width=10) == "[yellow]███████[/][dim]░░░[/]"
    assert budget_bar(25, 10, width=10) == "[red]██████████[/][dim][/]"  # clamped when over


def test_a_failed_task_exits_1(site: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    with LocalModelServer(Cassette.of('done "No such product" fail')) as srv:
        code = main(run_args(site, srv, "--json"))
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == EXIT_FAILED
    assert data["success"] is False and data["reason"] == "done"


def test_max_steps_flag(site: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    with LocalModelServer(Cassette.of(*(["scroll down"] * 5))) as srv:
        code = main(run_args(site, srv, "--json", "--max-steps", "2"))
    data = json.loads(capsys.readouterr().out)
    assert code == EXIT_FAILED and data["reason"] == "max_steps" and len(data["steps"]) == 2


def test_demo_json_places_the_order(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--json"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out[-2000:]
    data = json.loads(out)
    validate_run_json(data)
    assert data["success"] is True and data["verified"] is True
    assert data["order"]["items"] == "Blue Kettle x1"
    assert len(data["steps"]) == 7
    assert data["non_model_ms"]["p95"] >= data["non_model_ms"]["p50"] >= 0


def test_bench_agent_is_wired(monkeypatch: pytest.MonkeyPatch) -> None:
    from browser_agent.bench import agent as bench_agent

    calls: list[dict[str, Any]] = []

    async def fake_run(json_output: bool = False, quick: bool = False) -> dict[str, Any]:
        calls.append({"json_output": json_output, "quick": quick})
        return {}

    monkeypatch.setattr(bench_agent, "run", fake_run)
    assert main(["bench", "agent", "--json", "--quick"]) == EXIT_OK
    assert calls == [{"json_output": True, "quick": True}]


def test_bench_load_runs_agents_concurrently(capsys: pytest.CaptureFixture[str]) -> None:
    """A short real run: two agents on the shop with the local model server, as JSON."""
    code = main(["bench", "load", "--json", "--agents", "1", "2", "--seconds", "1.5"])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out[-2000:]
    data = json.loads(out)
    assert [row["agents"] for row in data["levels"]] == [1, 2]
    for row in data["levels"]:
        assert row["completed"] >= 1, row
        assert row["errors"] == 0, row["error_samples"]
        assert row["steps"] >= row["completed"]
        assert row["overhead_p95_ms"] >= row["overhead_p50_ms"] > 0
