"""Re-running a recording without a model: on the same site, on a reordered site with
other ids (it must pass), on a translated site found by DOM paths, on a broken site (it
must name the step), with a fallback model (API and CLI)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from replay_support import config, record_join

from browser_agent import Browser
from browser_agent.cli import EXIT_FAILED, EXIT_OK, main
from browser_agent.recording import Fingerprint, dom_paths, read
from browser_agent.replay import locate, model_fallback, rerun
from browser_agent.testing import Cassette, FixtureServer, LocalModelServer

pytestmark = pytest.mark.anyio


async def cli(argv: list[str]) -> int:
    return await anyio.to_thread.run_sync(main, argv)


@pytest.fixture(scope="module")
async def rbrowser(shared_browser: Browser) -> AsyncIterator[Browser]:
    """A context of the session's browser (same loopback policy) for this module."""
    async with await shared_browser.new_context() as b:
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
    # After each action the rerun waited for what the recording shows next (the next
    # URL, the next target), never for the full settle that takes over when it does
    # not come.
    waits = [(a.label, a.wait) for s in report.steps for a in s.actions]
    assert all(w == "expected" for _, w in waits), waits
    # No model and no quiet windows: a fraction of the recorded time (about a third
    # here, with a fast model's pace; loose, so a loaded machine does not make it flaky).
    assert report.ratio < 0.8, (report.rerun_ms, report.recorded_ms)


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


async def test_rerun_finds_targets_by_dom_path_when_names_and_text_changed(
    recorded: Path, rbrowser: Browser, site: FixtureServer
) -> None:
    """The site was translated and its ids regenerated: no role + name and no text
    matches any more, but every target still sits where its recorded DOM path says."""
    url = site.url("/replay/v3/index.html")
    f = read(recorded)
    targets = [a.target for s in f.sessions[0].steps for a in s.actions if a.target]
    assert all(t.path for t in targets)  # captured in the page when recorded

    before = len(site.submissions)
    page = await rbrowser.new_page()
    report = await rerun(f, page, start_url=url, values={"Password": "from-the-vault"})
    await page.close()
    assert report.ok, report.divergences
    assert [[a.how for a in s.actions] for s in report.steps] == [["path"] * 2, ["path"] * 5, []]
    order = site.submissions[before]
    assert order.first("name") == "Ada Lovelace" and order.first("plan") == "green"
    assert order.first("agree") == "yes" and order.first("password") == "from-the-vault"

    # Without the paths the same rerun has nothing to go by: the first target is lost.
    for t in targets:
        t.path = ""
    page = await rbrowser.new_page()
    report = await rerun(f, page, start_url=url)
    await page.close()
    assert not report.ok
    assert "Newsletter" in (report.divergences[0].divergence or "")


async def test_a_version_1_recording_still_reruns(
    recorded: Path, rbrowser: Browser, site: FixtureServer
) -> None:
    """Version 1 stored an observation path (`frame>role:k`); it is still matched."""
    f = read(recorded)
    rec = f.sessions[0]
    rec.header.version = 1
    form = rec.steps[1]
    for a in form.actions:
        assert a.target is not None
        a.target.path = f">{a.target.role}:0"  # each is the first of its role there
        a.target.name = "renamed"  # so neither role + name nor text can match
    page = await rbrowser.new_page()
    report = await rerun(f, page, start_url=site.url("/replay/v1/index.html"))
    await page.close()
    assert report.ok, report.divergences
    assert [a.how for a in report.steps[1].actions] == ["path"] * 5


async def test_dom_paths_skip_generated_ids_and_survive_a_wrapper(
    rbrowser: Browser, site: FixtureServer
) -> None:
    page = await rbrowser.new_page()
    await page.goto(site.url("/replay/paths.html"))
    obs = await page.observe()
    removes = [e.ref for e in obs.elements.values() if e.name == "Remove"]
    link, note = obs.get("link").ref, obs.get("textbox", "Note").ref
    paths = await dom_paths(page, [*removes, link, note])
    second = paths[removes[1]]
    # Generated ids (`s-1712345`, `:r2:`, `ember4821`) are left out; alike siblings get
    # their place; a link keeps the last part of its path; a stable unique id anchors.
    assert second == (
        'main > section[aria-label="Basket"] > ul > li:nth(2) > button[type="button"]'
    )
    assert paths[link] == 'main > p:nth(1) > a[href="cart.html"]'
    assert paths[note] == 'input#note[name="note"][type="text"]'

    # The list gets wrapped (a redesign): the exact chain breaks, the best match holds.
    await page.playwright_page.evaluate(
        "() => { const ul = document.querySelector('ul'); const d = document.createElement('div');"
        " ul.replaceWith(d); d.append(ul); }"
    )
    obs = await page.observe()
    renamed = Fingerprint(ref=0, role="button", name="Delete", tag="button", path=second)
    # (The elements were moved, not re-created: their refs are the same as before.)
    assert await locate(page, renamed, obs) == (removes[1], "path")
    await page.close()


async def test_dom_paths_cross_shadow_roots_and_same_origin_frames(
    rbrowser: Browser, site: FixtureServer
) -> None:
    page = await rbrowser.new_page()
    for url, sep in (("/shadow.html", " >> "), ("/iframes.html", " >>> ")):
        await page.goto(site.url(url))
        obs = await page.observe()
        refs = [r for r in obs.elements if r < 100_000]
        paths = await dom_paths(page, refs)
        assert any(sep in p for p in paths.values()), paths
        for ref, path in paths.items():
            el = obs.elements[ref]
            fp = Fingerprint(ref=0, role=el.role, name="renamed", tag=el.tag, path=path)
            assert await locate(page, fp, obs) == (ref, "path"), path
    await page.close()


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


async def test_cli_fallback_model_takes_the_divergent_step(
    recorded: Path,
    site: FixtureServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    url = site.url("/replay/broken/index.html")
    helper = Cassette.of('click link "join the waiting list"', 'done "On the waiting list"')
    with LocalModelServer(helper) as srv:
        argv = ["replay", str(recorded), "--rerun", "--url", url, "--base-url", srv.base_url]
        code = await cli([*argv, "--fallback-model", "local-model"])
        out = " ".join(capsys.readouterr().out.split())  # whatever rich wrapped
        assert code == EXIT_OK, out
        assert "step 2" in out and "handed to the model" in out and "Create account" in out
        assert "rerun passed" in out
        assert srv.stats().requests >= 1

        code = await cli([*argv, "--fallback-model", "local-model", "--json"])
        assert code == EXIT_OK
        data = json.loads(capsys.readouterr().out)
        form = data["steps"][1]
        assert data["ok"] and form["fallback"] and form["ok"]
        assert data["divergences"] == [{"session": 0, "step": 2, "divergence": form["divergence"]}]


async def test_cli_without_a_fallback_fails_on_the_divergent_step(
    recorded: Path,
    site: FixtureServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    url = site.url("/replay/broken/index.html")
    argv = ["replay", str(recorded), "--rerun", "--url", url]
    assert await cli(argv) == EXIT_FAILED
    out = " ".join(capsys.readouterr().out.split())
    assert "step 2" in out and "divergence" in out and "Create account" in out
    assert "handed to the model" not in out and "rerun diverged" in out

    assert await cli([*argv, "--json"]) == EXIT_FAILED
    data = json.loads(capsys.readouterr().out)
    assert not data["ok"] and [s["step"] for s in data["steps"]] == [1, 2]
    (bad,) = data["divergences"]
    assert bad["step"] == 2 and 'click button "Create account"' in bad["divergence"]


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
