"""A direct CDP connection to one page target, beside Playwright's own.

Playwright relays CDP sessions through its driver process, which costs a JSON
re-encode and an extra hop on every call. The serializer's calls are the hot path
of every agent step, so when the browser exposes a debugging port we talk to the
page target over our own websocket. There is no reader task: a call sends, then
reads until its reply arrives, dispatching any events it reads on the way, so
nothing outlives the call and every wait is bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import msgspec
from playwright.async_api import Error as PlaywrightError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

Handler = Callable[[dict[str, Any]], None]
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class CDPError(PlaywrightError):
    """A CDP call failed; it is a Playwright error so callers handle both alike."""


class CDPConnectionError(CDPError):
    """The websocket itself failed (closed, timed out), not the call."""


class DirectCDP:
    def __init__(self, ws: ClientConnection, timeout: float) -> None:
        self._ws = ws
        self._timeout = timeout
        self._next_id = 0
        self._handlers: dict[str, list[Handler]] = {}
        self._lock = anyio.Lock()

    @classmethod
    async def open(cls, ws_url: str, *, timeout: float = 30.0) -> DirectCDP:
        with anyio.fail_after(timeout):
            ws = await connect(ws_url, max_size=None, compression=None, ping_interval=None)
        return cls(ws, timeout)

    def on(self, event: str, handler: Handler) -> None:
        self._handlers.setdefault(event, []).append(handler)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        for handler in self._handlers.get(msg.get("method", ""), ()):
            handler(msg.get("params", {}))

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        async with self._lock:
            self._next_id += 1
            ident = self._next_id
            try:
                with anyio.fail_after(self._timeout):
                    # DevTools only reads text frames.
                    await self._ws.send(
                        _encode({"id": ident, "method": method, "params": params or {}}),
                        text=True,
                    )
                    while True:
                        msg = _decode(await self._ws.recv(decode=False))
                        if msg.get("id") == ident:
                            break
                        if "method" in msg:
                            self._dispatch(msg)
            except WebSocketException as exc:
                raise CDPConnectionError(f"Target closed: {exc}") from exc
            except TimeoutError as exc:
                raise CDPConnectionError(f"{method} timed out after {self._timeout} s") from exc
        if "error" in msg:
            raise CDPError(msg["error"].get("message", str(msg["error"])))
        return msg.get("result", {})

    async def close(self) -> None:
        await self._ws.close()
