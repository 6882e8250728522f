"""A direct CDP connection to one page target, beside Playwright's own.

Playwright relays CDP sessions through its driver process, which costs a JSON
re-encode and an extra hop on every call. The serializer's calls are the hot path
of every agent step, so when the browser exposes a debugging port we talk to the
page target over our own websocket. There is no reader task: a call sends, then
reads until its reply arrives, dispatching any events it reads on the way, so
nothing outlives the call and every wait is bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anyio
import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from ..exceptions import CDPConnectionError, CDPError

Handler = Callable[[dict[str, Any]], None]
Call = tuple[str, dict[str, Any] | None]
"""One CDP command: its method and params."""
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


__all__ = ["CDPConnectionError", "CDPError", "Call", "DirectCDP"]


CALL_TIMEOUT_S = 30.0
"""Bound on one flight of calls: a page that has not answered by then is busy (a 100k-element
page on a loaded machine takes 10-20 s to observe), not a broken socket."""


class DirectCDP:
    def __init__(self, ws: ClientConnection, timeout: float = CALL_TIMEOUT_S) -> None:
        self._ws = ws
        self._timeout = timeout
        self._next_id = 0
        self._handlers: dict[str, list[Handler]] = {}
        self._lock = anyio.Lock()

    @classmethod
    async def open(
        cls, ws_url: str, *, timeout: float = 10.0, call_timeout: float = CALL_TIMEOUT_S
    ) -> DirectCDP:
        """Connect within `timeout` s; each later flight of calls is bounded by `call_timeout`."""
        with anyio.fail_after(timeout):
            ws = await connect(ws_url, max_size=None, compression=None, ping_interval=None)
        return cls(ws, call_timeout)

    def on(self, event: str, handler: Handler) -> None:
        self._handlers.setdefault(event, []).append(handler)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        for handler in self._handlers.get(msg.get("method", ""), ()):
            handler(msg.get("params", {}))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        return (await self.send_many([(method, params)], timeout=timeout))[0]

    async def send_many(
        self, calls: Sequence[Call], *, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """Send every call before reading any reply: Chromium runs them in order, so a
        sequence (say, a mouse move, press and release) costs one round trip, not three.
        `timeout` replaces the socket's bound for a flight that waits on purpose."""
        bound = self._timeout if timeout is None else timeout
        async with self._lock:
            first = self._next_id + 1
            self._next_id += len(calls)
            replies: dict[int, dict[str, Any]] = {}
            sent = False
            try:
                with anyio.fail_after(bound):
                    # DevTools only reads text frames.
                    for i, (method, params) in enumerate(calls):
                        call = {"id": first + i, "method": method, "params": params or {}}
                        await self._ws.send(_encode(call), text=True)
                        sent = True
                    while len(replies) < len(calls):
                        msg = _decode(await self._ws.recv(decode=False))
                        ident = msg.get("id")
                        if isinstance(ident, int) and first <= ident <= self._next_id:
                            replies[ident] = msg
                        elif "method" in msg:
                            self._dispatch(msg)
            except WebSocketException as exc:
                raise CDPConnectionError(f"Target closed: {exc}", sent=sent) from exc
            except TimeoutError as exc:
                what = calls[0][0] if len(calls) == 1 else f"{len(calls)} calls"
                raise CDPConnectionError(
                    f"{what}: no answer from the page within {bound:g} s",
                    sent=sent,
                    timed_out=True,
                ) from exc
        out: list[dict[str, Any]] = []
        for i in range(len(calls)):
            msg = replies[first + i]
            if "error" in msg:
                raise CDPError(msg["error"].get("message", str(msg["error"])))
            out.append(msg.get("result", {}))
        return out

    async def close(self) -> None:
        await self._ws.close()
