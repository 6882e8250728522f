"""`browser-agent demo`: the agent buys a kettle on the bundled shop; no key, no network.

The fixture shop is served on loopback, a local OpenAI-compatible model server answers
from a bundled cassette at a fast provider's pace (~150 ms to first token, ~1000
tokens/s), and the agent runs the whole task: search, product, cart, checkout form,
order. The order is then checked on the server side.
"""

from __future__ import annotations

import json
from importlib import resources

from rich.console import Console
from rich.markup import escape

from .agent import Agent, AgentResult
from .budget import Budget
from .display import LiveDisplay
from .llm import LLMPool, ProviderConfig
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


async def run_demo(json_output: bool = False, console: Console | None = None) -> int:
    """Run the shop task; exit code 0 when the agent succeeded and the order is right."""
    console = console or Console()
    with (
        FixtureServer() as site,
        LocalModelServer(load_cassette("shop_checkout"), latency=FAST_PROVIDER, seed=1) as model,
    ):
        start = site.url("/shop/index.html")
        if not json_output:
            console.rule("[bold]browser-agent demo[/]")
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
    _summary(console, result, problems)
    return 0 if ok else 1


def _summary(console: Console, result: AgentResult, problems: list[str]) -> None:
    console.print()
    console.print(result.report.table())
    if result.success:
        console.print(f"[green]✓[/] {escape(str(result.output))}", highlight=False)
    else:
        console.print(f"[red]✗ {result.reason}:[/] {escape(result.detail)}", highlight=False)
    if problems:
        for p in problems:
            console.print(f"[red]✗ order: {escape(p)}[/]", highlight=False)
    else:
        console.print("[green]✓[/] the order reached the shop's server as placed", highlight=False)
