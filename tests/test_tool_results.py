"""Tool results say what the action did, end to end: `ActionResult.summary` through `Page`
on fixture pages, and the one-line tool result the model reads through the agent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from browser_agent import Agent, Browser, Page
from browser_agent.agent import ActionStarted, AgentEvent
from browser_agent.llm import LLMPool, ProviderConfig
from browser_agent.testing import (
    Cassette,
    CassetteStep,
    FixtureServer,
    LatencyProfile,
    LocalModelServer,
)

pytestmark = pytest.mark.anyio

NOTHING = "nothing on the page changed"


# ------------------------------------------------------------------ through Page


@pytest.fixture
async def tab(browser: Browser) -> AsyncIterator[Page]:
    page = await browser.new_page()
    yield page
    await page.close()


def ref(page: Page, name: str) -> int:
    o = page.last_observation
    el = o.find(name=name) if o is not None else None
    assert el is not None, f"no {name!r} in the observation"
    return el.ref


async def test_each_action_says_what_it_changed(tab: Page, site: FixtureServer) -> None:
    await tab.goto(site.url("/reach/effects.html"))
    await tab.observe()
    r = await tab.click(ref(tab, "Add tags"))
    tags = r.observation.find(role="listbox")  # type: ignore[union-attr]
    assert tags is not None
    assert r.summary.startswith(f'+5 elements: listbox "Tags" [{tags.ref}]–[{tags.ref + 4}]')
    assert r.summary.endswith(f'[{ref(tab, "Add tags")}] button "Add tags" now expanded')
    r = await tab.click(ref(tab, "Preview"))
    assert r.summary == NOTHING
    r = await tab.check(ref(tab, "I agree"))
    assert r.summary == f'[{ref(tab, "I agree")}] checkbox "I agree" now checked'
    r = await tab.type(ref(tab, "Qty"), "2")
    assert r.summary == f'[{ref(tab, "Qty")}] spinbutton "Qty" value "2"'
    r = await tab.click(ref(tab, "Save"))
    assert r.summary == 'new text: "Saved: just now"'
    accept, reject = ref(tab, "Accept all"), ref(tab, "Reject all")
    r = await tab.click(accept)
    assert r.summary == f'-2 elements: dialog "Cookies" [{accept}]–[{reject}]'
    r = await tab.click(ref(tab, "Leave the editor"))
    assert r.navigated and r.summary == ""


async def test_a_dead_click_on_a_ticking_page_changed_nothing(
    tab: Page, site: FixtureServer
) -> None:
    await tab.goto(site.url("/reach/ticking.html"))
    await tab.observe()
    await tab.wait_for("Elapsed: 0.6 s")  # the stopwatch has been seen ticking
    r = await tab.click(ref(tab, "Share"))
    assert r.summary == NOTHING
    r = await tab.click(ref(tab, "Like"))
    assert r.summary == f'[{ref(tab, "Like")}] button "Like" now pressed'


# ------------------------------------------------------------------ through the agent


@pytest.fixture
def model() -> Iterator[LocalModelServer]:
    with LocalModelServer() as srv:
        yield srv


def pool(srv: LocalModelServer) -> LLMPool:
    cfg = ProviderConfig(
        name="local", base_url=srv.base_url, model="m", stall_ms=2000, first_token_timeout_s=10
    )
    return LLMPool([cfg])


def tool_results(agent: Agent) -> list[str]:
    return [m["content"] for m in agent.history if m.get("role") == "tool"]


async def test_the_model_reads_what_each_action_did(
    tab: Page, site: FixtureServer, model: LocalModelServer
) -> None:
    model.cassette = Cassette.of(
        'click "Add tags"',
        'click "Preview"',
        'check "I agree"',
        'click "Accept all"',
        'click "Leave the editor"',
        'done "done"',
    )
    model.latency = LatencyProfile(ttft_ms=5, tokens_per_s=2000)
    async with pool(model) as p:
        agent = Agent("Tag the post", llm=p, start_url=site.url("/reach/effects.html"))
        result = await agent.run(tab)
    assert result.success
    tags, preview, agree, cookies, away, done = tool_results(agent)
    assert tags.startswith('ok; +5 elements: listbox "Tags" [') and "now expanded" in tags
    assert preview == "ok; nothing on the page changed"
    assert agree.startswith("ok; [") and agree.endswith('checkbox "I agree" now checked')
    assert cookies.startswith('ok; -2 elements: dialog "Cookies" [')
    assert away == f"ok; navigated to {site.url('/form.html')}"
    assert done == "ok: finished"


async def test_after_extract_the_next_step_sees_the_page_as_fresh_as_the_extract(
    tab: Page, site: FixtureServer, model: LocalModelServer
) -> None:
    """The page changes under no action of ours; `extract` reads it; the next step's
    prompt must show it too, not the observation from before the extract."""
    model.cassette = Cassette.of(
        "extract text",
        'done "stale" fail',
        CassetteStep(match="Updated: just now", actions=['done "fresh"']),
    )

    async def change(event: AgentEvent) -> None:
        if isinstance(event, ActionStarted) and event.record.name == "extract":
            await tab.playwright_page.evaluate(
                "document.getElementById('updated').textContent = 'just now'"
            )

    async with pool(model) as p:
        agent = Agent(
            "Read the news", llm=p, start_url=site.url("/reach/news.html"), on_event=change
        )
        result = await agent.run(tab)
    assert "Updated: just now" in tool_results(agent)[0]  # what the extract read
    assert result.output == "fresh"
