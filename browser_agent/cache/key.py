"""The key of a cached task: what must be the same for a recorded run to apply again."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import msgspec

from .. import recording

FORMAT = 1
"""The cache's own format version: a change that old entries cannot serve bumps it."""


def where(url: str | None) -> str:
    """The start URL's origin and path: its query and fragment may differ between runs."""
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path or '/'}"


def tool_set(tools: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Names and parameter schemas of the tools offered to the model (descriptions may
    be reworded without changing what a recorded call means)."""
    out = []
    for t in tools:
        fn = t.get("function", t)
        out.append([fn.get("name", ""), fn.get("parameters") or {}])
    return sorted(out, key=lambda x: str(x[0]))


def cache_key(
    task: str,
    start_url: str | None,
    tools: Sequence[Mapping[str, Any]],
    user_key: str | None = None,
) -> str:
    """Hex digest of the task text, the start URL's origin and path, the model's tool
    set, the runtime's formats (cache and recording) and an optional key of the user's."""
    data = [FORMAT, recording.VERSION, task.strip(), where(start_url), tool_set(tools)]
    data.append(user_key or "")
    return hashlib.sha256(msgspec.json.encode(data)).hexdigest()[:32]
