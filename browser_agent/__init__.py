"""browser-agent: a runtime for LLM browser agents whose non-model time is close to zero."""

from .browser import Browser
from .exceptions import (
    ActionError,
    BrowserAgentError,
    BrowserNotFoundError,
    ConfigurationError,
    LLMError,
    NavigationError,
    ObservationError,
    PageClosedError,
    PageError,
    RefError,
    StaleRefError,
    UnknownRefError,
)
from .observation import Element, Observation
from .page import Page

__version__ = "0.1.0"

__all__ = [
    "ActionError",
    "Browser",
    "BrowserAgentError",
    "BrowserNotFoundError",
    "ConfigurationError",
    "Element",
    "LLMError",
    "NavigationError",
    "Observation",
    "ObservationError",
    "Page",
    "PageClosedError",
    "PageError",
    "RefError",
    "StaleRefError",
    "UnknownRefError",
    "__version__",
]
