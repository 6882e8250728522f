"""`bench mcp`: our MCP server against `@playwright/mcp` on the same scripted flows.

Both servers are subprocesses driven by the MCP SDK's client over stdio (the
handshake protocol editors and desktop clients speak), on the loopback fixture site,
with the same Chromium (the runtime's discovery; Playwright MCP gets it with
`--executable-path`, headless and isolated, since it cannot download a browser here).
Playwright MCP is installed with npm into a temporary folder by the bench itself and
skipped, with the reason, when npm or the package is unavailable.

Per tool call it measures the latency the client sees and the characters handed to
the model: the result's text, plus, for Playwright MCP versions that write the page
snapshot to a file and link it from the result, that file (the model must read it to
see the page and the refs of its next action). Each flow runs `repeat` times per
server after one warm-up call, servers alternating, so both see the same machine.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

from mcp import Client, StdioServerParameters
from rich.console import Console
from rich.table import Table

from browser_agent.discovery import find_chromium
from browser_agent.exceptions import ActionError
from browser_agent.mcp.formatting import CHANGE_HEADER
from browser_agent.stats import percentile
from browser_agent.terminal import console as make_console

from ..testing import FixtureServer

PACKAGE = "@playwright/mcp"
NPM_TIMEOUT_S = 300.0
CALL_TIMEOUT_S = 60.0

_OURS_LINE = re.compile(r'^(?:[+-] )?[ \t]*\[(\d+)\] (\S+) "((?:[^"\\]|\\.)*)"', re.MULTILINE)
_THEIR_LINE = re.compile(r'- (\w+) "((?:[^"\\]|\\.)*)"[^\n]*?\[ref=([^\]]+)\]')
_SNAPSHOT_LINK = re.compile(r"\[Snapshot\]\(([^)]+)\)")


class BenchStep(NamedTuple):
    """One scripted action: what to do to which element (by role and accessible name)."""

    kind: str  # navigate, click, type, select, check, press
    role: str = ""
    name: str = ""
    value: str = ""
    submit: bool = False


def _flows() -> dict[str, list[BenchStep]]:
    fields = [("Full name", "Ada Lovelace"), ("Email", "ada@example.test")]
    fields += [("Street address", "1 Loop Road"), ("City", "Paris")]
    return {
        "shop checkout": [
            BenchStep("navigate", value="/shop/index.html"),
            BenchStep("type", "searchbox", "Search products", "kettle", submit=True),
            BenchStep("click", "link", "Blue Kettle"),
            BenchStep("click", "button", "Add to cart"),
            BenchStep("click", "link", "Cart ("),
            BenchStep("click", "link", "Checkout"),
            *(BenchStep("type", "textbox", name, value) for name, value in fields),
            BenchStep("select", "combobox", "Country", "France"),
            BenchStep("check", "radio", "Express (next day, €9.90)"),
            BenchStep("check", "checkbox", "I agree to the terms and conditions"),
            BenchStep("click", "button", "Place order"),
        ],
        "form": [
            BenchStep("navigate", value="/form.html"),
            BenchStep("type", "textbox", "Full name", "Ada Lovelace"),
            BenchStep("type", "textbox", "Email address", "ada@example.test"),
            BenchStep("type", "textbox", "Phone number", "+33 1 23 45 67 89"),
            BenchStep("check", "checkbox", "Extra cheese"),
            BenchStep("check", "radio", "Large"),
            BenchStep("select", "combobox", "Country", "Germany"),
            BenchStep("type", "textbox", "Comments", "Ring twice."),
            BenchStep("click", "button", "Submit order"),
        ],
        "long list": [
            BenchStep("navigate", value="/long.html"),
            BenchStep("click", "button", "Open 3"),
            BenchStep("click", "button", "Open 250"),
            BenchStep("click", "button", "Open 499"),
            BenchStep("press", value="Home"),
        ],
    }


SUBMITS = {"shop checkout", "form"}


class Call(NamedTuple):
    kind: str
    ms: float
    chars: int
    inline: int
    """Characters of the result text alone (without a linked snapshot file)."""


class _Server:
    """One MCP server under test: how to start it and how it spells our steps."""

    name = ""

    def params(self) -> StdioServerParameters:
        raise NotImplementedError

    def refs(self, text: str) -> tuple[dict[tuple[str, str], str | int], bool]:
        """The element refs a result shows, and whether they replace the ones known
        (a whole page) or add to them (a change, or no page at all)."""
        raise NotImplementedError

    def call_for(
        self, step: BenchStep, ref: str | int | None, url: str
    ) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def seen(self, text: str) -> tuple[str, int]:
        """The text that reaches the model, with any snapshot file it links."""
        return text, len(text)


class Ours(_Server):
    name = "browser-agent"

    def __init__(self, chromium: str) -> None:
        self.chromium = chromium

    def params(self) -> StdioServerParameters:
        return StdioServerParameters(
            command=sys.executable,
            args=["-m", "browser_agent.cli", "mcp", "--allowed-domains", "127.0.0.1"],
            env={"BROWSER_AGENT_CHROMIUM": self.chromium},
            cwd=str(Path(__file__).resolve().parents[2]),
        )

    def refs(self, text: str) -> tuple[dict[tuple[str, str], str | int], bool]:
        found: dict[tuple[str, str], str | int] = {}
        for m in _OURS_LINE.finditer(text):
            if not m.group(0).startswith("- "):
                found[(m.group(2), m.group(3))] = int(m.group(1))
        whole = "<page_observation" in text and CHANGE_HEADER not in text
        return found, whole

    def call_for(
        self, step: BenchStep, ref: str | int | None, url: str
    ) -> tuple[str, dict[str, Any]]:
        if step.kind == "navigate":
            return "browser_navigate", {"url": url}
        if step.kind == "click":
            return "browser_click", {"ref": ref, "element": step.name}
        if step.kind == "type":
            return "browser_type", {"ref": ref, "text": step.value, "submit": step.submit}
        if step.kind == "select":
            return "browser_select", {"ref": ref, "values": [step.value]}
        if step.kind == "check":
            return "browser_check", {"ref": ref}
        return "browser_press", {"key": step.value}


class Playwright(_Server):
    name = "@playwright/mcp"

    def __init__(self, folder: Path, chromium: str) -> None:
        self.folder = folder
        self.chromium = chromium
        self.target = "target"
        self.has_check = False
        self.version = ""

    def adopt(self, tools: Sequence[Any]) -> None:
        """Follow the installed version's argument names (`target` now, `ref` before)."""
        by_name = {t.name: t for t in tools}
        props = by_name["browser_click"].input_schema.get("properties", {})
        self.target = "target" if "target" in props else "ref"
        self.has_check = "browser_check" in by_name

    def params(self) -> StdioServerParameters:
        cli = self.folder / "node_modules" / "@playwright" / "mcp" / "cli.js"
        args = [str(cli), "--headless", "--isolated", "--no-sandbox"]
        args += ["--executable-path", self.chromium, "--output-dir", str(self.folder / "out")]
        return StdioServerParameters(
            command=shutil.which("node") or "node", args=args, cwd=str(self.folder)
        )

    def refs(self, text: str) -> tuple[dict[tuple[str, str], str | int], bool]:
        found = {(m.group(1), m.group(2)): m.group(3) for m in _THEIR_LINE.finditer(text)}
        return found, bool(found)  # a snapshot is always the whole page

    def call_for(
        self, step: BenchStep, ref: str | int | None, url: str
    ) -> tuple[str, dict[str, Any]]:
        target = {self.target: ref, "element": step.name}
        if step.kind == "navigate":
            return "browser_navigate", {"url": url}
        if step.kind == "click" or (step.kind == "check" and not self.has_check):
            return "browser_click", target
        if step.kind == "check":
            return "browser_check", target
        if step.kind == "type":
            return "browser_type", {**target, "text": step.value, "submit": step.submit}
        if step.kind == "select":
            return "browser_select_option", {**target, "values": [step.value]}
        return "browser_press_key", {"key": step.value}

    def seen(self, text: str) -> tuple[str, int]:
        m = _SNAPSHOT_LINK.search(text)
        if m is None:
            return text, len(text)
        with contextlib.suppress(OSError):
            return text + "\n" + (self.folder / m.group(1)).read_text("utf-8"), len(text)
        return text, len(text)


@asynccontextmanager
async def _connect(server: _Server) -> AsyncIterator[Client]:
    async with Client(server.params(), mode="legacy", read_timeout_seconds=CALL_TIMEOUT_S) as c:
        yield c


async def _flow(
    client: Client, server: _Server, steps: Sequence[BenchStep], site: FixtureServer
) -> list[Call]:
    """Run one flow; every call must succeed (a bench that fails loudly beats one that lies)."""
    refs: dict[tuple[str, str], str | int] = {}
    out: list[Call] = []
    for step in steps:
        ref = _find(refs, step) if step.role else None
        if step.role and ref is None:
            raise _FlowFailed(f"{server.name}: no {step.role} {step.name!r} to {step.kind}")
        tool, args = server.call_for(step, ref, site.url(step.value))
        t0 = time.perf_counter()
        result = await client.call_tool(tool, args)
        ms = (time.perf_counter() - t0) * 1000
        text = "\n".join(getattr(c, "text", "") for c in result.content)
        if result.is_error:
            raise _FlowFailed(f"{server.name}: {tool} {args} failed: {text[:300]!r}")
        seen, inline = server.seen(text)
        out.append(Call(step.kind, ms, len(seen), inline))
        shown, whole = server.refs(seen)
        refs = {**({} if whole else refs), **shown}
    return out


class _FlowFailed(Exception):
    """A scripted flow could not go on: the bench stops and says which call failed."""


def _find(refs: dict[tuple[str, str], str | int], step: BenchStep) -> str | int | None:
    """The element by role and name; a name ending in "(" matches by prefix (a cart
    count the page may not have updated yet when the server took its snapshot)."""
    if step.name.endswith("("):
        return next(
            (r for (role, n), r in refs.items() if role == step.role and n.startswith(step.name)),
            None,
        )
    return refs.get((step.role, step.name))


def _install(folder: Path) -> tuple[str | None, str]:
    """npm-install Playwright MCP into `folder`; (version, "") or (None, why not)."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None, "npm or node is not installed"
    try:
        done = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(folder),
                PACKAGE,
            ],
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"npm install {PACKAGE} took over {NPM_TIMEOUT_S:g} s"
    manifest = folder / "node_modules" / "@playwright" / "mcp" / "package.json"
    if done.returncode != 0 or not manifest.is_file():
        why = (done.stderr or done.stdout).strip().splitlines()
        return None, f"npm install {PACKAGE} failed: {why[-1] if why else done.returncode}"
    return json.loads(manifest.read_text("utf-8")).get("version", "?"), ""


def _stats(calls: Sequence[Call]) -> dict[str, Any]:
    ms = [c.ms for c in calls]
    return {
        "calls": len(calls),
        "latency_ms": {"p50": percentile(ms, 50), "p95": percentile(ms, 95)},
        "chars_per_action": sum(c.chars for c in calls) / len(calls) if calls else 0.0,
        "inline_chars_per_action": sum(c.inline for c in calls) / len(calls) if calls else 0.0,
        "chars_p50": percentile([c.chars for c in calls], 50),
    }


async def run(json_output: bool = False, repeat: int = 5) -> dict[str, Any]:
    """Run the flows on both servers; print a table (or JSON) and return the figures."""
    repeat = max(1, repeat)
    chromium = find_chromium()
    flows = _flows()
    result: dict[str, Any] = {"repeat": repeat, "chromium": chromium, "flows": {}}
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp, FixtureServer() as site:
        folder = Path(tmp)
        version, why = _install(folder)
        servers: list[_Server] = [Ours(chromium)]
        if version is not None:
            pw = Playwright(folder, chromium)
            pw.version = version
            servers.append(pw)
        result["playwright_mcp"] = {"version": version, "skipped": why or None}
        calls: dict[str, dict[str, list[Call]]] = {f: {s.name: [] for s in servers} for f in flows}
        failed: str | None = None
        async with contextlib.AsyncExitStack() as stack:
            clients = {}
            try:
                for s in servers:
                    clients[s.name] = c = await stack.enter_async_context(_connect(s))
                    if isinstance(s, Playwright):
                        s.adopt((await c.list_tools()).tools)
                    # Warm-up, not measured: the browser launch and first page load.
                    await _flow(c, s, [BenchStep("navigate", value="/index.html")], site)
                for _ in range(repeat):
                    for name, steps in flows.items():
                        for s in servers:
                            calls[name][s.name] += await _flow(clients[s.name], s, steps, site)
                            if name in SUBMITS:
                                site.wait_submission(timeout=10)  # the flow got through
            except (_FlowFailed, TimeoutError) as exc:
                failed = str(exc) or "a submission did not arrive"  # raised once closed
        if failed is not None:
            raise ActionError(f"bench mcp: {failed}")
    every: dict[str, list[Call]] = {s.name: [] for s in servers}
    for name, by_server in calls.items():
        result["flows"][name] = {k: _stats(v) for k, v in by_server.items()}
        for k, v in by_server.items():
            every[k] += v
    result["overall"] = {k: _stats(v) for k, v in every.items()}
    if len(servers) == 2:
        ours, theirs = result["overall"][Ours.name], result["overall"][Playwright.name]
        result["ratios"] = {
            "chars_per_action": theirs["chars_per_action"] / ours["chars_per_action"],
            "latency_p50": theirs["latency_ms"]["p50"] / ours["latency_ms"]["p50"],
            "by_flow": {
                f: {
                    "chars_per_action": r[Playwright.name]["chars_per_action"]
                    / r[Ours.name]["chars_per_action"],
                    "latency_p50": r[Playwright.name]["latency_ms"]["p50"]
                    / r[Ours.name]["latency_ms"]["p50"],
                }
                for f, r in result["flows"].items()
            },
        }
    if json_output:
        print(json.dumps(result, indent=2))
    else:
        _print(make_console(), result)
    return result


def run_sync(json_output: bool = False, repeat: int = 5) -> dict[str, Any]:
    """`run` from synchronous code (tests, scripts)."""
    import anyio

    return anyio.run(lambda: run(json_output=json_output, repeat=repeat))


def _print(console: Console, result: dict[str, Any]) -> None:
    pw = result["playwright_mcp"]
    them = f"{PACKAGE} {pw['version']}" if pw["version"] else f"{PACKAGE}: skipped"
    t = Table(title=f"bench mcp: per tool call, {result['repeat']} runs per flow ({them})")
    for col in ("flow", "server", "calls", "p50 ms", "p95 ms", "chars/action", "inline chars"):
        t.add_column(col, justify="left" if col in ("flow", "server") else "right")
    rows = [*result["flows"].items(), ("all flows", result["overall"])]
    for flow, by_server in rows:
        for server, s in by_server.items():
            t.add_row(
                flow,
                server,
                str(s["calls"]),
                f"{s['latency_ms']['p50']:.1f}",
                f"{s['latency_ms']['p95']:.1f}",
                f"{s['chars_per_action']:.0f}",
                f"{s['inline_chars_per_action']:.0f}",
            )
    console.print(t)
    if pw["skipped"]:
        console.print(f"[yellow]Playwright MCP skipped:[/] {pw['skipped']}", highlight=False)
    if "ratios" in result:
        r = result["ratios"]
        console.print(
            f"Playwright MCP / ours: {r['chars_per_action']:.1f}× the characters per action, "
            f"{r['latency_p50']:.1f}× the p50 latency per call (target ≥ 3× and > 1×)"
        )
    console.print(
        "chars/action: what the model receives per call (for Playwright MCP, the result and "
        "the snapshot file it links); inline chars: the result's text alone"
    )
