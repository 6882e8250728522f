"""`browser-agent demo`: the agent buys a kettle on the bundled shop; no key, no network.

The fixture shop is served on loopback, a local OpenAI-compatible model server answers
from a bundled cassette at a fast provider's pace (~150 ms to first token, ~1000
tokens/s), and the agent runs the whole task: search, product, cart, checkout form,
order. The order is then checked on the server side.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from rich.console import Console

from .agent import Agent, AgentResult
from .budget import Budget
from .display import LiveDisplay
from .llm import LLMPool, ProviderConfig
from .terminal import console as make_console
from .terminal import plain
from .testing import Cassette, FixtureServer, LatencyProfile, LocalModelServer, Submission

TASK = (
    "On the Kitchen Corner shop, buy one Blue Kettle: search for it, add it to the cart "
    "and check out as Ada Lovelace, ada@example.com, 12 Analytical Street, London, "
    "United Kingdom, with express shipping. Say what was ordered."
)
EXPECTED_ORDER = {
    "items": "Blue Kettle x1",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "city": "London",
    "country": "uk",
    "shipping": "express",
    "agree": "yes",
}

FAST_PROVIDER = LatencyProfile(ttft_ms=150.0, jitter=0.05, tokens_per_s=1000.0)
"""A fast hosted provider: ~150 ms to the first token, ~1000 tokens/s."""


def load_cassette(name: str) -> Cassette:
    """A cassette bundled in fixtures/cassettes (works from an installed wheel)."""
    data = (
        resources.files("browser_agent.testing.fixtures")
        .joinpath(f"cassettes/{name}.json")
        .read_bytes()
    )
    return Cassette.loads(data)


def order_problems(order: Submission | None) -> list[str]:
    """What is wrong with the order the server received (empty when it is right)."""
    if order is None:
        return ["no order reached the server"]
    return [
        f"{field} is {order.first(field)!r}, expected {want!r}"
        for field, want in EXPECTED_ORDER.items()
        if order.first(field) != want
    ]


def is_demo_recording(task: str, start_url: str | None) -> bool:
    """Whether a recording is of this demo: its task, on a loopback shop."""
    return task == TASK and bool(start_url) and "://127.0.0.1:" in str(start_url)


async def run_demo(
    json_output: bool = False, console: Console | None = None, record: Path | None = None
) -> int:
    """Run the shop task; exit code 0 when the agent succeeded and the order is right.

    With `record` the run is appended to that file; `browser-agent replay FILE --rerun`
    re-runs it on the bundled shop without a model, `--html OUT` writes its report."""
    console = console or make_console()
    with (
        FixtureServer() as site,
        LocalModelServer(load_cassette("shop_checkout"), latency=FAST_PROVIDER, seed=1) as model,
    ):
        start = site.url("/shop/index.html")
        if not json_output:
            if console.is_terminal:
                console.rule("[bold]browser-agent demo[/]")
            else:
                console.print("[bold]browser-agent demo[/]")
            console.print(f"task: {TASK}", highlight=False)
            console.print(
                f"[dim]shop {site.origin} · local model {model.base_url} "
                "(~150 ms to first token, ~1000 tokens/s)[/]",
                highlight=False,
            )
        config = ProviderConfig(name="local", base_url=model.base_url, model="local-model")
        budget = Budget(session_s=60, max_steps=15)
        async with LLMPool([config]) as pool:
            agent = Agent(
                TASK,
                llm=pool,
                start_url=start,
                allowed_domains=["127.0.0.1"],
                budget=budget,
                record=record,
                on_event=None if json_output else LiveDisplay(console, budget),
            )
            result = await agent.run()
        order = site.submissions[-1] if site.submissions else None
    problems = order_problems(order)
    ok = result.success and not problems
    if json_output:
        data = result.to_dict()
        data["order"] = {k: v[0] for k, v in order.fields.items()} if order else None
        data["verified"] = not problems
        data["problems"] = problems
        print(json.dumps(data))
        return 0 if ok else 1
    _summary(console, result, problems, record)
    return 0 if ok else 1


def _summary(
    console: Console, result: AgentResult, problems: list[str], record: Path | None
) -> None:
    console.print()
    console.print(result.report.table())
    if result.success:
        console.print(f"[green]✓[/] {plain(result.output)}", highlight=False)
    else:
        console.print(f"[red]✗ {result.reason}:[/] {plain(result.detail)}", highlight=False)
    if problems:
        for p in problems:
            console.print(f"[red]✗ order: {plain(p)}[/]", highlight=False)
    else:
        console.print("[green]✓[/] the order reached the shop's server as placed", highlight=False)
    if record is not None:
        where = plain(record)
        console.print(
            f"[dim]recorded to {where}: `browser-agent replay {where} --rerun` runs it again "
            f"without a model, `--html report.html` writes its report[/]",
            highlight=False,
        )
