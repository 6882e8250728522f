"""The action cache on the Tea House: a second run replays the task with no model call;
a renamed and moved button is re-targeted by its fingerprint; a new interstitial is
handed to the model, which takes that step, and the cache learns it; an answer read off
the page is read again, not replayed; runs of the same task at once keep the entry whole;
the CLI flags."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from cache_support import ANSWER, PIN, TASK, TEA_HOUSE, model_server, order, start_url

from browser_agent import Agent, Browser
from browser_agent.agent import validate_run_json
from browser_agent.cache import ActionCache, CacheError
from browser_agent.cli import EXIT_OK, EXIT_USAGE, main
from browser_agent.recording import read
from browser_agent.testing import Cassette, FixtureServer, LocalModelServer
from browser_agent.testing import CassetteStep as Reply

pytestmark = pytest.mark.anyio


@pytest.fixture
def model() -> Iterator[LocalModelServer]:
    with model_server() as srv:
        yield srv


def strings(text: str) -> str:
    """Every string (keys and values) of a JSON-lines file, one a line: where a typed
    secret could be. Its numbers (timings) are left out: a 4-digit PIN can turn up among
    their digits by chance."""

    def walk(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)

    return "\n".join(s for line in text.splitlines() if line for s in walk(json.loads(line)))


def targets(cache: ActionCache) -> list[str]:
    """The names of the targets in the (one) entry, in order."""
    (key,) = cache.keys()
    rec = read(cache.path(key)).sessions[0]
    return [a.target.name for s in rec.steps for a in s.actions if a.target is not None]


async def test_a_second_run_replays_the_whole_task_without_a_model_call(
    browser: Browser, site: FixtureServer, model: LocalModelServer, tmp_path: Path
) -> None:
    cache = ActionCache(tmp_path / "cache")
    first, calls = await order(site, browser, model, cache)
    assert first.success and first.output == ANSWER, (first.reason, first.detail)
    assert calls == 4 and first.cache is not None
    assert first.cache.outcome == "miss" and first.cache.stored
    assert first.cache.miss == "no entry for this task"

    before = len(site.submissions)
    second, calls = await order(site, browser, model, cache)
    assert second.success and second.output == ANSWER, (second.reason, second.detail)
    assert calls == 0  # the local model server counted no request
    assert second.cache is not None and second.cache.outcome == "hit"
    assert second.cache.cached_steps == [1, 2, 3, 4] and second.cache.model_steps == []
    assert [s.source for s in second.steps] == ["cache"] * 4
    assert [[a.name for a in s.actions] for s in second.steps] == [
        ["click"],
        ["click"],
        ["type", "type", "click"],
        ["done"],
    ]
    # The order really went through again, the secret typed from its placeholder.
    order_ = site.submissions[before]
    assert order_.first("name") == "Ada Lovelace" and order_.first("pin") == PIN
    assert order_.first("item") == "Sencha"

    # The report says which steps came from where, and their time.
    sources = second.report.sources
    assert list(sources) == ["cache"] and sources["cache"].steps == [1, 2, 3, 4]
    assert sources["cache"].ms == pytest.approx(sum(s.spans_ms["total"] for s in second.steps))
    assert "4 steps from the cache" in str(second.report.table().caption)
    assert first.report.sources["model"].steps == [1, 2, 3, 4]
    assert second.report.hedging.calls == 0  # no model span at all
    data = json.loads(second.to_json())
    validate_run_json(data)
    assert [s["source"] for s in data["steps"]] == ["cache"] * 4
    assert data["cache"]["outcome"] == "hit" and data["cache"]["cached_steps"] == [1, 2, 3, 4]

    # The secret stays a placeholder in the cache; nothing was left half-written.
    (entry,) = (tmp_path / "cache").glob("*.jsonl")
    text = entry.read_text("utf-8")
    assert "{{pin}}" in text and PIN not in strings(text)
    assert list((tmp_path / "cache" / ".partial").iterdir()) == []


async def test_a_renamed_and_moved_button_is_retargeted_by_its_fingerprint(
    browser: Browser, site: FixtureServer, model: LocalModelServer, tmp_path: Path
) -> None:
    cache = ActionCache(tmp_path / "cache")
    await order(site, browser, model, cache)
    assert "Add to basket" in targets(cache)

    # The product page now says "Put in bag", above the heading: no ref, role + name or
    # text matches; the recorded DOM path (anchored on the button's id) still does.
    result, calls = await order(site, browser, model, cache, variant="renamed")
    assert result.success and result.output == ANSWER, (result.reason, result.detail)
    assert calls == 0
    assert result.cache is not None and result.cache.outcome == "hit"
    assert result.cache.retargeted == ['step 2: click button "Add to basket" by path']
    (click,) = result.steps[1].actions
    assert click.label.endswith('button "Put in bag"') and click.timings["retargeted"]
    # The entry heals: it now knows the button by its new name.
    assert "Put in bag" in targets(cache) and "Add to basket" not in targets(cache)


async def test_a_new_interstitial_is_handed_to_the_model_and_the_cache_learns_it(
    browser: Browser, site: FixtureServer, model: LocalModelServer, tmp_path: Path
) -> None:
    cache = ActionCache(tmp_path / "cache")
    await order(site, browser, model, cache)

    # Adding to the basket now shows an offer first: the cached run expected the basket.
    before = len(site.submissions)
    result, calls = await order(site, browser, model, cache, variant="offer")
    assert result.success and result.output == ANSWER, (result.reason, result.detail)
    assert calls == 1  # that step only: then the page is back on the cached run
    s = result.cache
    assert s is not None and s.outcome == "partial"
    assert s.model_steps == [3] and s.cached_steps == [1, 2, 4, 5]
    (diverged,) = s.diverged
    assert diverged.startswith("step 3: expected the page") and "offer.html" in diverged
    assert s.resumed == ["step 4: cached step 3"]
    assert [a.label for a in result.steps[2].actions] == ['[1] button "No thanks"']
    assert result.steps[2].reply is not None and result.steps[2].source == "model"
    assert site.submissions[before].first("name") == "Ada Lovelace"
    assert s.stored

    # The cache was updated: the same page is now a hit.
    again, calls = await order(site, browser, model, cache, variant="offer")
    assert again.success and calls == 0
    assert again.cache is not None and again.cache.outcome == "hit"
    assert "No thanks" in targets(cache)


async def test_an_action_that_fails_on_the_page_hands_the_next_step_to_the_model(
    browser: Browser, site: FixtureServer, model: LocalModelServer, tmp_path: Path
) -> None:
    """A consent dialog covers the button the cached step clicks: that click fails (in
    about a second, not the action's whole timeout), the model accepts the dialog, and
    the cached run goes on from the step that failed."""
    cache = ActionCache(tmp_path / "cache")
    await order(site, browser, model, cache)

    result, calls = await order(site, browser, model, cache, variant="cookies")
    assert result.success and result.output == ANSWER, (result.reason, result.detail)
    assert calls == 1
    assert [s.source for s in result.steps] == ["cache", "cache", "model", *["cache"] * 3]
    (failed,) = result.steps[1].actions
    assert not failed.ok and "covered by dialog" in (failed.error or "")
    assert failed.end_ms - failed.start_ms < 4000  # the action's timeout is 5 s
    assert [a.label for a in result.steps[2].actions] == ['[3] button "Accept"']
    assert result.cache is not None and result.cache.resumed == ["step 4: cached step 2"]
    (diverged,) = result.cache.diverged
    assert diverged.startswith('step 2: click button "Add to basket" failed')


async def test_the_model_taking_over_gets_the_cached_steps_and_a_note(
    browser: Browser, site: FixtureServer, tmp_path: Path
) -> None:
    """The prompt of the model's first step after the hand-over holds the replayed
    actions and their results as its own turns, and says where the page differed."""
    cache = ActionCache(tmp_path / "cache")
    agents: list[Agent] = []
    with model_server() as srv:
        await order(site, browser, srv, cache)
        result, calls = await order(site, browser, srv, cache, variant="offer", agents=agents)
    assert result.success and calls == 1
    prompt = json.dumps(agents[0].last_prompt, ensure_ascii=False)
    assert prompt.count('"role": "assistant"') == 2 and prompt.count('"role": "tool"') == 2
    assert "navigated to" in prompt and "product.html?id=sencha" in prompt
    assert "2 step(s) of this task were replayed from the action cache" in prompt
    assert "offer.html" in prompt


async def test_an_answer_read_off_the_page_is_read_again(
    browser: Browser, site: FixtureServer, model: LocalModelServer, tmp_path: Path
) -> None:
    cache = ActionCache(tmp_path / "cache")
    await order(site, browser, model, cache)

    # Sencha now costs €14.00. The model would still say €12.50 (its script does); the
    # cached run reads the price again where the recorded answer found it.
    result, calls = await order(site, browser, model, cache, variant="price")
    assert result.success and calls == 0, (result.reason, result.detail)
    assert result.output == ANSWER.replace("€12.50", "€14.00")
    assert result.cache is not None and result.cache.recomputed == ["step 4: €12.50 -> €14.00"]
    assert result.steps[-1].actions[0].args["result"] == result.output


def _basket(*actions: str) -> Cassette:
    """The Tea House script with other basket actions."""
    steps = [
        Reply(match="# Your basket", actions=list(actions))
        if getattr(r, "match", "") == "# Your basket"
        else r
        for r in TEA_HOUSE.steps
    ]
    return Cassette.of(*steps)


async def test_typed_values_read_off_the_page_are_read_again_and_masked_ones_go_to_the_model(
    browser: Browser, site: FixtureServer, tmp_path: Path
) -> None:
    # The model typed a price it read: on the cached run it types the live one.
    cassette = _basket(
        'type textbox "Name" "Ada Lovelace, paid €12.50"',
        'type textbox "Card PIN" "{{pin}}"',
        'click button "Place order"',
    )
    cache = ActionCache(tmp_path / "typed")
    with model_server(cassette) as srv:
        await order(site, browser, srv, cache)
        before = len(site.submissions)
        result, calls = await order(site, browser, srv, cache, variant="price")
    assert result.success and calls == 0, (result.reason, result.detail)
    assert site.submissions[before].first("name") == "Ada Lovelace, paid €14.00"
    assert result.cache is not None
    assert result.cache.recomputed == ["step 3: €12.50 -> €14.00", "step 4: €12.50 -> €14.00"]

    # The model typed the PIN in clear. Known as a secret, it is kept as its placeholder
    # and replayed; unknown, it is masked in the cache, and that action is the model's
    # again (the name typed before it was replayed).
    cassette = _basket(
        'type textbox "Name" "Ada Lovelace"',
        f'type textbox "Card PIN" "{PIN}"',
        'click button "Place order"',
    )
    for secrets, calls_then in (({"pin": PIN}, 0), ({}, 1)):
        cache = ActionCache(tmp_path / f"clear-{calls_then}")
        with model_server(cassette) as srv:
            await order(site, browser, srv, cache, secrets=secrets)
            (entry,) = cache.keys()
            text = cache.path(entry).read_text("utf-8")
            assert PIN not in strings(text) and ("{{pin}}" in text) == bool(secrets)
            before = len(site.submissions)
            result, calls = await order(site, browser, srv, cache, secrets=secrets)
        assert result.success and calls == calls_then, (result.reason, result.detail)
        assert site.submissions[before].first("pin") == PIN
        assert result.cache is not None
    assert result.cache.model_steps == [4]
    assert "masked" in result.cache.diverged[0]


async def test_an_answer_the_model_worked_out_is_asked_again(
    browser: Browser, site: FixtureServer, tmp_path: Path
) -> None:
    """€25.00 (two boxes) is on no page: it cannot be read again, so the step that
    answers goes to the model; the steps before it still come from the cache."""
    worked_out = "Two boxes of Sencha would cost €25.00."
    steps = [Reply(match="# Received", actions=[f"done {json.dumps(worked_out)}"])]
    cassette = Cassette.of(*steps, *TEA_HOUSE.steps[1:])
    cache = ActionCache(tmp_path / "cache")
    with model_server(cassette) as srv:
        await order(site, browser, srv, cache)
        result, calls = await order(site, browser, srv, cache)
    assert result.success and result.output == worked_out
    assert calls == 1
    assert result.cache is not None
    assert result.cache.cached_steps == [1, 2, 3] and result.cache.model_steps == [4]
    assert "worked out" in result.cache.diverged[0]


async def test_an_entry_that_cannot_be_stored_leaves_the_result_and_says_why(
    browser: Browser,
    site: FixtureServer,
    model: LocalModelServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = ActionCache(tmp_path / "cache")

    def full_disk(self: ActionCache, partial: Path, key: str) -> Path:
        self.discard(partial)
        raise CacheError(f"cannot store the entry in {self.directory}: No space left on device")

    monkeypatch.setattr(ActionCache, "commit", full_disk)
    result, calls = await order(site, browser, model, cache)
    assert result.success and result.output == ANSWER and calls == 4
    assert result.cache is not None and not result.cache.stored
    assert "No space left on device" in result.cache.error
    assert cache.keys() == [] and list((tmp_path / "cache" / ".partial").iterdir()) == []


async def test_a_failure_of_the_cache_itself_leaves_the_task_to_the_model(
    browser: Browser,
    site: FixtureServer,
    model: LocalModelServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from browser_agent.cache.player import CachePlayer

    cache = ActionCache(tmp_path / "cache")
    await order(site, browser, model, cache)

    async def broken(self: CachePlayer, k: int, obs: object) -> str | None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(CachePlayer, "_check", broken)
    result, calls = await order(site, browser, model, cache)
    assert result.success and result.output == ANSWER and calls == 4
    assert result.cache is not None and result.cache.outcome == "miss"
    assert result.cache.diverged == ["step 1: the cache failed: RuntimeError"]


async def test_runs_of_the_same_task_at_once_keep_the_entry_whole(
    site: FixtureServer,
    model: LocalModelServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`batch --cache`: two runs of one task at once, both storing, then both replaying."""
    monkeypatch.setenv("OPENAI_BASE_URL", model.base_url)
    monkeypatch.setenv("BROWSER_AGENT_MODEL", "local-model")
    monkeypatch.delenv("BROWSER_AGENT_CACHE", raising=False)
    tasks = tmp_path / "tasks.jsonl"
    line = {"task": TASK, "url": start_url(site)}
    tasks.write_text("".join(json.dumps({**line, "id": f"t{i}"}) + "\n" for i in range(2)))
    cache_dir = tmp_path / "cache"
    argv = ["batch", str(tasks), "--concurrency", "2", "--cache", str(cache_dir), "--json"]
    argv += ["--record-dir", str(tmp_path / "recs")]

    for outcome, calls in (("miss", 8), ("hit", 0)):
        before = model.stats().requests
        code = await anyio.to_thread.run_sync(main, argv)
        data = json.loads(capsys.readouterr().out)
        assert code == EXIT_OK, data
        assert [t["cache"] for t in data["tasks"]] == [outcome, outcome]
        assert model.stats().requests - before == calls
        # One entry, complete, from a successful run; no partial file left behind.
        (entry,) = cache_dir.glob("*.jsonl")
        f = read(entry)
        assert len(f.sessions) == 1 and not f.torn and f.sessions[0].footer is not None
        assert f.sessions[0].footer.success and len(f.sessions[0].steps) == 4
        assert list((cache_dir / ".partial").iterdir()) == []


async def test_cli_cache_and_no_cache(
    site: FixtureServer,
    model: LocalModelServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("BROWSER_AGENT_CACHE", raising=False)
    argv = ["run", TASK, "--url", start_url(site), "--base-url", model.base_url]
    argv += ["--model", "local-model", "--json"]
    cache_dir = tmp_path / "cache"

    async def run(*extra: str) -> tuple[dict[str, object], int]:
        before = model.stats().requests
        code = await anyio.to_thread.run_sync(main, [*argv, *extra])
        assert code == EXIT_OK
        return json.loads(capsys.readouterr().out), model.stats().requests - before

    data, calls = await run("--cache", str(cache_dir))
    assert calls == 4 and data["cache"]["outcome"] == "miss"  # type: ignore[index]
    data, calls = await run("--cache", str(cache_dir))
    assert calls == 0 and data["cache"]["outcome"] == "hit"  # type: ignore[index]
    # The environment names a default cache; --no-cache turns it off for one run.
    monkeypatch.setenv("BROWSER_AGENT_CACHE", str(cache_dir))
    data, calls = await run()
    assert calls == 0 and data["cache"]["outcome"] == "hit"  # type: ignore[index]
    data, calls = await run("--no-cache")
    assert calls == 4 and "cache" not in data
    # A user key is part of the task's key: another key, another entry.
    data, calls = await run("--cache-key", "v2")
    assert calls == 4 and data["cache"]["outcome"] == "miss"  # type: ignore[index]
    assert len(ActionCache(cache_dir).keys()) == 2
    assert ActionCache(cache_dir).clear() == 2 and ActionCache(cache_dir).keys() == []

    # A file where the cache should be is a usage error, with nothing lost.
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = await anyio.to_thread.run_sync(main, [*argv, "--cache", str(blocker)])
    assert code == EXIT_USAGE
    assert "is not a directory" in " ".join(capsys.readouterr().err.split())
    assert blocker.read_text() == "not a directory"


def test_a_bad_cache_argument_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CacheError, match="is not a directory"):
        Agent("a task", cache=blocker)
    with pytest.raises(CacheError, match="empty"):
        Agent("a task", cache=" ")
