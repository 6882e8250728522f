"""The browser as an MCP server (`browser-agent mcp`), on the official `mcp` SDK.

`session` holds the browser and what each tab last showed the client, `formatting`
turns a page into the text a result carries (the change, or the whole page),
`tools` declares the MCP tools, `server` serves them, `call` holds what one call did,
`record` writes a session as a replayable recording and `options` reads the command
line and the secrets.

Names are imported on first use, so the CLI can read its options without loading
the SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BrowserSession": "session",
    "Reply": "call",
    "McpOptions": "options",
    "load_secrets": "options",
    "build_server": "server",
    "serve": "server",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
