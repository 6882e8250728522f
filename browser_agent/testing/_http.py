"""Minimal HTTP/1.1 and HTTP/2 server plumbing for the local model server.

Just enough of each protocol for OpenAI-style traffic: keep-alive, content-length
request bodies, chunked (HTTP/1.1) or DATA-framed (HTTP/2) streamed responses, and
a way to notice that the client walked away (connection closed, or RST_STREAM).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
from anyio.abc import ByteStream, TaskGroup

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}

CLIENT_GONE = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    OSError,
    h2.exceptions.StreamClosedError,
    h2.exceptions.ProtocolError,
)

Handler = Callable[["Exchange", str, str, dict[str, str], bytes, float], Awaitable[None]]
"""(exchange, method, path, lower-cased headers, body, time the request began)."""


class Exchange:
    """One response, whatever the protocol. `keep` turns False when the connection
    must close after it (HTTP/1.1 only)."""

    keep = True
    connection = 0
    protocol = "HTTP/1.1"

    async def json(self, status: int, body: bytes, extra: Sequence[tuple[str, str]] = ()) -> None:
        raise NotImplementedError

    async def start_stream(self) -> None:
        raise NotImplementedError

    async def data(self, data: bytes) -> None:
        raise NotImplementedError

    async def end(self) -> None:
        raise NotImplementedError

    async def send_all(self, events: Sequence[bytes], *, coalesce: bool) -> None:
        """A whole streamed response at once: headers, events and the end, in one write."""
        raise NotImplementedError

    async def abort(self) -> None:
        """Cut the response short: close the connection / reset the stream."""
        raise NotImplementedError

    async def gone(self) -> None:
        """Returns when the client abandons this response."""
        raise NotImplementedError


# ---------------------------------------------------------------------- HTTP/1.1


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\nconnection: "
)


class H1Connection:
    """A byte stream with a read buffer, so a watcher task can see the client leave."""

    def __init__(self, stream: ByteStream, connection: int = 0) -> None:
        self.stream = stream
        self.connection = connection
        self.buf = bytearray()
        self.eof = False
        self.started = 0.0  # when the first byte of the current request arrived

    async def _fill(self) -> bool:
        try:
            data = await self.stream.receive()
        except CLIENT_GONE:
            self.eof = True
            return False
        self.buf += data
        return True

    async def read_head(self) -> bytes | None:
        self.started = time.perf_counter() if self.buf else 0.0
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            if len(self.buf) > 65536 or self.eof or not await self._fill():
                return None
            if not self.started:
                self.started = time.perf_counter()
        head = bytes(self.buf[:end])
        del self.buf[: end + 4]
        return head

    async def read_exact(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if self.eof or not await self._fill():
                return None
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    async def wait_closed(self) -> None:
        while not self.eof and await self._fill():
            pass

    async def serve(self, handler: Handler, idle_s: float = 300.0) -> None:
        while True:
            with anyio.move_on_after(idle_s):
                head = await self.read_head()
            if not head:
                return
            received = self.started or time.perf_counter()
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            ex = H1Exchange(self, keep=len(parts) == 3 and parts[2] == "HTTP/1.1")
            if headers.get("connection", "").lower() == "close":
                ex.keep = False
            if len(parts) != 3 or "chunked" in headers.get("transfer-encoding", "").lower():
                ex.keep = False
                await ex.json(400, b'{"error": {"message": "unsupported request"}}')
                return
            body = await self.read_exact(int(headers.get("content-length") or 0))
            if body is None:
                return
            await handler(ex, parts[0], parts[1].split("?", 1)[0], headers, body, received)
            if not ex.keep:
                return


class H1Exchange(Exchange):
    def __init__(self, conn: H1Connection, keep: bool) -> None:
        self.conn = conn
        self.keep = keep
        self.connection = conn.connection

    def _connection(self) -> bytes:
        return b"keep-alive" if self.keep else b"close"

    async def json(self, status: int, body: bytes, extra: Sequence[tuple[str, str]] = ()) -> None:
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
            "content-type: application/json",
            f"content-length: {len(body)}",
            f"connection: {self._connection().decode()}",
            *(f"{k}: {v}" for k, v in extra),
        ]
        await self.conn.stream.send(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    async def start_stream(self) -> None:
        await self.conn.stream.send(_SSE_HEAD + self._connection() + b"\r\n\r\n")

    async def data(self, data: bytes) -> None:
        await self.conn.stream.send(_http_chunk(data))

    async def end(self) -> None:
        await self.conn.stream.send(b"0\r\n\r\n")

    async def send_all(self, events: Sequence[bytes], *, coalesce: bool) -> None:
        if coalesce:
            body = _http_chunk(b"".join(events))
        else:
            body = b"".join(_http_chunk(e) for e in events)
        head = _SSE_HEAD + self._connection() + b"\r\n\r\n"
        await self.conn.stream.send(head + body + b"0\r\n\r\n")

    async def abort(self) -> None:
        self.keep = False  # the connection closes without the last chunk

    async def gone(self) -> None:
        await self.conn.wait_closed()


# ------------------------------------------------------------------------ HTTP/2


class H2Connection:
    """HTTP/2 over one (TLS, ALPN "h2") stream: each request runs in its own task."""

    def __init__(self, stream: ByteStream, handler: Handler, connection: int = 0) -> None:
        self.stream = stream
        self.handler = handler
        self.connection = connection
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        self.lock = anyio.Lock()
        self.window = anyio.Event()
        self.exchanges: dict[int, H2Exchange] = {}
        self._tg: TaskGroup | None = None

    async def flush(self) -> None:
        async with self.lock:
            data = self.h2.data_to_send()
            if data:
                await self.stream.send(data)

    async def serve(self, idle_s: float = 300.0) -> None:
        self.h2.initiate_connection()
        await self.flush()
        async with anyio.create_task_group() as tg:
            self._tg = tg
            while True:
                data = b""
                with anyio.move_on_after(idle_s):
                    try:
                        data = await self.stream.receive()
                    except CLIENT_GONE:
                        break
                if not data:
                    break
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    break
                if not self._events(events):
                    break
                await self.flush()
            tg.cancel_scope.cancel()

    def _events(self, events: list[Any]) -> bool:
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                headers = {str(k).lower(): str(v) for k, v in ev.headers}
                self.exchanges[ev.stream_id] = H2Exchange(self, ev.stream_id, headers)
            elif isinstance(ev, h2.events.DataReceived):
                ex = self.exchanges.get(ev.stream_id)
                if ex is not None:
                    ex.body += ev.data
                self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                ex = self.exchanges.get(ev.stream_id)
                if ex is not None and self._tg is not None:
                    self._tg.start_soon(self._run, ex)
            elif isinstance(ev, h2.events.StreamReset):
                ex = self.exchanges.pop(ev.stream_id, None)
                if ex is not None:
                    ex.reset.set()
            elif isinstance(ev, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
                self.window.set()
                self.window = anyio.Event()
            elif isinstance(ev, h2.events.ConnectionTerminated):
                return False
        return True

    async def _run(self, ex: H2Exchange) -> None:
        h = ex.headers
        try:
            await self.handler(
                ex, h.get(":method", ""), h.get(":path", "").split("?", 1)[0], h, bytes(ex.body),
                ex.received,
            )  # fmt: skip
        except CLIENT_GONE:
            pass
        finally:
            self.exchanges.pop(ex.stream_id, None)


class H2Exchange(Exchange):
    protocol = "HTTP/2"

    def __init__(self, conn: H2Connection, stream_id: int, headers: dict[str, str]) -> None:
        self.conn = conn
        self.connection = conn.connection
        self.stream_id = stream_id
        self.headers = headers
        self.body = bytearray()
        self.reset = anyio.Event()
        self.received = time.perf_counter()

    async def _send(self, data: bytes, *, end: bool) -> None:
        h, sid = self.conn.h2, self.stream_id
        while data:
            n = min(len(data), h.local_flow_control_window(sid), h.max_outbound_frame_size)
            if n <= 0:
                await self.conn.flush()
                with anyio.fail_after(30):  # the client must open its window
                    await self.conn.window.wait()
                continue
            h.send_data(sid, data[:n])
            data = data[n:]
        if end:
            h.end_stream(sid)
        await self.conn.flush()

    async def json(self, status: int, body: bytes, extra: Sequence[tuple[str, str]] = ()) -> None:
        self.conn.h2.send_headers(
            self.stream_id,
            [
                (":status", str(status)),
                ("content-type", "application/json"),
                ("content-length", str(len(body))),
                *extra,
            ],
        )
        await self._send(body, end=True)

    async def start_stream(self) -> None:
        self.conn.h2.send_headers(
            self.stream_id,
            [
                (":status", "200"),
                ("content-type", "text/event-stream"),
                ("cache-control", "no-cache"),
            ],
        )
        await self.conn.flush()

    async def data(self, data: bytes) -> None:
        await self._send(data, end=False)

    async def end(self) -> None:
        self.conn.h2.end_stream(self.stream_id)
        await self.conn.flush()

    async def send_all(self, events: Sequence[bytes], *, coalesce: bool) -> None:
        self.conn.h2.send_headers(
            self.stream_id,
            [
                (":status", "200"),
                ("content-type", "text/event-stream"),
                ("cache-control", "no-cache"),
            ],
        )
        await self._send(b"".join(events), end=True)

    async def abort(self) -> None:
        self.conn.h2.reset_stream(self.stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
        await self.conn.flush()

    async def gone(self) -> None:
        await self.reset.wait()
