"""The model layer: pooled, streaming, hedged calls to OpenAI-compatible providers.

```
from browser_agent.llm import LLMPool, ProviderConfig, build_messages

fast = ProviderConfig.from_preset("groq", model="llama-3.1-8b-instant")
strong = ProviderConfig.from_preset("openai", model="gpt-4.1", tier="strong")
async with LLMPool([fast, strong]) as pool:
    await pool.warm_up()                       # while the browser starts
    reply = await pool.complete(build_messages(task, obs.text), on_action=run, budget_s=20)
```

Offline, against the scripted local server (see `Cassette` for the format):

```
with LocalModelServer(['click button "Add to cart"', 'done "added"']) as server:
    config = ProviderConfig(base_url=server.base_url, model="local")
```
"""

from ._cassette import Cassette, CassetteError, Step, ToolCall
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
from ._server import Fault, LatencyProfile, LocalModelServer, RequestRecord, StreamShape
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

__all__ = [
    "Action",
    "ActionCallback",
    "ActionReady",
    "ActionValidator",
    "CallTimings",
    "Cassette",
    "CassetteError",
    "ChatRequest",
    "Completed",
    "ContentDelta",
    "EventStream",
    "Fault",
    "HedgePolicy",
    "LLMClient",
    "LLMPool",
    "LatencyProfile",
    "LocalModelServer",
    "ModelReply",
    "Preset",
    "Provider",
    "ProviderConfig",
    "RequestRecord",
    "RetryPolicy",
    "RouteStats",
    "SSEDecoder",
    "Step",
    "StreamAssembler",
    "StreamEvent",
    "StreamShape",
    "ToolCall",
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
