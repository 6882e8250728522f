"""Bad input to every subcommand: one `error:` line on stderr naming what was wrong, an
exit code, nothing on stdout, never a traceback; and a model that cannot work (no server,
no key, a refused key, not an OpenAI server) stops the run at once, before the browser
does any work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_agent import __version__
from browser_agent.cli import EXIT_USAGE, main
from browser_agent.demo import load_cassette
from browser_agent.recording import Footer, Header, RecordingWriter
from browser_agent.records import ActionRecord, StepRecord
from browser_agent.testing import FixtureServer, LocalModelServer

ENV = ("OPENAI_BASE_URL", "OPENAI_API_KEY", "BROWSER_AGENT_MODEL", "BROWSER_AGENT_PRESET")
ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "fixtures" / "site" / "form.html")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """A recording with one step, a tasks file, a folder and a missing path."""
    rec = tmp_path / "rec.jsonl"
    with RecordingWriter(rec) as w:
        w.header(Header(task="t", start_url="http://127.0.0.1:1/"))
        step = StepRecord(n=1)
        step.actions.append(ActionRecord(id="1", name="click", args={"ref": 1}, label="[1]"))
        w.step(step, None)
        w.write(Footer(success=True, reason="done", steps=1))
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"task": "x", "url": "http://127.0.0.1:1/"}\n')
    return {
        "REC": str(rec),
        "TASKS": str(tasks),
        "DIR": str(tmp_path),
        "MISSING": str(tmp_path / "missing"),
        "UNDER_FILE": str(tasks / "report.html"),
    }


CASES: list[tuple[list[str], dict[str, str], int, str]] = [
    (["--bogus"], {}, EXIT_USAGE, "unrecognized arguments: --bogus"),
    (["--model", "m"], {"OPENAI_BASE_URL": "localhost"}, EXIT_USAGE, "OPENAI_BASE_URL"),
    (["--record", "DIR", "--model", "m"], {}, EXIT_USAGE, "is a directory"),
    (["run", "x", "--url", "http://127.0.0.1:1/"], {}, EXIT_USAGE, "no model"),
    (["run", "x", "--url", "example.com", "--model", "m"], {}, EXIT_USAGE, "--url"),
    (["run", "x", "--url", "http://a/", "--max-steps", "0"], {}, EXIT_USAGE, "--max-steps"),
    (["run", "x", "--url", "http://a/", "--max-steps", "two"], {}, EXIT_USAGE, "whole number"),
    (["run", "x", "--url", "http://a/", "--budget", "0"], {}, EXIT_USAGE, "--budget"),
    (["run", "x", "--url", "http://a/", "--budget", "nan"], {}, EXIT_USAGE, "--budget"),
    (["run", "x", "--url", "http://a/", "--record", "DIR"], {}, EXIT_USAGE, "is a directory"),
    (
        ["run", "x", "--url", "http://a/", "--model", "m"],
        {"OPENAI_BASE_URL": "ftp://models"},
        EXIT_USAGE,
        "OPENAI_BASE_URL: base_url must be an http(s) URL, got 'ftp://models'",
    ),
    (["run", "x", "--url", "http://a/", "--preset", "nope", "--model", "m"], {}, 2, "preset"),
    (["observe"], {}, EXIT_USAGE, "required: target"),
    (["observe", "nope.html"], {}, EXIT_USAGE, "no file 'nope.html'"),
    (["observe", "not a page"], {}, EXIT_USAGE, "neither a file nor a URL"),
    (["observe", "DIR"], {}, EXIT_USAGE, "is a directory"),
    (["observe", PAGE, "--max-chars", "0"], {}, EXIT_USAGE, "--max-chars: must be at least 1"),
    (["observe", PAGE, "--offline", "--max-chars", "900"], {}, EXIT_USAGE, "--offline"),
    (["observe", "MISSING", "--offline"], {}, EXIT_USAGE, "--offline needs a saved page"),
    (["bench", "extract", "--corpus", "MISSING"], {}, EXIT_USAGE, "--corpus"),
    (["bench", "fidelity", "--corpus", "MISSING"], {}, EXIT_USAGE, "--corpus"),
    (["bench", "extract", "--limit", "0"], {}, EXIT_USAGE, "--limit"),
    (["bench", "delta", "--repeat", "0"], {}, EXIT_USAGE, "--repeat"),
    (["bench", "load", "--agents", "0"], {}, EXIT_USAGE, "--agents"),
    (["bench", "load", "--seconds", "-1"], {}, EXIT_USAGE, "--seconds"),
    (["bench", "mcp", "--repeat", "0"], {}, EXIT_USAGE, "--repeat"),
    (["bench", "nope"], {}, EXIT_USAGE, "invalid choice: 'nope'"),
    (["demo", "--record", "DIR"], {}, EXIT_USAGE, "is a directory"),
    (["demo", "--bogus"], {}, EXIT_USAGE, "unrecognized arguments"),
    (["setup", "now"], {}, EXIT_USAGE, "unrecognized arguments: now"),
    (["replay", "MISSING"], {}, EXIT_USAGE, "cannot read"),
    (["replay", "TASKS"], {}, EXIT_USAGE, "not a recording"),
    (["replay", "REC", "--html", "UNDER_FILE"], {}, EXIT_USAGE, "Not a directory"),
    (["replay", "REC", "--rerun", "--fallback-model"], {}, 2, "--fallback-model needs a model"),
    (
        ["replay", "REC", "--rerun", "--fallback-model", "m", "--base-url", "x"],
        {},
        EXIT_USAGE,
        "--base-url",
    ),
    (["replay", "REC", "--show", "--rerun"], {}, EXIT_USAGE, "not allowed with"),
    (["batch", "MISSING", "--model", "m"], {}, EXIT_USAGE, "cannot read"),
    (["batch", "TASKS", "--concurrency", "0"], {}, EXIT_USAGE, "--concurrency"),
    (["batch", "TASKS", "--max-steps", "0"], {}, EXIT_USAGE, "--max-steps"),
    (["batch", "TASKS"], {}, EXIT_USAGE, "no model"),
    (["mcp", "--http", "0"], {}, EXIT_USAGE, "--http"),
    (["mcp", "--cdp", "ftp://x"], {}, EXIT_USAGE, "--cdp"),
    (["mcp", "--secrets", "MISSING"], {}, EXIT_USAGE, "secrets"),
]


@pytest.mark.parametrize(("argv", "env", "code", "needle"), CASES, ids=lambda v: repr(v)[:60])
def test_bad_arguments_give_one_error_line_and_an_exit_code(
    argv: list[str],
    env: dict[str, str],
    code: int,
    needle: str,
    files: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    argv = [files.get(a, a) for a in argv]
    assert main(argv) == code
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert out == "", out
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0], lines[0]
    assert "Traceback" not in err and "validation error" not in err and "usage:" not in err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"browser-agent {__version__}"
    assert main(["run", "--help"]) == 0
    assert "--max-steps" in capsys.readouterr().out


# ------------------------------------------------------- a model that cannot work


@pytest.fixture
def keyed_model() -> Iterator[LocalModelServer]:
    with LocalModelServer(load_cassette("shop_price"), api_key="sk-right-key-0123456789") as srv:
        yield srv


def _run(site: FixtureServer, base_url: str, *extra: str) -> list[str]:
    return ["run", "Price?", "--url", site.url("/shop/index.html"), "--base-url", base_url, *extra]


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), (out, err)
    assert "step 1" not in out  # the browser never did any work
    return lines[0]


def test_no_server_stops_at_once(site: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    t0 = time.perf_counter()
    code = main(_run(site, "http://127.0.0.1:1/v1", "--model", "m"))
    took = time.perf_counter() - t0
    line = _one_error(capsys)
    assert code == EXIT_USAGE and "no server answers at http://127.0.0.1:1/v1" in line
    # Before: the first call's retries, then max_steps, ~25 s. Loose for a loaded machine.
    assert took < 10, took


def test_a_missing_or_refused_key_stops_at_once(
    site: FixtureServer,
    keyed_model: LocalModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(_run(site, keyed_model.base_url, "--model", "local-model"))
    line = _one_error(capsys)
    assert code == EXIT_USAGE
    assert "needs an API key (it answered 401" in line and "set OPENAI_API_KEY" in line

    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-9876543210")
    code = main(_run(site, keyed_model.base_url, "--model", "local-model"))
    line = _one_error(capsys)
    assert code == EXIT_USAGE and "refused the API key (401" in line
    assert "sk-wrong-key" not in line and "***" in line  # the key echoed back is masked
    assert keyed_model.stats().requests == 0  # no model call was ever made

    monkeypatch.setenv("OPENAI_API_KEY", "sk-right-key-0123456789")
    assert main(_run(site, keyed_model.base_url, "--model", "local-model", "--json")) == 0


def test_a_server_that_is_not_openai_compatible_stops_at_once(
    site: FixtureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_run(site, site.origin, "--model", "m"))
    line = _one_error(capsys)
    assert code == EXIT_USAGE
    assert f"{site.origin} is not an OpenAI-compatible server" in line
    assert "does the URL need /v1?" in line
    assert main(_run(site, f"{site.origin}/v1", "--model", "m")) == EXIT_USAGE
    assert "GET models answered 404 text/html" in _one_error(capsys)


def test_an_unreachable_fallback_provider_does_not_stop_a_pool(
    site: FixtureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """With another provider that works, the run goes on (fallback as before)."""
    import anyio

    from browser_agent import Agent
    from browser_agent.llm import LLMPool, ProviderConfig

    async def go() -> bool:
        with LocalModelServer(load_cassette("shop_price")) as good:
            dead = ProviderConfig(name="dead", base_url="http://127.0.0.1:1/v1", model="m")
            live = ProviderConfig(name="live", base_url=good.base_url, model="local-model")
            async with LLMPool([dead, live]) as pool:
                url = site.url("/shop/index.html")
                agent = Agent("Price of the Green Teapot?", llm=pool, start_url=url)
                result = await agent.run()
                return result.success

    assert anyio.run(go)


@pytest.mark.parametrize(
    ("models", "chat", "key", "verdict"),
    [
        ((200, "application/json", '{"object": "list", "data": []}'), None, None, None),
        ((200, "application/json", "[]"), None, None, None),  # Together answers a bare list
        ((200, "text/html", "<html>shop</html>"), None, None, "not an OpenAI-compatible"),
        ((404, "text/plain", "404 page not found"), (404, "text/plain", "x"), None, "need /v1"),
        ((404, "text/plain", "not here"), (400, "application/json", "{}"), None, None),
        ((404, "application/json", '{"error": "no"}'), None, None, None),
        ((401, "application/json", '{"error": {"message": "no key"}}'), None, None, "needs an"),
        ((403, "application/json", "{}"), None, "sk-xyz-0123456789", "refused the API key (403)"),
        ((503, "text/html", "busy"), None, None, None),  # not certain: the call retries
    ],
)
def test_what_the_warm_up_answer_says(
    models: tuple[int, str, str],
    chat: tuple[int, str, str] | None,
    key: str | None,
    verdict: str | None,
) -> None:
    import anyio
    import httpx

    from browser_agent.llm import ProviderConfig
    from browser_agent.llm._probe import diagnose

    def answer(request: httpx.Request) -> httpx.Response:
        status, kind, body = models if request.method == "GET" else chat or (500, "", "")
        return httpx.Response(status, headers={"content-type": kind}, text=body)

    config = ProviderConfig(base_url="http://127.0.0.1:9/x", model="m", api_key=key)

    async def go() -> str | None:
        transport = httpx.MockTransport(answer)
        async with httpx.AsyncClient(base_url="http://127.0.0.1:9/x/", transport=transport) as c:
            return await diagnose(config, c, await c.get("models"), lambda t: t)

    found = anyio.run(go)
    assert (found is None) if verdict is None else (verdict in (found or "")), found
