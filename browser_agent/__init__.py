"""browser-agent: a runtime for LLM browser agents whose non-model time is close to zero."""

from ._version import __version__
from .actions import ActionResult, ActionSettings
from .agent import ActionRecord, Agent, AgentResult, StepRecord
from .browser import Browser
from .budget import Budget
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
from .observation import Element, Observation
from .page import Page
from .secrets import Secret, Secrets
from .settle import DialogInfo, DownloadInfo, SettleSettings
from .timing import TimingReport
from .tools import Tool, tool

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
