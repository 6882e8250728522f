"""The agent loop on the fixture shop with the local model server: tasks complete, errors go
back to the model, faults are retried or hedged, budgets are reported and degrade."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import anyio
import pytest
from pydantic import BaseModel, Field

from browser_agent import Agent, Browser, Budget, Page, ToolError, tool
from browser_agent.agent import ActionStarted, AgentEvent, StepFinished
from browser_agent.demo import EXPECTED_ORDER, TASK, load_cassette
from browser_agent.llm import HedgePolicy, LLMPool, ProviderConfig, RetryPolicy
from browser_agent.testing import (
    Cassette,
    CassetteStep,
    Fault,
    FixtureServer,
    LatencyProfile,
    LocalModelServer,
)
from browser_agent.timing import check_spans

pytestmark = pytest.mark.anyio

FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)


@pytest.fixture(scope="module")
async def shop_browser(shared_browser: Browser) -> AsyncIterator[Browser]:
    """A context of the session's browser (same loopback policy) for this module."""
    async with await shared_browser.new_context() as b:
        yield b


@pytest.fixture
async def shop_page(shop_browser: Browser, site: FixtureServer) -> AsyncIterator[Page]:
    page = await shop_browser.new_page()
    await page.goto(site.url("/shop/index.html"))
    await page.playwright_page.evaluate("localStorage.clear()")  # an empty cart
    yield page
    await page.close()


@pytest.fixture
def model() -> Iterator[LocalModelServer]:
    with LocalModelServer() as srv:
        yield srv


def config(srv: LocalModelServer, name: str = "local", **kw: Any) -> ProviderConfig:
    kw.setdefault("stall_ms", 2000)
    kw.setdefault("first_token_timeout_s", 10.0)
    return ProviderConfig(name=name, base_url=srv.base_url, model="test-model", **kw)


def pool_for(*servers: LocalModelServer, **kw: Any) -> LLMPool:
    kw.setdefault("retry", FAST_RETRY)
    names = "abcdefgh"
    return LLMPool([config(s, names[i]) for i, s in enumerate(servers)], **kw)


def names(actions: Sequence[Any]) -> list[str]:
    return [a.name for a in actions]


def tool_results(agent: Agent) -> list[str]:
    return [m["content"] for m in agent.history if m.get("role") == "tool"]


# ------------------------------------------------------------------ the main job


async def test_checkout_task_completes_and_the_order_reaches_the_server(
    shop_page: Page, site: FixtureServer, model: LocalModelServer
) -> None:
    model.cassette = load_cassette("shop_checkout")
    model.latency = LatencyProfile(ttft_ms=5, tokens_per_s=2000)
    before = len(site.submissions)
    async with pool_for(model) as pool:
        agent = Agent(TASK, llm=pool, start_url=site.url("/shop/index.html"))
        result = await agent.run(shop_page)

    assert result.success, (result.reason, result.detail, [s.errors for s in result.steps])
    assert result.reason == "done"
    assert "Blue Kettle" in result.output
    assert [names(s.actions) for s in result.steps] == [
        ["type"],
        ["click"],
        ["click"],
        ["click"],
        ["click"],
        ["type", "type", "type", "type", "select", "check", "check", "click"],
        ["done"],
    ]
    assert all(a.ok for s in result.steps for a in s.actions)
    order = site.submissions[before]
    assert {k: order.first(k) for k in EXPECTED_ORDER} == EXPECTED_ORDER

    # Overlap: each step's observation came out of the previous action's settle, and the
    # first action of the form started while the reply was still streaming.
    observe = [s for s in result.report.spans if s.name == "observe"]
    steps_own = [s for s in observe if "action" not in s.attrs]
    assert steps_own and all(s.attrs.get("reused") for s in steps_own)
    made = [s for s in observe if "action" in s.attrs]  # timed where the action made it
    assert made and all(s.ms > 0 for s in made)
    form = result.steps[5]
    llm = next(s for s in result.report.spans if s.name == "llm_total" and s.step == form.n)
    assert form.actions[0].start_ms < llm.end_ms
    # Every action got the short settle; each next call began on that early observation,
    # and this model (5 ms to first token) always decided before the full window was
    # over, so the check was dropped and the action ran at once.
    assert all("light_settle" in a.timings for s in result.steps for a in s.actions[:-1])
    # The form's actions but the last were followed by more: nobody read their pages.
    assert ["superseded" in a.timings for a in form.actions] == [True] * 7 + [False]
    confirms = [s for s in result.report.spans if s.name == "confirm"]
    assert [s.step for s in confirms] == [2, 3, 4, 5, 6, 7]
    assert all(s.attrs["abandoned"] and not s.attrs["moved"] for s in confirms)
    assert not any(s.name == "llm_cancelled" for s in result.report.spans)
    assert check_spans(result.report.spans) == []


async def test_a_page_that_moves_after_the_early_observation_gets_a_new_call(
    site: FixtureServer, shop_page: Page, model: LocalModelServer
) -> None:
    """The next call starts on the early observation; the page changes before the full
    quiet window is over; the call is cancelled before any of its actions ran and made
    again on what the page shows now."""
    await shop_page.goto(site.url("/shop/product.html?id=1"))
    model.cassette = Cassette.of(
        'click button "Add to cart"',
        'done "not ready"',  # the answer to the early observation: must never run
        CassetteStep(match="Details: ready", actions=['done "ready"']),
    )
    model.latency = LatencyProfile(ttft_ms=400, tokens_per_s=2000)  # slower than the check

    async def change(event: AgentEvent) -> None:
        if isinstance(event, StepFinished) and event.record.n == 1:
            await shop_page.playwright_page.evaluate(
                "document.getElementById('product-description').textContent = 'Details: ready'"
            )

    async with pool_for(model) as pool:
        agent = Agent("Add the kettle, then report.", llm=pool, on_event=change)
        result = await agent.run(shop_page)

    assert result.success and result.output == "ready"
    second = result.steps[1]
    assert [a.name for a in second.actions] == ["done"]
    assert any(e.kind == "restart" for e in second.events)
    spans = [s for s in result.report.spans if s.step == 2]
    (confirm,) = [s for s in spans if s.name == "confirm"]
    assert confirm.attrs == {"moved": True, "abandoned": False}
    (cancelled,) = [s for s in spans if s.name == "llm_cancelled"]
    (llm,) = [s for s in spans if s.name == "llm_total"]
    assert cancelled.end_ms <= llm.start_ms
    assert "Details: ready" in agent.last_prompt[-1]["content"]
    assert check_spans(result.report.spans) == []


async def test_without_speculation_the_last_action_settles_fully(
    site: FixtureServer, shop_page: Page, model: LocalModelServer
) -> None:
    model.cassette = load_cassette("shop_price")
    async with pool_for(model) as pool:
        agent = Agent(
            "Price of the Green Teapot?",
            llm=pool,
            start_url=site.url("/shop/index.html"),
            speculate=False,
        )
        result = await agent.run(shop_page)
    assert result.success
    assert not any("light_settle" in a.timings for s in result.steps for a in s.actions)
    assert not any(s.name == "confirm" for s in result.report.spans)


async def test_the_prompt_prefix_is_byte_stable_and_the_history_only_grows(
    shop_page: Page, site: FixtureServer, model: LocalModelServer
) -> None:
    model.cassette = load_cassette("shop_price")
    prompts: list[list[dict[str, Any]]] = []

    def hook(event: AgentEvent) -> None:
        if isinstance(event, ActionStarted):
            prompts.append(list(agent.last_prompt))

    async with pool_for(model) as pool:
        agent = Agent("Price of the Green Teapot?", llm=pool, on_event=hook)
        result = await agent.run(shop_page)
    assert result.success and result.output == "The Green Teapot costs €27.00"
    assert len(prompts) == 3
    for earlier, later in itertools.pairwise(prompts):
        assert later[: len(earlier) - 1] == earlier[:-1]  # all but the observation is kept
        assert later[-1]["content"].startswith("<page_observation")
    assert prompts[0][0]["role"] == "system" and "<task>" in prompts[0][1]["content"]
    sizes = [s.prompt_chars for s in result.steps]
    assert all(size > 0 for size in sizes)


# ------------------------------------------------------------ errors to the model


async def test_a_stale_ref_is_reported_to_the_model_and_the_task_recovers(
    site: FixtureServer, shop_page: Page, model: LocalModelServer
) -> None:
    await shop_page.goto(site.url("/shop/product.html?id=1"))
    model.cassette = Cassette.of(
        ['click button "Add to cart"', 'click link "View cart"'],
        'click button "Add to basket"',
        'done "Added the kettle"',
    )
    renamed = False

    async def rerender(event: AgentEvent) -> None:
        # The page re-renders the button while the model was deciding.
        nonlocal renamed
        if isinstance(event, ActionStarted) and event.step == 1 and not renamed:
            renamed = True
            await shop_page.playwright_page.evaluate(
                "document.getElementById('add-to-cart').textContent = 'Add to basket'"
            )

    async with pool_for(model) as pool:
        agent = Agent("Add the kettle to the cart.", llm=pool, on_event=rerender)
        result = await agent.run(shop_page)

    first = result.steps[0]
    click, view = first.actions
    assert not click.ok and "Add to basket" in (click.error or "")
    assert view.skipped and "changed under" in (view.error or "")
    results = tool_results(agent)
    assert results[0].startswith("error:") and "Add to basket" in results[0]
    assert results[1].startswith("skipped:")
    assert result.steps[1].actions[0].ok
    assert result.success and result.reason == "done"
    status = await shop_page.playwright_page.text_content("#cart-status")
    assert status == "Added Blue Kettle to cart"


async def test_actions_after_a_navigation_are_dropped_and_the_model_is_told(
    site: FixtureServer, shop_page: Page, model: LocalModelServer
) -> None:
    model.cassette = Cassette.of(
        ['click link "Red Mug"', 'click link "Green Teapot"', 'done "clicked"'],
        'done "On the Red Mug page"',
    )
    async with pool_for(model) as pool:
        agent = Agent("Open the red mug.", llm=pool)
        result = await agent.run(shop_page)
    mug, teapot, done = result.steps[0].actions
    assert mug.ok and mug.navigated
    assert teapot.skipped and done.skipped
    assert "navigated" in (teapot.error or "")
    assert tool_results(agent)[1].startswith("skipped: the page navigated")
    assert result.steps[1].url.endswith("product.html?id=2")
    assert result.success and result.output == "On the Red Mug page"


async def test_unknown_refs_are_fed_back_until_max_failures(
    shop_page: Page, model: LocalModelServer
) -> None:
    bad = '{"name": "click", "arguments": {"ref": 4242}}'
    model.cassette = Cassette.of(bad, bad, bad, bad)
    async with pool_for(model) as pool:
        agent = Agent("Click something.", llm=pool, budget=Budget(max_failures=3))
        result = await agent.run(shop_page)
    assert result.reason == "max_failures" and not result.success
    assert len(result.steps) == 3
    assert all("4242" in (s.actions[0].error or "") for s in result.steps)
    assert all("4242" in r for r in tool_results(agent))
    assert "4242" in result.detail


async def test_a_reply_without_tool_calls_is_nudged(
    shop_page: Page, model: LocalModelServer
) -> None:
    from browser_agent.testing import CassetteStep

    model.cassette = Cassette.of(CassetteStep(text="I think I am done."), 'done "ok"')
    async with pool_for(model) as pool:
        agent = Agent("Say ok.", llm=pool)
        result = await agent.run(shop_page)
    assert result.steps[0].errors == ["the reply had no tool call"]
    assert "no tool call" in agent.last_prompt[-1]["content"]
    assert result.success


# ------------------------------------------------------------------ user tools


async def test_independent_user_tools_run_concurrently_page_tools_in_order(
    shop_page: Page, model: LocalModelServer
) -> None:
    a_ready, b_ready = anyio.Event(), anyio.Event()
    order: list[str] = []

    @tool
    async def ping(name: str) -> str:
        """Wait for the other tool: only works if both run at once."""
        mine, other = (a_ready, b_ready) if name == "a" else (b_ready, a_ready)
        mine.set()
        with anyio.fail_after(5):
            await other.wait()
        return f"{name} saw the other"

    @tool
    async def read_title(page: Page) -> str:
        """Read the page title (takes the page, so it runs in order)."""
        order.append("read_title")
        return await page.playwright_page.title()

    model.cassette = Cassette.of(
        [
            '{"name": "ping", "arguments": {"name": "a"}}',
            '{"name": "ping", "arguments": {"name": "b"}}',
            'click link "Red Mug"',
            '{"name": "read_title", "arguments": {}}',
        ],
        'done "both"',
    )
    async with pool_for(model) as pool:
        agent = Agent("Ping twice.", llm=pool, tools=[ping, read_title])
        result = await agent.run(shop_page)
    acts = result.steps[0].actions
    assert [a.result for a in acts[:2]] == ["a saw the other", "b saw the other"]
    assert acts[2].ok and acts[2].navigated
    assert acts[3].skipped  # it came after a navigation
    assert result.success


async def test_tool_argument_errors_go_back_to_the_model(
    shop_page: Page, model: LocalModelServer
) -> None:
    class Order(BaseModel):
        sku: str = Field(min_length=2)
        quantity: int = Field(ge=1)

    @tool
    def place(order: Order) -> dict[str, Any]:
        """Place an order for a SKU."""
        if order.sku == "XX":
            raise ToolError("sku XX is sold out")
        return {"ok": True, "sku": order.sku, "quantity": order.quantity}

    model.cassette = Cassette.of(
        '{"name": "place", "arguments": {"sku": "AB", "quantity": 0}}',
        '{"name": "place", "arguments": {"sku": "XX", "quantity": 1}}',
        '{"name": "place", "arguments": {"sku": "AB", "quantity": 2}}',
        'done "placed"',
    )
    async with pool_for(model) as pool:
        agent = Agent("Order two AB.", llm=pool, tools=[place])
        result = await agent.run(shop_page)
    r = tool_results(agent)
    assert r[0].startswith("error: invalid arguments for place: quantity")
    assert r[1] == "error: sku XX is sold out"
    assert r[2] == '{"ok":true,"sku":"AB","quantity":2}'
    schema = next(t for t in agent.tool_schemas() if t["function"]["name"] == "place")
    assert schema["function"]["description"] == "Place an order for a SKU."
    assert schema["function"]["parameters"]["properties"]["quantity"]["minimum"] == 1
    assert result.success


async def test_output_model_validates_the_done_result(
    site: FixtureServer, shop_page: Page, model: LocalModelServer
) -> None:
    class Price(BaseModel):
        product: str
        price_eur: float

    await shop_page.goto(site.url("/shop/product.html?id=3"))
    model.cassette = Cassette.of(
        '{"name": "done", "arguments": {"result": {"product": "Green Teapot"}, "success": true}}',
        '{"name": "done", "arguments": {"result": {"product": "Green Teapot", "price_eur": 27}, '
        '"success": true}}',
    )
    async with pool_for(model) as pool:
        agent = Agent("Price of this product?", llm=pool, output_model=Price)
        result = await agent.run(shop_page)
    assert "price_eur" in (result.steps[0].actions[0].error or "")
    assert result.success and result.output == Price(product="Green Teapot", price_eur=27.0)
    assert result.to_dict()["output"] == {"product": "Green Teapot", "price_eur": 27.0}


# ------------------------------------------------------------- provider faults


async def test_a_provider_fault_mid_task_is_retried(
    shop_page: Page, model: LocalModelServer
) -> None:
    model.cassette = load_cassette("shop_price")

    def fault_after_first_step(event: AgentEvent) -> None:
        if isinstance(event, StepFinished) and event.record.n == 1:
            model.inject(Fault("500"))

    async with pool_for(model) as pool:
        agent = Agent("Price of the Green Teapot?", llm=pool, on_event=fault_after_first_step)
        result = await agent.run(shop_page)
    assert result.success
    second = result.steps[1].reply
    assert second is not None and second.attempts == 2
    assert second.failures and "500" in second.failures[0]
    retries = [e for e in result.report.events if e.kind == "retry"]
    assert [e.step for e in retries] == [2]


async def test_a_slow_provider_mid_task_is_hedged(shop_page: Page) -> None:
    with (
        LocalModelServer(load_cassette("shop_price")) as a,
        LocalModelServer(load_cassette("shop_price")) as b,
    ):

        def slow_second_step(event: AgentEvent) -> None:
            if isinstance(event, StepFinished) and event.record.n == 1:
                a.inject(Fault("slow", ttft_ms=5000))

        # Fixed order (no learnt routing), so that the slow step is a's and gets hedged.
        policy = HedgePolicy(after_ms=100, learn_routes=False)
        async with pool_for(a, b, hedge=policy) as pool:
            agent = Agent(
                "Price of the Green Teapot?",
                llm=pool,
                budget=Budget(hedge="always"),
                on_event=slow_second_step,
            )
            result = await agent.run(shop_page)
    assert result.success
    reply = result.steps[1].reply
    assert reply is not None and reply.hedged and reply.provider == "b"
    assert any(e.kind == "hedge" and e.step == 2 for e in result.report.events)


# --------------------------------------------------------------------- budgets


async def test_a_slow_first_token_is_reported_and_moves_to_the_fast_tier(
    shop_page: Page,
) -> None:
    with (
        LocalModelServer(load_cassette("shop_price")) as strong,
        LocalModelServer(load_cassette("shop_price")) as fast,
    ):
        strong.inject(Fault("slow", ttft_ms=400))
        pool = LLMPool(
            [config(strong, "strong", tier="strong"), config(fast, "fast", tier="fast")],
            retry=FAST_RETRY,
        )
        async with pool:
            agent = Agent(
                "Price of the Green Teapot?",
                llm=pool,
                tier="strong",
                budget=Budget(llm_ttft_s=0.15),
            )
            result = await agent.run(shop_page)
    assert result.success
    first, second = result.steps[:2]
    overrun = next(e for e in first.events if e.kind == "overrun")
    assert overrun.stage == "llm_ttft" and overrun.actual_ms > overrun.limit_ms
    degrade = next(e for e in first.events if e.kind == "degrade")
    assert "fast" in degrade.detail
    assert first.tier == "strong" and first.reply and first.reply.provider == "strong"
    assert second.tier == "fast" and second.reply and second.reply.provider == "fast"


async def test_a_hung_model_call_is_cut_at_its_budget_and_says_why_nothing_degrades(
    shop_page: Page, model: LocalModelServer
) -> None:
    model.cassette = load_cassette("shop_price")
    model.inject(Fault("slow", ttft_ms=20_000))
    async with pool_for(model) as pool:
        agent = Agent("Price of the Green Teapot?", llm=pool, budget=Budget(llm_s=0.4))
        result = await agent.run(shop_page)
    first = result.steps[0]
    assert first.reply is None and "within 0.4 s" in first.errors[0]
    kinds = [(e.kind, e.stage) for e in first.events]
    # One provider, a small page: a smaller observation would not help a stalled model.
    assert ("overrun", "llm_total") in kinds and ("no_degrade", "llm_total") in kinds
    assert not any(e.kind == "degrade" for e in result.report.events)
    why = next(e.detail for e in first.events if e.kind == "no_degrade")
    assert "one provider" in why and "kept whole" in why
    assert result.steps[1].observation_chars > 0
    assert result.success
    assert result.report.stages["llm_total"].max < 2000  # bounded, not 20 s


async def test_the_session_budget_stops_the_run_with_a_reason(
    shop_page: Page, model: LocalModelServer
) -> None:
    model.cassette = load_cassette("shop_price")
    model.latency = LatencyProfile(ttft_ms=10_000)
    async with pool_for(model) as pool:
        agent = Agent("Price?", llm=pool, budget=Budget(session_s=1.0))
        with anyio.fail_after(10):
            result = await agent.run(shop_page)
    assert result.reason == "budget" and not result.success
    assert "1 s budget" in result.detail
    assert any(e.kind == "overrun" and e.stage == "session" for e in result.report.events)
    assert check_spans(result.report.spans) == []


async def test_max_steps_stops_the_run(shop_page: Page, model: LocalModelServer) -> None:
    model.cassette = Cassette.of(*(["scroll down"] * 5))
    async with pool_for(model) as pool:
        agent = Agent("Scroll forever.", llm=pool, budget=Budget(max_steps=2))
        result = await agent.run(shop_page)
    assert result.reason == "max_steps" and len(result.steps) == 2


# ------------------------------------------------------------------- start-up


async def test_the_agent_launches_its_own_browser_and_records_the_session(
    site: FixtureServer, model: LocalModelServer, tmp_path: Any
) -> None:
    model.cassette = load_cassette("shop_price")
    path = tmp_path / "session.jsonl"
    async with pool_for(model) as pool:
        agent = Agent(
            "Price of the Green Teapot?",
            llm=pool,
            start_url=site.url("/shop/index.html"),
            allowed_domains=["127.0.0.1"],
            record=path,
        )
        result = await agent.run()
    assert result.success
    session = {s.name for s in result.report.spans if s.parent == 0}
    assert {"warm_up", "launch", "load", "first_observe"} <= session
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = ["header", "prefix", "step", "step", "step", "footer"]
    assert [line["type"] for line in lines] == kinds  # browser_agent.recording
    assert lines[-1]["success"] is True


async def test_a_blocked_start_url_ends_with_an_error_not_an_exception(
    shop_page: Page, model: LocalModelServer
) -> None:
    async with pool_for(model) as pool:
        agent = Agent("Go.", llm=pool, start_url="http://127.0.0.1:9/nothing.html")
        result = await agent.run(shop_page)
    assert result.reason == "error" and not result.steps and not result.success


# ------------------------------------------------------------------ unit level


def test_tools_register_with_schemas_from_their_signatures() -> None:
    from browser_agent import ConfigurationError

    class Answer(BaseModel):
        city: str
        population: int

    agent = Agent("t", llm=ProviderConfig(base_url="http://127.0.0.1:9/v1", model="m"))

    @agent.tool
    def add(a: int, b: int = 2) -> int:
        """Add two numbers.

        Longer explanation that the model does not need.
        """
        return a + b

    @agent.tool(name="title_of")
    async def title(page: Page, upper: bool = False) -> str:
        """The page title."""
        return ""

    schemas = {t["function"]["name"]: t["function"] for t in agent.tool_schemas()}
    assert {"click", "type", "done", "add", "title_of"} <= set(schemas)
    assert schemas["add"]["description"] == "Add two numbers."
    params = schemas["add"]["parameters"]
    assert params["required"] == ["a"] and params["properties"]["b"]["default"] == 2
    assert "title" not in json.dumps(params)  # pydantic's titles are dropped
    assert set(schemas["title_of"]["parameters"]["properties"]) == {"upper"}
    assert agent.tools["title_of"].takes_page and not agent.tools["add"].takes_page
    with pytest.raises(ConfigurationError, match="shadow"):
        agent.add_tool(tool(name="click")(lambda ref: None))
    with pytest.raises(ConfigurationError, match="two tools"):
        agent.add_tool(add)

    typed = Agent("t", llm=agent.llm, output_model=Answer)  # type: ignore[arg-type]
    done = next(t for t in typed.tool_schemas() if t["function"]["name"] == "done")
    result = done["function"]["parameters"]["properties"]["result"]
    assert result["anyOf"][0]["properties"]["population"]["type"] == "integer"
    assert result["anyOf"][1] == {"type": "string"}


def test_budget_remedies_follow_the_stage_and_the_allowed_list() -> None:
    b = Budget()
    assert b.remedies("llm_ttft") == ["hedge", "fast_tier"]
    assert b.remedies("observe") == ["viewport"]
    assert b.remedies("act") == []
    assert Budget(hedge="never").remedies("llm_ttft") == ["fast_tier"]
    assert Budget(degrade=("viewport",)).remedies("llm_total") == ["viewport"]
    assert b.limit_s("llm_total") == b.llm_s and b.limit_s("nothing") is None
    with pytest.raises(ValueError):
        Budget(session_s=0)
