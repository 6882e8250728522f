"""Shared pieces of the action-cache tests: the Tea House order flow and its model."""

from __future__ import annotations

import json
from pathlib import Path

from browser_agent import Agent, AgentResult, Browser
from browser_agent.cache import ActionCache
from browser_agent.llm import LLMPool, ProviderConfig
from browser_agent.testing import Cassette, FixtureServer, LatencyProfile, LocalModelServer
from browser_agent.testing import CassetteStep as Reply

TASK = (
    "Order one box of Sencha from the Tea House for Ada Lovelace, paying with the card PIN, "
    "and say what the order cost."
)
PIN = "4321"
ANSWER = "Ordered one box of Sencha for Ada Lovelace; the order cost €12.50."

TEA_HOUSE = Cassette.of(
    Reply(match="# Received", actions=["done " + json.dumps(ANSWER, ensure_ascii=False)]),
    Reply(match="# A cup to go with it?", actions=['click button "No thanks"']),
    Reply(match="We use cookies", actions=['click button "Accept"']),
    Reply(
        match="# Your basket",
        actions=[
            'type textbox "Name" "Ada Lovelace"',
            'type textbox "Card PIN" "{{pin}}"',
            'click button "Place order"',
        ],
    ),
    Reply(match="# Sencha", actions=['click button "Add to basket"']),
    Reply(match="# Tea House", actions=['click link "Sencha"']),
    name="tea_house",
)
"""The model's side, by what the page shows (it never reads the price: its answer is
always the €12.50 it was scripted with)."""

FAST = LatencyProfile(ttft_ms=5.0, tokens_per_s=5000.0)


def model_server(cassette: Cassette = TEA_HOUSE) -> LocalModelServer:
    return LocalModelServer(cassette, latency=FAST, seed=1)


def start_url(site: FixtureServer, variant: str = "") -> str:
    """The start page; `variant` picks one for the whole tab (see fixtures/site/cache)."""
    return site.url("/cache/index.html" + (f"?v={variant}" if variant else ""))


async def order(
    site: FixtureServer,
    browser: Browser,
    model: LocalModelServer,
    cache: ActionCache | Path | None,
    *,
    variant: str = "",
    record: Path | None = None,
    agents: list[Agent] | None = None,
    secrets: dict[str, str] | None = None,
) -> tuple[AgentResult, int]:
    """Run the task in a fresh tab; returns the result and how many model calls it made
    (the agent is appended to `agents`, when given). `secrets` default to the PIN."""
    before = model.stats().requests
    config = ProviderConfig(name="local", base_url=model.base_url, model="local-model")
    async with LLMPool([config]) as pool:
        agent = Agent(
            TASK,
            llm=pool,
            start_url=start_url(site, variant),
            secrets={"pin": PIN} if secrets is None else secrets,
            cache=cache,
            record=record,
        )
        if agents is not None:
            agents.append(agent)
        page = await browser.new_page()
        try:
            result = await agent.run(page)
        finally:
            await page.close()
    return result, model.stats().requests - before
