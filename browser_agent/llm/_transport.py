"""The HTTP transport under each provider's `httpx.AsyncClient`.

httpx writes a request as several socket writes (HTTP/1.1: head, then body; HTTP/2:
HEADERS, DATA, END_STREAM). Each one is a syscall, a TCP segment, a TLS record and a
wake-up of the server, which then finds half a request. Here writes are held until the
connection next reads — the moment the request is complete — and leave as one.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore
import httpx

log = logging.getLogger("browser_agent.llm")

_MAX_HELD = 256 * 1024


class _CorkedStream(httpcore.AsyncNetworkStream):
    """Holds writes while nobody is reading, and sends them as one when a read begins.

    While a read is pending (HTTP/2: another request waits for its response), writes go
    straight through, so a held write can never wait on someone else's response.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._held: list[bytes] = []
        self._size = 0
        self._reading = 0
        self._lock = anyio.Lock()

    async def _flush(self, timeout: float | None) -> None:
        async with self._lock:
            if self._held:
                data = b"".join(self._held)
                self._held.clear()
                self._size = 0
                await self._inner.write(data, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        while self._held:
            await self._flush(timeout)
        self._reading += 1
        try:
            return await self._inner.read(max_bytes, timeout)
        finally:
            self._reading -= 1

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        self._held.append(buffer)
        self._size += len(buffer)
        if self._reading or self._size > _MAX_HELD:
            await self._flush(timeout)

    async def aclose(self) -> None:
        with anyio.move_on_after(0.5), contextlib.suppress(Exception):  # closing anyway
            await self._flush(0.5)
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        await self._flush(timeout)
        return _CorkedStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _CorkingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _CorkedStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _CorkedStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def make_transport(
    *, verify: ssl.SSLContext | bool, http2: bool, limits: httpx.Limits
) -> httpx.AsyncHTTPTransport:
    """httpx's own transport, with a connection pool whose HTTP/1.1 writes are corked."""
    transport = httpx.AsyncHTTPTransport(verify=verify, http2=http2, limits=limits, trust_env=False)
    if not hasattr(transport, "_pool"):  # pragma: no cover - a future httpx
        log.debug("httpx transport layout changed; writes are not corked")
        return transport
    ctx = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ctx,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
        network_backend=_CorkingBackend(),
    )
    return transport
