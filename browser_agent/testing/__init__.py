"""Test doubles for deterministic tests of agents, apart from the provider layer.

Like httpx's `MockTransport`, they plug into seams the real code already has:

```
from browser_agent.testing import Cassette, FixtureServer, LocalModelServer, ScriptedModel

script = Cassette.of('type searchbox "Search" "kettle" submit', 'done "found it"')

# In process, no socket: the script behind the provider's transport.
model = ScriptedModel(script)
async with LLMClient(config, transport=model.transport) as client: ...

# Over a socket (keep-alive, TLS, HTTP/2, latency, faults), for the agent or the CLI:
with FixtureServer() as site, LocalModelServer(script) as server:
    config = ProviderConfig(base_url=server.base_url, model="local")
    result = await Agent("Find the kettle", llm=config, start_url=site.url("shop/")).run()
```

`Cassette` is the script (see its module for the command format, or make one from a
recording with `Cassette.from_recording`); `FixtureServer` serves the bundled fixture
site (`SITE_DIR`) on loopback; `generate_page` writes large synthetic pages.
"""

from .cassette import Cassette, CassetteError, CassetteStep, ToolCall
from .fixtures.generate import generate_page
from .fixtures.server import SITE_DIR, FixtureServer, Submission
from .model_server import Fault, LatencyProfile, LocalModelServer, RequestRecord, StreamShape
from .scripted import ScriptedModel

__all__ = [
    "SITE_DIR",
    "Cassette",
    "CassetteError",
    "CassetteStep",
    "Fault",
    "FixtureServer",
    "LatencyProfile",
    "LocalModelServer",
    "RequestRecord",
    "ScriptedModel",
    "StreamShape",
    "Submission",
    "ToolCall",
    "generate_page",
]
