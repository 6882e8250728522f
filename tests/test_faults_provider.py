"""Provider faults seen from the agent: each ends in a retry, a fallback to another
provider, or a clear error fed back to the model, within the step's budget."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from browser_agent import Agent, Browser, Budget, Page
from browser_agent.llm import LLMPool, ProviderConfig, RetryPolicy
from browser_agent.testing import CassetteStep, Fault, FixtureServer, LocalModelServer

pytestmark = [pytest.mark.anyio, pytest.mark.faults]

RETRY = RetryPolicy(max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)


def cfg(srv: LocalModelServer | str, name: str = "a") -> ProviderConfig:
    url = srv if isinstance(srv, str) else srv.base_url
    return ProviderConfig(
        name=name, base_url=url, model="m", stall_ms=300, first_token_timeout_s=1.0
    )


@pytest.fixture
async def form(browser: Browser, site: FixtureServer) -> AsyncIterator[Page]:
    page = await browser.new_page()
    await page.goto(site.url("/form.html"))
    yield page


SCRIPT = ['check "Subscribe to the newsletter"', 'done "ok"']


@pytest.mark.parametrize(
    "fault",
    [
        Fault("429", retry_after_s=0.05),
        Fault("429"),
        Fault("500"),
        Fault("503"),
        Fault("stall", after_events=0, hold_s=5),
        Fault("stall", after_events=3, hold_s=5),
        Fault("malformed"),
        Fault("truncate", after_events=2),
    ],
    ids=lambda f: f"{f.kind}-{f.after_events if f.kind in ('stall', 'truncate') else ''}",
)
async def test_transient_faults_are_retried(form: Page, fault: Fault) -> None:
    with LocalModelServer(SCRIPT) as srv:
        srv.inject(fault)
        async with LLMPool([cfg(srv)], retry=RETRY) as pool:
            result = await Agent("Subscribe", llm=pool, budget=Budget(llm_s=10)).run(form)
    assert result.success, result.detail
    # Each fault hits one request: the pool retries it inside the step, the second
    # attempt answers, and the step itself never sees an error.
    first = result.steps[0]
    assert first.reply is not None and first.reply.attempts == 2 and first.errors == []
    assert [a.name for s in result.steps for a in s.actions] == ["check", "done"]


async def test_connection_refused_falls_back_to_another_provider(form: Page) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    with LocalModelServer(SCRIPT) as srv:
        async with LLMPool([cfg(dead, "dead"), cfg(srv, "live")], retry=RETRY) as pool:
            result = await Agent("Subscribe", llm=pool).run(form)
    assert result.success
    assert result.steps[0].reply is not None and result.steps[0].reply.provider == "live"


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [("bad_args", "retried"), ("unknown_tool", "retried"), ("invalid_ref", "fed back")],
)
async def test_invalid_actions_are_fed_back_or_retried(form: Page, kind: str, outcome: str) -> None:
    """A reply that cannot be parsed into the offered tools (arguments that are not
    JSON, a tool that does not exist) is the provider's fault: retried in the pool. A
    well-formed call naming a ref the page does not have is the model's mistake: the
    error goes back to it as the tool result."""
    with LocalModelServer(SCRIPT) as srv:
        srv.inject(Fault(kind))  # type: ignore[arg-type]
        async with LLMPool([cfg(srv)], retry=RETRY) as pool:
            agent = Agent("Subscribe", llm=pool, budget=Budget(max_failures=3))
            result = await agent.run(form)
    assert result.success, result.detail
    fed_back = [m["content"] for m in agent.history if m.get("role") == "tool"]
    first = result.steps[0]
    assert first.reply is not None
    if outcome == "retried":
        assert first.reply.attempts == 2 and first.actions[0].ok
        assert fed_back[1:] == ["ok: finished"]  # the check's result says what it did
        assert fed_back[0].startswith("ok; [")
        assert fed_back[0].endswith('checkbox "Subscribe to the newsletter" now checked')
    else:
        assert first.reply.attempts == 1 and not first.actions[0].ok
        assert fed_back == ["error: no element [900000] on this page", "ok: finished"]


async def test_an_empty_reply_is_a_failed_step_that_is_retried(form: Page) -> None:
    with LocalModelServer([CassetteStep(actions=[], text=""), *SCRIPT]) as srv:
        async with LLMPool([cfg(srv)], retry=RETRY) as pool:
            result = await Agent("Subscribe", llm=pool).run(form)
    assert result.success and result.reason == "done"
    assert result.steps[0].errors == ["the reply had no tool call"]
    assert [[a.name for a in s.actions] for s in result.steps] == [[], ["check"], ["done"]]


async def test_a_provider_that_always_fails_ends_with_a_clear_error(form: Page) -> None:
    with LocalModelServer(SCRIPT) as srv:
        srv.inject(*[Fault("500")] * 30)
        async with LLMPool([cfg(srv)], retry=RETRY) as pool:
            result = await Agent("Subscribe", llm=pool, budget=Budget(max_failures=2)).run(form)
    assert not result.success and result.reason == "max_failures"
    assert "model call failed" in result.detail and "500" in result.detail
