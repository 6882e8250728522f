"""A scripted model in process: a cassette behind `httpx.MockTransport`.

The provider layer already has one seam for this, the transport under
`LLMClient`; a test that needs no socket plugs the script in there and keeps its
event loop to itself (no thread, no port, no pacing). Use `LocalModelServer` where
the socket is the point: keep-alive, TLS, HTTP/2, latency and faults.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import msgspec

from .cassette import Cassette, CassetteError
from .model_server import StreamShape, sse_events


class ScriptedModel:
    """Answers Chat Completions from a cassette, in process.

    ```
    model = ScriptedModel(['click button "Add to cart"', 'done "added"'])
    async with LLMClient(config, transport=model.transport) as client:
        reply = await client.complete(request)
    model.requests  # the JSON bodies it was sent
    ```
    A step that does not resolve against the request's observation answers 422, as
    the socket server does.
    """

    def __init__(
        self,
        cassette: Cassette | Sequence[Any],
        *,
        shape: StreamShape | None = None,
        model: str = "scripted-model",
    ) -> None:
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette.of(*cassette)
        self.shape = shape or StreamShape()
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/chat/completions"):
            return httpx.Response(200, json={"object": "list", "data": [{"id": self.model}]})
        body = msgspec.json.decode(request.content)
        self.requests.append(body)
        messages = [m for m in body.get("messages", ()) if isinstance(m, dict)]
        try:
            _, text, calls = self.cassette.reply(messages)
        except CassetteError as exc:
            return httpx.Response(422, json={"error": {"message": str(exc), "code": "cassette"}})
        rid = f"chatcmpl-scripted{len(self.requests)}"
        args = [msgspec.json.encode(c.arguments).decode() for c in calls]
        events = sse_events(rid, self.model, text, calls, args, self.shape)
        chunks = [e for e, _ in events] + [b"data: [DONE]\n\n"]
        if self.shape.coalesce:
            chunks = [b"".join(chunks)]
        elif self.shape.split_bytes:
            n, data = self.shape.split_bytes, b"".join(chunks)
            chunks = [data[i : i + n] for i in range(0, len(data), n)]
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=_Chunks(chunks))


class _Chunks(httpx.AsyncByteStream):
    """The body as the network would hand it over: one piece at a time."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk
