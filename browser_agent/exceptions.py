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


class ContextGoneError(ObservationError):
    """The document (and our world in it) went away during an in-page call: it navigated."""


class ElementNotFoundError(ObservationError):
    """`Observation.get` found no element with that role and name."""


class CDPError(PageError):
    """A DevTools protocol call on our own socket to the page failed (see `extractors.cdp`).

    Mapped with Playwright's errors at one boundary (`extractors.driver`); the callers of
    the driver see `ObservationError`, `ContextGoneError` or `PageClosedError`."""


class CDPConnectionError(CDPError):
    """The websocket itself failed (closed, timed out), not the call.

    `sent` says whether any of the calls had left: input events that did may have
    acted, so they must not be sent again another way. `timed_out` with `sent`: the
    socket is whole and the page is slow to answer, so nothing is to be reconnected
    or sent again (a big page on a loaded machine would only pay twice)."""

    def __init__(self, message: str, *, sent: bool = False, timed_out: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        self.timed_out = timed_out


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


class ProviderError(LLMError):
    """A provider answered with an error or broke the stream; `retryable`: may a retry help."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retryable = retryable


class RateLimitError(ProviderError):
    """HTTP 429; `retry_after` (seconds) is what the provider asked us to wait, if it said."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, retryable=True)
        self.retry_after = retry_after


class ProviderConnectionError(ProviderError):
    """The connection could not be opened, or dropped before the reply was complete."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message, provider=provider, status=status, retryable=True)


class ProviderTimeoutError(ProviderError):
    """No first token within the provider's first-token timeout."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message, provider=provider, status=status, retryable=True)


class StallError(ProviderTimeoutError):
    """The stream went silent (no bytes) for longer than the provider's `stall_ms`."""


class MalformedResponseError(ProviderError):
    """The reply could not be parsed: broken server-sent events, JSON or tool-call arguments."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message, provider=provider, status=status, retryable=True)


class InvalidActionError(MalformedResponseError):
    """A tool call parsed but is not a valid action: unknown tool, bad arguments, unknown ref."""


class NoProviderAvailableError(LLMError):
    """Every provider of the pool failed or is cooling down; `errors` holds what each said."""

    def __init__(self, message: str, errors: list[BaseException] | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors or [])


class ProviderUnavailableError(ConfigurationError, LLMError):
    """The warm-up showed the model cannot be reached as configured: no server answers,
    no API key or a refused one, or a server that does not speak the OpenAI API. Raised
    by `Agent.run` before the browser does any work; the message says which."""


class BudgetExceededError(LLMError):
    """The model call did not finish within its step budget; `errors` holds failed attempts."""

    def __init__(self, message: str, errors: list[BaseException] | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors or [])


# --- agent errors (browser_agent.agent, browser_agent.tools) below this line ---


class ToolError(BrowserAgentError):
    """Raised by a user tool to hand the model a clean error message (no traceback)."""


# --- security and limits (browser_agent.secrets, browser_agent.browser) below this line ---


class SecretError(ActionError):
    """A `{{placeholder}}` names no secret, or its secret may not be used on this host.

    The message names the placeholder and the host, never the value."""


class PolicyBlockedError(NavigationError):
    """The domain policy refused a navigation (allowed_domains / blocked_domains)."""


class PageCrashedError(PageClosedError):
    """The page's renderer crashed; the agent reopens the page in a new tab and says so."""
