"""No wasted model calls on churn: the check that runs beside a model call ignores changes
that touch no interactive element and no text near one, and changes that repeat (a clock,
a live counter); a page that ticks all the time costs no extra call through the agent."""

from __future__ import annotations

import pytest
from obs_support import obs

from browser_agent import Agent, Browser, Page
from browser_agent.churn import Churn
from browser_agent.llm import LLMPool, ProviderConfig
from browser_agent.testing import Cassette, FixtureServer, LatencyProfile, LocalModelServer

PAGE = """# Live stream
LIVE
Elapsed: 4.1 s
[1] link "Schedule"
## Cooking with Ada
1,204 watching now
[2] button "Join the chat"
[3] button "Like"
Status: watching
Footer
Made with care in Lyon
Contact us by post
All rights reserved
"""


def test_numbers_that_tick_never_matter() -> None:
    after = PAGE.replace("4.1 s", "4.2 s").replace("1,204", "1,199")
    assert not Churn().matters(obs(PAGE), obs(after, version=2))


def test_text_by_an_element_matters_text_far_from_any_does_not() -> None:
    near = PAGE.replace("Status: watching", "Status: in the chat")
    assert Churn().matters(obs(PAGE), obs(near, version=2))
    far = PAGE.replace("All rights reserved", "Some rights reserved")
    assert not Churn().matters(obs(PAGE), obs(far, version=2))


def test_elements_that_appear_or_change_state_matter() -> None:
    added = PAGE.replace('[3] button "Like"\n', '[3] button "Like"\n[4] button "Unlike"\n')
    assert Churn().matters(obs(PAGE), obs(added, version=2))
    pressed = PAGE.replace('[3] button "Like"', '[3] button "Like" pressed')
    assert Churn().matters(obs(PAGE), obs(pressed, version=2))
    counted = PAGE.replace('[3] button "Like"', '[3] button "Like (12)"')
    more = PAGE.replace('[3] button "Like"', '[3] button "Like (13)"')
    assert not Churn().matters(obs(counted), obs(more, version=2))


def test_a_change_seen_before_does_not_matter_again() -> None:
    churn = Churn()
    a = PAGE.replace("Status: watching", "Status: buffering")
    assert churn.matters(obs(PAGE), obs(a, version=2))
    assert not churn.matters(obs(PAGE, version=3), obs(a, version=4))  # it rotates back
    assert churn.matters(obs(PAGE, version=5), obs(PAGE, url="http://127.0.0.1/other"))


# ------------------------------------------------------------------ through the agent


@pytest.mark.anyio
async def test_a_ticking_page_costs_no_extra_model_call(
    browser: Browser, site: FixtureServer
) -> None:
    """A stopwatch every 100 ms and a viewer count every 150 ms, next to the buttons; the
    model takes 400 ms, long enough for the check beside each call to see them move."""
    page: Page = await browser.new_page()
    steps = ['click "Like"', 'click "Share"', 'click "Join the chat"', 'done "joined"']
    with LocalModelServer(cassette=Cassette.of(*steps)) as model:
        model.latency = LatencyProfile(ttft_ms=400, tokens_per_s=2000)
        cfg = ProviderConfig(
            name="local", base_url=model.base_url, model="m", first_token_timeout_s=10
        )
        async with LLMPool([cfg]) as pool:
            agent = Agent("Join the chat", llm=pool, start_url=site.url("/reach/ticking.html"))
            result = await agent.run(page)
    await page.close()
    assert result.success and result.output == "joined"
    assert model.requests == len(steps)
    assert not any(e.kind == "restart" for s in result.steps for e in s.events)
    checks = [s for s in result.report.spans if s.name in ("confirm", "watch")]
    assert len(checks) == 3 and not any(s.attrs["moved"] for s in checks)
