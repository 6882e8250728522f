"""One provider: a long-lived pooled HTTP client, warm-up, and a streaming Chat Completions call."""

from __future__ import annotations

import collections
import email.utils
import logging
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import msgspec

from ..exceptions import (
    BudgetExceededError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    StallError,
)
from ._config import ProviderConfig
from ._probe import diagnose, unreachable
from ._prompts import action_response_format
from ._redact import redact
from ._sink import ActionSink
from ._stream import SSEDecoder, StreamAssembler
from ._transport import make_transport
from ._types import (
    ActionCallback,
    ActionReady,
    ActionValidator,
    CallTimings,
    ChatRequest,
    Completed,
    ContentDelta,
    ModelReply,
    StreamEvent,
    ToolCallDelta,
    Usage,
)

log = logging.getLogger("browser_agent.llm")

_RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
_MAX_ERROR_BODY = 64 * 1024


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from `retry-after-ms`, `retry-after` (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class EventStream:
    """The events of one streamed reply, pulled from the socket as they are iterated.

    Every read is bounded by `stall_ms` (httpx's read timeout), and the wait for the
    first token by `first_token_timeout_s` as well. After a `Completed` event `reply`
    holds the whole reply.
    """

    def __init__(
        self,
        client: LLMClient,
        response: httpx.Response,
        assembler: StreamAssembler,
        t0: float,
        ttfb: float,
        first_token_deadline: float,
    ) -> None:
        self._client = client
        self._response = response
        self._assembler = assembler
        self._t0 = t0
        self._ttfb = ttfb
        self._deadline = first_token_deadline
        self._decoder = SSEDecoder()
        self._pending: collections.deque[StreamEvent] = collections.deque()
        encoded = "content-encoding" in response.headers
        self._bytes = response.aiter_bytes() if encoded else response.aiter_raw()
        self._json_body = "json" in response.headers.get("content-type", "")
        self._body_parts: list[bytes] = []
        self._finished = False
        self.ttft: float | None = None
        self.first_action: float | None = None
        self.reply: ModelReply | None = None

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> StreamEvent:
        while not self._pending:
            if self._finished:
                raise StopAsyncIteration
            await self._pull()
        return self._pending.popleft()

    @property
    def text(self) -> str:
        return self._assembler.text

    async def _pull(self) -> None:
        # Silences are bounded by httpx's read timeout (= stall_ms, per socket read, at no
        # extra cost); only the wait for the first token needs a scope of its own.
        try:
            if self.ttft is None:
                with anyio.fail_after(max(0.0, self._deadline - time.perf_counter())):
                    chunk = await self._bytes.__anext__()
            else:
                chunk = await self._bytes.__anext__()
        except StopAsyncIteration:
            self._end()
            return
        except TimeoutError:
            name = self._client.name
            raise ProviderTimeoutError(
                f"{name}: no first token within {self._client.config.first_token_timeout_s:g} s",
                provider=name,
            ) from None
        except httpx.TimeoutException:
            name = self._client.name
            raise StallError(
                f"{name}: stream stalled (no bytes for {self._client.config.stall_ms:g} ms)",
                provider=name,
            ) from None
        except httpx.HTTPError as exc:
            name = self._client.name
            raise ProviderConnectionError(
                f"{name}: connection broke mid-stream: {self._client.redact(str(exc))}",
                provider=name,
            ) from None
        if self._json_body:
            self._body_parts.append(chunk)
            return
        for event, data in self._decoder.feed(chunk):
            self._add(self._assembler.feed(event, data))

    def _add(self, events: list[StreamEvent]) -> None:
        for ev in events:
            if self.ttft is None and isinstance(ev, ContentDelta | ToolCallDelta):
                self.ttft = _ms(self._t0)
            elif isinstance(ev, ActionReady) and self.first_action is None:
                self.first_action = _ms(self._t0)
            self._pending.append(ev)
        if self.ttft is None and self._assembler.tokens:
            self.ttft = _ms(self._t0)  # reasoning tokens count as life

    def _end(self) -> None:
        a = self._assembler
        if self._json_body:
            self._add(a.feed_completion(b"".join(self._body_parts)))
        else:
            for event, data in self._decoder.flush():
                self._add(a.feed(event, data))
        self._add(a.finish())
        total = _ms(self._t0)
        usage = a.usage or Usage(0, a.tokens, 0)
        if usage.completion_tokens == 0 and a.tokens:
            usage = Usage(usage.prompt_tokens, a.tokens, usage.cached_tokens)
        timings = CallTimings(
            ttfb=self._ttfb,
            ttft=self.ttft,
            first_action=self.first_action,
            total=total,
            tokens_in=usage.prompt_tokens,
            tokens_out=usage.completion_tokens,
            cached_tokens=usage.cached_tokens,
        )
        self.reply = ModelReply(
            text=a.text,
            actions=list(a.actions),
            raw=a.raw_message(),
            usage=usage,
            timings=timings,
            finish_reason=a.finish_reason,
            provider=self._client.name,
            model=a.model or self._client.config.model,
            limits=a.limits,
        )
        self._finished = True
        self._pending.append(Completed(self.reply))


class LLMClient:
    """One provider endpoint: a single `httpx.AsyncClient` for the life of the runtime.

    HTTP/2 when the server offers it, keep-alive pool limits, and `warm_up()` to open the
    connection (and TLS) ahead of the first decision. Use as an async context manager
    (or call `aclose()`).
    """

    def __init__(
        self,
        config: ProviderConfig,
        *,
        verify: ssl.SSLContext | bool | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        key = config.secret()
        headers = {"Accept": "text/event-stream, application/json", **config.headers}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if verify is None:
            verify = (
                ssl.create_default_context(cafile=config.verify)
                if isinstance(config.verify, str)
                else config.verify
            )
        self._secrets = config.secrets()
        limits = httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_keepalive,
            keepalive_expiry=config.keepalive_expiry_s,
        )
        if transport is None:
            transport = make_transport(verify=verify, http2=config.http2, limits=limits)
        self._transport = transport
        self._http = httpx.AsyncClient(
            base_url=config.base_url + "/",
            headers=headers,
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=config.connect_timeout_s,
                read=max(config.first_token_timeout_s, config.stall_ms / 1000.0),
                write=config.connect_timeout_s + 10.0,
                pool=config.connect_timeout_s,
            ),
        )
        self._chat_url = httpx.URL(config.base_url + "/chat/completions")
        # httpx's own timeouts already bound the wait for headers within the first-token
        # timeout unless that is the shorter one: then it needs a scope of its own.
        self._send_bounded_by_httpx = config.first_token_timeout_s >= (
            config.connect_timeout_s * 2 + 10.0 + config.stall_ms / 1000.0
        )
        # For chat calls every read waits at most stall_ms: a silent stream is a stall.
        self._timeout = httpx.Timeout(
            connect=config.connect_timeout_s,
            read=config.stall_ms / 1000.0,
            write=config.connect_timeout_s + 10.0,
            pool=config.connect_timeout_s,
        )
        self._closed = False
        self.problem: str | None = None
        """Set by `warm_up` when the provider cannot work as configured (and why)."""

    @property
    def name(self) -> str:
        return self.config.name

    def __repr__(self) -> str:
        return (
            f"LLMClient(name={self.name!r}, base_url={redact(self.config.base_url)!r}, "
            f"model={self.config.model!r})"
        )

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await self._http.aclose()

    async def warm_up(self, timeout_s: float | None = None) -> bool:
        """Open the connection (TCP, TLS, HTTP/2 settings) with a cheap `GET models`.

        Any HTTP answer warms the connection. Returns False (and logs why) when the
        server could not be reached in time. The answer is also read for a set-up that
        cannot work (`problem`: no server, no or a refused key, not an OpenAI server).
        """
        t0 = time.perf_counter()
        self.problem = None
        try:
            with anyio.fail_after(timeout_s or self.config.connect_timeout_s + 5.0):
                resp = await self._http.get("models")
                self.problem = await diagnose(self.config, self._http, resp, self.redact)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self.problem = self.redact(unreachable(self.config, exc))
            log.warning("warm-up of %s failed: %s", self.name, self.problem)
            return False
        except (TimeoutError, httpx.HTTPError) as exc:
            log.warning("warm-up of %s failed: %s", self.name, self.redact(repr(exc)))
            return False
        log.debug(
            "warmed %s (%s %s) in %.1f ms",
            self.name,
            resp.http_version,
            resp.status_code,
            _ms(t0),
        )
        return True

    # -- the call

    def encode(self, request: ChatRequest) -> tuple[bytes, bool]:
        """The request body, and whether the reply comes as JSON content (no tools)."""
        return self.encode_body(self.config, request)

    @staticmethod
    def encode_body(config: ProviderConfig, request: ChatRequest) -> tuple[bytes, bool]:
        body: dict[str, Any] = {
            "model": request.model or config.model,
            "messages": request.messages,
        }
        tools = request.tools
        json_mode = False
        if tools and config.action_mode == "json_schema":
            body["response_format"] = request.response_format or action_response_format(tools)
            json_mode = True
        else:
            if tools:
                body["tools"] = tools
                if request.tool_choice is not None:
                    body["tool_choice"] = request.tool_choice
                if request.parallel_tool_calls is not None:
                    body["parallel_tool_calls"] = request.parallel_tool_calls
            if request.response_format is not None:
                body["response_format"] = request.response_format
                json_mode = not tools
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        body["stream"] = True
        if config.stream_usage:
            body["stream_options"] = {"include_usage": True}
        if request.extra_body:
            body.update(request.extra_body)
        return msgspec.json.encode(body), json_mode

    @asynccontextmanager
    async def stream(
        self,
        request: ChatRequest,
        *,
        validate: ActionValidator | None = None,
        t0: float | None = None,
    ) -> AsyncIterator[EventStream]:
        """Send the request; yield its events as they arrive.

        ```
        async with client.stream(ChatRequest(messages=..., tools=...)) as events:
            async for event in events:  # ContentDelta, ToolCallDelta, ActionReady, Completed
                ...
        ```
        Raises typed `ProviderError`s; every error message is redacted.
        """
        body, json_mode = self.encode(request)
        t0 = time.perf_counter() if t0 is None else t0
        start = time.perf_counter()
        deadline = start + self.config.first_token_timeout_s
        headers = {"Content-Type": "application/json", **(request.extra_headers or {})}
        http_request = self._http.build_request(
            "POST", self._chat_url, content=body, headers=headers, timeout=self._timeout
        )
        response = await self._send(http_request, deadline)
        try:
            ttfb = _ms(t0)
            if response.status_code != 200:
                await self._raise_for_status(response, deadline)
            assembler = StreamAssembler(
                provider=self.name, tools=request.tools, json_mode=json_mode, validate=validate
            )
            yield EventStream(self, response, assembler, t0, ttfb, deadline)
        finally:
            if not response.is_closed:  # a fully read response is already closed
                with anyio.CancelScope(shield=True), anyio.move_on_after(1.0):
                    await response.aclose()

    async def _send(self, request: httpx.Request, deadline: float) -> httpx.Response:
        name = self.name
        try:
            if self._send_bounded_by_httpx:
                return await self._send_direct(request)
            with anyio.fail_after(max(0.0, deadline - time.perf_counter())):
                return await self._send_direct(request)
        except TimeoutError:
            raise ProviderTimeoutError(
                f"{name}: no response within {self.config.first_token_timeout_s:g} s",
                provider=name,
            ) from None
        except httpx.ReadTimeout:
            raise StallError(
                f"{name}: no response bytes for {self.config.stall_ms:g} ms", provider=name
            ) from None
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError(
                f"{name}: {type(exc).__name__}: {self.redact(str(exc))}", provider=name
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderConnectionError(
                f"{name}: cannot reach {redact(self.config.base_url)}: "
                f"{type(exc).__name__}: {self.redact(str(exc))}",
                provider=name,
            ) from None

    async def _send_direct(self, request: httpx.Request) -> httpx.Response:
        # Straight to the client's transport: a chat call needs none of the auth, redirect,
        # cookie and logging layers of `AsyncClient.send`, and skipping them is measurable.
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

    async def _raise_for_status(self, response: httpx.Response, deadline: float) -> None:
        name, status = self.name, response.status_code
        excerpt = b""
        try:
            with anyio.move_on_after(max(0.5, min(5.0, deadline - time.perf_counter()))):
                async for part in response.aiter_bytes():
                    excerpt += part
                    if len(excerpt) > _MAX_ERROR_BODY:
                        break
        except httpx.HTTPError:
            pass
        detail = self.redact(excerpt[:500].decode("utf-8", "replace").strip())
        message = f"{name}: HTTP {status}" + (f": {detail}" if detail else "")
        if status == 429:
            raise RateLimitError(
                message, provider=name, retry_after=parse_retry_after(response.headers)
            )
        raise ProviderError(
            message, provider=name, status=status, retryable=status in _RETRYABLE_STATUS
        )

    async def complete(
        self,
        request: ChatRequest,
        *,
        on_action: ActionCallback | None = None,
        validate: ActionValidator | None = None,
        budget_s: float | None = None,
    ) -> ModelReply:
        """The whole reply, with `on_action` called per complete action while it streams.

        One attempt, no retries (that is `LLMPool`'s job).
        """
        reply: ModelReply | None = None
        async with ActionSink(on_action) as sink:
            with anyio.move_on_after(budget_s if budget_s is not None else float("inf")) as scope:
                async with self.stream(request, validate=validate) as events:
                    async for event in events:
                        if isinstance(event, ActionReady):
                            sink.put(event.action)
                        elif isinstance(event, Completed):
                            reply = event.reply
        if reply is None:
            assert scope.cancelled_caught
            raise BudgetExceededError(f"{self.name}: no complete reply within {budget_s} s")
        return reply


Provider = LLMClient
"""Alias: a provider is its client."""
