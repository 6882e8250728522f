"""The pool against the local server: every fault ends in a retry, a fallback or a typed
error (never a hang), hedging fires and cancels the loser, tiers route."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import pytest
from llm_support import REFS, config, messages, serve

from browser_agent.exceptions import (
    BudgetExceededError,
    InvalidActionError,
    LLMError,
    MalformedResponseError,
    NoProviderAvailableError,
    ProviderConnectionError,
    RateLimitError,
    StallError,
)
from browser_agent.llm import (
    Action,
    HedgePolicy,
    LLMPool,
    ProviderConfig,
    RetryPolicy,
    step_messages,
)
from browser_agent.testing import Fault, LatencyProfile, LocalModelServer

pytestmark = [pytest.mark.anyio, pytest.mark.faults]

FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)


async def eventually(cond: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait (bounded) for something the server notices on its own time, e.g. a disconnect."""
    with anyio.fail_after(timeout):
        while not cond():
            await anyio.sleep(0.005)


def kinds(server: LocalModelServer) -> list[tuple[str | None, int]]:
    return [(r.fault, r.status) for r in server.log if r.path.endswith("/chat/completions")]


# ------------------------------------------------------------------ retries


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("500"), None),
        (Fault("503"), None),
        (Fault("stall", after_events=3), StallError),
        (Fault("malformed"), MalformedResponseError),
        (Fault("bad_args"), MalformedResponseError),
        (Fault("truncate", after_events=4), ProviderConnectionError),
        (Fault("unknown_tool"), InvalidActionError),
        (Fault("invalid_ref"), InvalidActionError),
    ],
    ids=lambda v: v.kind if isinstance(v, Fault) else "",
)
async def test_each_fault_is_retried(fault: Fault, error: type[Exception] | None) -> None:
    async with serve(faults=[fault]) as srv, LLMPool([config(srv)], retry=FAST_RETRY) as pool:
        t0 = time.perf_counter()
        reply = await pool.complete(messages(), valid_refs=REFS, budget_s=5)
        elapsed = time.perf_counter() - t0
        assert [a.name for a in reply.actions] == ["type"]
        assert reply.actions[0].arguments["ref"] == 3
        assert reply.attempts == 2
        assert kinds(srv)[0][0] == fault.kind and len(kinds(srv)) == 2
        assert elapsed < 2.0  # the stall is cut at stall_ms (300 ms), not at hold_s (30 s)
        (failure,) = reply.failures
        assert failure.startswith((error or RuntimeError).__name__ if error else "ProviderError")


async def test_invalid_ref_passes_without_valid_refs() -> None:
    async with serve(faults=[Fault("invalid_ref")]) as srv, LLMPool([config(srv)]) as pool:
        reply = await pool.complete(messages())
        assert reply.actions[0].arguments["ref"] >= 900_000


async def test_429_honours_retry_after() -> None:
    async with (
        serve(faults=[Fault("429", retry_after_s=0.25)]) as srv,
        LLMPool([config(srv)], retry=FAST_RETRY) as pool,
    ):
        t0 = time.perf_counter()
        reply = await pool.complete(messages(), budget_s=5)
        assert time.perf_counter() - t0 >= 0.25
        assert reply.actions and kinds(srv) == [("429", 429), (None, 200)]


async def test_429_longer_than_the_budget_fails_fast_with_the_reason() -> None:
    async with (
        serve(faults=[Fault("429", retry_after_s=30)]) as srv,
        LLMPool([config(srv)], retry=FAST_RETRY) as pool,
    ):
        t0 = time.perf_counter()
        with pytest.raises(NoProviderAvailableError) as info:
            await pool.complete(messages(), budget_s=2)
        assert time.perf_counter() - t0 < 1.0
        assert isinstance(info.value.errors[0], RateLimitError)
        assert info.value.errors[0].retry_after == pytest.approx(30)


async def test_persistent_failure_gives_a_typed_error_after_max_attempts() -> None:
    async with (
        serve(faults=[Fault("500")] * 10) as srv,
        LLMPool([config(srv)], retry=FAST_RETRY) as pool,
    ):
        with pytest.raises(NoProviderAvailableError, match="3 attempts") as info:
            await pool.complete(messages(), budget_s=5)
        assert len(info.value.errors) == 3 and len(kinds(srv)) == 3


async def test_non_retryable_error_is_not_retried() -> None:
    async with (
        serve(api_key="sk-right-0123456789") as srv,
        LLMPool([config(srv, api_key="sk-wrong-0123456789")]) as pool,
    ):
        with pytest.raises(NoProviderAvailableError, match="HTTP 401"):
            await pool.complete(messages(), budget_s=5)
        assert len(kinds(srv)) == 1


async def test_budget_bounds_a_slow_provider() -> None:
    async with (
        serve(faults=[Fault("slow", ttft_ms=10_000)]) as srv,
        LLMPool([config(srv)], hedge=HedgePolicy(enabled=False)) as pool,
    ):
        t0 = time.perf_counter()
        with pytest.raises(BudgetExceededError):
            await pool.complete(messages(), budget_s=0.3)
        assert time.perf_counter() - t0 < 1.0
        await eventually(lambda: srv.cancelled == 1)


# ----------------------------------------------------------------- fallback


async def test_connect_error_falls_back_to_the_next_provider() -> None:
    dead = ProviderConfig(name="dead", base_url="http://127.0.0.1:9/v1", model="m")
    cool = RetryPolicy(backoff_base_s=5.0, backoff_max_s=5.0)  # long enough to be seen
    async with serve() as srv, LLMPool([dead, config(srv, name="b")], retry=cool) as pool:
        reply = await pool.complete(messages(), budget_s=5)
        assert reply.provider == "b" and reply.attempts == 2
        # The dead provider now cools down: the next call goes straight to b.
        reply = await pool.complete(messages(), budget_s=5)
        assert reply.provider == "b" and reply.attempts == 1
        assert pool.stats()["dead"].failures == 1


async def test_429_on_one_provider_falls_back_without_waiting() -> None:
    async with (
        serve(faults=[Fault("429", retry_after_s=5)]) as a,
        serve() as b,
        LLMPool([config(a, name="a"), config(b, name="b")], retry=FAST_RETRY) as pool,
    ):
        t0 = time.perf_counter()
        reply = await pool.complete(messages(), budget_s=10)
        assert reply.provider == "b" and time.perf_counter() - t0 < 1.0


async def test_stream_broken_after_an_action_was_handed_out_gives_a_partial_reply() -> None:
    # Second step: click, check, select. Cut the stream after the click closed.
    async with serve() as srv, LLMPool([config(srv)], retry=FAST_RETRY) as pool:
        first = await pool.complete(messages())
        srv.inject(Fault("truncate", after_events=9))
        got: list[Action] = []
        reply = await pool.complete(messages(step_messages(first)), on_action=got.append)
        assert reply.finish_reason == "error" and reply.error
        assert [a.name for a in reply.actions] == [a.name for a in got] == ["click"]
        assert reply.raw["tool_calls"][0]["function"]["name"] == "click"
        # Without a callback nothing was acted on: the same fault is simply retried.
        srv.inject(Fault("truncate", after_events=9))
        reply = await pool.complete(messages(step_messages(first)))
        assert [a.name for a in reply.actions] == ["click", "check", "select"]


# ------------------------------------------------------------------ hedging


async def test_hedge_fires_and_the_loser_is_cancelled() -> None:
    async with serve(faults=[Fault("slow", ttft_ms=5_000)]) as a, serve() as b:
        hedge = HedgePolicy(after_ms=50)
        async with LLMPool([config(a, name="a"), config(b, name="b")], hedge=hedge) as pool:
            t0 = time.perf_counter()
            reply = await pool.complete(messages(), budget_s=10)
            elapsed = time.perf_counter() - t0
            assert reply.provider == "b" and reply.hedged and reply.attempts == 2
            assert 0.05 <= elapsed < 1.0
            assert reply.timings.ttft is not None and reply.timings.ttft >= 50
            await eventually(lambda: a.cancelled == 1)
            assert a.log[-1].cancelled and not a.log[-1].completed
            stats = pool.stats()
            assert stats["a"].cancelled == 1 and stats["b"].hedge_wins == 1


async def test_no_hedge_when_the_first_token_is_on_time() -> None:
    fast = LatencyProfile(ttft_ms=5)
    async with serve(latency=fast) as a, serve() as b:
        hedge = HedgePolicy(after_ms=500)
        async with LLMPool([config(a, name="a"), config(b, name="b")], hedge=hedge) as pool:
            reply = await pool.complete(messages())
            assert reply.provider == "a" and not reply.hedged
            assert b.requests == 0


async def test_hedge_threshold_follows_the_observed_p95() -> None:
    async with serve(latency=LatencyProfile(ttft_ms=20)) as a, serve() as b:
        hedge = HedgePolicy(min_samples=5, initial_ms=5_000, min_ms=0, learn_routes=False)
        async with LLMPool([config(a, name="a"), config(b, name="b")], hedge=hedge) as pool:
            assert pool.hedge_threshold_ms("a") == 5_000
            for _ in range(5):
                await pool.complete(messages())
            threshold = pool.hedge_threshold_ms("a")
            assert 15 < threshold < 200
            a.inject(Fault("slow", ttft_ms=3_000))
            t0 = time.perf_counter()
            reply = await pool.complete(messages())
            assert reply.provider == "b" and time.perf_counter() - t0 < 1.0


async def test_a_failing_hedge_does_not_fail_the_call() -> None:
    slow = LatencyProfile(ttft_ms=150)
    async with serve(latency=slow) as a, serve(faults=[Fault("500")]) as b:
        hedge = HedgePolicy(after_ms=20)
        async with LLMPool([config(a, name="a"), config(b, name="b")], hedge=hedge) as pool:
            reply = await pool.complete(messages())
            assert reply.provider == "a" and reply.hedged


# -------------------------------------------------------------------- tiers


async def test_tiers_route_and_share_one_client_per_endpoint() -> None:
    async with serve() as srv:
        fast = config(srv, name="local")
        strong = fast.model_copy(update={"model": "big-model", "tier": "strong"})
        async with LLMPool([fast, strong]) as pool:
            assert len(pool.clients) == 1
            assert pool.tiers() == {"fast": ["local"], "strong": ["local:big-model"]}
            r1 = await pool.complete(messages(), tier="fast")
            r2 = await pool.complete(messages(), tier="strong")
            r3 = await pool.complete(messages(), tier="unknown")
            assert (r1.model, r2.model, r3.model) == ("test-model", "big-model", "test-model")
            assert [r.model for r in srv.log[-3:]] == ["test-model", "big-model", "test-model"]


async def test_concurrent_calls_share_the_pool() -> None:
    async with serve(latency=LatencyProfile(ttft_ms=20)) as srv, LLMPool([config(srv)]) as pool:
        replies = []

        async def one() -> None:
            replies.append(await pool.complete(messages()))

        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(one)
        assert len(replies) == 8 and all(r.actions for r in replies)
        assert srv.connections <= 8


async def test_every_error_is_an_llm_error() -> None:
    dead = ProviderConfig(name="dead", base_url="http://127.0.0.1:9/v1", model="m")
    async with LLMPool([dead], retry=FAST_RETRY) as pool:
        with pytest.raises(LLMError):
            await pool.complete(messages(), budget_s=2)


async def test_stalls_everywhere_end_in_a_typed_error_not_a_hang() -> None:
    async with (
        serve(faults=[Fault("stall", after_events=2)] * 5) as srv,
        LLMPool([config(srv, stall_ms=100)], retry=FAST_RETRY) as pool,
    ):
        t0 = time.perf_counter()
        with pytest.raises(NoProviderAvailableError) as info:
            await pool.complete(messages(), budget_s=10)
        assert time.perf_counter() - t0 < 2.0
        assert [type(e) for e in info.value.errors] == [StallError] * 3


async def test_fault_per_request_from_provider_headers() -> None:
    async with serve() as srv:
        sick = config(srv, name="sick", headers={"x-fault": "503"})
        async with LLMPool([sick, config(srv, name="ok")], retry=FAST_RETRY) as pool:
            reply = await pool.complete(messages())
            assert reply.provider == "ok" and reply.failures[0].startswith("ProviderError")
            assert kinds(srv) == [("503", 503), (None, 200)]


def test_pool_from_env_with_a_strong_tier() -> None:
    env = {
        "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",
        "BROWSER_AGENT_MODEL": "small",
        "BROWSER_AGENT_STRONG_MODEL": "big",
    }
    pool = LLMPool.from_env(env=env, budget_s=5)
    assert pool.tiers() == {"fast": ["127.0.0.1"], "strong": ["127.0.0.1:big"]}
    assert len(pool.clients) == 1 and pool.budget_s == 5
