"""The model layer: pooled, streaming, hedged calls to OpenAI-compatible providers.

```
from browser_agent.llm import LLMPool, ProviderConfig, build_messages

fast = ProviderConfig.from_preset("groq", model="llama-3.1-8b-instant")
strong = ProviderConfig.from_preset("openai", model="gpt-4.1", tier="strong")
async with LLMPool([fast, strong]) as pool:
    await pool.warm_up()                       # while the browser starts
    reply = await pool.complete(build_messages(task, obs.text), on_action=run, budget_s=20)
```

Test doubles (a scripted model in process or on a socket, cassettes) are in
`browser_agent.testing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._client import EventStream, LLMClient, Provider
    from ._config import HedgePolicy, Preset, ProviderConfig, RetryPolicy, presets
    from ._pool import LLMPool, RouteStats
    from ._prompts import (
        action_response_format,
        action_text,
        build_messages,
        escape_untrusted,
        load_system_prompt,
        load_tools,
        observation_message,
        step_messages,
        untrusted_block,
    )
    from ._redact import redact
    from ._stream import SSEDecoder, StreamAssembler
    from ._types import (
        Action,
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
else:  # imported on first use
    __getattr__, __dir__ = lazy_exports(
        globals(),
        {
            "EventStream": "._client",
            "LLMClient": "._client",
            "Provider": "._client",
            "HedgePolicy": "._config",
            "Preset": "._config",
            "ProviderConfig": "._config",
            "RetryPolicy": "._config",
            "presets": "._config",
            "LLMPool": "._pool",
            "RouteStats": "._pool",
            "action_response_format": "._prompts",
            "action_text": "._prompts",
            "build_messages": "._prompts",
            "escape_untrusted": "._prompts",
            "load_system_prompt": "._prompts",
            "load_tools": "._prompts",
            "observation_message": "._prompts",
            "step_messages": "._prompts",
            "untrusted_block": "._prompts",
            "redact": "._redact",
            "SSEDecoder": "._stream",
            "StreamAssembler": "._stream",
            "Action": "._types",
            "ActionCallback": "._types",
            "ActionReady": "._types",
            "ActionValidator": "._types",
            "CallTimings": "._types",
            "ChatRequest": "._types",
            "Completed": "._types",
            "ContentDelta": "._types",
            "ModelReply": "._types",
            "StreamEvent": "._types",
            "ToolCallDelta": "._types",
            "Usage": "._types",
        },
    )

__all__ = [
    "Action",
    "ActionCallback",
    "ActionReady",
    "ActionValidator",
    "CallTimings",
    "ChatRequest",
    "Completed",
    "ContentDelta",
    "EventStream",
    "HedgePolicy",
    "LLMClient",
    "LLMPool",
    "ModelReply",
    "Preset",
    "Provider",
    "ProviderConfig",
    "RetryPolicy",
    "RouteStats",
    "SSEDecoder",
    "StreamAssembler",
    "StreamEvent",
    "ToolCallDelta",
    "Usage",
    "action_response_format",
    "action_text",
    "build_messages",
    "escape_untrusted",
    "load_system_prompt",
    "load_tools",
    "observation_message",
    "presets",
    "redact",
    "step_messages",
    "untrusted_block",
]
