"""`bench load`: N concurrent agents against the fixture shop and the local model server.

Each concurrency level runs for a fixed time: every worker takes a fresh page, runs
the read-only price task (so concurrent carts cannot interfere), and starts another
until time is up. Reported per level: completed tasks, errors, and the p95 per-step
overhead (the runtime's own time, beside the page's and the model's).
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
from rich.table import Table

from browser_agent.agent import Agent
from browser_agent.browser import Browser
from browser_agent.budget import Budget
from browser_agent.demo import FAST_PROVIDER, load_cassette
from browser_agent.llm import LLMPool, ProviderConfig
from browser_agent.stats import percentile
from browser_agent.terminal import console as make_console
from browser_agent.testing import LocalModelServer

from ..testing import FixtureServer

LEVELS = (1, 4, 8)
TASK = "How much does the Green Teapot cost on the Kitchen Corner shop?"
CASSETTE = "shop_price"


async def _level(
    browser: Browser, pool: LLMPool, start: str, workers: int, seconds: float
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    completed = 0
    errors: list[str] = []
    overhead: list[float] = []
    non_model: list[float] = []

    async def worker() -> None:
        nonlocal completed
        while time.monotonic() < deadline:
            page = await browser.new_page()
            try:
                agent = Agent(TASK, llm=pool, start_url=start, budget=Budget(max_steps=10))
                result = await agent.run(page)
            except Exception as exc:  # counted and reported, the run goes on
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            finally:
                await page.close()
            if result.success:
                completed += 1
            else:
                errors.append(f"{result.reason}: {result.detail}")
            overhead.extend(s.overhead_ms for s in result.steps)
            non_model.extend(s.non_model_ms for s in result.steps)

    t0 = time.monotonic()
    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
    wall = time.monotonic() - t0
    return {
        "agents": workers,
        "seconds": wall,
        "completed": completed,
        "errors": len(errors),
        "error_samples": errors[:3],
        "tasks_per_min": completed / wall * 60 if wall else 0.0,
        "steps": len(overhead),
        "overhead_p95_ms": percentile(overhead, 95) if overhead else 0.0,
        "overhead_p50_ms": percentile(overhead, 50) if overhead else 0.0,
        "non_model_p95_ms": percentile(non_model, 95) if non_model else 0.0,
    }


async def run(
    json_output: bool = False,
    quick: bool = False,
    levels: tuple[int, ...] = LEVELS,
    seconds: float | None = None,
) -> dict[str, Any]:
    """Run each concurrency level for a fixed time; print a table (or JSON)."""
    if seconds is None:
        seconds = 4.0 if quick else 20.0
    rows = []
    with (
        FixtureServer() as site,
        LocalModelServer(load_cassette(CASSETTE), latency=FAST_PROVIDER, seed=3) as model,
    ):
        start = site.url("/shop/index.html")
        config = ProviderConfig(name="local", base_url=model.base_url, model="local-model")
        async with (
            LLMPool([config]) as pool,
            Browser.launch(allowed_domains=["127.0.0.1"]) as browser,
        ):
            await pool.warm_up()
            for n in levels:
                rows.append(await _level(browser, pool, start, n, seconds))
    result = {"seconds_per_level": seconds, "levels": rows}
    if json_output:
        print(json.dumps(result))
    else:
        table = Table(title=f"bench load: {seconds:.0f} s per level, price task on the local shop")
        for col in ("agents", "completed", "errors", "tasks/min", "steps",
                    "overhead p50 ms", "overhead p95 ms", "non-model p95 ms"):  # fmt: skip
            table.add_column(col, justify="right")
        for r in rows:
            table.add_row(
                str(r["agents"]), str(r["completed"]), str(r["errors"]),
                f"{r['tasks_per_min']:.0f}", str(r["steps"]), f"{r['overhead_p50_ms']:.1f}",
                f"{r['overhead_p95_ms']:.1f}", f"{r['non_model_p95_ms']:.1f}",
            )  # fmt: skip
        make_console().print(table)
    return result
