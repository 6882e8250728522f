"""HTTP/2 where the server offers it: one connection carries everything, and a hedge
loser is cancelled without losing the connection."""

from __future__ import annotations

import anyio
import pytest
from llm_support import config, messages, serve, tls

from browser_agent.llm import HedgePolicy, LLMClient, LLMPool, RetryPolicy, step_messages
from browser_agent.testing import Fault, LatencyProfile

pytestmark = pytest.mark.anyio


async def test_h2_warm_up_then_concurrent_calls_share_one_connection(tmp_path) -> None:
    ctx, ca = tls(tmp_path)
    async with (
        serve(ssl_context=ctx, http2=True, latency=LatencyProfile(ttft_ms=20)) as srv,
        LLMPool([config(srv, verify=ca)]) as pool,
    ):
        await pool.warm_up()
        assert srv.connections == 1
        replies = []

        async def one() -> None:
            replies.append(await pool.complete(messages()))

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(one)
        assert len(replies) == 6 and all(r.actions for r in replies)
        assert srv.connections == 1
        assert {r.protocol for r in srv.log} == {"HTTP/2"}


async def test_h1_only_client_still_works_against_an_h2_server(tmp_path) -> None:
    ctx, ca = tls(tmp_path)
    async with (
        serve(ssl_context=ctx, http2=True) as srv,
        LLMClient(config(srv, verify=ca, http2=False)) as client,
    ):
        assert await client.warm_up()
        await LLMPool([client]).complete(messages())
        assert {r.protocol for r in srv.log} == {"HTTP/1.1"}


async def test_h2_hedge_loser_is_cancelled_and_the_connection_kept(tmp_path) -> None:
    """httpcore does not send RST_STREAM for a response closed early (encode/httpcore#943),
    so on HTTP/2 the loser is cancelled on our side only: its task and stream slot are
    freed and the shared connection stays up for the next call."""
    ctx, ca = tls(tmp_path)
    async with (
        serve(ssl_context=ctx, http2=True, faults=[Fault("slow", ttft_ms=5_000)]) as a,
        serve(ssl_context=ctx, http2=True) as b,
        LLMPool(
            [config(a, name="a", verify=ca), config(b, name="b", verify=ca)],
            hedge=HedgePolicy(after_ms=50, learn_routes=False),  # a stays first
        ) as pool,
    ):
        await pool.warm_up()
        reply = await pool.complete(messages())
        assert reply.provider == "b" and reply.hedged
        assert pool.stats()["a"].cancelled == 1
        # Cancelling the stream did not cost the connection: the next call reuses it.
        reply = await pool.complete(messages(), hedge=False)
        assert reply.provider == "a"
        assert a.connections == 1 and b.connections == 1


async def test_h2_stream_cut_short_is_retried(tmp_path) -> None:
    ctx, ca = tls(tmp_path)
    retry = RetryPolicy(max_attempts=3, backoff_base_s=0.01)
    async with (
        serve(ssl_context=ctx, http2=True, faults=[Fault("truncate", after_events=3)]) as srv,
        LLMPool([config(srv, verify=ca)], retry=retry) as pool,
    ):
        reply = await pool.complete(messages())
        assert reply.actions and reply.attempts == 2
        assert reply.failures[0].startswith("ProviderConnectionError")
        assert srv.connections == 1


async def test_h2_paced_stream_hands_out_the_first_action_early(tmp_path) -> None:
    ctx, ca = tls(tmp_path)
    latency = LatencyProfile(ttft_ms=5, tokens_per_s=400)
    async with (
        serve(ssl_context=ctx, http2=True, latency=latency) as srv,
        LLMPool([config(srv, verify=ca)]) as pool,
    ):
        first = await pool.complete(messages())
        reply = await pool.complete(messages(step_messages(first)))
        assert [a.name for a in reply.actions] == ["click", "check", "select"]
        t = reply.timings
        assert t.first_action is not None and t.total - t.first_action > 20
        assert srv.log[-1].protocol == "HTTP/2" and srv.connections == 1
