"""How `browser-agent mcp` is configured: the same browser options as `run`, plus secrets.

Secrets come from a file (`--secrets FILE`: `NAME=value` lines, the dotenv format
Playwright MCP reads, or a JSON object whose values may carry the domains a secret is
for) and from environment variables `BROWSER_AGENT_SECRET_<NAME>`, which an MCP client
configuration can set without writing a file. The client only ever sees `{{NAME}}`.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from ..arguments import seconds
from ..exceptions import ConfigurationError, SecretError
from ..secrets import Secret, Secrets

SECRET_ENV_PREFIX = "BROWSER_AGENT_SECRET_"
MAX_WAIT_S = 30.0
"""Longest `browser_wait_for` time or condition wait."""
CONDITION_WAIT_S = 10.0
"""How long `browser_wait_for` waits for text to appear or go, unless `--wait-timeout`."""


class McpOptions(BaseModel):
    """Everything `browser-agent mcp` takes on its command line."""

    model_config = ConfigDict(frozen=True)

    allowed_domains: list[str] | None = None
    """Hosts the browser may reach (wildcards `*.example.com`); None: no allowlist."""
    blocked_domains: list[str] = Field(default_factory=list)
    headless: bool = True
    cdp: str | None = None
    """A remote browser (CDP or Playwright server URL) instead of a launched one."""
    record: Path | None = None
    """Append the session to this recording (replayable with `browser-agent replay`)."""
    timings: bool = False
    """Log each tool call's stages to stderr."""
    http_port: int | None = None
    host: str = "127.0.0.1"
    wait_timeout: float = Field(CONDITION_WAIT_S, gt=0, le=MAX_WAIT_S)
    """Seconds `browser_wait_for` waits for its text to appear or go."""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The `mcp` subcommand, registered by the CLI."""
    m = sub.add_parser("mcp", help="serve the browser to MCP clients (stdio, or --http PORT)")
    m.add_argument(
        "--http", type=int, default=None, metavar="PORT", help="serve streamable HTTP on this port"
    )
    m.add_argument("--host", default="127.0.0.1", help="--http: the address to listen on")
    m.add_argument(
        "--allowed-domains",
        default=None,
        help="comma-separated hosts the browser may reach (wildcards: *.example.com); "
        "everything else is blocked",
    )
    m.add_argument("--blocked-domains", default="", help="comma-separated hosts always blocked")
    m.add_argument(
        "--secrets",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"NAME=value lines or a JSON object; also {SECRET_ENV_PREFIX}<NAME> variables. "
        "The client types {{NAME}} and never sees the value",
    )
    m.add_argument("--headed", action="store_true", help="show the browser window")
    m.add_argument("--cdp", default=None, help="drive a remote browser (CDP or Playwright URL)")
    m.add_argument("--record", type=Path, default=None, help="append the session to this file")
    m.add_argument("--timings", action="store_true", help="log each tool call's stages to stderr")
    m.add_argument(
        "--wait-timeout",
        type=wait_seconds,
        default=CONDITION_WAIT_S,
        metavar="SECONDS",
        help=f"how long browser_wait_for waits for text to appear or go "
        f"(default {CONDITION_WAIT_S:g}, at most {MAX_WAIT_S:g})",
    )
    return m


def wait_seconds(text: str) -> float:
    """An argparse type: seconds > 0, at most `MAX_WAIT_S`."""
    value = seconds(text)
    if value > MAX_WAIT_S:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_WAIT_S:g} seconds, got {text}")
    return value


def domains(value: str | None) -> list[str] | None:
    """`a.com, *.b.com` -> ["a.com", "*.b.com"]; None stays None (no allowlist)."""
    if value is None:
        return None
    return [d.strip() for d in value.split(",") if d.strip()]


def from_args(args: argparse.Namespace) -> McpOptions:
    if args.http is not None and not 0 < args.http < 65536:
        raise ConfigurationError(f"--http needs a port between 1 and 65535, got {args.http}")
    if args.cdp is not None and urlsplit(args.cdp).scheme not in ("http", "https", "ws", "wss"):
        raise ConfigurationError(f"--cdp needs an http(s):// or ws:// URL, got {args.cdp!r}")
    return McpOptions(
        allowed_domains=domains(args.allowed_domains),
        blocked_domains=domains(args.blocked_domains) or [],
        headless=not args.headed,
        cdp=args.cdp,
        record=args.record,
        timings=args.timings,
        http_port=args.http,
        host=args.host,
        wait_timeout=args.wait_timeout,
    )


def load_secrets(file: Path | None, environ: Mapping[str, str] | None = None) -> Secrets:
    """Secrets from `file` and from `BROWSER_AGENT_SECRET_<NAME>` variables (the file wins).

    Raises ConfigurationError naming the file and the problem, never a value.
    """
    env = os.environ if environ is None else environ
    found: dict[str, str | Secret] = {
        k[len(SECRET_ENV_PREFIX) :]: v
        for k, v in env.items()
        if k.startswith(SECRET_ENV_PREFIX) and len(k) > len(SECRET_ENV_PREFIX)
    }
    if file is not None:
        found.update(_read_file(file))
    try:
        return Secrets(found)
    except SecretError as exc:
        raise ConfigurationError(f"secrets: {exc}") from None


def _read_file(file: Path) -> dict[str, str | Secret]:
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigurationError(f"cannot read secrets from {file}: {why}") from None
    if text.lstrip().startswith("{"):
        return _from_json(file, text)
    return _from_dotenv(file, text)


def _from_json(file: Path, text: str) -> dict[str, str | Secret]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{file}: not valid JSON (line {exc.lineno})") from None
    out: dict[str, str | Secret] = {}
    for name, value in data.items():
        if isinstance(value, str):
            out[name] = value
        elif isinstance(value, dict) and isinstance(value.get("value"), str):
            hosts = value.get("domains", [])
            if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
                raise ConfigurationError(f"{file}: {name!r}: domains must be a list of hosts")
            out[name] = Secret(value["value"], tuple(hosts))
        else:
            raise ConfigurationError(
                f'{file}: {name!r} must be a string or {{"value": ..., "domains": [...]}}'
            )
    return out


def _from_dotenv(file: Path, text: str) -> dict[str, str | Secret]:
    """`NAME=value` per line; `#` comments, blank lines and a leading `export ` are
    skipped, one pair of matching quotes around the value is removed."""
    out: dict[str, str | Secret] = {}
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(f"{file}:{no}: expected NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[name.strip()] = value
    return out
