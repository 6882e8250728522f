"""Tail latency by default: adaptive hedge thresholds, learnt routing, bounded hedge
budgets, same-provider hedges, and no action ever taken from a losing stream."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

import anyio
import httpx
import pytest
from llm_support import config, messages, serve

from browser_agent.exceptions import BudgetExceededError, ConfigurationError
from browser_agent.llm import Action, HedgePolicy, LLMClient, LLMPool, ProviderConfig, RetryPolicy
from browser_agent.testing import Cassette, Fault, LatencyProfile, LocalModelServer

pytestmark = [pytest.mark.anyio, pytest.mark.faults]

FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)


async def eventually(cond: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait (bounded) for something the server notices on its own time, e.g. a disconnect."""
    with anyio.fail_after(timeout):
        while not cond():
            await anyio.sleep(0.005)


def chats(server: LocalModelServer) -> list[int]:
    """The connection each chat request came on."""
    return [r.connection for r in server.log if r.path.endswith("/chat/completions")]


# --------------------------------------------------------------- thresholds


async def test_threshold_is_the_recent_p95_of_first_tokens_above_a_floor() -> None:
    async with serve(latency=LatencyProfile(ttft_ms=20)) as a:
        policy = HedgePolicy(min_samples=5, initial_ms=5_000, min_ms=0)
        async with LLMPool([config(a, name="a")], hedge=policy) as pool:
            assert pool.hedge_threshold_ms("a") == 5_000  # nothing known yet
            for _ in range(5):
                await pool.complete(messages())
            learnt = pool.hedge_threshold_ms("a")
            assert 15 < learnt < 200
            stats = pool.stats()["a"]
            assert stats.ttft_p95_ms == pytest.approx(learnt)
            assert stats.samples == 5 and stats.first_action_p95_ms is not None
            pool.hedge = HedgePolicy(min_samples=5)  # the default floor: never sooner
            assert pool.hedge_threshold_ms("a") == 250
            with pytest.raises(ConfigurationError, match="no route"):
                pool.hedge_threshold_ms("nobody")


async def test_the_warm_up_round_trip_seeds_the_threshold() -> None:
    async with serve() as a:
        policy = HedgePolicy(initial_ms=0.001, min_ms=0)
        async with LLMPool([config(a, name="a")], hedge=policy) as pool:
            assert pool.hedge_threshold_ms("a") == pytest.approx(0.001)
            assert (await pool.warm_up()) == {"a": True}
            warm = pool.stats()["a"].warm_up_ms
            assert warm is not None and warm > 0
            assert pool.hedge_threshold_ms("a") == pytest.approx(3 * warm)


def test_hedge_budgets_are_bounded() -> None:
    with pytest.raises(ValueError):
        HedgePolicy(max_hedges=2)  # at most one extra request per call
    with pytest.raises(ValueError):
        HedgePolicy(max_share=1.5)
    d = HedgePolicy()
    assert d.enabled and d.after_ms is None and d.quantile == 95 and d.min_ms == 250
    assert d.max_share == 0.1 and not d.same_provider and d.learn_routes


# ------------------------------------------------------------------ hedging


async def test_default_policy_hedges_a_late_first_token_and_cancels_the_loser() -> None:
    async with serve(faults=[Fault("slow", ttft_ms=5_000)]) as a, serve() as b:
        providers = [config(a, name="a", stall_ms=10_000), config(b, name="b")]
        async with LLMPool(providers) as pool:
            assert pool.hedge_threshold_ms("a") == 1000  # nothing known yet
            t0 = time.perf_counter()
            reply = await pool.complete(messages(), budget_s=10)
            elapsed = time.perf_counter() - t0
            assert reply.hedged and reply.hedge_won and reply.provider == "b"
            assert 1.0 <= elapsed < 1.8
            await eventually(lambda: a.cancelled == 1)
            assert pool.calls == 1 and pool.hedged_calls == 1
            # The cut wait counts (a lower bound): `a` is not taken for a fast provider.
            assert pool.stats()["a"].ttft_p50_ms is not None
            assert pool.stats()["a"].ttft_p50_ms >= 1000


async def test_no_action_is_ever_taken_from_a_losing_stream() -> None:
    """`a` sends its first token first, but `b` completes an action first: only `b`'s
    actions reach the caller, and `a` is cancelled mid-stream."""
    slow_decode = LatencyProfile(ttft_ms=150, tokens_per_s=25)
    async with (
        serve(cassette=Cassette.of("click [12]"), latency=slow_decode) as a,
        serve(cassette=Cassette.of("click [13]"), latency=LatencyProfile(ttft_ms=200)) as b,
    ):
        policy = HedgePolicy(after_ms=50)
        async with LLMPool([config(a, name="a"), config(b, name="b")], hedge=policy) as pool:
            acted: list[Action] = []
            reply = await pool.complete(messages(), on_action=acted.append, budget_s=10)
            assert reply.provider == "b" and reply.hedge_won
            assert reply.timings.ttft is not None and reply.timings.ttft >= 200
            assert [a.arguments for a in acted] == [{"ref": 13}]
            assert [x.id for x in acted] == [x.id for x in reply.actions]
            await eventually(lambda: a.cancelled == 1)
            assert a.log[-1].ttft_ms < b.log[-1].ttft_ms + 50  # a had tokens out first
            assert not a.log[-1].completed


async def test_same_provider_hedge_is_opt_in_and_uses_a_connection_of_its_own() -> None:
    async with serve(faults=[Fault("slow", ttft_ms=5_000)]) as srv:
        async with LLMPool(
            [config(srv, name="p", stall_ms=10_000)], hedge=HedgePolicy(after_ms=50)
        ) as pool:
            with pytest.raises(BudgetExceededError):  # one provider, no opt-in: no hedge
                await pool.complete(messages(), budget_s=0.4)
            assert len(chats(srv)) == 1 and pool.hedged_calls == 0
        srv.inject(Fault("slow", ttft_ms=5_000))
        policy = HedgePolicy(after_ms=50, same_provider=True)
        async with LLMPool([config(srv, name="p", stall_ms=10_000)], hedge=policy) as pool:
            await pool.warm_up()
            t0 = time.perf_counter()
            reply = await pool.complete(messages(), budget_s=10)
            assert time.perf_counter() - t0 < 1.0
            assert reply.provider == "p" and reply.hedged and reply.hedge_won
            slow, fresh = chats(srv)[-2:]
            assert slow != fresh  # the re-issue went out on another connection
            await eventually(lambda: srv.cancelled == 2)


async def test_the_share_of_hedged_calls_is_capped() -> None:
    slow = LatencyProfile(ttft_ms=40)
    async with serve(latency=slow) as a, serve() as b:
        policy = HedgePolicy(after_ms=5, max_share=0.1, learn_routes=False)
        async with LLMPool([config(a, name="a"), config(b, name="b")], hedge=policy) as pool:
            replies = [await pool.complete(messages()) for _ in range(30)]
        hedged = sum(r.hedged for r in replies)
        # A burst of one, then one per ten calls: never every slow call.
        assert 2 <= hedged <= 1 + 30 * 0.1
        assert pool.hedged_calls == hedged == len(chats(b))
        assert all(r.attempts <= 2 for r in replies)  # at most one extra request per call


async def test_no_hedge_while_hedging_is_off() -> None:
    async with serve(faults=[Fault("slow", ttft_ms=300)]) as a, serve() as b:
        policy = HedgePolicy(after_ms=20)
        providers = [config(a, name="a", stall_ms=5_000), config(b, name="b")]
        async with LLMPool(providers, hedge=policy) as pool:
            reply = await pool.complete(messages(), hedge=False)
            assert reply.provider == "a" and not reply.hedged and b.requests == 0


class _Gate(httpx.AsyncByteStream):
    """A reply held back until `release`, then sent whole: one click on `ref`."""

    def __init__(self, release: anyio.Event, ref: int) -> None:
        self.release, self.ref = release, ref

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await self.release.wait()
        call = {
            "index": 0,
            "id": f"call_{self.ref}",
            "type": "function",
            "function": {"name": "click", "arguments": json.dumps({"ref": self.ref})},
        }
        chunks = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [call]}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        ]
        yield b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
        yield b"data: [DONE]\n\n"


class _GatedProvider(httpx.AsyncBaseTransport):
    def __init__(self, release: anyio.Event, ref: int) -> None:
        self.release, self.ref, self.requests = release, ref, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=_Gate(self.release, self.ref))


async def test_a_loser_whose_action_is_already_in_hand_does_not_deliver_it() -> None:
    """Both replies arrive in the same instant: the second stream to be read holds a
    complete action when the first has already won, before its cancellation lands."""
    release = anyio.Event()
    a, b = _GatedProvider(release, 12), _GatedProvider(release, 13)
    clients = [
        LLMClient(ProviderConfig(name=n, base_url="http://127.0.0.1:9/v1", model="m"), transport=t)
        for n, t in (("a", a), ("b", b))
    ]
    async with LLMPool(clients, hedge=HedgePolicy(after_ms=20)) as pool:
        acted: list[Action] = []

        async def open_the_gate() -> None:
            await eventually(lambda: a.requests == b.requests == 1)
            release.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(open_the_gate)
            reply = await pool.complete(messages(), on_action=acted.append, budget_s=5)
        assert reply.hedged and [x.arguments for x in reply.actions] in (
            [{"ref": 12}],
            [{"ref": 13}],
        )
        assert [(x.id, x.arguments) for x in acted] == [(x.id, x.arguments) for x in reply.actions]


# ------------------------------------------------------------------ routing


async def test_routing_learns_the_provider_with_the_best_recent_p95() -> None:
    async with (
        serve(latency=LatencyProfile(ttft_ms=80)) as a,
        serve(latency=LatencyProfile(ttft_ms=5)) as b,
    ):
        policy = HedgePolicy(enabled=False)
        async with LLMPool([config(a, name="a"), config(b, name="b")], hedge=policy) as pool:
            assert pool.ranked() == ["a", "b"]  # nothing known: the order given
            used = [(await pool.complete(messages())).provider for _ in range(10)]
            # Each is tried once, then the faster one takes every call.
            assert used == ["a", "b"] + ["b"] * 8
            assert pool.ranked() == ["b", "a"]
            pool.hedge = HedgePolicy(enabled=False, learn_routes=False)
            assert pool.ranked() == ["a", "b"]
