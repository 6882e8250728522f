"""Shared pieces of the recording/replay tests: recording the Tea Club join flow."""

from __future__ import annotations

from pathlib import Path

from browser_agent import Agent, AgentResult, Browser
from browser_agent.llm import LLMPool, ProviderConfig
from browser_agent.testing import Cassette, FixtureServer, LatencyProfile, LocalModelServer

SITE = Path(__file__).resolve().parent.parent / "fixtures" / "site" / "replay"
CASSETTE = SITE / "cassette.json"
TASK = "Join the Tea Club as Ada Lovelace on the green tea plan (subscribe to the newsletter too)"
PASSWORD = "hunter2-Secret!"
FAST_PROVIDER = LatencyProfile(ttft_ms=150.0, tokens_per_s=1000.0)
"""The pace the demo assumes for a fast hosted model; what a rerun saves."""


def config(srv: LocalModelServer) -> ProviderConfig:
    return ProviderConfig(name="local", base_url=srv.base_url, model="local-model")


async def record_join(
    site: FixtureServer,
    browser: Browser,
    path: Path,
    *,
    variant: str = "v1",
    cassette: Cassette | Path = CASSETTE,
    latency: LatencyProfile | None = FAST_PROVIDER,
) -> tuple[AgentResult, Agent]:
    """Run the join task with the local model and record it to `path`."""
    c = cassette if isinstance(cassette, Cassette) else Cassette.load(cassette)
    with LocalModelServer(c, latency=latency, seed=1) as model:
        async with LLMPool([config(model)]) as pool:
            agent = Agent(
                TASK, llm=pool, start_url=site.url(f"/replay/{variant}/index.html"), record=path
            )
            page = await browser.new_page()
            try:
                return await agent.run(page), agent
            finally:
                await page.close()
