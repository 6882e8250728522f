"""Typed data crossing the model boundary: requests, streamed events, replies and timings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec


class Action(msgspec.Struct):
    """One complete, validated tool call: what the agent executes."""

    id: str
    name: str
    arguments: dict[str, Any]


class Usage(msgspec.Struct, frozen=True):
    """Token counts as the provider reported them (0 when it did not)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


class CallTimings(msgspec.Struct, frozen=True):
    """Milliseconds from the start of the call; None when the event never happened.

    `ttfb`: response headers; `ttft`: first content or tool-call token; `first_action`:
    first complete, valid action handed to the caller; `total`: end of the stream.
    """

    ttfb: float | None = None
    ttft: float | None = None
    first_action: float | None = None
    total: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens: int = 0


class ModelReply(msgspec.Struct):
    """The whole reply of one model call, whichever provider won it.

    `raw` is the assistant message as the API would have returned it (content and
    tool_calls with their argument strings), ready to append to the history.
    `finish_reason` is "error" for a partial reply: the stream broke after actions had
    already been handed to the caller, so they are kept and `error` says what happened.
    `failures` lists the attempts of this call that failed ("ErrorType: message").
    `hedged`: a second request was sent because the first token was late; `hedge_won`:
    that second request gave the reply (`provider` says whose it was).
    """

    text: str
    actions: list[Action]
    raw: dict[str, Any]
    usage: Usage
    timings: CallTimings
    finish_reason: str | None = None
    provider: str = ""
    model: str = ""
    attempts: int = 1
    hedged: bool = False
    error: str | None = None
    hedge_won: bool = False
    failures: list[str] = msgspec.field(default_factory=list)
    limits: list[str] = msgspec.field(default_factory=list)
    """What a cap cut from the reply (tool calls past the most one reply may hold)."""


class ChatRequest(msgspec.Struct, kw_only=True):
    """One Chat Completions request; `None` fields are left out of the body."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    model: str | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    extra_body: dict[str, Any] | None = None
    extra_headers: dict[str, str] | None = None


class ContentDelta(msgspec.Struct, tag="content"):
    """A fragment of assistant text."""

    text: str


class ToolCallDelta(msgspec.Struct, tag="tool_call_delta"):
    """A raw fragment of a tool call as the server sent it (for live displays)."""

    index: int
    name: str | None
    arguments: str


class ActionReady(msgspec.Struct, tag="action"):
    """A tool call whose arguments just closed and validated; the rest may still stream."""

    action: Action


class Completed(msgspec.Struct, tag="completed"):
    """The stream ended; the assembled reply."""

    reply: ModelReply


StreamEvent = ContentDelta | ToolCallDelta | ActionReady | Completed

ActionCallback = Callable[[Action], Awaitable[object] | object]
"""Called once per complete action, in order, while the reply still streams."""

ActionValidator = Callable[[Action], str | None]
"""Returns why an action is invalid, or None when it is fine."""
