"""The browser behind an MCP server: its tabs, what the client last saw of each, and
every tool call timed, redacted and (with `--record`) recorded.

Tool calls run one at a time, like a person at one browser. Each action returns the
agent's one-line tool result (`describe_result`) and the page after it as the client should
see it (`formatting.page_view`: the changed lines when shorter than the page). Every
text that leaves for the client passes `Secrets.redact` in one place, `_call`.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

import anyio
from playwright.async_api import Error as PlaywrightError

from ..actions import ActionResult, Direction
from ..agent.registry import RunContext, describe_result, run_action
from ..browser import Browser
from ..exceptions import (
    ActionError,
    BrowserAgentError,
    ConfigurationError,
    PageClosedError,
    PageCrashedError,
    PageError,
    PolicyBlockedError,
    RefError,
    SecretError,
)
from ..observation import Observation
from ..page import Page
from ..secrets import Secrets
from ..timing import Timeline
from .call import Kind, Reply, ToolCall, one_line
from .formatting import View, page_view, tab_list, untrusted_block
from .options import MAX_WAIT_S, McpOptions
from .record import SessionRecorder

CLOSE_PAGE_S = 5.0
CRASH_PROBE_S = 2.0
_OTHER_SCHEMES = frozenset(
    {"about", "blob", "chrome", "data", "file", "javascript", "mailto", "view-source"}
)


class BrowserSession:
    """One browser and its tabs, driven by an MCP client's tool calls.

    ```
    async with BrowserSession(options, secrets) as session:
        reply = await session.navigate("https://example.com")
        reply = await session.click(3)
    ```
    The browser is launched (or connected, `options.cdp`) on first use, or ahead of it
    by `warm()`; `close()` closes it and the next call opens a new one.
    """

    def __init__(
        self,
        options: McpOptions | None = None,
        secrets: Secrets | None = None,
        *,
        log: TextIO | None = None,
    ) -> None:
        self.options = options or McpOptions()
        self.secrets = secrets or Secrets()
        self.tl = Timeline()
        self.calls = 0
        self.log = log if log is not None else (sys.stderr if self.options.timings else None)
        self._browser: Browser | None = None
        self._current: Page | None = None
        self._views: dict[Page, View] = {}
        """What each tab last showed the client (before redaction)."""
        self._lock = anyio.Lock()
        self._launch_lock = anyio.Lock()
        self.recorder: SessionRecorder | None = None
        if self.options.record is not None:
            self.recorder = SessionRecorder(
                self.options.record,
                secrets=self.secrets,
                settings={
                    "mcp": True,
                    "allowed_domains": self.options.allowed_domains,
                    "blocked_domains": self.options.blocked_domains or None,
                    "headless": self.options.headless,
                    "remote": self.options.cdp is not None,
                },
            )

    async def __aenter__(self) -> BrowserSession:
        if self.recorder is not None:
            try:
                self.recorder.__enter__()
            except OSError as exc:
                path = self.options.record
                raise ConfigurationError(
                    f"cannot write the recording {path}: {exc.strerror}"
                ) from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self, detail: str = "the MCP client ended the session") -> None:
        """Close the browser and end the recording; shielded, so a cancelled server
        still leaves no browser behind and a footer in the file."""
        with anyio.CancelScope(shield=True):
            version = self._browser.version if self._browser is not None else ""
            await self._drop_browser()
            self.tl.close()
            if self.recorder is not None:
                self.recorder.footer(self.tl, browser=version, detail=detail)
                self.recorder.__exit__(None, None, None)
                self.recorder = None

    # ------------------------------------------------------------------ browser

    async def warm(self) -> None:
        """Start the browser and open a tab before the first call needs them (that call
        waits for this, not for a launch of its own). A failure is left for that call to
        report and retry: a server must start even when Chromium is missing."""
        async with self._lock:
            with contextlib.suppress(BrowserAgentError, PlaywrightError):
                browser = await self._ensure_browser(None)
                if not browser.pages:
                    self._current = await browser.new_page()

    async def _ensure_browser(self, call: ToolCall | None) -> Browser:
        async with self._launch_lock:
            if self._browser is not None:
                if self._browser.playwright_browser.is_connected():
                    return self._browser
                await self._drop_browser()  # it died (killed, remote gone): start another
            t0 = time.perf_counter()
            o = self.options
            try:
                if o.cdp:
                    opening = Browser.connect(
                        o.cdp, allowed_domains=o.allowed_domains, blocked_domains=o.blocked_domains
                    )
                else:
                    opening = Browser.launch(
                        headless=o.headless,
                        allowed_domains=o.allowed_domains,
                        blocked_domains=o.blocked_domains,
                    )
                self._browser = await opening
            except PlaywrightError as exc:
                raise ConfigurationError(f"cannot start the browser: {one_line(exc)}") from None
            if call is not None:
                call.add("launch", (time.perf_counter() - t0) * 1000)
            return self._browser

    async def _drop_browser(self) -> None:
        browser, self._browser = self._browser, None
        self._current = None
        self._views.clear()
        if browser is not None:
            await browser.close()

    async def _page(self, call: ToolCall) -> Page:
        """The current tab (a new one when none is open); a crashed one raises."""
        browser = await self._ensure_browser(call)
        for gone in [p for p in self._views if p.playwright_page.is_closed()]:
            del self._views[gone]  # tabs the pages closed themselves
        page = self._current
        if page is None or page.playwright_page.is_closed():
            pages = browser.pages
            if pages:
                page = pages[-1]
            else:
                t0 = time.perf_counter()
                page = await browser.new_page()
                call.add("new_tab", (time.perf_counter() - t0) * 1000)
            self._current = page
        call.page, call.before = page, page.last_observation
        if page.crashed:
            raise PageCrashedError("the page crashed (its renderer is gone)")
        return page

    async def _recover(self, page: Page) -> str:
        """A crashed tab is replaced by a new one at its last URL, as the agent does."""
        browser = page.browser or self._browser
        last = page.last_observation
        url = last.url if last is not None else page.url
        why = "the page crashed (its renderer is gone)"
        if browser is None:
            return why
        self._views.pop(page, None)
        new = await browser.new_page()
        self._current = new
        with anyio.move_on_after(CLOSE_PAGE_S), contextlib.suppress(Exception):
            await page.close()
        if not url.startswith(("http:", "https:")):
            return f"{why}; it was replaced by a new blank tab"
        try:
            await new.goto(url)
        except PageError as exc:
            return f"{why}; reopening {url} in a new tab failed: {exc}"
        return f"{why}; it was reopened in a new tab at {url}, where refs start over: observe it"

    # ------------------------------------------------------------------ calls

    async def _call(
        self,
        tool: str,
        name: str,
        args: dict[str, Any],
        body: Callable[[ToolCall], Awaitable[Reply]],
        *,
        kind: Kind = "page",
    ) -> Reply:
        """Run one tool call: serialized, timed, errors as one line, redacted, recorded."""
        t0 = time.perf_counter()
        async with self._lock:
            self.calls += 1
            start_ms = self.tl.at(t0)
            span = self.tl.begin("call", parent=self.tl.root, step=self.calls, tool=tool)
            span.start_ms = start_ms
            call = ToolCall(self.calls, tool, name, args, kind, span)
            queued = (time.perf_counter() - t0) * 1000
            if queued >= 1.0:  # behind the start-up (`warm`) or another call
                call.add("queued", queued)
            try:
                reply = await body(call)
            except Exception as exc:
                try:
                    reply = await self._failure(call, exc)
                except Exception as again:  # the recovery failed too (the browser is gone)
                    reply = Reply(f"error: {call.tool} failed: {one_line(again)}", error=True)
            t1 = time.perf_counter()
            text = self.secrets.redact(reply.text)  # the one place: nothing leaves unredacted
            call.add("format", (time.perf_counter() - t1) * 1000)
            self.tl.end(span)
            total = (time.perf_counter() - t0) * 1000
            rest = total - sum(call.stages.values())
            if rest >= 1.0:  # what no stage names (attaching to a new document, the lock)
                call.add("other", rest)
            call.stages["total"] = total
            span.attrs.update(call.stages)
            out = Reply(text, reply.error, reply.view)
            if self.log is not None:
                print(call.timing_line(out), file=self.log, flush=True)
            if self.recorder is not None:
                self.recorder.call(
                    call,
                    out,
                    start_ms=start_ms,
                    tl=self.tl,
                    browser=self._browser.version if self._browser is not None else "",
                    redact=self.secrets.redact,
                )
            return out

    async def _failure(self, call: ToolCall, exc: Exception) -> Reply:
        page = call.page
        if page is not None and await _crashed(page, exc):
            return Reply(f"error: {await self._recover(page)}", error=True)
        if isinstance(exc, PageClosedError) and page is not None:
            self._views.pop(page, None)
        if isinstance(exc, BrowserAgentError):
            return Reply(f"error: {exc}", error=True)
        if isinstance(exc, PlaywrightError):  # not wrapped by the runtime: its first line
            return Reply(f"error: {call.tool} failed: {one_line(exc)}", error=True)
        # A bug of ours: the client gets one line, stderr the type, nobody a traceback.
        print(f"browser-agent mcp: {call.tool} failed: {type(exc).__name__}", file=sys.stderr)
        return Reply(
            f"error: {call.tool} failed: {type(exc).__name__}: {one_line(exc)}", error=True
        )

    # ------------------------------------------------------------------ results

    def _view(self, call: ToolCall, page: Page, obs: Observation, *, full: bool = False) -> Reply:
        """The page as the client should see it now; remembers it as its last view."""
        t0 = time.perf_counter()
        last = None if full else self._views.get(page)
        text, kind = page_view(obs, last)
        self._views[page] = View.of(obs)
        call.add("format", (time.perf_counter() - t0) * 1000)
        return Reply(text, view=kind)

    async def _observe(self, call: ToolCall, page: Page) -> Observation:
        t0 = time.perf_counter()
        obs = await page.observe()
        call.add("observe", (time.perf_counter() - t0) * 1000)
        return obs

    async def _acted(self, call: ToolCall, page: Page, result: ActionResult | str) -> Reply:
        """The agent's one-line result for `result`, then the page after it."""
        if isinstance(result, str):  # not an action (extract)
            raise ActionError(f"{call.tool} did not act on the page")
        call.result = result
        for stage in ("resolve", "act", "settle", "observe"):
            call.add(stage, result.timings.get(stage, 0.0))
        summary = describe_result(result)
        if result.closed or page.playwright_page.is_closed():
            self._views.pop(page, None)
            if self._current is page:
                self._current = None
            return Reply(f"{summary}\n{self._tabs_text()}", error=not result.ok)
        if page.crashed:
            return Reply(f"error: {await self._recover(page)}", error=True)
        if result.new_pages:
            summary += " (a new tab: see browser_tabs)"
        obs = result.observation or await self._observe(call, page)
        view = self._view(call, page, obs)
        return Reply(f"{summary}\n{view.text}", error=not result.ok, view=view.view)

    def _tabs_text(self) -> str:
        return tab_list(self._browser.pages if self._browser is not None else [], self._current)

    # ------------------------------------------------------------------ tools

    async def navigate(self, url: str) -> Reply:
        async def body(call: ToolCall) -> Reply:
            _check_url("browser_navigate", url)
            page = await self._page(call)
            return await self._acted(call, page, await page.goto(url, observe=True))

        return await self._call("browser_navigate", "goto", {"url": url}, body)

    async def observe(self, full: bool = False) -> Reply:
        async def body(call: ToolCall) -> Reply:
            page = await self._page(call)
            obs = await self._observe(call, page)
            return self._view(call, page, obs, full=full)

        return await self._call("browser_observe", "observe", {"full": full}, body, kind="tool")

    async def click(self, ref: int, *, double: bool = False, button: str = "left") -> Reply:
        async def body(call: ToolCall) -> Reply:
            page = await self._page(call)
            await self._capture(page, ref)
            result = await page.click(ref, button=button, count=2 if double else 1)
            return await self._acted(call, page, result)

        plain = not double and button == "left"
        args: dict[str, Any] = {"ref": ref}
        if not plain:
            args.update(button=button, count=2 if double else 1)
        return await self._call(
            "browser_click", "click", args, body, kind="page" if plain else "tool"
        )

    async def type(self, ref: int, text: str, *, submit: bool = False) -> Reply:
        args = {"ref": ref, "text": text, "submit": submit}
        return await self._agent_action("browser_type", "type", args, ref)

    async def select(self, ref: int, values: Sequence[str]) -> Reply:
        option: str | list[str] = values[0] if len(values) == 1 else list(values)
        return await self._agent_action(
            "browser_select", "select", {"ref": ref, "option": option}, ref
        )

    async def check(self, ref: int, checked: bool = True) -> Reply:
        return await self._agent_action("browser_check", "check", {"ref": ref, "on": checked}, ref)

    async def press(self, key: str, ref: int | None = None) -> Reply:
        args: dict[str, Any] = {"key": key}
        if ref is not None:
            args["ref"] = ref
        return await self._agent_action("browser_press", "press", args, ref)

    async def back(self) -> Reply:
        return await self._agent_action("browser_back", "back", {}, None)

    async def scroll(
        self, direction: Direction = "down", ref: int | None = None, amount: float | None = None
    ) -> Reply:
        async def body(call: ToolCall) -> Reply:
            page = await self._page(call)
            result = await page.scroll(direction, ref, amount)
            return await self._acted(call, page, result)

        args: dict[str, Any] = {"direction": direction}
        if ref is not None:
            args["ref"] = ref
        if amount is not None:
            args["amount"] = amount
        kind: Kind = "page" if amount is None else "tool"
        return await self._call("browser_scroll", "scroll", args, body, kind=kind)

    async def wait_for(
        self, text: str | None = None, text_gone: str | None = None, seconds: float | None = None
    ) -> Reply:
        if seconds is not None and not 0 <= seconds <= MAX_WAIT_S:
            return await self._refuse(
                "browser_wait_for", f"time must be between 0 and {MAX_WAIT_S:g} seconds"
            )

        wait = self.options.wait_timeout

        async def body(call: ToolCall) -> Reply:
            page = await self._page(call)
            if seconds:
                t0 = time.perf_counter()
                await anyio.sleep(seconds)
                call.add("wait", (time.perf_counter() - t0) * 1000)
            if text_gone:
                result = await page.wait_for(text_gone, gone=True, timeout=wait)
            elif text or not seconds:
                result = await page.wait_for(text or None, timeout=wait)
            else:
                return self._view(call, page, await self._observe(call, page))
            return await self._acted(call, page, result)

        plain = text_gone is None and not seconds
        args: dict[str, Any] = {"text": text} if text else {}
        if not plain:
            args.update(textGone=text_gone, time=seconds)
        kind: Kind = "page" if plain else "tool"
        return await self._call("browser_wait_for", "wait_for", args, body, kind=kind)

    async def extract(self, format: Literal["markdown", "text"] = "markdown") -> Reply:
        async def body(call: ToolCall) -> Reply:
            page = await self._page(call)
            t0 = time.perf_counter()
            try:
                text = await run_action(page, "extract", {"format": format})
            except PlaywrightError as exc:
                if "navigating" not in (exc.message or ""):
                    raise
                # The document is being replaced (an error page after a refused
                # navigation, a redirect): read the next one once it is there.
                with anyio.move_on_after(MAX_WAIT_S):
                    await page.playwright_page.wait_for_load_state("domcontentloaded")
                text = await run_action(page, "extract", {"format": format})
            call.add("extract", (time.perf_counter() - t0) * 1000)
            return Reply(untrusted_block("page_content", str(text), url=page.url))

        return await self._call("browser_extract", "extract", {"format": format}, body)

    async def tabs(
        self,
        action: Literal["list", "new", "select", "close"],
        index: int | None = None,
        url: str | None = None,
    ) -> Reply:
        async def body(call: ToolCall) -> Reply:
            browser = await self._ensure_browser(call)
            if action == "list":
                return Reply(self._tabs_text())
            if action == "new":
                page = await browser.new_page()
                self._current = page
                call.page = page
                if url:
                    _check_url("browser_tabs", url)
                    return await self._acted(call, page, await page.goto(url, observe=True))
                return self._view(call, page, await self._observe(call, page))
            pages = browser.pages
            if index is None and action == "select":
                raise ActionError("browser_tabs select needs the index of a tab")
            at = index if index is not None else _index(pages, self._current)
            if at is None or not 0 <= at < len(pages):
                raise ActionError(f"no tab {at} ({len(pages)} open: 0 to {len(pages) - 1})")
            page = pages[at]
            call.page, call.before = page, page.last_observation
            if action == "select":
                self._current = page
                if page.crashed:
                    raise PageCrashedError("the page crashed (its renderer is gone)")
                return self._view(call, page, await self._observe(call, page))
            with anyio.move_on_after(CLOSE_PAGE_S):
                await page.close()
            self._views.pop(page, None)
            if self._current is page:
                rest = browser.pages
                self._current = rest[-1] if rest else None
            return Reply(f"closed tab {at}\n{self._tabs_text()}")

        args = {
            k: v for k, v in {"action": action, "index": index, "url": url}.items() if v is not None
        }
        return await self._call("browser_tabs", "tabs", args, body, kind="tool")

    async def close(self) -> Reply:
        async def body(call: ToolCall) -> Reply:
            had = self._browser is not None
            await self._drop_browser()
            if not had:
                return Reply("no browser was open")
            return Reply("closed the browser; the next call opens a new one")

        return await self._call("browser_close", "close", {}, body, kind="tool")

    # ------------------------------------------------------------------ helpers

    async def _agent_action(
        self, tool: str, name: str, args: dict[str, Any], ref: int | None
    ) -> Reply:
        """An action the agent has by the same name: the agent's own dispatch runs it, so
        secrets are filled in (and checked against the host) exactly as for the agent."""

        async def body(call: ToolCall) -> Reply:
            page = await self._page(call)
            if ref is not None:
                await self._capture(page, ref)
            return await self._acted(
                call, page, await run_action(page, name, args, RunContext(self.secrets))
            )

        return await self._call(tool, name, args, body)

    async def _capture(self, page: Page, ref: int) -> None:
        if self.recorder is not None:
            await self.recorder.capture(page, ref)

    async def _refuse(self, tool: str, why: str) -> Reply:
        async def body(call: ToolCall) -> Reply:
            raise ActionError(f"{tool}: {why}")

        return await self._call(tool, "invalid", {}, body, kind="tool")


def _check_url(tool: str, url: str) -> None:
    """Only web pages: a model talked into `file:///etc/passwd` (or `javascript:`) by a
    page must not get it, whatever the domain policy says."""
    scheme = urlsplit(url).scheme.lower()
    if url == "about:blank" or (scheme in ("http", "https") and "://" in url):
        return
    if "://" in url or scheme in _OTHER_SCHEMES:
        raise PolicyBlockedError(f"{tool} opens http(s) pages only, not {scheme}: URLs")
    raise ConfigurationError(f"{tool} needs a full URL (https://…), got {url!r}")


async def _crashed(page: Page, exc: Exception) -> bool:
    """Whether `exc` came from a renderer crash. The serializer may hear of it on its own
    socket before Playwright reports the crash, so a failure that could be one is
    confirmed by one bounded round trip on Playwright's connection, which reports the
    crash first."""
    if page.crashed:
        return True
    if isinstance(exc, RefError | SecretError | PolicyBlockedError | ConfigurationError):
        return False  # about the request, not the page's health
    if page.playwright_page.is_closed():
        return False
    with anyio.move_on_after(CRASH_PROBE_S), contextlib.suppress(PlaywrightError):
        await page.playwright_page.evaluate("0")
    return page.crashed


def _index(pages: list[Page], page: Page | None) -> int | None:
    for i, p in enumerate(pages):
        if p is page:
            return i
    return None
