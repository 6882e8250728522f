"""The `browser-agent` command line."""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from rich.console import Console

from .arguments import UsageParser, config_error, http_url, record_file, seconds, whole
from .exceptions import BrowserAgentError, ConfigurationError
from .terminal import console as make_console
from .terminal import plain, print_error

if TYPE_CHECKING:
    from .cache import ActionCache
    from .llm import ProviderConfig

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
"""0: done; 1: the task, rerun or benchmark check failed, or the runtime hit an error;
2: bad input or set-up (a flag, a file, the model's configuration); 130: Ctrl-C."""

MODEL_VARIABLES = {
    "base_url": "--base-url / OPENAI_BASE_URL",
    "model": "--model / BROWSER_AGENT_MODEL",
    "api_key": "OPENAI_API_KEY",
}
"""Where each model setting comes from, for error messages."""


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = UsageParser(
        prog="browser-agent",
        description="A runtime for LLM browser agents whose non-model time is close to zero.",
    )
    p.add_argument("--version", action="version", version=f"browser-agent {__version__}")
    p.add_argument("--url", default=None, help="interactive session: the page to start on")
    p.add_argument("--base-url", default=None, help="interactive session: model endpoint")
    p.add_argument("--model", default=None, help="interactive session: model name")
    p.add_argument("--preset", default=None, help="interactive session: a known provider")
    p.add_argument("--headed", action="store_true", help="interactive session: show the browser")
    p.add_argument(
        "--record", type=record_file, default=None, help="interactive session: record tasks here"
    )
    sub = p.add_subparsers(dest="command")

    r = sub.add_parser("run", help="run a task with a model (OpenAI-compatible endpoint)")
    r.add_argument("task", help="what to do, in plain words")
    r.add_argument("--url", required=True, type=http_url, help="the page to start from")
    r.add_argument("--base-url", default=None, help="model endpoint (default: OPENAI_BASE_URL)")
    r.add_argument("--model", default=None, help="model name (default: BROWSER_AGENT_MODEL)")
    r.add_argument("--preset", default=None, help="a known provider: groq, cerebras, openai, …")
    r.add_argument("--budget", type=seconds, default=300.0, help="wall-clock budget in seconds")
    r.add_argument("--max-steps", type=whole(1), default=30)
    r.add_argument("--headed", action="store_true", help="show the browser window")
    r.add_argument("--cdp", default=None, help="drive a remote browser (CDP or Playwright URL)")
    r.add_argument(
        "--record", type=record_file, default=None, help="append the session to this file"
    )
    r.add_argument("--json", action="store_true", help="print one JSON object at the end")
    r.add_argument(
        "--allowed-domains",
        default=None,
        help="comma-separated hosts the browser may reach (wildcards: *.example.com); "
        "everything else is blocked",
    )
    r.add_argument("--blocked-domains", default="", help="comma-separated hosts always blocked")
    _cache_flags(r)
    r.add_argument("--cache-key", default=None, help="mixed into the task's cache key")

    o = sub.add_parser("observe", help="print the serialization of a page and its timing")
    o.add_argument("target", help="URL, or path of an .html file")
    o.add_argument("--json", action="store_true", help="machine-readable output")
    o.add_argument("--full", action="store_true", help="force a full pass (the first always is)")
    o.add_argument("--offline", action="store_true", help="serialize the file with selectolax")
    o.add_argument(
        "--max-chars", type=whole(1), default=None, help="size cap of the text (live only)"
    )
    o.add_argument("--chromium", default=None, help="Chromium executable to use")
    o.add_argument("--timings", action="store_true", help="print where the time went to stderr")

    b = sub.add_parser("bench", help="benchmarks (medians of repeated runs, ratios in one run)")
    bsub = b.add_subparsers(dest="bench", required=True)
    be = bsub.add_parser("extract", help="full observation vs peers on a corpus")
    be.add_argument("--corpus", type=Path, default=None)
    be.add_argument("--limit", type=whole(1), default=None, help="at most this many corpus pages")
    be.add_argument("--repeat", type=whole(1), default=5)
    be.add_argument("--json", action="store_true")
    bf = bsub.add_parser("fidelity", help="main text carried by the observation vs peers")
    bf.add_argument("--corpus", type=Path, default=None)
    bf.add_argument("--limit", type=whole(1), default=None, help="at most this many corpus pages")
    bf.add_argument("--json", action="store_true")
    bd = bsub.add_parser("delta", help="observation after one small change, by page size")
    bd.add_argument("--repeat", type=whole(1), default=20)
    bd.add_argument("--json", action="store_true")
    bl = bsub.add_parser("llm", help="pooled/hedged model calls against the local server")
    bl.add_argument("--json", action="store_true")
    bl.add_argument("--quick", action="store_true")
    ba = bsub.add_parser("actions", help="action + settle per kind vs Playwright + fixed 500 ms")
    ba.add_argument("--json", action="store_true")
    ba.add_argument("--quick", action="store_true")
    bg = bsub.add_parser("agent", help="agent steps on the fixture tasks vs a sequential loop")
    bg.add_argument("--json", action="store_true")
    bg.add_argument("--quick", action="store_true")
    bl2 = bsub.add_parser("load", help="1, 4 and 8 concurrent agents for a fixed time each")
    bl2.add_argument("--json", action="store_true")
    bl2.add_argument("--quick", action="store_true")
    bl2.add_argument("--seconds", type=seconds, default=None, help="time per level")
    bl2.add_argument("--agents", type=whole(1), nargs="+", default=None, help="levels to run")
    bm = bsub.add_parser("mcp", help="our MCP server vs @playwright/mcp on the same flows")
    bm.add_argument("--json", action="store_true")
    bm.add_argument("--repeat", type=whole(1), default=5, help="runs of each flow per server")

    d = sub.add_parser("demo", help="the main job on the embedded fixture site (no key needed)")
    d.add_argument("--json", action="store_true")
    d.add_argument(
        "--record", type=record_file, default=None, help="record the run (then: replay it)"
    )

    sub.add_parser("setup", help="install a system Chromium if none is found (needs root)")

    rp = sub.add_parser("replay", help="re-run a recording without a model, or show it")
    rp.add_argument("file", type=Path, help="a recording written by --record / record=")
    how = rp.add_mutually_exclusive_group()
    how.add_argument("--rerun", action="store_true", help="re-execute it on a live browser")
    how.add_argument("--show", action="store_true", help="print the timeline (the default)")
    how.add_argument("--html", type=Path, default=None, metavar="OUT", help="write an HTML report")
    rp.add_argument("--url", default=None, help="--rerun: start here instead of the recorded URL")
    rp.add_argument(
        "--fallback-model",
        nargs="?",
        const="",
        default=None,
        metavar="MODEL",
        help="--rerun: hand divergent steps to the model (default: BROWSER_AGENT_MODEL)",
    )
    rp.add_argument("--base-url", default=None, help="--fallback-model endpoint")
    rp.add_argument("--headed", action="store_true")
    rp.add_argument("--cdp", default=None, help="--rerun on a remote browser")
    rp.add_argument("--json", action="store_true", help="machine-readable output")

    bt = sub.add_parser("batch", help="run many tasks over a pool of browser contexts")
    bt.add_argument("tasks", type=Path, help='JSON lines: {"task": ..., "url": ..., "id": ...}')
    bt.add_argument("--concurrency", type=whole(1), default=4)
    bt.add_argument(
        "--cdp", action="append", default=[], help="a remote browser endpoint (repeatable)"
    )
    bt.add_argument("--base-url", default=None)
    bt.add_argument("--model", default=None)
    bt.add_argument("--preset", default=None)
    bt.add_argument("--budget", type=seconds, default=300.0, help="seconds per task")
    bt.add_argument("--max-steps", type=whole(1), default=30)
    bt.add_argument("--record-dir", type=Path, default=Path("recordings"))
    bt.add_argument("--json", action="store_true")
    _cache_flags(bt)

    from .mcp.options import add_parser as add_mcp_parser

    add_mcp_parser(sub)
    return p


def _cache_flags(p: argparse.ArgumentParser) -> None:
    """`--cache DIR` / `--no-cache` (default: $BROWSER_AGENT_CACHE, when set)."""
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--cache",
        type=Path,
        default=os.environ.get("BROWSER_AGENT_CACHE") or None,
        metavar="DIR",
        help="replay a task done before without the model (default: $BROWSER_AGENT_CACHE)",
    )
    g.add_argument("--no-cache", action="store_true", help="neither replay nor store")


def _cache(args: argparse.Namespace) -> ActionCache | None:
    """The action cache the flags ask for, or None."""
    from .cache import ActionCache

    if args.no_cache or args.cache is None:
        return None
    return ActionCache(args.cache, key=getattr(args, "cache_key", None))


def main(argv: Sequence[str] | None = None) -> int:
    """The entry point: every error a user can cause ends here as one `error:` line and
    an exit code (see `EXIT_*`), never a traceback."""
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version print and exit 0
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        return _dispatch(args, make_console())
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BaseException as exc:  # sorted by _error_code; a bug is re-raised
        code = _error_code(exc)
        if code is None:
            raise
        print_error(_error_text(exc))
        return code


def _dispatch(args: argparse.Namespace, console: Console) -> int:
    if args.command == "run":
        return anyio.run(_run, args, console)
    if args.command == "observe":
        return anyio.run(_observe, args, console)
    if args.command == "bench":
        return anyio.run(_bench, args, console)
    if args.command == "demo":
        from .demo import run_demo

        return anyio.run(run_demo, args.json, console, args.record)
    if args.command == "setup":
        return _setup(console)
    if args.command == "replay":
        from .replay import replay_command

        return anyio.run(replay_command, args, console)
    if args.command == "batch":
        return anyio.run(_batch, args, console)
    if args.command == "mcp":
        return anyio.run(_mcp, args)
    return anyio.run(_interactive, args, console)


def _leaf(exc: BaseException) -> BaseException:
    """The one error inside exception groups (task groups wrap what their tasks raise)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _error_code(exc: BaseException) -> int | None:
    """The exit code for an error a user's input or set-up can cause; None for a bug."""
    from playwright.async_api import Error as PlaywrightError

    exc = _leaf(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, ConfigurationError | OSError):
        return EXIT_USAGE
    if isinstance(exc, BrowserAgentError | PlaywrightError):
        return EXIT_FAILED
    return None


def _error_text(exc: BaseException) -> str:
    from playwright.async_api import Error as PlaywrightError

    exc = _leaf(exc)
    if isinstance(exc, PlaywrightError):
        return f"the browser: {exc.message.splitlines()[0] if exc.message else exc}"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return str(exc) or type(exc).__name__


def _domains(value: str | None) -> list[str] | None:
    """`a.com, *.b.com` -> ["a.com", "*.b.com"]; None stays None (no allowlist)."""
    if value is None:
        return None
    return [d.strip() for d in value.split(",") if d.strip()]


async def _run(args: argparse.Namespace, console: Console) -> int:
    """`run`: one task with the configured model; live steps, then the timing report."""
    from .agent import Agent
    from .browser import Browser
    from .budget import Budget
    from .display import LiveDisplay
    from .llm import LLMPool

    config = _config(args)
    budget = Budget(session_s=args.budget, max_steps=args.max_steps)
    async with LLMPool([config]) as pool:
        agent = Agent(
            args.task,
            llm=pool,
            start_url=args.url,
            budget=budget,
            record=args.record,
            headless=not args.headed,
            on_event=None if args.json else LiveDisplay(console, budget),
            allowed_domains=_domains(args.allowed_domains),
            blocked_domains=_domains(args.blocked_domains) or (),
            cache=_cache(args),
        )
        if args.cdp:
            async with Browser.connect(
                args.cdp,
                allowed_domains=_domains(args.allowed_domains),
                blocked_domains=_domains(args.blocked_domains) or (),
            ) as browser:
                result = await agent.run(browser)
        else:
            result = await agent.run()
    if args.json:
        print(result.to_json())
    else:
        console.print()
        console.print(result.report.table())
        if result.success:
            console.print(f"[green]✓ done:[/] {plain(result.output)}", highlight=False)
        else:
            why = result.output if result.reason == "done" else result.detail
            console.print(f"[red]✗ {result.reason}:[/] {plain(why)}", highlight=False)
    return EXIT_OK if result.success else EXIT_FAILED


def _config(args: argparse.Namespace) -> ProviderConfig:
    """The model's configuration from flags and the environment; a bad value is one line
    naming the flag or variable it came from."""
    from pydantic import ValidationError

    from .llm import ProviderConfig

    try:
        return ProviderConfig.from_env(
            preset=getattr(args, "preset", None), base_url=args.base_url, model=args.model
        )
    except ValidationError as exc:
        raise config_error(exc, MODEL_VARIABLES) from None


async def _interactive(args: argparse.Namespace, console: Console) -> int:
    """No command: the interactive session."""
    from .interactive import run_interactive

    config = _config(args)
    return await run_interactive(
        config,
        url=args.url,
        headless=not args.headed,
        record=args.record,
        console=console,
    )


async def _batch(args: argparse.Namespace, console: Console) -> int:
    from .batch import load_tasks, run_batch, summary_table
    from .budget import Budget
    from .llm import LLMPool

    tasks = load_tasks(args.tasks)
    config = _config(args)
    if args.concurrency < 1:
        raise ConfigurationError("--concurrency must be at least 1")
    budget = Budget(session_s=args.budget, max_steps=args.max_steps)
    async with LLMPool([config]) as pool:
        report = await run_batch(
            tasks,
            pool,
            concurrency=args.concurrency,
            endpoints=args.cdp,
            record_dir=args.record_dir,
            budget=budget,
            console=make_console(stderr=True) if args.json else console,
            progress=not args.json,
            cache=_cache(args),
        )
    if args.json:
        import msgspec

        print(msgspec.json.encode(report).decode())
    else:
        console.print(summary_table(report))
    return EXIT_OK if report.ok else EXIT_FAILED


async def _mcp(args: argparse.Namespace) -> int:
    """`mcp`: serve the browser tools until the client goes away."""
    from .mcp.options import from_args, load_secrets

    options, secrets = from_args(args), load_secrets(args.secrets)  # before the SDK loads
    # The MCP SDK's import builds thousands of long-lived objects and little garbage:
    # the collector's passes over them only delay the client's first answer. In a new
    # process they are frozen (never scanned again) once loaded, then collection resumes.
    pause = "mcp" not in sys.modules and gc.isenabled()
    if pause:
        gc.disable()
    try:
        from .mcp.server import serve
    finally:
        if pause:
            gc.freeze()
            gc.enable()
    await serve(options, secrets)
    return EXIT_OK


async def _observe(args: argparse.Namespace, console: Console) -> int:
    from .observe_command import observe_command

    return await observe_command(args)


async def _bench(args: argparse.Namespace, console: Console) -> int:
    """A benchmark; exit 1 when one of its own checks failed (a target not met)."""
    corpus = getattr(args, "corpus", None)
    if corpus is not None and not corpus.is_dir():
        raise ConfigurationError(f"--corpus {corpus}: no such directory")
    result: object = None
    if args.bench == "extract":
        from .bench.extract import run_extract

        result = await run_extract(
            corpus,
            limit=args.limit,
            repeat=args.repeat,
            json_output=args.json,
            console=console,
        )
    elif args.bench == "fidelity":
        from .bench import fidelity

        result = await fidelity.run(
            corpus, limit=args.limit, json_output=args.json, console=console
        )
    elif args.bench == "delta":
        from .bench.extract import run_delta

        result = await run_delta(repeat=args.repeat, json_output=args.json, console=console)
    elif args.bench == "llm":
        from .bench import llm

        result = await llm.run(json_output=args.json, quick=args.quick)
    elif args.bench == "actions":
        from .bench import actions

        result = await actions.run(json_output=args.json, quick=args.quick)
    elif args.bench == "agent":
        from .bench import agent

        result = await agent.run(json_output=args.json, quick=args.quick)
    elif args.bench == "load":
        from .bench import load

        levels = tuple(args.agents) if args.agents else load.LEVELS
        result = await load.run(
            json_output=args.json, quick=args.quick, levels=levels, seconds=args.seconds
        )
    elif args.bench == "mcp":
        from .bench import mcp

        result = await mcp.run(json_output=args.json, repeat=args.repeat)
    failed = failed_checks(result)
    if failed:
        print_error(f"bench {args.bench}: {', '.join(failed)}", prefix="FAIL")
        return EXIT_FAILED
    return EXIT_OK


def failed_checks(result: object) -> list[str]:
    """The checks a bench's result says failed: `targets` entries that are false, and a
    `target_met` that is false (what its own output prints as FAIL or "not met")."""
    if not isinstance(result, dict):
        return []
    failed = [
        name.replace("_", " ") for name, ok in (result.get("targets") or {}).items() if ok is False
    ]
    if result.get("target_met") is False:
        failed.append("target not met")
    return failed


def _setup(console: Console) -> int:
    """Make sure a Chromium exists; on Debian as root, install the distribution's package."""
    from .discovery import find_chromium

    try:
        console.print(f"browser: {find_chromium()}")
        return EXIT_OK
    except ConfigurationError:
        pass
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        console.print("installing Debian's chromium …")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)
        if done.returncode == 0:
            console.print(f"browser: {find_chromium()}")
            return EXIT_OK
    raise ConfigurationError(
        "no Chromium found and cannot install one here; run `apt-get install -y chromium` as root"
    )


if __name__ == "__main__":
    sys.exit(main())
