"""Several providers behind one call: tiers, learnt routing, retries, fallback and hedging.

Each route keeps its recent times to first token and to first complete action. A
tier's calls go to the route with the best recent p95 (each route is tried until it
is known), and a call whose first token is later than about the route's p95 gets one
second request (another provider of the tier, or opt-in the same provider on a
connection pool of its own): the first complete action wins, the other request is
cancelled before anything of it reaches the caller.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import random
import ssl
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import anyio
import msgspec

from ..exceptions import (
    BudgetExceededError,
    ConfigurationError,
    LLMError,
    NoProviderAvailableError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from ..stats import percentile
from ._client import LLMClient
from ._config import HedgePolicy, ProviderConfig, RetryPolicy
from ._prompts import default_tools
from ._sink import ActionSink
from ._types import (
    Action,
    ActionCallback,
    ActionReady,
    ActionValidator,
    CallTimings,
    ChatRequest,
    Completed,
    ContentDelta,
    ModelReply,
    ToolCallDelta,
    Usage,
)

log = logging.getLogger("browser_agent.llm")


class RouteStats(msgspec.Struct, frozen=True):
    """Health and latency of one route, as `LLMPool.stats()` reports it."""

    name: str
    provider: str
    model: str
    tier: str
    attempts: int
    successes: int
    failures: int
    hedges_sent: int
    hedge_wins: int
    cancelled: int
    ttft_p50_ms: float | None
    ttft_p90_ms: float | None
    cooling_down_s: float
    ttft_p95_ms: float | None = None
    first_action_p50_ms: float | None = None
    first_action_p95_ms: float | None = None
    samples: int = 0
    warm_up_ms: float | None = None


_WINDOW = 100
"""Recent calls per route that its latency estimates are made of."""
_HEDGE_BURST = 2.0
"""Hedges that may be spent at once before the share cap applies (token bucket size)."""


class _Route:
    """A provider client plus the model and tier to use on it, and what we learnt about it.

    `ttft_ms` and `first_action_ms` hold the recent calls' times (an attempt cut while
    still waiting counts with the time it had waited, a lower bound, so a provider that
    hangs is not mistaken for a fast one). `spare` is the same provider on a connection
    pool of its own, for same-provider hedges.
    """

    def __init__(self, name: str, client: LLMClient, model: str, tier: str) -> None:
        self.name = name
        self.client = client
        self.spare: LLMClient | None = None
        self.model = model
        self.tier = tier
        self.warm_ms: float | None = None
        self.ttft_ms: collections.deque[float] = collections.deque(maxlen=_WINDOW)
        self.first_action_ms: collections.deque[float] = collections.deque(maxlen=_WINDOW)
        self.consecutive_failures = 0
        self.available_at = 0.0
        self.attempts = self.successes = self.failures = 0
        self.hedges_sent = self.hedge_wins = self.cancelled = 0

    def ttft_quantile(self, q: float) -> float | None:
        return percentile(self.ttft_ms, q) if self.ttft_ms else None

    def first_action_quantile(self, q: float) -> float | None:
        return percentile(self.first_action_ms, q) if self.first_action_ms else None

    def failed(self, exc: BaseException, retry: RetryPolicy) -> float:
        """Cool down for max(Retry-After, jittered exponential backoff); returns the delay."""
        self.failures += 1
        self.consecutive_failures += 1
        backoff = min(
            retry.backoff_max_s, retry.backoff_base_s * 2 ** (self.consecutive_failures - 1)
        )
        delay = backoff * random.uniform(0.5, 1.0)
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, retry.max_retry_after_s))
        self.available_at = max(self.available_at, time.perf_counter() + delay)
        return delay

    def succeeded(self) -> None:
        self.successes += 1
        self.consecutive_failures = 0

    def stats(self) -> RouteStats:
        return RouteStats(
            name=self.name,
            provider=self.client.name,
            model=self.model,
            tier=self.tier,
            attempts=self.attempts,
            successes=self.successes,
            failures=self.failures,
            hedges_sent=self.hedges_sent,
            hedge_wins=self.hedge_wins,
            cancelled=self.cancelled,
            ttft_p50_ms=self.ttft_quantile(50),
            ttft_p90_ms=self.ttft_quantile(90),
            cooling_down_s=max(0.0, self.available_at - time.perf_counter()),
            ttft_p95_ms=self.ttft_quantile(95),
            first_action_p50_ms=self.first_action_quantile(50),
            first_action_p95_ms=self.first_action_quantile(95),
            samples=len(self.first_action_ms),
            warm_up_ms=self.warm_ms,
        )


class _Attempt:
    __slots__ = (
        "cancelled",
        "client",
        "delivered",
        "failed",
        "first_action",
        "first_token",
        "hedge",
        "route",
        "scope",
        "start",
    )

    def __init__(self, route: _Route, hedge: bool, client: LLMClient | None = None) -> None:
        self.route = route
        self.client = client or route.client
        self.hedge = hedge
        self.scope = anyio.CancelScope()
        self.start = time.perf_counter()
        self.first_token = False
        self.first_action = False
        self.cancelled = False
        self.failed = False
        self.delivered: list[Action] = []

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.start) * 1000.0


class _Call:
    """One `complete()`: launches attempts, hedges, falls back, and picks the winner."""

    def __init__(
        self,
        pool: LLMPool,
        requests: dict[str, ChatRequest],
        primary: list[_Route],
        fallback: list[_Route],
        sink: ActionSink,
        validate: ActionValidator | None,
        hedge: bool,
        t0: float,
        deadline: float,
    ) -> None:
        self.pool = pool
        self.requests = requests
        self.primary = primary
        self.order = primary + [r for r in fallback if r not in primary]
        self.sink = sink
        self.validate = validate
        self.hedge_enabled = hedge and pool.hedge.enabled and pool.hedge.max_hedges > 0
        self.t0 = t0
        self.deadline = deadline
        self.running: list[_Attempt] = []
        self.winner: _Attempt | None = None
        self.result: ModelReply | None = None
        self.errors: list[BaseException] = []
        self.excluded: set[str] = set()
        self.launched = 0
        self.retries_left = pool.retry.max_attempts
        self.hedges = 0
        self.last_launch: _Attempt | None = None
        self.failure: LLMError | None = None
        self._wake = anyio.Event()

    # -- the loop

    async def run(self) -> ModelReply:
        async with anyio.create_task_group() as tg:
            while self.result is None and self.failure is None:
                if not self.running:
                    if self.winner is not None:
                        break  # the winner ended without a reply: handled below
                    await self._launch_next(tg)
                    continue
                timeout = math.inf
                if self._may_hedge():
                    assert self.last_launch is not None
                    hedge_at = (
                        self.last_launch.start
                        + self.pool.hedge_threshold_ms(self.last_launch.route) / 1000.0
                    )
                    timeout = hedge_at - time.perf_counter()
                    if timeout <= 0:
                        target = self._hedge_target()
                        if target is not None:
                            self._launch(tg, target[0], hedge=True, client=target[1])
                            continue
                        timeout = math.inf
                self._wake = anyio.Event()
                with anyio.move_on_after(timeout):
                    await self._wake.wait()
            tg.cancel_scope.cancel()
        if self.result is not None:
            return self.result
        raise self.failure or NoProviderAvailableError("no reply", self.errors)

    async def _launch_next(self, tg: anyio.abc.TaskGroup) -> None:
        if self.retries_left <= 0:
            self.failure = self._give_up(f"gave up after {self.launched} attempts")
            return
        candidates = [r for r in self.order if r.name not in self.excluded]
        if not candidates:
            self.failure = self._give_up("no usable provider left")
            return
        now = time.perf_counter()
        route = next((r for r in candidates if r.available_at <= now), None)
        if route is None:
            route = min(candidates, key=lambda r: r.available_at)
            wait = route.available_at - now
            if route.available_at > self.deadline:
                self.failure = self._give_up(
                    f"every provider is cooling down for at least {wait:.2f} s, past the budget"
                )
                return
            await anyio.sleep(wait)
        self._launch(tg, route, hedge=False)

    def _launch(
        self,
        tg: anyio.abc.TaskGroup,
        route: _Route,
        *,
        hedge: bool,
        client: LLMClient | None = None,
    ) -> None:
        attempt = _Attempt(route, hedge, client)
        route.attempts += 1
        if hedge:
            self.hedges += 1
            route.hedges_sent += 1
            self.pool._hedge_credit -= 1.0
            log.debug("hedging to %s after %.0f ms", route.name, (attempt.start - self.t0) * 1e3)
        else:
            self.retries_left -= 1
        self.launched += 1
        self.last_launch = attempt
        self.running.append(attempt)
        tg.start_soon(self._attempt, attempt)

    def _may_hedge(self) -> bool:
        return (
            self.hedge_enabled
            and self.winner is None
            and self.hedges < self.pool.hedge.max_hedges
            and self.pool._hedge_credit >= 1.0
            and self.last_launch is not None
            and not any(a.first_token for a in self.running)
            and self._hedge_target() is not None
        )

    def _hedge_target(self) -> tuple[_Route, LLMClient] | None:
        """Another provider of the tier, else (opt-in) the same one on its spare pool."""
        busy = {a.route.name for a in self.running}
        now = time.perf_counter()
        for r in self.primary:
            if r.name not in busy and r.name not in self.excluded and r.available_at <= now:
                return r, r.client
        last = self.last_launch
        if last is None or last.route.spare is None or last.route.name in self.excluded:
            return None
        spare = last.route.spare
        if any(a.client is spare for a in self.running):
            return None
        return last.route, spare

    def _give_up(self, why: str) -> LLMError:
        detail = "; ".join(str(e) for e in self.errors[-4:])
        return NoProviderAvailableError(f"{why}" + (f": {detail}" if detail else ""), self.errors)

    # -- one attempt

    async def _attempt(self, attempt: _Attempt) -> None:
        route = attempt.route
        try:
            with attempt.scope:
                try:
                    await self._stream(attempt)
                except LLMError as exc:
                    attempt.failed = True
                    self._failed(attempt, exc)
                else:
                    route.succeeded()
        finally:
            self.running.remove(attempt)
            self._censor(attempt)
            self._wake.set()

    def _censor(self, attempt: _Attempt) -> None:
        """An attempt cut while still waiting counts with the time it had waited.

        Only once it had waited past its hedge threshold: a lower bound that tells the
        estimate about the tail; a hedge cancelled early (its rival won) says nothing.
        """
        if attempt.failed or (attempt.first_token and attempt.first_action):
            return
        route = attempt.route
        waited = attempt.elapsed_ms()
        if waited < self.pool.hedge_threshold_ms(route):
            return
        if not attempt.first_token:
            route.ttft_ms.append(waited)
        if not attempt.first_action:
            route.first_action_ms.append(waited)

    async def _stream(self, attempt: _Attempt) -> None:
        route = attempt.route
        request = self.requests[route.name]
        async with attempt.client.stream(request, validate=self.validate, t0=self.t0) as events:
            async for event in events:
                if isinstance(event, ContentDelta | ToolCallDelta):
                    if not attempt.first_token:
                        attempt.first_token = True
                        route.ttft_ms.append(attempt.elapsed_ms())
                        self._wake.set()
                elif isinstance(event, ActionReady | Completed):
                    if not attempt.first_action:
                        attempt.first_action = True
                        route.first_action_ms.append(attempt.elapsed_ms())
                    # The winner is decided here, before anything reaches the sink: an
                    # action of a losing stream is never handed to the caller.
                    if self.winner is None:
                        self._win(attempt)
                    if self.winner is not attempt:
                        return  # lost the race; being cancelled
                    if isinstance(event, ActionReady):
                        attempt.delivered.append(event.action)
                        self.sink.put(event.action)
                    else:
                        self.result = self._finish(event.reply)
                        self._wake.set()

    def _win(self, attempt: _Attempt) -> None:
        """First complete valid action (or complete reply) wins; the others are cancelled."""
        self.winner = attempt
        if attempt.hedge:
            attempt.route.hedge_wins += 1
        for other in self.running:
            if other is not attempt:
                other.scope.cancel()
                other.cancelled = True
                other.route.cancelled += 1

    def _failed(self, attempt: _Attempt, exc: LLMError) -> None:
        route = attempt.route
        self.errors.append(exc)
        retryable = not isinstance(exc, ProviderError) or exc.retryable
        if retryable:
            delay = route.failed(exc, self.pool.retry)
            log.info("%s failed (%s); cooling down %.2f s", route.name, exc, delay)
        else:
            route.failures += 1
            self.excluded.add(route.name)
            log.info("%s failed (%s); not retrying it", route.name, exc)
        if attempt is self.winner:
            if self.sink.active and attempt.delivered:
                # Actions were already handed out: keep them, say what broke.
                self.result = self._partial(attempt, str(exc))
            else:
                self.winner = None  # nobody acted on it yet: retry as if it never won

    # -- results

    def _finish(self, reply: ModelReply) -> ModelReply:
        assert self.winner is not None
        reply.provider = self.winner.route.name
        reply.attempts = self.launched
        reply.hedged = self.hedges > 0
        reply.hedge_won = self.winner.hedge
        reply.failures = self.failure_notes()
        return reply

    def failure_notes(self) -> list[str]:
        return [f"{type(e).__name__}: {e}" for e in self.errors]

    def _partial(self, attempt: _Attempt, error: str) -> ModelReply:
        actions = list(attempt.delivered)
        raw: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": a.id,
                    "type": "function",
                    "function": {
                        "name": a.name,
                        "arguments": msgspec.json.encode(a.arguments).decode(),
                    },
                }
                for a in actions
            ],
        }
        total = (time.perf_counter() - self.t0) * 1000.0
        return ModelReply(
            text="",
            actions=actions,
            raw=raw,
            usage=Usage(),
            timings=CallTimings(total=total),
            finish_reason="error",
            provider=attempt.route.name,
            model=attempt.route.model,
            attempts=self.launched,
            hedged=self.hedges > 0,
            hedge_won=attempt.hedge,
            error=error,
            failures=self.failure_notes(),
        )


def _endpoint_key(c: ProviderConfig) -> tuple[Any, ...]:
    return (
        c.base_url,
        c.secret(),
        c.http2,
        c.verify,
        tuple(sorted(c.headers.items())),
        c.connect_timeout_s,
        c.first_token_timeout_s,
        c.stall_ms,
        c.max_connections,
        c.max_keepalive,
        c.keepalive_expiry_s,
        c.action_mode,
        c.stream_usage,
    )


class LLMPool:
    """Providers and models behind one `complete()`: tiers, retries, fallback, hedging.

    Providers with the same endpoint share one client (one connection pool); each
    (provider, model, tier) is a route. Routes of the requested tier are tried best
    recent p95 first (in the order given until each is known, see `HedgePolicy`) and
    hedge to each other; the other routes serve only as fallback (a tier nobody has
    means all routes). What the pool learns lasts as long as the pool: keep one pool
    for a session. The pool owns and closes its clients.

    ```
    async with LLMPool([ProviderConfig.from_env()]) as pool:
        await pool.warm_up()
        reply = await pool.complete(messages, on_action=execute, budget_s=20)
    ```
    """

    def __init__(
        self,
        providers: Sequence[ProviderConfig | LLMClient],
        *,
        retry: RetryPolicy | None = None,
        hedge: HedgePolicy | None = None,
        budget_s: float = 60.0,
        tools: Sequence[Mapping[str, Any]] | None = None,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        if not providers:
            raise ConfigurationError("an LLMPool needs at least one provider")
        self.retry = retry or RetryPolicy()
        self.hedge = hedge or HedgePolicy()
        self.budget_s = budget_s
        self.tools = [dict(t) for t in (tools if tools is not None else default_tools())]
        clients: dict[tuple[Any, ...], LLMClient] = {}
        self._clients: list[LLMClient] = []
        self._routes: list[_Route] = []
        names: set[str] = set()
        for p in providers:
            if isinstance(p, LLMClient):
                client, config = p, p.config
                if client not in self._clients:
                    self._clients.append(client)
            else:
                config = p
                key = _endpoint_key(config)
                known = clients.get(key)
                if known is None:
                    known = clients[key] = LLMClient(config, verify=verify)
                    self._clients.append(known)
                client = known
            name = config.name
            if name in names:
                name = f"{config.name}:{config.model}"
            n = 2
            while name in names:
                name, n = f"{config.name}:{config.model}#{n}", n + 1
            names.add(name)
            self._routes.append(_Route(name, client, config.model, config.tier))
        self._spares: dict[LLMClient, LLMClient] = {}
        if self.hedge.same_provider:
            for r in self._routes:
                if r.client not in self._spares:
                    self._spares[r.client] = LLMClient(r.client.config, verify=verify)
                r.spare = self._spares[r.client]
        self._hedge_credit = 1.0 if self.hedge.max_share > 0 else 0.0
        self.calls = 0
        """Calls of `complete()` so far."""
        self.hedged_calls = 0
        """Of those, the calls that sent a second request."""
        self._closed = False

    @classmethod
    def from_env(cls, **kwargs: Any) -> LLMPool:
        """One provider from the environment (see `ProviderConfig.from_env`); a second,
        "strong" route on the same endpoint when BROWSER_AGENT_STRONG_MODEL is set."""
        pool_kw = {k: kwargs.pop(k) for k in ("retry", "hedge", "budget_s") if k in kwargs}
        fast = ProviderConfig.from_env(**kwargs)
        providers = [fast]
        env = kwargs.get("env")
        strong = (os.environ if env is None else env).get("BROWSER_AGENT_STRONG_MODEL")
        if strong:
            providers.append(fast.model_copy(update={"model": strong, "tier": "strong"}))
        return cls(providers, **pool_kw)

    def __repr__(self) -> str:
        return f"LLMPool(routes={[r.name for r in self._routes]!r})"

    async def __aenter__(self) -> LLMPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                for c in [*self._clients, *self._spares.values()]:
                    tg.start_soon(c.aclose)

    @property
    def clients(self) -> list[LLMClient]:
        return list(self._clients)

    def tiers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self._routes:
            out.setdefault(r.tier, []).append(r.name)
        return out

    async def warm_up(self, timeout_s: float | None = None) -> dict[str, bool]:
        """Open every provider's connection concurrently (run it while the browser starts).

        The round trip seeds each route's hedge threshold until its calls are known.
        """
        results: dict[str, bool] = {}
        rtt: dict[LLMClient, float] = {}

        async def one(c: LLMClient, spare: bool) -> None:
            t0 = time.perf_counter()
            ok = await c.warm_up(timeout_s)
            if not spare:
                results[c.name] = ok
                if ok:
                    rtt[c] = (time.perf_counter() - t0) * 1000.0

        async with anyio.create_task_group() as tg:
            for c in self._clients:
                tg.start_soon(one, c, False)
            for c in self._spares.values():
                tg.start_soon(one, c, True)
        for r in self._routes:
            r.warm_ms = rtt.get(r.client, r.warm_ms)
        return results

    def unusable(self) -> ProviderUnavailableError | None:
        """After `warm_up`: the error to stop on when no provider of the pool can work as
        configured (each one's reason joined), None while one might."""
        problems = [c.problem for c in self._clients]
        if not problems or any(p is None for p in problems):
            return None
        return ProviderUnavailableError("; ".join(dict.fromkeys(str(p) for p in problems)))

    def _route(self, name: str) -> _Route:
        for r in self._routes:
            if r.name == name:
                return r
        raise ConfigurationError(f"no route {name!r}; routes: {', '.join(self.tiers())}")

    def hedge_threshold_ms(self, route: str | _Route) -> float:
        """When a call on `route` without a first token gets its second request (ms).

        Fixed `after_ms`, or the route's recent p95 of time to first token; before
        `min_samples` are known, `initial_ms` or three warm-up round trips; never below
        the floor `min_ms`.
        """
        if isinstance(route, str):
            route = self._route(route)
        h = self.hedge
        if h.after_ms is not None:
            return h.after_ms
        if len(route.ttft_ms) < h.min_samples:
            base = max(h.initial_ms, 3.0 * route.warm_ms if route.warm_ms else 0.0)
        else:
            base = route.ttft_quantile(h.quantile) or h.initial_ms
        return max(h.min_ms, base)

    def ranked(self, tier: str = "fast") -> list[str]:
        """The routes of `tier` in the order its next call tries them."""
        return [r.name for r in self._rank([r for r in self._routes if r.tier == tier])]

    def _rank(self, routes: list[_Route]) -> list[_Route]:
        """Routes never tried first (in the order given), then best recent p95 of time to
        the first complete action (the wait the user feels; with few calls known, about
        their worst), so one hedge lost by a slow provider already moves the next call."""
        h = self.hedge
        if not h.learn_routes or len(routes) < 2:
            return routes

        def key(item: tuple[int, _Route]) -> tuple[int, float, int]:
            i, r = item
            if not r.first_action_ms:
                return (0, 0.0, i)
            return (1, r.first_action_quantile(h.quantile) or math.inf, i)

        return [r for _, r in sorted(enumerate(routes), key=key)]

    def stats(self) -> dict[str, RouteStats]:
        return {r.name: r.stats() for r in self._routes}

    async def complete(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
        *,
        tier: str = "fast",
        on_action: ActionCallback | None = None,
        budget_s: float | None = None,
        valid_refs: Collection[int] | None = None,
        validate: ActionValidator | None = None,
        hedge: bool = True,
        max_tokens: int | None = None,
        temperature: float | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ModelReply:
        """One model decision, as fast as the fastest healthy provider of the tier gives it.

        `on_action` is called (in order, in its own task) for each complete, valid action
        of the winning attempt while the rest streams. With `hedge` (the default) a call
        whose first token is late gets one second request as the `HedgePolicy` allows; the
        winner is decided before its first action reaches `on_action`, and the other
        request is cancelled at once. `valid_refs` rejects actions whose
        `ref` is not on the page (the attempt is then retried). If the stream of the winner
        breaks after actions were handed out, the reply is partial (`finish_reason ==
        "error"`) rather than retried, since the caller may already have acted.
        Raises `BudgetExceededError` or `NoProviderAvailableError`.
        """
        t0 = time.perf_counter()
        budget = self.budget_s if budget_s is None else budget_s
        # Learnt order within the tier; a tier nobody has takes every route as given.
        primary = self._rank([r for r in self._routes if r.tier == tier]) or list(self._routes)
        fallback = [r for r in self._routes if r not in primary]
        self.calls += 1
        self._hedge_credit = min(_HEDGE_BURST, self._hedge_credit + self.hedge.max_share)
        base = ChatRequest(
            messages=[dict(m) for m in messages],
            tools=self.tools if tools is None else [dict(t) for t in tools] or None,
            tool_choice=tool_choice,
            max_tokens=max_tokens,
            temperature=temperature,
            extra_body=dict(extra_body) if extra_body else None,
        )
        requests = {
            r.name: msgspec.structs.replace(base, model=r.model) for r in primary + fallback
        }
        check = _validator(valid_refs, validate)
        async with ActionSink(on_action) as sink:
            call = _Call(self, requests, primary, fallback, sink, check, hedge, t0, t0 + budget)
            try:
                with anyio.move_on_after(budget) as scope:
                    return await call.run()
            finally:
                self.hedged_calls += call.hedges > 0
        # Only reached when the budget ran out.
        if on_action is not None and call.winner is not None and call.winner.delivered:
            return call._partial(call.winner, f"budget of {budget:g} s exceeded")
        assert scope.cancelled_caught
        detail = "; ".join(str(e) for e in call.errors[-4:])
        raise BudgetExceededError(
            f"no model reply within {budget:g} s" + (f" ({detail})" if detail else ""),
            call.errors,
        )


def _validator(
    valid_refs: Collection[int] | None, validate: ActionValidator | None
) -> ActionValidator | None:
    if valid_refs is None:
        return validate
    refs = valid_refs if isinstance(valid_refs, set | frozenset | dict) else set(valid_refs)

    def check(action: Action) -> str | None:
        ref = action.arguments.get("ref")
        if ref is not None and ref not in refs:
            return f"{action.name}: ref {ref} is not on the page"
        return validate(action) if validate is not None else None

    return check
