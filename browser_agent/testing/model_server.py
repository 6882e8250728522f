"""A local OpenAI-compatible model server on 127.0.0.1 for tests, benchmarks and `demo`.

It answers from a cassette, streams tool calls in realistic fragments, waits like a
real provider (time to first token with a heavy tail, tokens per second), injects
faults on demand, and counts connections so pooling is observable. A minimal
HTTP/1.1 server with keep-alive on anyio, optionally over TLS, where it can also offer
HTTP/2 (ALPN, with the `h2` package httpx[http2] already brings).

Runs in its own thread and event loop (`with LocalModelServer() as s:`, usable from
sync code) or in the caller's loop (`async with LocalModelServer() as s:`).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import math
import random
import re
import ssl
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import Any, Literal

import anyio
import msgspec
from anyio.abc import ByteStream, SocketAttribute, TaskGroup, TaskStatus
from anyio.from_thread import BlockingPortal, start_blocking_portal
from anyio.streams.tls import TLSAttribute, TLSListener

from ._http import CLIENT_GONE, Exchange, H1Connection, H2Connection
from .cassette import Cassette, CassetteError, ToolCall

log = logging.getLogger("browser_agent.llm.server")

FaultKind = Literal[
    "429",
    "500",
    "503",
    "stall",
    "malformed",
    "bad_args",
    "truncate",
    "invalid_ref",
    "unknown_tool",
    "slow",
]


class LatencyProfile(msgspec.Struct, frozen=True, omit_defaults=True):
    """How long the fake model takes.

    Time to first token: `ttft_ms` × a log-normal factor of spread `jitter`; with
    probability `tail_p` it is further multiplied by a factor drawn from `tail_mult`.
    Then tokens arrive at `tokens_per_s` (0: all at once).
    """

    ttft_ms: float = 0.0
    jitter: float = 0.0
    tail_p: float = 0.0
    tail_mult: tuple[float, float] = (8.0, 12.0)
    tokens_per_s: float = 0.0

    @classmethod
    def heavy_tail(
        cls, ttft_ms: float = 100.0, *, p99_ratio: float = 10.0, tokens_per_s: float = 300.0
    ) -> LatencyProfile:
        """A provider whose p99 time to first token is about `p99_ratio` × its p50."""
        return cls(
            ttft_ms=ttft_ms,
            jitter=0.1,
            tail_p=0.04,
            tail_mult=(0.6 * p99_ratio, 1.13 * p99_ratio),
            tokens_per_s=tokens_per_s,
        )

    def sample_ttft_ms(self, rng: random.Random) -> float:
        t = self.ttft_ms
        if self.jitter:
            t *= math.exp(rng.gauss(0.0, self.jitter))
        if self.tail_p and rng.random() < self.tail_p:
            t *= rng.uniform(*self.tail_mult)
        return t


class StreamShape(msgspec.Struct, frozen=True, omit_defaults=True):
    """How replies are cut into stream chunks.

    `fragments`: "tokens" (a few characters, like real providers), "chars" (one
    character each) or "whole" (each tool call in one chunk). `interleave` alternates
    the fragments of several tool calls by index. `empty_first_chunk` sends a chunk
    with no choices first. `usage` adds the usage chunk last when the client asks with
    `stream_options.include_usage`. `split_bytes` > 0 writes every event in pieces;
    `coalesce` sends an unpaced reply as one HTTP chunk (a server flushing at once).
    """

    fragments: Literal["tokens", "chars", "whole"] = "tokens"
    interleave: bool = False
    empty_first_chunk: bool = True
    usage: bool = True
    split_bytes: int = 0
    coalesce: bool = False


class Fault(msgspec.Struct, frozen=True, omit_defaults=True):
    """A fault to inject into one request.

    "429" (with Retry-After `retry_after_s`), "500"/"503", "stall" (stop sending after
    `after_events` events and hold the connection `hold_s`), "malformed" (a chunk that
    is not JSON), "bad_args" (tool arguments that are not JSON), "truncate" (close the
    connection mid-stream), "invalid_ref" (refs not on the page), "unknown_tool",
    "slow" (first token after `ttft_ms`).
    """

    kind: FaultKind
    retry_after_s: float = 0.05
    after_events: int = 2
    hold_s: float = 30.0
    ttft_ms: float = 0.0

    @classmethod
    def parse(cls, header: str) -> Fault:
        """From an `x-fault` header: `stall` or `429;retry_after_s=0.2`."""
        kind, *params = (p.strip() for p in header.split(";"))
        kw: dict[str, Any] = {}
        for p in params:
            k, _, v = p.partition("=")
            kw[k.strip()] = int(v) if k.strip() == "after_events" else float(v)
        return msgspec.convert({"kind": kind, **kw}, cls)


class RequestRecord(msgspec.Struct):
    """What the server saw and did for one request (`LocalModelServer.log`)."""

    id: int
    connection: int
    method: str
    path: str
    protocol: str = "HTTP/1.1"
    model: str = ""
    step: int | None = None
    fault: str | None = None
    status: int = 200
    stream: bool = False
    ttft_ms: float = 0.0
    server_ms: float = 0.0
    completed: bool = False
    cancelled: bool = False


class ServerStats(msgspec.Struct):
    connections: int
    active_connections: int
    requests: int
    cancelled: int
    log: list[RequestRecord]


class ServerSpec(msgspec.Struct, omit_defaults=True):
    """Everything needed to start a `LocalModelServer` in another process."""

    cassette: Cassette = msgspec.field(default_factory=Cassette)
    latency: LatencyProfile = msgspec.field(default_factory=LatencyProfile)
    shape: StreamShape = msgspec.field(default_factory=StreamShape)
    certfile: str | None = None
    keyfile: str | None = None
    http2: bool = False
    seed: int | None = None


_TOKEN_RE = re.compile(r"\s?[A-Za-z]{1,8}|\s?\d{1,3}|[^\w\s]{1,2}|\s+|[\s\S]")


class LocalModelServer:
    """OpenAI-compatible Chat Completions on 127.0.0.1, answering from a cassette.

    Counters: `connections` (accepted), `active_connections`, `requests` (chat calls),
    `cancelled` (client left before the end of the reply); `log` has one
    `RequestRecord` per request. `latency`, `shape` and `cassette` may be changed at
    any time; `inject()` queues faults for the next chat requests, and a request can
    ask for one itself with an `x-fault` header (e.g. via `ProviderConfig.headers`).
    """

    def __init__(
        self,
        cassette: Cassette | str | Path | Sequence[Any] | None = None,
        *,
        latency: LatencyProfile | None = None,
        shape: StreamShape | None = None,
        faults: Sequence[Fault] = (),
        ssl_context: ssl.SSLContext | None = None,
        http2: bool = False,
        api_key: str | None = None,
        model: str = "local-model",
        seed: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if isinstance(cassette, str | Path):
            cassette = Cassette.load(cassette)
        elif cassette is not None and not isinstance(cassette, Cassette):
            cassette = Cassette.of(*cassette)
        self.cassette: Cassette = cassette or Cassette()
        self.latency = latency or LatencyProfile()
        self.shape = shape or StreamShape()
        if http2:
            if ssl_context is None:
                raise ValueError("HTTP/2 is offered over TLS (ALPN): pass ssl_context")
            ssl_context.set_alpn_protocols(["h2", "http/1.1"])
        self.ssl_context = ssl_context
        self.http2 = http2
        self.api_key = api_key
        self.model = model
        self.host = host
        self._port_wanted = port
        self.port = 0
        self.rng = random.Random(seed)
        self._faults: collections.deque[Fault] = collections.deque(faults)
        self._prefixes: set[bytes] = set()
        self.connections = 0
        self.active_connections = 0
        self.requests = 0
        self.cancelled = 0
        self.log: list[RequestRecord] = []
        self._scope: anyio.CancelScope | None = None
        self._tg: TaskGroup | None = None
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._future: Future[None] | None = None

    # -- addresses and control

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give a client as its base URL (…/v1)."""
        return f"{self.url}/v1"

    def inject(self, *faults: Fault | str) -> None:
        """Queue faults; each one applies to one of the next chat requests, in order."""
        self._faults.extend(Fault.parse(f) if isinstance(f, str) else f for f in faults)

    def stats(self) -> ServerStats:
        """The counters and the request log (also served at GET /_local/stats)."""
        return ServerStats(
            connections=self.connections,
            active_connections=self.active_connections,
            requests=self.requests,
            cancelled=self.cancelled,
            log=list(self.log),
        )

    def reset_stats(self) -> None:
        self.connections = self.requests = self.cancelled = 0
        self.log = []

    def __repr__(self) -> str:
        return f"LocalModelServer({self.base_url!r}, connections={self.connections})"

    # -- lifecycle: own thread

    def start(self) -> LocalModelServer:
        """Serve from a background thread with its own event loop."""
        if self._portal is not None:
            return self
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            self._future, self.port = self._portal.start_task(self._serve)
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            self._portal = self._portal_cm = None
            raise
        return self

    def stop(self) -> None:
        if self._portal is None or self._portal_cm is None:
            return
        self._portal.call(self._cancel)
        if self._future is not None:
            with suppress(BaseException):
                self._future.result(timeout=10)
        self._portal_cm.__exit__(None, None, None)
        self._portal = self._portal_cm = self._future = None

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _cancel(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    # -- lifecycle: caller's loop

    async def __aenter__(self) -> LocalModelServer:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        try:
            self.port = await self._tg.start(self._serve)
        except BaseException:
            await self._tg.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._tg is not None:
            self._cancel()
            await self._tg.__aexit__(None, None, None)
            self._tg = None

    async def _serve(self, *, task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED) -> None:
        with anyio.CancelScope() as scope:
            self._scope = scope
            listener: Any = await anyio.create_tcp_listener(
                local_host=self.host, local_port=self._port_wanted
            )
            port = listener.extra(SocketAttribute.local_port)
            if self.ssl_context is not None:
                listener = TLSListener(listener, self.ssl_context, standard_compatible=False)
            async with listener, anyio.create_task_group() as tg:
                task_status.started(port)
                await listener.serve(self._connection, task_group=tg)

    # -- connections and requests

    async def _connection(self, stream: ByteStream) -> None:
        self.connections += 1
        self.active_connections += 1
        conn_id = self.connections
        try:
            if self.http2 and stream.extra(TLSAttribute.alpn_protocol, None) == "h2":
                await H2Connection(stream, self._handle, conn_id).serve()
            else:
                await H1Connection(stream, conn_id).serve(self._handle)
        except (*CLIENT_GONE, ssl.SSLError):
            pass
        except Exception:  # a bug here must not take the whole server down
            log.exception("local model server: connection %d failed", conn_id)
        finally:
            self.active_connections -= 1
            with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                await anyio.aclose_forcefully(stream)

    async def _handle(
        self,
        ex: Exchange,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        received: float,
    ) -> None:
        rec = RequestRecord(
            id=len(self.log) + 1,
            connection=ex.connection,
            method=method,
            path=path,
            protocol=ex.protocol,
        )
        self.log.append(rec)
        try:
            if self.api_key is not None:
                auth = headers.get("authorization", "")
                if auth != f"Bearer {self.api_key}":
                    given = auth.removeprefix("Bearer ").strip() or "(none)"
                    rec.status = 401
                    msg = f"Incorrect API key provided: {given}. Authorization: {auth}"
                    await ex.json(401, _error(msg, "invalid_api_key"))
                    return
            if method == "GET" and path == "/_local/stats":
                self.log.pop()  # not a request of the workload
                await ex.json(200, msgspec.json.encode(self.stats()))
            elif method == "GET" and path.endswith("/models"):
                models = {"object": "list", "data": [{"id": self.model, "object": "model"}]}
                await ex.json(200, msgspec.json.encode(models))
            elif method == "POST" and path.endswith("/chat/completions"):
                await self._chat(ex, rec, headers, body, received)
            else:
                rec.status = 404
                await ex.json(404, _error(f"no route {method} {path}"))
        finally:
            rec.server_ms = (time.perf_counter() - received) * 1000.0

    # -- chat completions

    async def _chat(
        self,
        ex: Exchange,
        rec: RequestRecord,
        headers: dict[str, str],
        body: bytes,
        received: float,
    ) -> None:
        self.requests += 1
        try:
            req = msgspec.json.decode(body)
            messages = [m for m in req["messages"] if isinstance(m, dict)]
        except (msgspec.DecodeError, KeyError, TypeError):
            rec.status = 400
            await ex.json(400, _error("body is not a chat request"))
            return
        rec.model = str(req.get("model", ""))
        rec.stream = bool(req.get("stream"))
        fault: Fault | None = None
        if headers.get("x-fault"):
            fault = Fault.parse(headers["x-fault"])
        elif self._faults:
            fault = self._faults.popleft()
        rec.fault = fault.kind if fault else None

        if fault is not None and fault.kind in ("429", "500", "503"):
            rec.status = int(fault.kind)
            await ex.json(rec.status, _error(f"injected {fault.kind}"), _retry_after(fault))
            return

        try:
            step, text, calls = self.cassette.reply(messages)
        except CassetteError as exc:
            rec.status = 422
            await ex.json(422, _error(str(exc), "cassette"))
            return
        rec.step = step
        calls = _faulty_calls(calls, fault)

        rid = f"chatcmpl-local{rec.id}"
        model = rec.model or self.model
        tools = req.get("tools")
        json_mode = "response_format" in req and not tools
        arg_texts = [msgspec.json.encode(c.arguments).decode() for c in calls]
        if fault is not None and fault.kind == "bad_args" and arg_texts:
            arg_texts[0] = '{"ref": 1,, "x": }'
        content = text
        if json_mode:
            content = (text + "\n" if text else "") + msgspec.json.encode(
                {"actions": [{"name": c.name, "arguments": c.arguments} for c in calls]}
            ).decode()
        prompt_tokens = len(body) // 4
        cached = self._cached_tokens(req)
        ttft_ms = (
            fault.ttft_ms
            if fault is not None and fault.kind == "slow"
            else self.latency.sample_ttft_ms(self.rng)
        )
        rec.ttft_ms = ttft_ms

        if not rec.stream:
            await anyio.sleep(ttft_ms / 1000.0)
            payload = _completion(rid, model, rec.id, content, calls, arg_texts, json_mode)
            payload["usage"] = _usage(prompt_tokens, payload.pop("tokens"), cached)
            await ex.json(200, msgspec.json.encode(payload))
            rec.completed = True
            return

        events = sse_events(rid, model, content, calls, arg_texts, self.shape, json_mode=json_mode)
        if fault is not None and fault.kind == "malformed":
            at = min(fault.after_events, len(events))
            events.insert(at, (b'data: {"choices": [{"delta": {"content": "oops\n\n', 0))
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
        if include_usage and self.shape.usage:
            tokens = sum(n for _, n in events)
            events.append((_sse(_chunk(rid, model, [], _usage(prompt_tokens, tokens, cached))), 0))
        events.append((b"data: [DONE]\n\n", 0))

        cut = fault is not None and fault.kind in ("stall", "truncate")
        if not (ttft_ms or self.latency.tokens_per_s or self.shape.split_bytes or cut):
            # Nothing to wait for: one write, as fast as a server can answer.
            await ex.send_all([e for e, _ in events], coalesce=self.shape.coalesce)
            rec.completed = True
            return
        await self._stream(ex, rec, events, fault, ttft_ms, received)

    async def _stream(
        self,
        ex: Exchange,
        rec: RequestRecord,
        events: list[tuple[bytes, int]],
        fault: Fault | None,
        ttft_ms: float,
        received: float,
    ) -> None:
        """Send the events paced, until done, cut by a fault or left by the client."""
        await ex.start_stream()
        finished = False
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                await ex.gone()
                rec.cancelled = True
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            try:
                finished = await self._send_events(ex, events, fault, ttft_ms, received)
            except CLIENT_GONE:
                rec.cancelled = True
            tg.cancel_scope.cancel()
        if rec.cancelled:
            self.cancelled += 1
            ex.keep = False
            return
        if not finished:
            await ex.abort()
        rec.completed = finished

    async def _send_events(
        self,
        ex: Exchange,
        events: list[tuple[bytes, int]],
        fault: Fault | None,
        ttft_ms: float,
        received: float,
    ) -> bool:
        """Write the events on time; False when a fault cut the stream short.

        Events already due (the previous sleep overshot, or tokens arrive faster than
        the loop ticks) leave in one write, as a real server flushing its buffer would.
        """
        first = received + ttft_ms / 1000.0
        await _sleep_until(first)
        tps = self.latency.tokens_per_s
        split = self.shape.split_bytes
        cut = fault.kind if fault is not None and fault.kind in ("stall", "truncate") else None
        end = fault.after_events if cut is not None and fault is not None else len(events)
        due: list[float] = []
        tokens = 0
        for _, n in events:
            due.append(first + tokens / tps if tps else first)
            tokens += n
        i = 0
        while i < min(end, len(events)):
            await _sleep_until(due[i])
            now = time.perf_counter()
            j = i + 1
            while not split and j < min(end, len(events)) and due[j] <= now:
                j += 1
            batch = b"".join(e for e, _ in events[i:j])
            if split:
                for k in range(0, len(batch), split):
                    await ex.data(batch[k : k + split])
            else:
                await ex.data(batch)
            i = j
        if cut is not None and end < len(events):
            if cut == "stall":
                await anyio.sleep(fault.hold_s if fault else 30.0)
            return False  # cut short: the caller aborts the response
        await ex.end()
        return True

    def _cached_tokens(self, req: dict[str, Any]) -> int:
        """Prompt caching, roughly: the longest message prefix seen before, in tokens."""
        h = hashlib.blake2b(digest_size=16)
        h.update(str(req.get("model")).encode())
        tools = msgspec.json.encode(req.get("tools"))
        h.update(tools)
        size, cached = len(tools), 0
        seen = []
        for m in req.get("messages") or ():
            raw = msgspec.json.encode(m)
            h.update(raw)
            size += len(raw)
            digest = h.copy().digest()
            if digest in self._prefixes:
                cached = size
            seen.append(digest)
        if len(self._prefixes) > 100_000:
            self._prefixes.clear()
        self._prefixes.update(seen[:-1])  # the last message changes every step
        return cached // 4


def _retry_after(fault: Fault) -> list[tuple[str, str]]:
    """The Retry-After headers of an injected 429 (none for other statuses)."""
    if fault.kind != "429":
        return []
    return [
        ("retry-after", str(math.ceil(fault.retry_after_s))),
        ("retry-after-ms", f"{fault.retry_after_s * 1000:.0f}"),
    ]


def _faulty_calls(calls: list[ToolCall], fault: Fault | None) -> list[ToolCall]:
    """The tool calls as an injected fault bends them: refs not on the page, or a tool
    that does not exist."""
    if fault is not None and fault.kind == "invalid_ref":
        return [
            ToolCall(c.name, {**c.arguments, "ref": 900_000 + i}) if "ref" in c.arguments else c
            for i, c in enumerate(calls)
        ]
    if fault is not None and fault.kind == "unknown_tool":
        return [ToolCall("teleport", {"to": "moon"})]
    return calls


def _completion(
    rid: str,
    model: str,
    n: int,
    content: str,
    calls: Sequence[ToolCall],
    arg_texts: Sequence[str],
    json_mode: bool,
) -> dict[str, Any]:
    """A whole (non-streamed) chat completion; `tokens` holds its completion tokens."""
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if calls and not json_mode:
        message["tool_calls"] = [
            {
                "id": f"call_{n}_{i}",
                "type": "function",
                "function": {"name": c.name, "arguments": a},
            }
            for i, (c, a) in enumerate(zip(calls, arg_texts, strict=True))
        ]
    tokens = len(_TOKEN_RE.findall(content)) + sum(len(_TOKEN_RE.findall(a)) for a in arg_texts)
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if "tool_calls" in message else "stop",
            }
        ],
        "tokens": tokens,
    }


def sse_events(
    rid: str,
    model: str,
    content: str,
    calls: Sequence[ToolCall],
    arg_texts: Sequence[str],
    shape: StreamShape,
    *,
    json_mode: bool = False,
) -> list[tuple[bytes, int]]:
    """A reply as a Chat Completions stream cut the way `shape` says: (SSE event bytes,
    tokens in it). The socket server paces them; `ScriptedModel` hands them over at once."""
    out: list[tuple[bytes, int]] = []
    if shape.empty_first_chunk:
        out.append((_sse(_chunk(rid, model, [])), 0))
    role = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    out.append((_sse(_chunk(rid, model, [role])), 0))
    for piece in _pieces(content, shape):
        out.append((_sse(_chunk(rid, model, [_choice({"content": piece})])), 1))
    tool_calls = list(calls) if not json_mode else []
    per_call: list[list[dict[str, Any]]] = []
    for i, (c, args) in enumerate(zip(tool_calls, arg_texts, strict=False)):
        whole = shape.fragments == "whole"
        header = {
            "index": i,
            "id": f"call_{rid[-6:]}_{i}",
            "type": "function",
            "function": {"name": c.name, "arguments": args if whole else ""},
        }
        if whole:
            per_call.append([header])
            continue
        frags = [header]
        frags += [{"index": i, "function": {"arguments": p}} for p in _pieces(args, shape)]
        per_call.append(frags)
    if shape.interleave:
        ordered = [f for group in _round_robin(per_call) for f in group]
    else:
        ordered = [f for frags in per_call for f in frags]
    for tc in ordered:
        out.append((_sse(_chunk(rid, model, [_choice({"tool_calls": [tc]})])), 1))
    finish = "tool_calls" if tool_calls else "stop"
    out.append((_sse(_chunk(rid, model, [_choice({}, finish)])), 0))
    return out


def _pieces(s: str, shape: StreamShape) -> list[str]:
    if not s:
        return []
    if shape.fragments == "chars":
        return list(s)
    if shape.fragments == "whole":
        return [s]
    return _TOKEN_RE.findall(s)


def _round_robin(groups: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    out = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.append([g[i] for g in groups if i < len(g)])
    return out


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish}


def _chunk(
    rid: str, model: str, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    c: dict[str, Any] = {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        c["usage"] = usage
    return c


def _usage(prompt: int, completion: int, cached: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


def _error(message: str, code: str = "error") -> bytes:
    return msgspec.json.encode(
        {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    )


async def _sleep_until(t: float) -> None:
    delay = t - time.perf_counter()
    if delay > 0:
        await anyio.sleep(delay)


def serve_forever(spec: ServerSpec) -> None:
    """Run a server for `spec`; print its port; stop when stdin closes (a child process)."""
    ctx = None
    if spec.certfile:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(spec.certfile, spec.keyfile)
    server = LocalModelServer(
        spec.cassette,
        latency=spec.latency,
        shape=spec.shape,
        ssl_context=ctx,
        http2=spec.http2,
        seed=spec.seed,
    )
    with server:
        print(server.port, flush=True)
        sys.stdin.read()


def main(argv: Sequence[str] | None = None) -> None:
    """Child-process entry: `python -c "...main()" '<ServerSpec JSON>'`."""
    args = sys.argv[1:] if argv is None else argv
    serve_forever(msgspec.json.decode(args[0], type=ServerSpec))
