"""`bench llm`: what the model layer adds on top of the provider, all against the local server.

1. Per-call overhead of the pooled, pre-warmed client vs a new client per call, over
   loopback TLS with a certificate the benchmark makes: client time minus the
   server's own time (first request byte in, last response byte out) for the same
   request. A hand-written socket client gives the floor (loopback, kernel, TLS).
2. Tail latency: a heavy-tail profile (5 % of calls 10× slower to first token on one
   of two providers) and one provider with occasional stalls, each with today's
   default (no hedge, the first listed provider first) against the defaults (adaptive
   hedging and learnt routing; for one provider also the opt-in same-provider hedge):
   p50/p95/p99 of the model's time per call, the extra requests, and a check that no
   action ever came from a losing stream.
3. Time to the first complete action vs time to the end of the stream.

Servers run in child processes, as a provider would on its own machine: their work
never competes with the client for this interpreter.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import httpx
import msgspec
from anyio.streams.tls import TLSStream
from rich.console import Console
from rich.table import Table

from browser_agent.llm import (
    Action,
    ChatRequest,
    HedgePolicy,
    LLMClient,
    LLMPool,
    ModelReply,
    ProviderConfig,
    RetryPolicy,
    build_messages,
    load_tools,
)
from browser_agent.stats import percentile
from browser_agent.terminal import console as make_console
from browser_agent.testing import Cassette, LatencyProfile, RequestRecord, StreamShape
from browser_agent.testing.model_server import ServerSpec, ServerStats

TASK = "Add the blue kettle to the cart, then check out."


def _observation(lines: int = 120) -> str:
    """A shop page of realistic size (a few KB), as the model would see it."""
    out = ["# Shop", '[1] searchbox "Search products"', '[2] button "Search"']
    ref = 3
    for i in range(lines // 3):
        out.append(f"Product {i}  ${10 + i}.00")
        out.append(f'  [{ref}] link "Product {i}"')
        out.append(
            f'  [{ref + 1}] button "Add to cart" disabled' if i else '  [4] button "Add to cart"'
        )
        ref += 2
    return "\n".join(out)


OBS = _observation()
ONE_ACTION = Cassette.of('click button "Add to cart"')
FIRST_STEP = Cassette.of('type searchbox "Search products" "blue kettle" submit')
THREE_ACTIONS = Cassette.of(
    [
        'type searchbox "Search products" "blue kettle"',
        'click button "Search"',
        'click button "Add to cart"',
    ]
)


def _request() -> ChatRequest:
    return ChatRequest(messages=build_messages(TASK, OBS), tools=load_tools())


class _Cert(msgspec.Struct):
    certfile: str
    keyfile: str | None
    cafile: str


@contextmanager
def _certificate() -> Iterator[_Cert | None]:
    """A self-signed certificate for 127.0.0.1 (trustme, else the openssl CLI), or None."""
    with tempfile.TemporaryDirectory() as tmp:
        cert, key, ca_path = Path(tmp) / "cert.pem", Path(tmp) / "key.pem", Path(tmp) / "ca.pem"
        try:
            import trustme

            ca = trustme.CA()
            ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(cert))
            ca.cert_pem.write_to_path(str(ca_path))
            yield _Cert(str(cert), None, str(ca_path))
            return
        except ImportError:
            pass
        openssl = shutil.which("openssl")
        if openssl is None:
            yield None
            return
        done = subprocess.run(
            [
                openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", str(key), "-out", str(cert),
            ],
            capture_output=True,
            check=False,
            timeout=30,
        )  # fmt: skip
        yield _Cert(str(cert), str(key), str(cert)) if done.returncode == 0 else None


class ServerProcess:
    """A `LocalModelServer` in a child process; stats come over GET /_local/stats."""

    def __init__(self, spec: ServerSpec, cafile: str | None = None) -> None:
        self.spec = spec
        self.cafile = cafile
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.spec.certfile else "http"
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    async def __aenter__(self) -> ServerProcess:
        code = "from browser_agent.testing.model_server import main; main()"
        spec = msgspec.json.encode(self.spec).decode()
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code, spec],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        with anyio.fail_after(30):
            line = await anyio.to_thread.run_sync(
                self._proc.stdout.readline, abandon_on_cancel=True
            )
        if not line.strip().isdigit():
            self._stop()
            raise RuntimeError("the local model server process did not start")
        self.port = int(line)
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=self.cafile) if self.cafile else True
        )
        self._http = httpx.AsyncClient(
            verify=verify,
            timeout=10,
            trust_env=False,
            limits=httpx.Limits(keepalive_expiry=600),  # one connection for all stats
        )
        return self

    async def stats(self) -> ServerStats:
        assert self._http is not None
        resp = await self._http.get(self.base_url.removesuffix("/v1") + "/_local/stats")
        return msgspec.json.decode(resp.content, type=ServerStats)

    async def chat_records(self, since: int = 0) -> list[RequestRecord]:
        return [r for r in (await self.stats()).log[since:] if r.path.endswith("/completions")]

    def _stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._http is not None:
            await self._http.aclose()
        self._stop()


# ------------------------------------------------------------------ 1. pooling


async def _overhead(
    server: ServerProcess, calls: int, one_call: Callable[[], Awaitable[object]]
) -> dict[str, float]:
    """Sequential calls; overhead = client time − the server's own time, per call."""
    await one_call()  # not measured: first-call effects (imports, caches)
    since = len((await server.stats()).log)
    client_ms = []
    for _ in range(calls):
        t0 = time.perf_counter()
        await one_call()
        client_ms.append((time.perf_counter() - t0) * 1000.0)
    server_ms = [r.server_ms for r in await server.chat_records(since)]
    overhead = [c - s for c, s in zip(client_ms, server_ms, strict=True)]
    return {
        "calls": calls,
        "client_p50_ms": statistics.median(client_ms),
        "server_p50_ms": statistics.median(server_ms),
        "overhead_p50_ms": statistics.median(overhead),
        "overhead_p90_ms": percentile(overhead, 90),
    }


async def _raw_floor(
    server: ServerProcess, calls: int, cfg: ProviderConfig, ctx: ssl.SSLContext | None
) -> dict[str, float]:
    """The same request written by hand on one kept-alive socket: loopback, kernel, TLS
    and the server's event loop, without any HTTP client library."""
    body, _ = LLMClient.encode_body(cfg, _request())
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:{server.port}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    stream: Any = await anyio.connect_tcp("127.0.0.1", server.port)
    if ctx is not None:
        stream = await TLSStream.wrap(
            stream, ssl_context=ctx, hostname="127.0.0.1", standard_compatible=False
        )
    buf = b""

    async def one() -> None:
        nonlocal buf
        await stream.send(head + body)
        while not buf.endswith(b"0\r\n\r\n"):
            buf += await stream.receive()
        buf = b""

    try:
        with anyio.fail_after(120):
            return await _overhead(server, calls, one)
    finally:
        await anyio.aclose_forcefully(stream)


async def _pooling_one(calls: int, cert: _Cert | None, http2: bool) -> dict[str, Any]:
    # Unpaced replies go out in one write: what is left is the per-call cost.
    spec = ServerSpec(
        cassette=ONE_ACTION,
        shape=StreamShape(coalesce=True),
        certfile=cert.certfile if cert else None,
        keyfile=cert.keyfile if cert else None,
        http2=http2 and cert is not None,
    )
    ca = cert.cafile if cert else None
    out: dict[str, Any] = {}
    async with ServerProcess(spec, ca) as server:
        cfg = ProviderConfig(
            name="local", base_url=server.base_url, model="m", verify=ca or True, http2=http2
        )
        shared_ctx = ssl.create_default_context(cafile=ca) if ca else None
        req = _request()
        async with LLMClient(cfg) as pooled:
            await pooled.warm_up()
            before = (await server.stats()).connections
            out["pooled"] = await _overhead(server, calls, lambda: pooled.complete(req))
            out["pooled"]["connections_opened"] = (await server.stats()).connections - before
        out["protocol"] = (await server.chat_records())[-1].protocol

        async def fresh() -> ModelReply:
            async with LLMClient(cfg) as c:  # builds its SSL context, connects, handshakes
                return await c.complete(req)

        async def fresh_shared() -> ModelReply:
            async with LLMClient(cfg, verify=shared_ctx or True) as c:
                return await c.complete(req)

        n = max(5, calls // 4)
        out["new_client_per_call"] = await _overhead(server, n, fresh)
        if not spec.http2:
            out["new_client_shared_ssl_context"] = await _overhead(server, n, fresh_shared)
            out["raw_socket_floor"] = await _raw_floor(server, calls, cfg, shared_ctx)
    return out


async def bench_pooling(calls: int) -> dict[str, Any]:
    """HTTP/1.1 (with the no-library floor) and, over TLS, HTTP/2 as the server offers it."""
    with _certificate() as cert:
        h1 = await _pooling_one(calls, cert, http2=False)
        h2 = await _pooling_one(calls, cert, http2=True) if cert else None
    return {"tls": cert is not None, "http1": h1, "http2": h2}


# ------------------------------------------------------------------ 2. tail latency

TAIL_TTFT_MS = 400.0
"""Median time to first token of the tail profiles (an API model's, roughly)."""
HEAVY_TAIL = LatencyProfile(
    ttft_ms=TAIL_TTFT_MS, jitter=0.1, tail_p=0.05, tail_mult=(9.0, 11.0), tokens_per_s=400
)
"""5 % of calls 10x slower to first token."""
STEADY = LatencyProfile(ttft_ms=TAIL_TTFT_MS, jitter=0.1, tokens_per_s=400)
STALLS = LatencyProfile(
    ttft_ms=TAIL_TTFT_MS, jitter=0.1, tail_p=0.03, tail_mult=(15.0, 25.0), tokens_per_s=400
)
"""3 % of calls stall 6-10 s before their first token."""
KETTLE_A = Cassette.of('type searchbox "Search products" "blue kettle" submit')
KETTLE_B = Cassette.of('type searchbox "Search products" "kettle, blue" submit')
"""Two providers' answers told apart by their arguments: whose stream an action came from."""

BEFORE = HedgePolicy(enabled=False, learn_routes=False)
"""Today's default for an `Agent`: no hedge below the 10 s first-token budget, and the
first listed provider first."""
MODES: dict[str, dict[str, HedgePolicy]] = {
    "two_providers": {
        "before": BEFORE,
        "hedge_only": HedgePolicy(learn_routes=False),
        "defaults": HedgePolicy(),
    },
    "one_provider": {
        "before": BEFORE,
        "defaults": HedgePolicy(),
        "same_provider": HedgePolicy(same_provider=True),
    },
}


async def _tail_run(
    servers: list[ServerProcess], policy: HedgePolicy, calls: int, concurrency: int, warm: int
) -> dict[str, float]:
    """`calls` model calls as agent steps make them; `warm` unmeasured ones first (a
    session's first calls, where the pool learns its providers)."""
    configs = [
        ProviderConfig(
            name=f"p{i}", base_url=s.base_url, model="m", first_token_timeout_s=30, stall_ms=30_000
        )
        for i, s in enumerate(servers)
    ]
    args = {f"p{i}": s.spec.cassette for i, s in enumerate(servers)}
    req = build_messages(TASK, OBS)
    totals: list[float] = []
    firsts: list[float] = []
    hedged = foreign = 0
    won: dict[str, int] = {}
    async with LLMPool(configs, hedge=policy, retry=RetryPolicy(max_attempts=2)) as pool:
        await pool.warm_up()
        limit = anyio.Semaphore(concurrency)

        async def one(record: bool) -> None:
            nonlocal hedged, foreign
            acted: list[Action] = []
            async with limit:
                t0 = time.perf_counter()
                reply = await pool.complete(req, on_action=acted.append, budget_s=30)
                ms = (time.perf_counter() - t0) * 1000.0
            # Every action run is one of the winner's, as its own provider wrote it.
            theirs = args[reply.provider].steps[0]
            mine = [(a.id, a.arguments) for a in reply.actions]
            if [(a.id, a.arguments) for a in acted] != mine or any(
                str(a.arguments.get("text")) not in str(theirs) for a in acted
            ):
                foreign += 1
            if record:
                totals.append(ms)
                firsts.append(reply.timings.first_action or reply.timings.total)
                hedged += reply.hedged
                won[reply.provider] = won.get(reply.provider, 0) + 1

        async with anyio.create_task_group() as tg:
            for _ in range(warm):
                tg.start_soon(one, False)
        before = [len(await s.chat_records()) for s in servers]
        async with anyio.create_task_group() as tg:
            for _ in range(calls):
                tg.start_soon(one, True)
        after = [len(await s.chat_records()) for s in servers]
        sent = sum(after) - sum(before)
    return {
        "total_p50_ms": percentile(totals, 50),
        "total_p95_ms": percentile(totals, 95),
        "total_p99_ms": percentile(totals, 99),
        "first_action_p50_ms": percentile(firsts, 50),
        "first_action_p99_ms": percentile(firsts, 99),
        "hedge_rate": hedged / len(totals),
        "extra_requests": (sent - calls) / calls,
        "actions_from_losers": float(foreign),
        "share_of_first_provider": won.get("p0", 0) / len(totals),
    }


def _median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


async def bench_tail(
    calls: int, repeats: int, concurrency: int = 8, warm: int = 20
) -> dict[str, Any]:
    """The heavy-tail profile on one of two providers, and one provider with stalls:
    today's default against the defaults (and the opt-in same-provider hedge)."""
    out: dict[str, Any] = {
        "calls": calls,
        "repeats": repeats,
        "concurrency": concurrency,
        "warm_calls": warm,
        "ttft_p50_ms": TAIL_TTFT_MS,
    }
    specs = {
        "two_providers": [
            ServerSpec(cassette=KETTLE_A, latency=HEAVY_TAIL, seed=1),
            ServerSpec(cassette=KETTLE_B, latency=STEADY, seed=2),
        ],
        "one_provider": [ServerSpec(cassette=KETTLE_A, latency=STALLS, seed=3)],
    }
    for profile, modes in MODES.items():
        async with contextlib.AsyncExitStack() as stack:
            servers = [await stack.enter_async_context(ServerProcess(s)) for s in specs[profile]]
            runs: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
            for _ in range(repeats):  # modes interleaved: drifts of the machine hit all
                for mode, policy in modes.items():
                    runs[mode].append(await _tail_run(servers, policy, calls, concurrency, warm))
        out[profile] = {m: _median_of(r) for m, r in runs.items()}
    return out


# -------------------------------------------------------------- 3. first action


async def bench_first_action(calls: int) -> dict[str, float]:
    spec = ServerSpec(cassette=THREE_ACTIONS, latency=LatencyProfile(ttft_ms=50, tokens_per_s=200))
    async with ServerProcess(spec) as server:
        cfg = ProviderConfig(name="local", base_url=server.base_url, model="m")
        req = _request()
        ttft, first, total = [], [], []
        async with LLMClient(cfg) as client:
            await client.warm_up()
            for _ in range(calls):
                reply = await client.complete(req)
                t = reply.timings
                ttft.append(t.ttft or 0.0)
                first.append(t.first_action or t.total)
                total.append(t.total)
    return {
        "calls": calls,
        "ttft_p50_ms": statistics.median(ttft),
        "first_action_p50_ms": statistics.median(first),
        "end_of_stream_p50_ms": statistics.median(total),
        "saved_p50_ms": statistics.median(t - f for t, f in zip(total, first, strict=True)),
    }


# ---------------------------------------------------------------------- entry


async def run(json_output: bool = False, quick: bool = False) -> dict[str, Any]:
    """Run the three measurements; print a table (or JSON) and return the figures."""
    t0 = time.perf_counter()
    pooling = await bench_pooling(calls=40 if quick else 300)
    tail = await bench_tail(calls=60 if quick else 200, repeats=1 if quick else 3)
    first = await bench_first_action(calls=5 if quick else 15)
    h = tail["two_providers"]["defaults"]
    h2 = pooling["http2"]
    every = [x for modes in (tail["two_providers"], tail["one_provider"]) for x in modes.values()]
    result: dict[str, Any] = {
        "pooling": pooling,
        "tail": tail,
        "first_action": first,
        "targets": {
            "pooled_overhead_within_1ms": pooling["http1"]["pooled"]["overhead_p50_ms"] <= 1.0,
            "pooled_overhead_within_1ms_http2": (
                h2 is None or h2["pooled"]["overhead_p50_ms"] <= 1.0
            ),
            "two_providers_p99_within_2x_p50": h["total_p99_ms"] <= 2.0 * h["total_p50_ms"],
            "extra_requests_within_10pct": all(x["extra_requests"] <= 0.10 for x in every),
            "no_action_from_a_losing_stream": all(x["actions_from_losers"] == 0 for x in every),
        },
        "quick": quick,
        "seconds": time.perf_counter() - t0,
    }
    if json_output:
        print(json.dumps(result, indent=2))
    else:
        _print(result, make_console())
    return result


def _print(r: dict[str, Any], console: Console) -> None:
    p = r["pooling"]
    t = Table(title=f"bench llm 1: per-call overhead over loopback {'TLS' if p['tls'] else 'TCP'}")
    for col in ("client", "protocol", "calls", "client p50 ms", "server p50 ms", "overhead p50"):
        t.add_column(col, justify="left" if col in ("client", "protocol") else "right")
    rows = (
        ("raw socket (floor)", "http1", "raw_socket_floor"),
        ("pooled, pre-warmed", "http1", "pooled"),
        ("new client per call", "http1", "new_client_per_call"),
        ("new client, shared SSL ctx", "http1", "new_client_shared_ssl_context"),
        ("pooled, pre-warmed", "http2", "pooled"),
        ("new client per call", "http2", "new_client_per_call"),
    )
    for label, proto, key in rows:
        x = (p[proto] or {}).get(key)
        if x is None:
            continue
        t.add_row(
            label,
            p[proto]["protocol"],
            str(x["calls"]),
            f"{x['client_p50_ms']:.2f}",
            f"{x['server_p50_ms']:.2f}",
            f"{x['overhead_p50_ms']:.2f} ms",
        )
    console.print(t)

    tail = r["tail"]
    titles = {
        "two_providers": "5 % of calls 10× slower to first token on one of two providers",
        "one_provider": "one provider, 3 % of calls stalling 6-10 s before the first token",
    }
    labels = {
        "before": "before",
        "hedge_only": "hedge only",
        "defaults": "defaults",
        "same_provider": "+ same prov.",
    }
    for profile, title in titles.items():
        t = Table(
            title=f"bench llm 2: {title}; model time per call, first token p50 "
            f"{tail['ttft_p50_ms']:.0f} ms, {tail['calls']} calls × {tail['repeats']} "
            f"(medians), {tail['concurrency']} at once",
            title_justify="left",
        )
        for col in ("mode", "p50", "p95", "p99", "p99/p50", "hedged", "extra", "to p0", "loser"):
            t.add_column(col, justify="right" if col != "mode" else "left", no_wrap=True)
        for mode, x in tail[profile].items():
            t.add_row(
                labels[mode],
                f"{x['total_p50_ms']:.0f}",
                f"{x['total_p95_ms']:.0f}",
                f"{x['total_p99_ms']:.0f}",
                f"{x['total_p99_ms'] / x['total_p50_ms']:.1f}×",
                f"{x['hedge_rate']:.0%}",
                f"{x['extra_requests']:.0%}",
                f"{x['share_of_first_provider']:.0%}",
                f"{x['actions_from_losers']:.0f}",
            )
        t.caption = (
            "ms; before: today's default (no hedge, first listed provider first); hedge "
            "only: adaptive hedge, fixed order; defaults: adaptive hedge + learnt routing; "
            "+ same prov.: the opt-in re-issue; extra: requests beyond one per call; to "
            "p0: calls answered by the first listed provider; loser: actions run from a "
            "losing stream"
        )
        console.print(t)

    f = r["first_action"]
    t = Table(title="bench llm 3: three actions streamed at 200 tokens/s (p50)")
    for col in ("first token", "first action", "end of stream", "acting earlier by"):
        t.add_column(col, justify="right")
    t.add_row(
        f"{f['ttft_p50_ms']:.0f} ms",
        f"{f['first_action_p50_ms']:.0f} ms",
        f"{f['end_of_stream_p50_ms']:.0f} ms",
        f"{f['saved_p50_ms']:.0f} ms",
    )
    console.print(t)
    for name, passed in r["targets"].items():
        console.print(f"{'[green]pass' if passed else '[red]FAIL'}[/] {name.replace('_', ' ')}")
    console.print(f"[dim]{r['seconds']:.1f} s[/]")
