"""Ordered delivery of actions to the caller while the reply keeps streaming."""

from __future__ import annotations

import inspect
import math
from types import TracebackType

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._types import Action, ActionCallback


class ActionSink:
    """Runs the caller's callback once per action, in order, in its own task.

    The stream is never blocked by the callback (which may be executing the click);
    leaving the `async with` waits for the callbacks already queued. A callback that
    raises stops the stream and its exception propagates from the `async with`.
    """

    def __init__(self, callback: ActionCallback | None) -> None:
        self._callback = callback
        self._tg: TaskGroup | None = None
        self._send: MemoryObjectSendStream[Action] | None = None
        self._recv: MemoryObjectReceiveStream[Action] | None = None
        self.error: BaseException | None = None
        self.delivered: list[Action] = []

    async def __aenter__(self) -> ActionSink:
        if self._callback is not None:
            self._send, self._recv = anyio.create_memory_object_stream[Action](math.inf)
            self._tg = anyio.create_task_group()
            await self._tg.__aenter__()
            self._tg.start_soon(self._worker)
        return self

    @property
    def active(self) -> bool:
        """Whether actions reach a caller (so handing one out commits the call)."""
        return self._callback is not None

    def put(self, action: Action) -> None:
        self.delivered.append(action)
        if self._send is not None:
            self._send.send_nowait(action)

    async def _worker(self) -> None:
        assert self._recv is not None and self._callback is not None and self._tg is not None
        async with self._recv:
            async for action in self._recv:
                try:
                    result = self._callback(action)
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:
                    self.error = exc
                    self._tg.cancel_scope.cancel()
                    return

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if self._tg is None:
            return False
        assert self._send is not None
        self._send.close()
        cancelled = exc is not None and isinstance(exc, anyio.get_cancelled_exc_class())
        if cancelled:
            suppressed = await self._tg.__aexit__(exc_type, exc, tb)
        else:
            # Drain the queued callbacks, then let the body's own exception (if any) through.
            suppressed = await self._tg.__aexit__(None, None, None)
            suppressed = False
        if self.error is not None:
            raise self.error
        return bool(suppressed)
