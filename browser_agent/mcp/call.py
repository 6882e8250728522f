"""One tool call as the server sees it: what it asked, what it did, how long each stage
took, and the one line `--timings` writes about it."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from playwright.async_api import Error as PlaywrightError

from ..actions import ActionResult
from ..observation import Observation
from ..page import Page
from ..timing import Span

Kind = Literal["page", "tool"]
"""As in a recording: "page" for an action the agent has (re-run by `replay --rerun`),
"tool" for the others (shown, not re-run)."""


class Reply(msgspec.Struct):
    """One tool call's text for the client, and whether it is an error."""

    text: str
    error: bool = False
    view: str = ""
    """How the page was shown: "full", "change", "same" or "" (not shown)."""


class ToolCall:
    """What one tool call did, for its timing line and its recorded step."""

    def __init__(
        self, n: int, tool: str, name: str, args: dict[str, Any], kind: Kind, span: Span
    ) -> None:
        self.n = n
        self.tool = tool
        self.name = name
        """The agent's name for the action (`click`, `goto`, …), or the tool's own."""
        self.args = args
        self.kind = kind
        self.span = span
        self.page: Page | None = None
        self.before: Observation | None = None
        """The page as the client last saw it before this call."""
        self.result: ActionResult | None = None
        self.stages: dict[str, float] = {}
        """Milliseconds per stage, in the order they ran; "total" once it ended."""

    def add(self, stage: str, ms: float) -> None:
        self.stages[stage] = self.stages.get(stage, 0.0) + ms

    def timing_line(self, reply: Reply) -> str:
        """`mcp #3 browser_click 63.7 ms (resolve 3.5 · act 4.6 · …) ok, 123 chars, change`"""
        stages = " · ".join(f"{k} {v:.1f}" for k, v in self.stages.items() if k != "total")
        view = f", {reply.view}" if reply.view else ""
        status = "error" if reply.error else "ok"
        return (
            f"mcp #{self.n} {self.tool} {self.stages.get('total', 0.0):.1f} ms ({stages}) "
            f"{status}, {len(reply.text)} chars{view}"
        )


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (Playwright's carry call logs below)."""
    text = exc.message if isinstance(exc, PlaywrightError) else str(exc)
    lines = (text or type(exc).__name__).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
