"""Re-running a recording without a model: on the same site, on a reordered site with
other ids (it must pass), on a broken site (it must name the step), with a fallback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from replay_support import config, record_join

from browser_agent import Browser
from browser_agent.cli import EXIT_FAILED, EXIT_OK, main
from browser_agent.llm import Cassette, LocalModelServer
from browser_agent.replay import model_fallback, rerun
from fixtures.server import FixtureServer

pytestmark = pytest.mark.anyio


async def cli(argv: list[str]) -> int:
    return await anyio.to_thread.run_sync(main, argv)


@pytest.fixture(scope="module")
async def rbrowser(anyio_backend: str) -> AsyncIterator[Browser]:
    async with Browser.launch(allowed_domains=["127.0.0.1"]) as b:
        yield b


@pytest.fixture(scope="module")
async def recorded(
    rbrowser: Browser, site: FixtureServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The join flow recorded with a fast hosted model's pace (~150 ms to first token)."""
    path = tmp_path_factory.mktemp("replay") / "join.jsonl"
    result, _ = await record_join(site, rbrowser, path)
    assert result.success, (result.reason, result.detail)
    return path


async def test_rerun_on_the_same_site_without_a_model(
    recorded: Path, rbrowser: Browser, site: FixtureServer
) -> None:
    before = len(site.submissions)
    page = await rbrowser.new_page()
    report = await rerun(recorded, page, start_url=site.url("/replay/v1/index.html"))
    await page.close()
    assert report.ok, report.divergences
    assert [s.step for s in report.steps] == [1, 2, 3]
    assert all(a.how == "ref" for s in report.steps for a in s.actions)
    order = site.submissions[before]
    assert order.first("plan") == "green" and order.first("agree") == "yes"
    # No model: the rerun takes a fraction of the recorded time (about half here, with a
    # fast model's pace; loose, so a loaded machine does not make it flaky).
    assert report.rerun_ms < report.recorded_ms, (report.rerun_ms, report.recorded_ms)


async def test_rerun_survives_reordered_elements_and_new_ids(
    recorded: Path, rbrowser: Browser, site: FixtureServer
) -> None:
    before = len(site.submissions)
    page = await rbrowser.new_page()
    report = await rerun(
        recorded,
        page,
        start_url=site.url("/replay/v2/index.html"),
        values={"Password": "from-the-vault"},
    )
    await page.close()
    assert report.ok, report.divergences
    form = report.steps[1]
    assert [a.how for a in form.actions] == ["role+name"] * 5  # every ref moved
    assert all(a.ref != a.recorded_ref for a in form.actions)
    order = site.submissions[before]
    assert order.first("name") == "Ada Lovelace" and order.first("plan") == "green"
    assert order.first("password") == "from-the-vault"  # the redacted value, supplied


async def test_rerun_reports_the_step_a_real_change_breaks(
    recorded: Path, rbrowser: Browser, site: FixtureServer
) -> None:
    page = await rbrowser.new_page()
    report = await rerun(recorded, page, start_url=site.url("/replay/broken/index.html"))
    await page.close()
    assert not report.ok
    assert [(s.step, s.ok) for s in report.steps] == [(1, True), (2, False)]
    bad = report.divergences
    assert len(bad) == 1 and bad[0].step == 2
    assert 'click button "Create account"' in (bad[0].divergence or "")
    assert bad[0].actions[-1].error


async def test_a_fallback_model_takes_the_divergent_step(
    recorded: Path, rbrowser: Browser, site: FixtureServer
) -> None:
    helper = Cassette.of('click link "join the waiting list"', 'done "On the waiting list"')
    with LocalModelServer(helper) as srv:
        page = await rbrowser.new_page()
        report = await rerun(
            recorded,
            page,
            start_url=site.url("/replay/broken/index.html"),
            fallback=model_fallback(config(srv)),
        )
        await page.close()
    form = report.steps[1]
    assert form.fallback and form.ok and "Create account" in (form.divergence or "")
    assert srv.stats().requests >= 1


async def test_cli_rerun_exit_codes_and_json(
    recorded: Path, site: FixtureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = site.url("/replay/v2/index.html")
    code = await cli(["replay", str(recorded), "--rerun", "--url", url, "--json"])
    assert code == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["rerun_ms"] < data["recorded_ms"]

    url = site.url("/replay/broken/index.html")
    assert await cli(["replay", str(recorded), "--rerun", "--url", url]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "step 2" in out and "divergence" in out and "Create account" in out
