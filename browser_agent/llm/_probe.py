"""What the warm-up round trip says about a provider that cannot work as configured.

The warm-up (`GET models`) already talks to the provider while the browser starts, so
its answer is read for the three set-ups that would otherwise surface only after every
retry of the first model call: no server at the URL, no key (or a refused one), and a
server that is not OpenAI-compatible (a web page, a wrong path such as a missing `/v1`).
Anything less certain (a 5xx, a slow answer) is left to the call's own retries.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from ._config import ProviderConfig

MAX_DETAIL = 160
"""Characters of a provider's own error message quoted in ours."""


def unreachable(config: ProviderConfig, exc: httpx.HTTPError) -> str:
    """The connection could not be opened: nothing listens, no such host, TLS refused."""
    why = str(exc).strip() or type(exc).__name__
    return f"no server answers at {config.base_url} ({why})"


async def diagnose(
    config: ProviderConfig,
    http: httpx.AsyncClient,
    resp: httpx.Response,
    redact: Callable[[str], str],
) -> str | None:
    """Why the provider cannot work, from its answer to `GET models`; None when it may."""
    status = resp.status_code
    if status in (401, 403):
        detail = _detail(resp, redact)
        if config.api_key is None:
            var = "OPENAI_API_KEY" if config.preset is None else "the preset's key variable"
            return f"{config.base_url} needs an API key (it answered {status}{detail}); set {var}"
        return f"{config.base_url} refused the API key ({status}{detail})"
    if 200 <= status < 300:
        # A model list is JSON: `{"data": [...]}` for most, a bare list for some (Together).
        return None if _json_body(resp) else _not_openai(config, resp, "models")
    if status in (404, 405) and not _is_json(resp):
        # Some compatible servers serve no model list: ask the chat endpoint the same way.
        chat = await http.post("chat/completions", json={})
        if chat.status_code in (404, 405) and not _is_json(chat):
            return _not_openai(config, resp, "models")
    return None


def _is_json(resp: httpx.Response) -> bool:
    return "json" in resp.headers.get("content-type", "")


def _json_body(resp: httpx.Response) -> bool:
    try:
        data = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(data, dict | list)


def _not_openai(config: ProviderConfig, resp: httpx.Response, path: str) -> str:
    kind = resp.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    hint = "" if config.base_url.rstrip("/").endswith("/v1") else " (does the URL need /v1?)"
    return (
        f"{config.base_url} is not an OpenAI-compatible server: GET {path} answered "
        f"{resp.status_code} {kind}{hint}"
    )


def _detail(resp: httpx.Response, redact: Callable[[str], str]) -> str:
    """`: <the provider's message>`, redacted and short, or nothing."""
    try:
        data = resp.json()
        err = data.get("error") if isinstance(data, dict) else None
        msg = err.get("message") if isinstance(err, dict) else err
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        msg = None
    if not isinstance(msg, str) or not msg.strip():
        return ""
    text = " ".join(redact(msg).split())
    return f": {text[:MAX_DETAIL]}{'…' if len(text) > MAX_DETAIL else ''}"
