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
            "._client": ("EventStream", "LLMClient", "Provider"),
            "._config": ("HedgePolicy", "Preset", "ProviderConfig", "RetryPolicy", "presets"),
            "._pool": ("LLMPool", "RouteStats"),
            "._prompts": (
                "action_response_format",
                "action_text",
                "build_messages",
                "escape_untrusted",
                "load_system_prompt",
                "load_tools",
                "observation_message",
                "step_messages",
                "untrusted_block",
            ),
            "._redact": ("redact",),
            "._stream": ("SSEDecoder", "StreamAssembler"),
            "._types": (
                "Action",
                "ActionCallback",
                "ActionReady",
                "ActionValidator",
                "CallTimings",
                "ChatRequest",
                "Completed",
                "ContentDelta",
                "ModelReply",
                "StreamEvent",
                "ToolCallDelta",
                "Usage",
            ),
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
