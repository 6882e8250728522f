"""browser-agent: a runtime for LLM browser agents whose non-model time is close to zero.

The public names below are imported on first use (PEP 562): `from browser_agent import
Browser` loads the browser, not the agent, its model client and their dependencies, so
`browser-agent --version` and the MCP server start without paying for what they never use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__
from .exceptions import (
    ActionError,
    BrowserAgentError,
    BrowserNotFoundError,
    CDPConnectionError,
    CDPError,
    ConfigurationError,
    ContextGoneError,
    ElementNotFoundError,
    LLMError,
    NavigationError,
    ObservationError,
    PageClosedError,
    PageCrashedError,
    PageError,
    PolicyBlockedError,
    RefError,
    SecretError,
    StaleRefError,
    ToolError,
    UnknownRefError,
)

if TYPE_CHECKING:
    from .actions import ActionResult, ActionSettings
    from .agent import ActionRecord, Agent, AgentResult, StepRecord
    from .browser import Browser
    from .budget import Budget
    from .observation import Element, Observation
    from .page import Page
    from .secrets import Secret, Secrets
    from .settle import DialogInfo, DownloadInfo, SettleSettings
    from .timing import TimingReport
    from .tools import Tool, tool
else:  # imported on first use
    __getattr__, __dir__ = lazy_exports(
        globals(),
        {
            ".actions": ("ActionResult", "ActionSettings"),
            ".agent": ("ActionRecord", "Agent", "AgentResult", "StepRecord"),
            ".browser": ("Browser",),
            ".budget": ("Budget",),
            ".observation": ("Element", "Observation"),
            ".page": ("Page",),
            ".secrets": ("Secret", "Secrets"),
            ".settle": ("DialogInfo", "DownloadInfo", "SettleSettings"),
            ".timing": ("TimingReport",),
            ".tools": ("Tool", "tool"),
        },
    )

__all__ = [
    "ActionError",
    "ActionRecord",
    "ActionResult",
    "ActionSettings",
    "Agent",
    "AgentResult",
    "Browser",
    "BrowserAgentError",
    "BrowserNotFoundError",
    "Budget",
    "CDPConnectionError",
    "CDPError",
    "ConfigurationError",
    "ContextGoneError",
    "DialogInfo",
    "DownloadInfo",
    "Element",
    "ElementNotFoundError",
    "LLMError",
    "NavigationError",
    "Observation",
    "ObservationError",
    "Page",
    "PageClosedError",
    "PageCrashedError",
    "PageError",
    "PolicyBlockedError",
    "RefError",
    "Secret",
    "SecretError",
    "Secrets",
    "SettleSettings",
    "StaleRefError",
    "StepRecord",
    "TimingReport",
    "Tool",
    "ToolError",
    "UnknownRefError",
    "__version__",
    "tool",
]
