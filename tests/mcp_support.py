"""Driving `browser-agent mcp` as a client would: a subprocess over stdio, the SDK's client."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import CallToolResult

from browser_agent.mcp.formatting import CHANGE_HEADER
from browser_agent.testing import FixtureServer, Submission

ROOT = Path(__file__).resolve().parent.parent

_LINE = re.compile(r'^([+-] )?[ \t]*\[(\d+)\] (\S+) "((?:[^"\\]|\\.)*)"', re.MULTILINE)
_TAB = re.compile(r"^\d+:", re.MULTILINE)


def server_params(*args: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    """`python -m browser_agent.cli mcp ARGS`, with the variables that find the browser."""
    keep = {k: v for k, v in os.environ.items() if k.startswith(("BROWSER_AGENT_CHROMIUM",))}
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "browser_agent.cli", "mcp", *args],
        cwd=str(ROOT),
        env={**keep, **(env or {})},
    )


@asynccontextmanager
async def mcp_server(
    *args: str, env: dict[str, str] | None = None, errlog: IO[str] | None = None
) -> AsyncIterator[Client]:
    """A connected client of a fresh server (restricted to loopback unless ARGS say)."""
    if "--allowed-domains" not in args and "--cdp" not in args:
        args = ("--allowed-domains", "127.0.0.1", *args)
    params = server_params(*args, env=env)
    transport = stdio_client(params, errlog=errlog) if errlog is not None else params
    async with Client(transport, read_timeout_seconds=60) as client:
        yield client


async def one_new_tab(client: Client) -> None:
    """Leave the server with one tab, new and blank, as the current one: where a test on a
    shared server starts, as on a fresh one (the tabs earlier tests left, and what the
    server remembers their client saw of them, are gone)."""
    opened = await client.call_tool("browser_tabs", {"action": "new"})
    assert not opened.is_error, text_of(opened)
    for _ in range(50):  # the new tab is the last one: close the first until it is alone
        tabs = text_of(await client.call_tool("browser_tabs", {"action": "list"}))
        if len(_TAB.findall(tabs)) == 1:
            return
        closed = await client.call_tool("browser_tabs", {"action": "close", "index": 0})
        assert not closed.is_error, text_of(closed)
    raise AssertionError(f"tabs left open: {tabs}")


def submission_with(
    site: FixtureServer, field: str, value: str, timeout: float = 10.0
) -> Submission:
    """The submission whose `field` is `value`: the fixture site is shared by the whole
    session, so submissions other tests left unread are passed over."""
    deadline = time.monotonic() + timeout
    while True:
        sub = site.wait_submission(timeout=max(0.05, deadline - time.monotonic()))
        if sub.first(field) == value:
            return sub


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


class View:
    """What a client knows of the page: element refs by role and name, kept from every
    result (a change only shows what changed), forgotten when a whole page arrives."""

    def __init__(self) -> None:
        self.refs: dict[tuple[str, str], int] = {}
        self.texts: list[str] = []

    def take(self, result: CallToolResult) -> str:
        text = text_of(result)
        self.texts.append(text)
        if CHANGE_HEADER not in text and "<page_observation" in text:
            self.refs = {}
        for m in _LINE.finditer(text):
            if m.group(1) != "- ":  # a removed line
                self.refs[(m.group(3), m.group(4))] = int(m.group(2))
        return text

    def ref(self, role: str, name: str) -> int:
        if (role, name) not in self.refs:
            raise AssertionError(f'no {role} "{name}" in the client\'s view: {sorted(self.refs)}')
        return self.refs[(role, name)]


async def call(
    client: Client, view: View, tool: str, args: Sequence[tuple[str, object]] | dict
) -> str:
    """Call a tool that must succeed; its text, taken into `view`."""
    result = await client.call_tool(tool, dict(args))
    text = view.take(result)
    assert not result.is_error, f"{tool} failed: {text}"
    return text
