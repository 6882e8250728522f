"""Many tasks over a pool of browser contexts: `browser-agent batch TASKS.jsonl`.

Browsers are the scarce resource: a batch launches one local browser, or connects once
to each remote endpoint (CDP or a Playwright server), and gives every task a fresh
context of its own (no cookies or storage shared between tasks). At most
`concurrency` tasks run at once, spread round-robin over the endpoints. Each task
writes its own recording.

TASKS.jsonl holds one object per line: `{"task": "...", "url": "...", "id": "..."}`
(`id` and `max_steps` optional).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from .browser import Browser
from .budget import Budget
from .cache import ActionCache
from .exceptions import BrowserAgentError, ConfigurationError
from .llm import LLMPool
from .redaction import log_for
from .terminal import PrintableTable, safe
from .terminal import console as make_console

log = log_for("browser_agent.batch")


class BatchTask(msgspec.Struct, forbid_unknown_fields=True):
    task: str
    url: str
    id: str = ""
    max_steps: int | None = None
    cache_key: str | None = None
    """Mixed into this task's action-cache key (with `--cache`)."""


class TaskOutcome(msgspec.Struct):
    id: str
    task: str
    success: bool
    reason: str
    output: Any = None
    detail: str = ""
    steps: int = 0
    ms: float = 0.0
    endpoint: str = "local"
    record: str = ""
    cache: str = ""
    """With an action cache: "hit", "partial" or "miss" (see `CacheSummary`)."""


class BatchReport(msgspec.Struct):
    ok: bool
    tasks: list[TaskOutcome]
    ms: float
    concurrency: int


def load_tasks(path: str | Path) -> list[BatchTask]:
    p = Path(path)
    try:
        lines = p.read_text("utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {p}: {exc.strerror}") from None
    out: list[BatchTask] = []
    for no, ln in enumerate(lines, 1):
        if not ln.strip():
            continue
        try:
            t = msgspec.json.decode(ln, type=BatchTask)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ConfigurationError(f"{p}:{no}: {exc}") from None
        if "://" not in t.url:
            raise ConfigurationError(f"{p}:{no}: url needs a full URL, got {t.url!r}")
        out.append(t if t.id else msgspec.structs.replace(t, id=str(len(out) + 1)))
    if not out:
        raise ConfigurationError(f"{p}: no tasks")
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "task"


async def run_batch(
    tasks: Sequence[BatchTask],
    pool: LLMPool,
    *,
    concurrency: int = 4,
    endpoints: Sequence[str] = (),
    record_dir: str | Path | None = "recordings",
    allowed_domains: Sequence[str] | None = None,
    headless: bool = True,
    budget: Budget | None = None,
    console: Console | None = None,
    progress: bool = True,
    cache: ActionCache | None = None,
) -> BatchReport:
    """Run every task; never raises for a task that fails (it is in the report).

    With `cache`, tasks done before replay without the model; entries are replaced
    whole, so tasks of the batch can run and store the same task at once."""
    from .agent import Agent

    if concurrency < 1:
        raise ConfigurationError("--concurrency must be at least 1")
    console = console or make_console()
    rec_dir = Path(record_dir) if record_dir is not None else None
    if rec_dir is not None:
        rec_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    outcomes: list[TaskOutcome | None] = [None] * len(tasks)
    async with contextlib.AsyncExitStack() as stack:
        bases: list[tuple[str, Browser]] = []
        for ep in endpoints:
            b = await stack.enter_async_context(Browser.connect(ep, allowed_domains))
            bases.append((ep, b))
        if not bases:
            b = await stack.enter_async_context(Browser.launch(headless, allowed_domains))
            bases.append(("local", b))
        bar = Progress(
            TextColumn("[bold]batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not progress,
        )
        job = bar.add_task("tasks", total=len(tasks))
        limiter = anyio.Semaphore(concurrency)
        counter = iter(range(len(tasks)))

        async def one(i: int, t: BatchTask) -> None:
            async with limiter:
                slot = next(counter)
                name, base = bases[slot % len(bases)]
                record = None
                if rec_dir is not None:
                    record = rec_dir / f"{i + 1:03d}-{_slug(t.id)}.jsonl"
                    record.unlink(missing_ok=True)
                b = budget or Budget()
                if t.max_steps is not None:
                    b = b.model_copy(update={"max_steps": t.max_steps})
                s0 = time.perf_counter()
                ctx: Browser | None = None
                try:
                    ctx = await base.new_context()
                    store = cache
                    if cache is not None and t.cache_key is not None:
                        key = "\x1f".join(k for k in (cache.key, t.cache_key) if k)
                        store = ActionCache(cache.directory, key=key)
                    agent = Agent(
                        t.task, llm=pool, start_url=t.url, budget=b, record=record, cache=store
                    )
                    r = await agent.run(ctx)
                    out = TaskOutcome(
                        id=t.id,
                        task=t.task,
                        success=r.success,
                        reason=r.reason,
                        output=r.to_dict()["output"],
                        detail=r.detail,
                        steps=len(r.steps),
                        cache=r.cache.outcome if r.cache is not None else "",
                    )
                except BrowserAgentError as exc:
                    out = TaskOutcome(id=t.id, task=t.task, success=False, reason="error")
                    out.detail = str(exc)
                except Exception as exc:  # one task's bug must not take the batch down
                    log.warning("task %s failed unexpectedly", t.id, exc_info=True)
                    out = TaskOutcome(id=t.id, task=t.task, success=False, reason="error")
                    out.detail = f"unexpected {type(exc).__name__}: {exc}"
                finally:
                    if ctx is not None:
                        await ctx.close()  # shielded and bounded: also when cancelled
                out.ms = (time.perf_counter() - s0) * 1000
                out.endpoint = name
                out.record = str(record) if record is not None else ""
                outcomes[i] = out
                bar.advance(job)

        with bar:
            async with anyio.create_task_group() as tg:
                for i, t in enumerate(tasks):
                    tg.start_soon(one, i, t)
    done = [o for o in outcomes if o is not None]
    return BatchReport(
        ok=all(o.success for o in done) and len(done) == len(tasks),
        tasks=done,
        ms=(time.perf_counter() - t0) * 1000,
        concurrency=concurrency,
    )


def summary_table(report: BatchReport) -> PrintableTable:
    """One row per task with its whole result: on a terminal long cells wrap, in a pipe
    or a file nothing is cut."""
    t = PrintableTable(title=f"batch: {len(report.tasks)} tasks in {report.ms / 1000:.1f} s")
    for col in ("id", "task", "result", "steps", "time", "endpoint"):
        t.add_column(
            col,
            justify="right" if col in ("steps", "time") else "left",
            no_wrap=col in ("steps", "time"),
            ratio=2 if col == "result" else 1 if col == "task" else None,
        )
    for o in report.tasks:
        what = str(o.output if o.success else o.detail)
        mark = Text("✓ ", style="green") if o.success else Text(f"✗ {o.reason} ", style="red")
        cells = [Text(safe(o.id)), Text(safe(o.task)), mark + Text(safe(what))]
        t.add_row(*cells, str(o.steps), f"{o.ms:.0f} ms", Text(safe(o.endpoint)))
    return t
