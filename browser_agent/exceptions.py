"""One hierarchy for everything the runtime raises, so callers can catch by meaning."""

from __future__ import annotations


class BrowserAgentError(Exception):
    """Base class of every error raised by browser-agent."""


class ConfigurationError(BrowserAgentError):
    """Bad settings: a missing browser, a malformed URL, an unknown preset."""


class BrowserNotFoundError(ConfigurationError):
    """No Chromium could be found; the message says how to install one."""


class PageError(BrowserAgentError):
    """The page could not be observed or acted on."""


class PageClosedError(PageError):
    """The page, its tab or its browser is gone."""


class NavigationError(PageError):
    """A navigation failed, was blocked, or never committed."""


class ObservationError(PageError):
    """The in-page serializer failed or returned something unusable."""


class RefError(PageError):
    """Base for errors about element refs."""

    def __init__(self, message: str, ref: int) -> None:
        super().__init__(message)
        self.ref = ref


class UnknownRefError(RefError):
    """The ref was never handed out on this page."""


class StaleRefError(RefError):
    """The ref's element is gone or is no longer what the model saw."""

    def __init__(self, message: str, ref: int, expected: str, actual: str | None) -> None:
        super().__init__(message, ref)
        self.expected = expected
        self.actual = actual


class ActionError(PageError):
    """An action could not be carried out (not visible, disabled, timed out...)."""


class LLMError(BrowserAgentError):
    """Base for model-provider errors."""


# --- model-provider errors (browser_agent.llm) below this line ---
