"""The agent loop: observe → prompt → stream the decision, acting while it streams → repeat.

A step is one decision. Its observation is usually already there (the previous
action's settle produced it); the prompt is the byte-stable prefix plus the history
plus that observation; the model's first complete tool call starts executing while
the rest of the reply streams; page actions run in order, independent user tools
run concurrently; everything is timed on the session clock and bounded by the
`Budget`.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import math
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import BaseModel, ValidationError

from ..actions import ActionResult
from ..browser import Browser
from ..budget import HARD_STAGES, Budget, Degradation, OverrunCause
from ..cache.store import ActionCache, as_cache
from ..change_summary import NOTHING
from ..churn import Churn
from ..exceptions import (
    BudgetExceededError,
    ConfigurationError,
    LLMError,
    PageClosedError,
    PageCrashedError,
    PageError,
    PolicyBlockedError,
    RefError,
    StaleRefError,
    ToolError,
)
from ..llm import (
    Action,
    LLMPool,
    ModelReply,
    ProviderConfig,
    escape_untrusted,
    load_system_prompt,
    load_tools,
    observation_message,
    step_messages,
    untrusted_block,
)
from ..observation import Observation
from ..page import Page
from ..recording import RecordingWriter, runtime_header
from ..redaction import Redactor, install_log_redaction
from ..secrets import Secrets, SecretsLike
from ..settle import SettleSettings
from ..timing import STAGES, Event, Span, Timeline, TimingReport, otel_available
from ..tools import Tool, as_tool, validation_message
from ._result import ActionRecord, AgentResult, StepRecord, StopReason

if TYPE_CHECKING:
    from ..cache.player import CachePlayer

log = logging.getLogger("browser_agent.agent")

PAGE_ACTIONS = frozenset(
    {"click", "type", "select", "check", "scroll", "goto", "back", "press", "wait_for", "extract"}
)
BUILTIN_TOOLS = PAGE_ACTIONS | {"done"}
EXTRACT_MAX_CHARS = 8000
HOLD_MARGIN_S = 0.25
"""How long past its window a held action waits for the late-UI check to finish."""


# ------------------------------------------------------------------------- events


class ActionStarted(msgspec.Struct, tag="action_started"):
    """An action is about to run (its record is filled in when it finishes)."""

    step: int
    record: ActionRecord
    url: str = ""
    """The page the model saw when it chose the action."""


class ActionFinished(msgspec.Struct, tag="action_finished"):
    step: int
    record: ActionRecord


class StepFinished(msgspec.Struct, tag="step_finished"):
    record: StepRecord


class BudgetNotice(msgspec.Struct, tag="budget"):
    """An overrun or a degradation, the moment it is known."""

    event: Event


AgentEvent = ActionStarted | ActionFinished | StepFinished | BudgetNotice
EventHook = Callable[[AgentEvent], Awaitable[object] | object]


# -------------------------------------------------------------------------- agent


class Agent:
    """Runs a task on a page with a model pool, one timed, budgeted decision per step.

    ```
    agent = Agent("Add the blue kettle to the cart", llm=pool, start_url=url)
    result = await agent.run()            # or run(browser) / run(page)
    print(result.success, result.output)
    result.report.table()                 # p50/p95/p99 per stage
    ```
    `llm` is an `LLMPool` (left open), one `ProviderConfig` or a list of them (a pool
    is made and closed), or None for `LLMPool.from_env()`. `tools` are user tools
    (`@tool` functions); `output_model` makes `done` return an instance of that
    pydantic model; `record` appends every step to a JSON-lines file; `on_event` sees
    actions and steps as they happen (for live displays); `cache` (a directory or an
    `ActionCache`) replays a task done before without the model (`browser_agent.cache`).
    """

    def __init__(
        self,
        task: str,
        *,
        llm: LLMPool | ProviderConfig | Sequence[ProviderConfig] | None = None,
        start_url: str | None = None,
        budget: Budget | None = None,
        tools: Sequence[Tool | Callable[..., Any]] = (),
        output_model: type[BaseModel] | None = None,
        record: str | os.PathLike[str] | None = None,
        tier: str = "fast",
        allowed_domains: Sequence[str] | None = None,
        headless: bool = True,
        on_event: EventHook | None = None,
        system_prompt: str | None = None,
        otel: bool | None = None,
        batch_quiet_ms: float = 10.0,
        secrets: SecretsLike | Secrets | None = None,
        blocked_domains: Sequence[str] = (),
        speculate: bool = True,
        file_urls: bool = False,
        cache: ActionCache | str | os.PathLike[str] | None = None,
    ) -> None:
        if not task.strip():
            raise ConfigurationError("the task is empty")
        self.task = task
        self.llm = llm
        self.start_url = start_url
        self.budget = budget or Budget()
        self.output_model = output_model
        self.record = record
        self.tier = tier
        self.allowed_domains = allowed_domains
        self.headless = headless
        self.on_event = on_event
        self.system_prompt = system_prompt
        self.otel = otel
        self.batch_quiet_ms = batch_quiet_ms
        """DOM-quiet window (ms) after an action the model already followed with others,
        and (with `speculate`) after the last action of a reply."""
        self.speculate = speculate
        """Start the next model call once the page is loaded and briefly quiet, and wait
        out the rest of the settle while the model thinks: a page that still moves
        cancels the call before any of its actions ran, and it is made again."""
        self.secrets = Secrets(secrets)
        """The model sees only `{{name}}`; values are typed on allowed hosts only."""
        self.blocked_domains = list(blocked_domains)
        self.file_urls = file_urls
        """Let the model's `goto` open `file:` URLs (off: only http, https and
        about:blank). A domain policy refuses them whatever this says."""
        self.cache = as_cache(cache)
        """Replay the last successful run of this task, handing over to the model at the
        first step the page differs; a successful run replaces the entry."""
        self.tools: dict[str, Tool] = {}
        for t in tools:
            self.add_tool(t)
        self.history: list[dict[str, Any]] = []
        """The conversation after the system prompt and task, as of the last run."""
        self.last_prompt: list[dict[str, Any]] = []
        """The messages of the last model call."""

    # -- tools

    def add_tool(self, fn: Tool | Callable[..., Any]) -> Tool:
        t = as_tool(fn)
        if t.name in BUILTIN_TOOLS:
            raise ConfigurationError(f"tool {t.name!r} would shadow a built-in action")
        if t.name in self.tools:
            raise ConfigurationError(f"two tools are called {t.name!r}")
        self.tools[t.name] = t
        return t

    def tool(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Any:
        """Register a user tool: `@agent.tool` or `@agent.tool(name=...)`."""

        def register(f: Callable[..., Any]) -> Tool:
            ns = dict(sys._getframe(1).f_locals)  # where models next to `f` are defined
            return self.add_tool(Tool(f, name=name, description=description, localns=ns))

        return register(fn) if fn is not None else register

    def tool_schemas(self) -> list[dict[str, Any]]:
        """What the model is offered: the page actions, `done`, then the user tools."""
        tools = load_tools()
        if self.output_model is not None:
            for t in tools:
                fn = t["function"]
                if fn["name"] == "done":
                    params = fn["parameters"]
                    schema = self.output_model.model_json_schema()
                    defs = schema.pop("$defs", None)
                    if defs:
                        params["$defs"] = defs
                    schema.pop("title", None)
                    params["properties"]["result"] = {
                        "anyOf": [schema, {"type": "string"}],
                        "description": "The answer as this JSON object; when success is "
                        "false, a sentence saying why.",
                    }
        tools += [t.schema() for t in self.tools.values()]
        return tools

    # -- running

    async def run(self, target: Page | Browser | None = None) -> AgentResult:
        """Run the task to the end: done, max steps, max failures or the session budget.

        Without a target a headless browser is launched (and closed at the end). The
        model connection is warmed while the browser starts and the first page loads.
        Raises only for configuration problems (no model, no browser); everything that
        goes wrong during the task is in the result.
        """
        pool, owned = self._pool()
        async with contextlib.AsyncExitStack() as stack:
            if owned:
                stack.push_async_callback(pool.aclose)
            run = _Run(self, pool)
            if self.record is not None:
                writer = RecordingWriter(Path(self.record), redactor=run.redactor)
                run.recorder = stack.enter_context(writer)
            if self.cache is not None:
                run.cache = stack.enter_context(self.cache.player(run, target))
            return await run.go(stack, target)

    def _pool(self) -> tuple[LLMPool, bool]:
        llm = self.llm
        if isinstance(llm, LLMPool):
            return llm, False
        if llm is None:
            return LLMPool.from_env(), True
        configs = [llm] if isinstance(llm, ProviderConfig) else list(llm)
        return LLMPool(configs), True


# ---------------------------------------------------------------------- one run


class _Run:
    """The state of one `Agent.run()`."""

    def __init__(self, agent: Agent, pool: LLMPool) -> None:
        self.agent = agent
        self.pool = pool
        self.budget = agent.budget
        self.tl = Timeline()
        self.t_start = time.perf_counter()
        self.deadline = self.t_start + self.budget.session_s
        self.page: Page | None = None
        self.recorder: RecordingWriter | None = None
        self.cache: CachePlayer | None = None
        """Replays cached steps before the model is asked (`Agent.cache`)."""
        self.step_obs: Observation | None = None
        self.step_messages: list[dict[str, Any]] = []
        self.step_note: str | None = None
        system = agent.system_prompt if agent.system_prompt is not None else load_system_prompt()
        self.secrets = agent.secrets
        self.redactor = Redactor(self.secrets.placeholders(), masked=_api_keys(pool))
        """The one redaction of everything this run hands the model, the recording, the
        `on_event` hook and the result (see `seal` and `scrub`)."""
        install_log_redaction()
        task = agent.task.strip()
        if self.secrets:
            task += "\n\n" + self.secrets.prompt_note()
        self.prefix = [
            {"role": "system", "content": system},
            {"role": "user", "content": f"<task>\n{task}\n</task>"},
        ]
        self.prefix_chars = sum(len(m["content"]) for m in self.prefix)
        self.history: list[dict[str, Any]] = []
        self.history_chars = 0
        self.tools = agent.tool_schemas()
        self.tier = agent.tier
        self.hedge = self.budget.hedge == "adaptive"
        self.viewport = False
        self.applied: set[Degradation] = set()
        self.held: set[str] = set()
        """Stages whose overrun found no fitting remedy (said once per session)."""
        self.in_call: _InCall | None = None
        """The model call under way, for the accounting of a step cut in the middle of it."""
        self.steps: list[StepRecord] = []
        self.obs: Observation | None = None
        self.obs_current = False
        """Whether `obs` still is the page as it is (an action's settle produced it)."""
        self.obs_early = False
        """`obs` came from a short settle: confirm it while the next call runs."""
        self.watch_until: float | None = None
        """Until when (perf_counter) UI the last action set on its way may still appear:
        the next call keeps watching the page until then (`SettleSettings.ui_ms`)."""
        self.watch_hold = False
        """The last action's target suggests late UI without announcing it: the next
        reply's actions wait for the watch to end before they run."""
        self.churn = Churn()
        """What this page changes by itself: such changes never cost a model call."""
        self.notes: list[str] = []
        self.failures = 0
        self.finished: tuple[bool, Any] | None = None
        self.stop: tuple[StopReason, str] | None = None
        self.page_closed = False
        self.pending: list[AgentEvent] = []
        self.tokens = 0
        """Prompt plus completion tokens of every model call so far (Budget.max_tokens)."""

    # -- helpers

    def remaining(self) -> float:
        return self.deadline - time.perf_counter()

    def seal(self, messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Messages on their way to the model, redacted: the only road into the prompt.

        Observations, notes, tool results (navigated URLs, dialog text, `extract`
        output, error messages) and the assistant's own turns pass here once, when
        they join the conversation; the history keeps them redacted.
        """
        return [self.redactor.obj(m) for m in messages]

    def scrub(self, r: ActionRecord) -> None:
        """Redact what an action record shows (display, result, recording), in place."""
        red = self.redactor.text
        r.result, r.label, r.url = red(r.result), red(r.label), red(r.url)
        r.error = red(r.error) if r.error else r.error
        r.args = self.redactor.obj(r.args)

    async def emit(self, event: AgentEvent | None) -> None:
        """Hand events to the hook: budget notices queued by sync code first."""
        hook = self.agent.on_event
        pending, self.pending = self.pending, []
        if hook is None:
            return
        for ev in [*pending, event]:
            if ev is None:
                continue
            if isinstance(ev, ActionStarted | ActionFinished):
                self.scrub(ev.record)
                if isinstance(ev, ActionStarted):
                    ev.url = self.redactor.text(ev.url)
            try:
                out = hook(ev)
                if inspect.isawaitable(out):
                    await out
            except Exception:  # a broken display must not break the task
                log.exception("on_event hook failed")

    # -- start-up

    async def go(
        self, stack: contextlib.AsyncExitStack, target: Page | Browser | None
    ) -> AgentResult:
        tl = self.tl
        if self.recorder is not None:
            browser = target.browser if isinstance(target, Page) else target
            self.recorder.header(
                runtime_header(
                    self.agent.task,
                    start_url=self.agent.start_url,
                    session_id=tl.session_id,
                    browser=browser.version if browser is not None else "",
                    settings={
                        "budget": self.budget.model_dump(mode="json"),
                        "tier": self.tier,
                        "tools": [t["function"]["name"] for t in self.tools],
                        "allowed_domains": list(self.agent.allowed_domains or []) or None,
                        "headless": self.agent.headless,
                    },
                )
            )
        kept = _open_pages(target)  # a cut run closes only the pages it opened
        try:
            with anyio.move_on_after(max(self.remaining(), 0.0)) as scope:
                await self.start_and_loop(stack, target)
            if scope.cancelled_caught:
                limit = self.budget.session_s
                tl.event(
                    "overrun",
                    stage="session",
                    limit_ms=limit * 1000,
                    actual_ms=tl.now(),
                    detail="the session was stopped",
                )
                self.stop = ("budget", f"the session's {limit:g} s budget ran out")
                await self.close_opened(target, kept)
        except anyio.get_cancelled_exc_class():
            # Cancelled by the caller (Ctrl-C, a cancel scope): close what the run opened
            # and end the recording with how it ended, shielded, then let it propagate.
            self.stop = ("cancelled", "the run was cancelled by its caller")
            with anyio.CancelScope(shield=True):
                await self.close_opened(target, kept)
                tl.close()
                self.result()
            raise
        finally:
            tl.close()
        return self.result()

    async def start_and_loop(
        self, stack: contextlib.AsyncExitStack, target: Page | Browser | None
    ) -> None:
        """Warm the model connection while the browser starts and the first page loads.

        The warm-up only overlaps: a first model call that comes sooner opens its own
        connection, and whatever is left of the warm-up is cancelled with the run.
        """
        tl = self.tl
        error: Exception | None = None

        async def warm() -> None:
            nonlocal error
            with tl.span("warm_up"):
                await self.pool.warm_up()
            # No key, no server, not an OpenAI server: stop before the browser works.
            unusable = getattr(self.pool, "unusable", None)
            error = unusable() if unusable is not None else None
            if error is not None:
                tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(warm)
            try:
                if await self.start(stack, target):
                    await self.loop()
            except Exception as exc:  # raised below, not wrapped in an exception group
                error = error or exc
            finally:
                tg.cancel_scope.cancel()
        if error is not None:
            raise error

    async def start(self, stack: contextlib.AsyncExitStack, target: Page | Browser | None) -> bool:
        self.page = page = await self.open_page(stack, target)
        tl = self.tl
        if self.budget.settle_s is not None:
            page.settle_settings.timeout = self.budget.settle_s
        try:
            url = self.agent.start_url
            if url:
                with tl.span("load", url=url):
                    await page.goto(url)
            with tl.span("first_observe"):
                cap = self.budget.max_observation_chars
                try:
                    self.obs = await page.observe(max_chars=cap)
                except PageCrashedError:
                    new = await self.recover(StepRecord(n=0), page)
                    if new is None:
                        raise
                    self.obs = await new.observe(max_chars=cap)
            self.obs_current = True
        except PageError as exc:
            why = self.redactor.text(str(exc))
            self.stop = ("page_closed" if isinstance(exc, PageClosedError) else "error", why)
            tl.event("error", detail=why)
            return False
        except ConfigurationError:
            raise
        except Exception as exc:  # the first observation choked: the task fails, says why
            log.debug("first observation failed", exc_info=True)
            why = self.redactor.text(f"observation failed: {type(exc).__name__}: {exc}")
            self.stop = ("error", why)
            tl.event("error", detail=why)
            return False
        return True

    async def open_page(
        self, stack: contextlib.AsyncExitStack, target: Page | Browser | None
    ) -> Page:
        if isinstance(target, Page):
            return target
        with self.tl.span("launch"):
            if isinstance(target, Browser):
                return await target.new_page()
            browser = await stack.enter_async_context(
                Browser.launch(
                    headless=self.agent.headless,
                    allowed_domains=self.agent.allowed_domains,
                    blocked_domains=self.agent.blocked_domains,
                )
            )
            return await browser.new_page()

    # -- the loop

    async def loop(self) -> None:
        b = self.budget
        n = 0
        while self.stop is None:
            if self.finished is not None:
                ok = "succeeded" if self.finished[0] else "reported failure"
                self.stop = ("done", f"the model called done ({ok})")
            elif self.page_closed:
                self.stop = ("page_closed", "the page was closed")
            elif n >= b.max_steps:
                self.stop = ("max_steps", f"reached the {b.max_steps}-step limit")
            elif b.max_tokens is not None and self.tokens >= b.max_tokens:
                self.stop = (
                    "max_tokens",
                    f"used {self.tokens} model tokens, over the {b.max_tokens}-token limit",
                )
            elif self.failures >= b.max_failures:
                self.stop = (
                    "max_failures",
                    f"{self.failures} consecutive steps failed: {self.last_error()}",
                )
            else:
                n += 1
                if self.cache is not None and await self.cache.step(n):
                    continue  # replayed from the action cache: no model call
                await self.step(n)

    def last_error(self) -> str:
        for s in reversed(self.steps):
            if s.errors:
                return s.errors[-1]
            for a in s.actions:
                if a.error and not a.skipped:
                    return a.error
        return "no action succeeded"

    async def step(self, n: int) -> None:
        tl = self.tl
        rec = StepRecord(n=n, tier=self.tier)
        self.step_obs, self.step_messages, self.step_note = None, [], None
        span = tl.begin("step", parent=tl.root, step=n)
        limit = min(self.budget.decision_s, max(self.remaining(), 0.0))
        try:
            with anyio.move_on_after(limit) as scope:
                obs = await self.observe(rec, span)
                if obs is not None:
                    messages = self.prompt(obs, rec, span)
                    await self.decide(messages, obs, rec, span)
            if scope.cancelled_caught:
                self.cut_call(rec)
                self.obs_current = False
                rec.errors.append(f"the step did not finish within its {limit:g} s budget")
                self.notes.append(
                    "Note: your previous step was stopped at its time limit; its actions may "
                    "have run only in part. Check the page before going on."
                )
                self.overrun("decision", rec, limit * 1000, tl.now() - span.start_ms)
        finally:
            self.cut_call(rec)
            tl.end(span)
            self.finish_step(rec, span)
            # Written even when the run is cut inside this step (cancelled, budget): a
            # recording keeps what the cut step did so far.
            if self.recorder is not None:
                self.recorder.step(
                    rec,
                    self.step_obs,
                    self.step_messages,
                    prefix_len=len(self.prefix),
                    note=self.step_note,
                    seen=self.page.seen if self.page is not None else None,
                )
        await self.emit(StepFinished(rec))

    def finish_step(self, rec: StepRecord, span: Span) -> None:
        reply_end = span.start_ms
        for s in self.tl.spans[span.id + 1 :]:  # a step's spans come after its own
            if s.step != rec.n or s.name not in STAGES or s.end_ms is None:
                continue
            if s.attrs.get("reused"):
                continue  # the observation an action made: timed there
            if s.name == "llm_total":
                reply_end = s.end_ms
            rec.spans_ms[s.name] = rec.spans_ms.get(s.name, 0.0) + s.ms
            if s.name not in rec.happened:
                rec.happened.append(s.name)
        rec.spans_ms["total"] = span.ms
        rec.happened.append("total")
        rec.spans_ms = {k: rec.spans_ms.get(k, 0.0) for k in STAGES}
        rec.page_wait_ms = _page_wait(rec.actions, reply_end)
        if self.redactor:
            redact = self.redactor.text
            rec.errors = [redact(e) for e in rec.errors]
            rec.url, rec.title = redact(rec.url), redact(rec.title)
            for a in rec.actions:
                self.scrub(a)
        if rec.ok or (self.finished is not None and self.finished[0]):
            self.failures = 0
        else:
            self.failures += 1
        self.steps.append(rec)

    # -- stages

    async def observe(self, rec: StepRecord, parent: Span) -> Observation | None:
        tl = self.tl
        page = self.page
        assert page is not None
        with tl.span("observe", parent=parent, step=rec.n) as s:
            if self.obs is not None and self.obs_current:
                s.attrs["reused"] = True
                obs: Observation | None = self.obs
            else:
                self.obs_early = False
                obs = await self.fresh_observation(rec, page)
        if obs is None:
            return None
        self.adopt(obs, rec)
        return obs

    def adopt(self, obs: Observation, rec: StepRecord) -> None:
        """Make `obs` the step's observation (what the prompt and the recording show)."""
        self.obs, self.obs_current = obs, True
        self.step_obs = obs
        rec.observation_version = obs.version
        rec.url, rec.title = obs.url, obs.title
        rec.observation_chars = len(obs.text)
        if obs.truncated:
            rec.events.append(
                self.tl.event(
                    "limit",
                    stage="observe",
                    step=rec.n,
                    detail=f"the observation was cut to {len(obs.text)} characters",
                )
            )

    async def fresh_observation(self, rec: StepRecord, page: Page) -> Observation | None:
        limit = self.budget.observe_s
        for attempt in range(2):
            small = self.budget.viewport_chars if self.viewport else None
            cap = self.budget.max_observation_chars
            small = min(small, cap) if small and cap else small or cap
            t0 = time.perf_counter()
            try:
                with anyio.move_on_after(limit) as scope:
                    return await page.observe(full=attempt > 0, max_chars=small)
            except PageCrashedError as exc:
                rec.errors.append(str(exc))
                recovered = await self.recover(rec, page)
                if recovered is None:
                    self.page_closed = True
                    return None
                page = recovered
                continue
            except PageClosedError as exc:
                self.page_closed = True
                rec.errors.append(str(exc))
                return None
            except PageError as exc:
                rec.errors.append(f"observation failed: {exc}")
                return None
            except Exception as exc:  # a bug, or page text the serializer choked on
                log.debug("observation failed", exc_info=True)
                rec.errors.append(f"observation failed: {type(exc).__name__}: {exc}")
                return None
            if scope.cancelled_caught:
                self.overrun("observe", rec, limit * 1000, (time.perf_counter() - t0) * 1000)
        rec.errors.append(f"no observation within {limit:g} s")
        return None

    async def recover(self, rec: StepRecord, page: Page) -> Page | None:
        """After a renderer crash: a new tab at the last URL, and a note for the model."""
        browser = page.browser
        if browser is None:
            return None
        last = page.last_observation
        url = last.url if last is not None else self.agent.start_url
        new = await browser.new_page()
        if self.budget.settle_s is not None:
            new.settle_settings.timeout = self.budget.settle_s
        if url and url.startswith(("http:", "https:")):
            try:
                await new.goto(url)
            except PageError as exc:
                rec.errors.append(f"reopening {url} after the crash failed: {exc}")
        with contextlib.suppress(Exception):
            await page.close()
        self.page = new
        rec.events.append(
            self.tl.event("recover", stage="observe", step=rec.n, detail=f"reopened {url}")
        )
        self.notes.append(
            f"Note: the page crashed and was reopened in a new tab at {url}; anything typed "
            "or opened since it last loaded is lost. Refs start over."
        )
        return new

    def prompt(self, obs: Observation, rec: StepRecord, parent: Span) -> list[dict[str, Any]]:
        with self.tl.span("prompt", parent=parent, step=rec.n) as s:
            note = "\n".join(self.notes) or None
            self.notes.clear()
            raw = observation_message(obs.text, url=obs.url, title=obs.title, note=note)
            msg = self.seal([raw])[0]
            messages = [*self.prefix, *self.history, msg]
            rec.prompt_chars = self.prefix_chars + self.history_chars + len(msg["content"])
            rec.prompt_messages = len(messages)
        self.agent.last_prompt = messages
        self.step_messages, self.step_note = messages, note
        limit = self.budget.prompt_s
        if s.ms > limit * 1000:
            self.overrun("prompt", rec, limit * 1000, s.ms)
        return messages

    async def decide(
        self, messages: list[dict[str, Any]], obs: Observation, rec: StepRecord, parent: Span
    ) -> None:
        early, self.obs_early = self.obs_early, False
        until, hold = self.watch_until, self.watch_hold
        self.watch_until, self.watch_hold = None, False
        if until is not None and until <= time.perf_counter():
            until, hold = None, False
        if not await self.call(messages, obs, rec, parent, confirm=early, until=until, hold=hold):
            return
        # The page moved after the early observation: look again and call again.
        page = self.page
        assert page is not None
        with self.tl.span("observe", parent=parent, step=rec.n):
            fresh = await self.fresh_observation(rec, page)
        if fresh is None:
            return
        self.adopt(fresh, rec)
        messages = self.prompt(fresh, rec, parent)
        await self.call(messages, fresh, rec, parent, confirm=False)

    async def call(
        self,
        messages: list[dict[str, Any]],
        obs: Observation,
        rec: StepRecord,
        parent: Span,
        *,
        confirm: bool,
        until: float | None = None,
        hold: bool = False,
    ) -> bool:
        """One model call, its actions run as they stream in.

        With `confirm`, `obs` is early (see `Agent.speculate`): the page finishes
        settling beside the call. Until `until` the page is watched for late UI. A
        change that matters (see `Churn`) found before the first action of the reply
        runs cancels the call; the first action cancels the check instead, unless
        `hold`, when it waits for the check to end. Returns True when the page moved, in
        which case the call was cancelled and nothing ran.
        """
        tl = self.tl
        batch = _Batch(self, rec, parent, obs)
        llm_limit = min(self.budget.llm_s, max(self.remaining(), 0.001))
        reply: ModelReply | None = None
        error: LLMError | None = None
        send, receive = anyio.create_memory_object_stream[Action](math.inf)
        call_scope = anyio.CancelScope()
        moved = False

        async def check(page: Page) -> None:
            nonlocal moved
            # "confirm": an early observation is settled and checked; "watch": a settled
            # one is only watched for late UI.
            with tl.span("confirm" if confirm else "watch", parent=parent, step=rec.n) as span:
                with anyio.CancelScope() as scope:
                    batch.confirming = scope
                    try:
                        moved = await page.confirm(
                            obs, settle_first=confirm, until=until, matters=self.churn.matters
                        )
                    except Exception as exc:  # crashed, closed, choked: the fresh look decides
                        moved = True
                        span.attrs["error"] = str(exc)
                batch.confirming = None
                span.attrs["moved"] = moved
                span.attrs["abandoned"] = scope.cancelled_caught
            if moved:
                call_scope.cancel()
            batch.checked.set()

        t0 = time.perf_counter()
        t1 = t0
        self.in_call = call = _InCall(t0, parent)
        async with anyio.create_task_group() as outer:
            if (confirm or until is not None) and self.page is not None:
                batch.hold_until = until if hold else None
                outer.start_soon(check, self.page)
            else:
                batch.checked.set()
            with call_scope:
                async with anyio.create_task_group() as tg:
                    batch.tg = tg
                    tg.start_soon(batch.execute, receive)
                    try:
                        with send:
                            batch.queue = send
                            reply = await self.pool.complete(
                                messages,
                                tools=self.tools,
                                tier=self.tier,
                                on_action=batch.on_action,
                                budget_s=llm_limit,
                                hedge=self.hedge,
                            )
                    except LLMError as exc:
                        error = exc
                    t1 = time.perf_counter()
                    call.reply, call.t1 = reply, t1
                    # The executor drains the actions still queued, then the group ends.
        self.in_call = None
        if moved:
            tl.add("llm_cancelled", tl.at(t0), tl.now(), parent=parent, step=rec.n)
            for r in batch.records.values():  # queued behind the verdict: none of them ran
                if r in rec.actions:
                    rec.actions.remove(r)
            rec.events.append(
                tl.event(
                    "restart",
                    stage="llm_total",
                    step=rec.n,
                    detail="the page changed after the early observation; called again",
                )
            )
            return True
        start = tl.at(t0)
        if reply is None:
            tl.add("llm_total", start, tl.at(t1), parent=parent, step=rec.n, error=str(error))
            rec.errors.append(f"model call failed: {error}")
            if isinstance(error, BudgetExceededError):
                self.overrun("llm_total", rec, llm_limit * 1000, (t1 - t0) * 1000)
            for e in getattr(error, "errors", ()):
                detail = f"{type(e).__name__}: {e}"
                rec.events.append(tl.event("retry", stage="llm_total", step=rec.n, detail=detail))
            return False
        rec.reply = reply
        self.tokens += reply.usage.prompt_tokens + reply.usage.completion_tokens
        self.llm_spans(reply, start, tl.at(t1), rec, parent)
        if reply.error:
            rec.errors.append(f"the reply broke off: {reply.error}")
        for limit in reply.limits:  # a cap cut the reply: recorded, and the model told
            rec.events.append(tl.event("limit", stage="llm_total", step=rec.n, detail=limit))
            self.notes.append(f"Note: {limit}.")
        if not reply.actions:
            rec.errors.append("the reply had no tool call")
            self.notes.append(
                "Your last reply had no tool call. Act only through tool calls; "
                "call done when the task is complete."
            )
        results: dict[str, str] = {}
        for action in reply.actions:
            r = batch.records.get(action.id)
            if r is None:  # never handed to us (cannot happen with a callback): say so
                r = batch.skip(action, "not run")
            results[action.id] = r.result
        new = self.seal(step_messages(reply, results))
        self.history.extend(new)
        self.history_chars += sum(len(str(m.get("content") or "")) for m in new)
        self.history_chars += sum(
            len(tc["function"]["arguments"]) for m in new for tc in m.get("tool_calls", ())
        )
        self.agent.history = self.history
        return False

    def cut_call(self, rec: StepRecord) -> None:
        """A step cut mid-call (its limit, the session's): the model's time still counts."""
        call, self.in_call = self.in_call, None
        if call is None:
            return
        tl = self.tl
        if call.reply is None:
            tl.add("llm_total", tl.at(call.t0), tl.now(), parent=call.parent, step=rec.n, cut=True)
        else:
            self.llm_spans(call.reply, tl.at(call.t0), tl.at(call.t1), rec, call.parent)

    def llm_spans(
        self, reply: ModelReply, start: float, returned: float, rec: StepRecord, parent: Span
    ) -> None:
        tl, b, t = self.tl, self.budget, reply.timings
        end = min(start + t.total, returned)
        llm = tl.add(
            "llm_total",
            start,
            end,
            parent=parent,
            step=rec.n,
            provider=reply.provider,
            attempts=reply.attempts,
            hedged=reply.hedged,
            hedge_won=reply.hedge_won,
        )
        for name, at in (("llm_ttft", t.ttft), ("llm_first_action", t.first_action)):
            if at is not None:
                tl.add(name, start, min(start + at, end), parent=llm, step=rec.n)
        for failure in reply.failures:
            ev = tl.event("retry", stage="llm_total", step=rec.n, detail=failure)
            rec.events.append(ev)
        if reply.hedged:
            which = "second" if reply.hedge_won else "first"
            detail = f"won by {reply.provider} (the {which} request)"
            ev = tl.event("hedge", stage="llm_total", step=rec.n, detail=detail)
            rec.events.append(ev)
        if t.ttft is not None and t.ttft > b.llm_ttft_s * 1000:
            self.overrun("llm_ttft", rec, b.llm_ttft_s * 1000, t.ttft)
        if t.first_action is not None and t.first_action > b.llm_first_action_s * 1000:
            self.overrun("llm_first_action", rec, b.llm_first_action_s * 1000, t.first_action)

    # -- budgets

    def overrun(
        self,
        stage: str,
        rec: StepRecord | None,
        limit_ms: float,
        actual_ms: float,
        detail: str = "",
    ) -> None:
        """Report an overrun and apply the first degradation that can still help."""
        if not detail:
            detail = "cut at the limit" if stage in HARD_STAGES else "reported"
        ev = self.tl.event(
            "overrun",
            stage=stage,
            step=rec.n if rec else None,
            limit_ms=limit_ms,
            actual_ms=actual_ms,
            detail=detail,
        )
        if rec is not None:
            rec.events.append(ev)
        self._notice(ev)
        remedy, why = self.budget.choose(self.cause(stage, rec, actual_ms), self.applied)
        if remedy is not None and self.degrade(remedy, stage, rec, why):
            return
        if remedy is None and stage not in self.held:
            self.held.add(stage)
            ev = self.tl.event("no_degrade", stage=stage, step=rec.n if rec else None, detail=why)
            if rec is not None:
                rec.events.append(ev)
            self._notice(ev)

    def cause(self, stage: str, rec: StepRecord | None, actual_ms: float) -> OverrunCause:
        """Where the step's time went and what could help, for `Budget.choose`."""
        tiers = self.pool.tiers()
        routes = tiers.get(self.tier, [])
        reply = rec.reply if rec is not None else None
        provider = reply.provider if reply is not None else (routes[0] if routes else "")
        route = self.pool.stats().get(provider)
        step = rec.n if rec is not None else None
        return OverrunCause(
            stage=stage,
            step_ms=actual_ms,
            model_ms=sum(s.ms for s in self.tl.spans if s.name == "llm_total" and s.step == step),
            ttft_ms=reply.timings.ttft if reply is not None else None,
            usual_ttft_ms=route.ttft_p50_ms if route is not None else None,
            observation_chars=rec.observation_chars if rec is not None else 0,
            providers=len(routes),
            same_provider_hedge=self.pool.hedge.same_provider,
            hedging=self.hedge,
            fast_tier=self.tier != "fast" and "fast" in tiers,
        )

    def degrade(
        self, remedy: Degradation, stage: str, rec: StepRecord | None, why: str = ""
    ) -> bool:
        tiers = self.pool.tiers()
        if remedy == "viewport":
            self.viewport = True
            self.obs_current = False  # the next observation is the smaller one
            what = f"observations cut to ~{self.budget.viewport_chars} chars around the viewport"
            self.notes.append(
                "Note: to save time the page is now shown around the viewport only; "
                "scroll to see more."
            )
        elif remedy == "fast_tier":
            if self.tier == "fast" or "fast" not in tiers:
                return False
            what = f"decisions moved from the {self.tier!r} tier to 'fast'"
            self.tier = "fast"
        else:
            if self.hedge or (
                len(tiers.get(self.tier, [])) < 2 and not self.pool.hedge.same_provider
            ):
                return False
            self.hedge = True
            what = f"model calls hedged across {', '.join(tiers[self.tier])}"
        if why:
            what += f": {why}"
        self.applied.add(remedy)
        ev = self.tl.event("degrade", stage=stage, step=rec.n if rec else None, detail=what)
        if rec is not None:
            rec.events.append(ev)
        self._notice(ev)
        return True

    def _notice(self, ev: Event) -> None:
        # Noticed in sync code: delivered with the next event (at the latest, the step's).
        if self.agent.on_event is not None:
            self.pending.append(BudgetNotice(ev))

    # -- the end

    def redact_output(self, output: Any) -> Any:
        """The answer as handed back and printed (`--json`): a key or secret the model
        echoed is masked like anywhere else."""
        if not self.redactor or output is None:
            return output
        if isinstance(output, BaseModel):
            data = output.model_dump(mode="json")
            clean = self.redactor.obj(data, patterns=True)
            if clean == data:
                return output
            with contextlib.suppress(ValidationError):
                return type(output).model_validate(clean)
            return clean
        return self.redactor.obj(output, patterns=True)

    async def close_opened(self, target: Page | Browser | None, kept: set[Any]) -> None:
        """Close what a cut run (budget, cancellation) opened: its own tab or a crash's
        replacement, and the popups those opened. A page handed in stays open, and so
        does any page that was open before or another run's. Bounded per page."""
        page = self.page
        browser = page.browser if page is not None else None
        if page is None or browser is None:
            return
        root = page.playwright_page
        openers: dict[Page, Any] = {}
        for p in browser.pages:
            if p.playwright_page in kept or p.playwright_page is root:
                continue
            with anyio.move_on_after(2.0), contextlib.suppress(Exception):
                openers[p] = await p.playwright_page.opener()
        ours = {root}
        doomed = [] if page is target else [page]
        while grown := [p for p, o in openers.items() if o in ours and p not in doomed]:
            doomed += grown
            ours |= {p.playwright_page for p in grown}
        for p in reversed(doomed):  # popups before their openers
            with anyio.move_on_after(5.0), contextlib.suppress(Exception):
                await p.close()

    def result(self) -> AgentResult:
        tl = self.tl
        reason, detail = self.stop or ("error", "stopped")
        if self.stop is not None and reason != "done":
            tl.event("stop", detail=f"{reason}: {detail}")
        report = TimingReport.build(tl, [s.timing() for s in self.steps])
        if self.agent.otel or (self.agent.otel is None and otel_available()):
            report.export_otel()
        success, output = self.finished if self.finished is not None else (False, None)
        detail, output = self.redactor.text(detail), self.redact_output(output)
        result = AgentResult(
            task=self.agent.task,
            success=success,
            output=output,
            reason=reason,
            detail=detail,
            steps=self.steps,
            report=report,
            session_id=tl.session_id,
        )
        if self.recorder is not None:
            browser = self.page.browser if self.page is not None else None
            self.recorder.footer(result, browser=browser.version if browser is not None else "")
        return result


# ------------------------------------------------------------------ one reply


class _InCall:
    """A model call under way: when it started, and its reply once it came."""

    __slots__ = ("parent", "reply", "t0", "t1")

    def __init__(self, t0: float, parent: Span) -> None:
        self.t0, self.t1, self.parent = t0, t0, parent
        self.reply: ModelReply | None = None


class _Batch:
    """The actions of one reply, executed as they stream in.

    The stream's callback only queues: page actions (and tools that take the page)
    run in order in the executor task, independent user tools start at once in the
    step's task group and run concurrently. An action followed by others already
    decided needs no full settle (its observation would not be read): it gets a light
    one (`Agent.batch_quiet_ms`), which still sees navigations and network requests
    it set off. Once the page changed under the reply (navigation, a stale target),
    an action failed, or `done` was called, the remaining actions are dropped and the
    model is told why.
    """

    def __init__(self, run: _Run, rec: StepRecord, parent: Span, obs: Observation) -> None:
        self.run = run
        self.rec = rec
        self.parent = parent
        self.obs = obs
        self.tg: anyio.abc.TaskGroup | None = None
        self.queue: MemoryObjectSendStream[Action] | None = None
        self.records: dict[str, ActionRecord] = {}
        self.stopped: str | None = None
        self.running: ActionRecord | None = None
        """The page action in progress, while a light settle would still do for it."""
        self.full_settle: SettleSettings | None = None
        self.confirming: anyio.CancelScope | None = None
        """The check of an early observation, while it runs (see `_Run.call`)."""
        self.checked = anyio.Event()
        """Set once that check ended (or when there is none)."""
        self.hold_until: float | None = None
        """While the check runs, the first action waits for it up to this time
        (perf_counter) instead of cancelling it: late UI is likely (`ActionResult.late_ui`)."""

    def record(self, action: Action) -> ActionRecord:
        run = self.run
        name = action.name
        if name == "done":
            kind = "done"
        elif name in PAGE_ACTIONS:
            kind = "page"
        elif name in run.agent.tools:
            kind = "tool"
        else:
            kind = "unknown"
        r = ActionRecord(
            id=action.id,
            name=name,
            args=dict(action.arguments),
            kind=kind,  # type: ignore[arg-type]
            label=self.label(action),
        )
        self.records[action.id] = r
        self.rec.actions.append(r)
        return r

    def label(self, action: Action) -> str:
        args = action.arguments
        ref = args.get("ref")
        if isinstance(ref, int):
            el = self.obs.elements.get(ref)
            if el is None and self.run.page is not None:
                el = self.run.page.seen.get(ref)
            return f"[{ref}] {el.label}" if el is not None else f"[{ref}]"
        if action.name == "goto":
            return str(args.get("url", ""))
        if action.name == "press":
            return str(args.get("key", ""))
        if action.name == "wait_for":
            return json.dumps(args.get("text", "")) if args.get("text") else ""
        return ""

    def skip(self, action: Action, why: str) -> ActionRecord:
        r = self.records.get(action.id) or self.record(action)
        r.skipped, r.ok = True, False
        r.error = f"skipped: {why}"
        r.result = f"skipped: {why}; look at the new observation and decide again"
        return r

    def on_action(self, action: Action) -> None:
        """Called by the pool for each complete action while the reply still streams."""
        if self.stopped is not None:
            self.skip(action, self.stopped)
            return
        r = self.record(action)
        if r.kind == "tool" and not self.run.agent.tools[r.name].takes_page:
            assert self.tg is not None
            self.tg.start_soon(self.tool, self.run.agent.tools[r.name], r)
        else:
            assert self.queue is not None
            self.queue.send_nowait(action)
            if self.running is not None:  # it reads this when it settles, then observes
                self.lighten(self.running, superseded=True)

    async def decided(self) -> None:
        """The model decided before the early observation was confirmed: act now.

        Waiting out the check would put the quiet window back on the critical path;
        each action still checks that its target is what the model saw, so a page
        that moved meanwhile surfaces as a stale ref, fed back to the model. After an
        action whose UI is likely to come late without announcing itself (a field the
        page completes itself), the check is waited for instead, up to the end of its
        window: if the UI shows, the call is cancelled and made again on it.
        """
        if self.confirming is None:
            return
        if self.hold_until is not None:
            left = self.hold_until - time.perf_counter()
            with anyio.move_on_after(max(left, 0.0) + HOLD_MARGIN_S):
                await self.checked.wait()
            self.hold_until = None
            await anyio.lowlevel.checkpoint()  # the check moved: its cancellation lands here
        if self.confirming is not None:
            self.confirming.cancel()
            self.confirming = None

    def lighten(self, r: ActionRecord, *, superseded: bool) -> None:
        """Give the running action a light settle: the model already decided what follows.

        `superseded`: another action of the reply follows it, so its observation would
        never be read (the next one's replaces it, or, if the reply is cut short, the
        next step observes afresh) and is not taken.
        """
        page, full = self.run.page, self.full_settle
        if page is None or full is None:
            return
        now = page.settle_settings
        update: dict[str, Any] = {}
        if self.run.agent.batch_quiet_ms < now.quiet_ms:
            update["quiet_ms"] = self.run.agent.batch_quiet_ms
            r.timings["light_settle"] = 1.0
        if superseded and now.observe:
            update["observe"] = False
            r.timings["superseded"] = 1.0
        if update:
            page.settle_settings = now.model_copy(update=update)

    async def execute(self, receive: MemoryObjectReceiveStream[Action]) -> None:
        """Run the ordered actions as they arrive, until the reply is complete."""
        run = self.run
        async with receive:
            async for action in receive:
                r = self.records[action.id]
                await self.decided()
                if self.stopped is not None:
                    self.skip(action, self.stopped)
                    continue
                more = receive.statistics().current_buffer_used > 0
                if r.kind == "tool":
                    await self.tool(run.agent.tools[r.name], r)
                    continue
                await run.emit(ActionStarted(self.rec.n, r, self.obs.url))
                r.start_ms = run.tl.now()
                if r.kind == "done":
                    self.done(r)
                elif r.kind == "page":
                    await self.page_action(r, more=more)
                else:
                    self.fail(r, f"unknown tool {r.name!r}")
                await run.emit(ActionFinished(self.rec.n, r))

    def fail(self, r: ActionRecord, error: str, *, drop: bool = True, why: str = "") -> None:
        """Mark the action failed; unless `drop` is False the rest of the reply is dropped."""
        r.ok = False
        r.error = error
        r.result = f"error: {escape_untrusted(error)}"
        if drop and self.stopped is None:
            self.stopped = why or f"the earlier action {r.name} {r.label} failed".replace("  ", " ")
        r.end_ms = r.end_ms or self.run.tl.now()

    # -- done

    def done(self, r: ActionRecord) -> None:
        run = self.run
        success = bool(r.args.get("success", True))
        raw = r.args.get("result", "")
        model = run.agent.output_model
        output: Any = raw
        if model is not None and success:
            try:
                value = json.loads(raw) if isinstance(raw, str) else raw
                output = model.model_validate(value)
            except (ValidationError, ValueError) as exc:
                why = validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
                self.fail(r, f"done: result does not match the output schema: {why}")
                return
        elif not isinstance(raw, str):
            output = json.dumps(raw)
        run.finished = (success, output)
        r.result = "ok: finished"
        r.end_ms = run.tl.now()
        self.stopped = "done was called before it"

    # -- user tools

    async def tool(self, t: Tool, r: ActionRecord) -> None:
        """A user tool. Synchronous tools run in a worker thread and cannot be cut short."""
        run = self.run
        await self.decided()
        await run.emit(ActionStarted(self.rec.n, r, self.obs.url))
        r.start_ms = run.tl.now()
        limit = run.budget.act_s
        drop = t.takes_page  # an independent tool's failure does not stop the page work
        t0 = time.perf_counter()
        try:
            with anyio.move_on_after(limit) as scope:
                r.result = escape_untrusted(
                    await t.call(r.args, run.page if t.takes_page else None)
                )
            if scope.cancelled_caught:
                self.fail(r, f"{t.name} did not finish within {limit:g} s", drop=drop)
                run.overrun("act", self.rec, limit * 1000, (time.perf_counter() - t0) * 1000)
        except ValidationError as exc:
            self.fail(r, f"invalid arguments for {t.name}: {validation_message(exc)}", drop=drop)
        except ToolError as exc:
            self.fail(r, str(exc), drop=drop)
        except Exception as exc:
            self.fail(r, f"{t.name} failed: {type(exc).__name__}: {exc}", drop=drop)
        r.end_ms = run.tl.now()
        if t.takes_page:
            run.obs_current = False  # it may have changed the page
        run.tl.add("tool", r.start_ms, r.end_ms, parent=self.parent, step=self.rec.n, tool=t.name)
        await run.emit(ActionFinished(self.rec.n, r))

    # -- page actions

    async def page_action(self, r: ActionRecord, *, more: bool = False) -> None:
        run = self.run
        page = run.page
        assert page is not None
        tl = run.tl
        limit = min(run.budget.act_s, max(run.remaining(), 0.001))
        t0 = time.perf_counter()
        result: ActionResult | str | None = None
        self.full_settle = full = page.settle_settings
        speculate = run.agent.speculate
        if _can_settle_light(r) or speculate:
            self.running = r
            if (more and _can_settle_light(r)) or speculate:
                self.lighten(r, superseded=more)
        try:
            with anyio.move_on_after(limit) as scope:
                try:
                    ref = r.args.get("ref")
                    if run.recorder is not None and isinstance(ref, int):
                        await run.recorder.capture(page, ref)  # the target's DOM path
                    result = await _dispatch(
                        page, r.name, r.args, run.secrets, file_urls=run.agent.file_urls
                    )
                finally:
                    page.settle_settings = full
                    self.running = self.full_settle = None
        except StaleRefError as exc:
            run.obs_current = False
            self.fail(r, str(exc), why=f"the page changed under the reply ({exc})")
        except RefError as exc:
            run.obs_current = False
            self.fail(r, str(exc))
        except PageClosedError as exc:
            if page.crashed:  # the next observation reopens it
                run.obs_current = False
                self.fail(r, "the page crashed", why="the page crashed")
            else:
                run.page_closed = True
                self.fail(r, str(exc), why="the page was closed")
        except PageError as exc:
            run.obs_current = False
            self.fail(r, str(exc))
        except Exception as exc:  # a bug, or page text the serializer choked on
            log.debug("%s failed", r.name, exc_info=True)
            run.obs_current = False
            self.fail(r, f"{r.name} failed: {type(exc).__name__}: {exc}")
        t1 = time.perf_counter()
        start, end = tl.at(t0), tl.at(t1)
        r.end_ms = end
        if result is None:
            if scope.cancelled_caught:
                run.obs_current = False
                self.fail(r, f"{r.name} did not finish within {limit:g} s")
                run.overrun("act", self.rec, limit * 1000, (t1 - t0) * 1000)
            tl.add("act", start, end, parent=self.parent, step=self.rec.n, action=r.name)
            return
        if isinstance(result, str):  # extract: it read the page as it is now
            r.result = untrusted_block(result, source="extract", url=page.url)
            # The page may have moved since the last observation (the extract shows it):
            # the next step must not be prompted with an older look than the extract's.
            run.obs_current = False
            tl.add("act", start, end, parent=self.parent, step=self.rec.n, action=r.name)
            return
        t = result.timings
        r.timings.update(t)
        acted = min(end, start + t.get("resolve", 0.0) + t.get("act", 0.0))
        observed = max(acted, end - t.get("observe", 0.0))  # the observation comes last
        tl.add("act", start, acted, parent=self.parent, step=self.rec.n, action=r.name)
        tl.add("settle", acted, observed, parent=self.parent, step=self.rec.n, action=r.name)
        if result.observation is not None:
            tl.add("observe", observed, end, parent=self.parent, step=self.rec.n, action=r.name)
        r.ok, r.error = result.ok, result.error
        r.navigated, r.url = result.navigated, result.url
        r.result = _tool_result(result)
        if result.observation is not None:
            # After a light settle the page may still move: the next call confirms it
            # (speculate), or the next step observes again.
            light = "light_settle" in r.timings
            run.obs, run.obs_current = result.observation, speculate or not light
            run.obs_early = speculate and light
            # UI the action set on its way may still come: the next call watches for it.
            if full.ui_ms > 0 and run.obs_current:
                acted = t0 + (t.get("resolve", 0.0) + t.get("act", 0.0)) / 1000
                run.watch_until = acted + full.ui_ms / 1000
                run.watch_hold = result.late_ui
        else:
            run.obs_current = False
        if not result.settled:
            limit_ms = page.settle_settings.timeout * 1000
            settle_ms = t.get("settle", 0.0)
            run.overrun("settle", self.rec, limit_ms, settle_ms, "the page kept changing")
        if page.crashed:
            run.obs_current = False
            self.stopped = "the page crashed"
        elif result.closed:
            run.page_closed = True
            self.stopped = "the page was closed"
        elif result.navigated:
            self.stopped = f"the page navigated to {result.url} after {r.name} {r.label}".rstrip()
        elif not result.ok:
            self.stopped = f"the earlier action {r.name} {r.label} failed"


API_KEY_MIN_CHARS = 8
"""Shorter "keys" are the placeholders local servers take (`EMPTY`, `ollama`): masking
them would blank ordinary words on every page the model reads."""


def _api_keys(pool: LLMPool) -> list[str]:
    """The API keys of the pool's providers: masked wherever they might be echoed."""
    keys = []
    for c in getattr(pool, "_clients", ()):
        key = getattr(c.config, "api_key", None)
        value = key.get_secret_value() if key is not None else ""
        if len(value) >= API_KEY_MIN_CHARS:
            keys.append(value)
    return keys


def _open_pages(target: Page | Browser | None) -> set[Any]:
    """The Playwright pages open in the target's browser before a run starts."""
    browser = target.browser if isinstance(target, Page) else target
    return {p.playwright_page for p in browser.pages} if browser is not None else set()


def _page_wait(actions: Sequence[ActionRecord], reply_end: float) -> float:
    """Time spent in settle waits after the reply ended (before that they cost nothing)."""
    total = 0.0
    for a in actions:
        t = a.timings
        if "settle" not in t:
            continue
        start = a.start_ms + t.get("resolve", 0.0) + t.get("act", 0.0)
        end = start + t["settle"]
        total += max(0.0, end - max(start, reply_end))
    return total


def _can_settle_light(r: ActionRecord) -> bool:
    """Actions that cannot navigate by themselves (a click or Enter can)."""
    if r.name == "type":
        return not r.args.get("submit")
    return r.name in ("select", "check", "scroll")


async def _dispatch(
    page: Page,
    name: str,
    a: dict[str, Any],
    secrets: Secrets | None = None,
    *,
    file_urls: bool = False,
) -> ActionResult | str:
    """One built-in page action by name, with the arguments of prompts/tools.json."""
    if name == "click":
        return await page.click(a["ref"])
    if name == "type":
        text = str(a.get("text", ""))
        fill = _secret_filler(page, text, secrets)
        return await page.type(a["ref"], text, submit=bool(a.get("submit")), fill=fill)
    if name == "select":
        return await page.select(a["ref"], a["option"])
    if name == "check":
        return await page.check(a["ref"], bool(a.get("on", True)))
    if name == "scroll":
        return await page.scroll(a.get("direction", "down"), a.get("ref"))
    if name == "goto":
        url = str(a["url"])
        scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
        if page.browser is not None and page.browser.has_policy:
            return await page.goto(url, observe=True)  # the policy refuses all but http(s)
        if not (
            scheme in ("http", "https") or url == "about:blank" or (file_urls and scheme == "file")
        ):
            why = "file: URLs are off for this agent (Agent(file_urls=True) opens them)"
            if scheme != "file":
                why = f"the agent opens only http and https URLs, not {scheme or 'this'}:"
            raise PolicyBlockedError(f"goto failed: {why}")
        return await page.goto(url, observe=True)
    if name == "back":
        return await page.back()
    if name == "press":
        return await page.press(str(a["key"]), ref=a.get("ref"))
    if name == "wait_for":
        return await page.wait_for(a.get("text") or None)
    if name == "extract":
        fmt = "text" if a.get("format") == "text" else "markdown"
        ref = a.get("ref")
        text = await page.extract(fmt, ref=ref if ref is not None else None)
        if len(text) > EXTRACT_MAX_CHARS:
            more = len(text) - EXTRACT_MAX_CHARS
            text = text[:EXTRACT_MAX_CHARS] + f"\n… ({more} more characters)"
        return text
    raise PageError(f"unknown page action {name!r}")


def _secret_filler(page: Page, text: str, secrets: Secrets | None) -> Callable[[str], str] | None:
    """The value exists only here, on its way into the page, and only if the document
    holding the field (a frame's own origin, not the top page's) may have it."""
    if not secrets or "{{" not in text:
        return None

    def fill(origin: str) -> str:
        return secrets.substitute(text, origin, policy=page.browser)

    return fill


def _tool_result(result: ActionResult) -> str:
    """`_describe`'s line, made safe to put in a prompt: page-controlled parts (URLs,
    labels, file names) cannot open or close a block of ours, and the dialog's text,
    which the page wrote, goes inside the page's untrusted boundary."""
    line = _describe(result)
    d = result.dialog
    if d is not None and d.message:
        quoted = msgspec.structs.replace(d, message="its text is below")
        line = _describe(msgspec.structs.replace(result, dialog=quoted))
    if result.download is not None and result.download.error:
        line += f" ({result.download.error})"  # e.g. cancelled by the download caps
    line = escape_untrusted(line)
    if d is not None and d.message:
        line += f"\n{untrusted_block(d.message, source=f'{d.type} dialog')}"
    return line


def _describe(result: ActionResult) -> str:
    """The tool result the model reads: what happened, in one line, ending with what
    changed on the page (`ActionResult.summary`); "nothing on the page changed" is left
    out when something else already says what the action did."""
    parts = ["ok" if result.ok else f"error: {result.error}"]
    if result.note:
        parts.append(result.note)
    if result.target is not None and result.ref is not None and result.target != result.ref:
        parts.append(f"acted on [{result.target}], the re-rendered element")
    if result.navigated:
        parts.append(f"navigated to {result.url}")
    if result.new_pages:
        parts.append("opened " + ", ".join(result.new_pages))
    if result.dialog is not None:
        d = result.dialog
        parts.append(f'{d.type} "{d.message}" {"accepted" if d.accepted else "dismissed"}')
    if result.download is not None:
        parts.append(f"downloaded {result.download.suggested_filename}")
    if result.summary and (result.summary != NOTHING or len(parts) == 1):
        parts.append(result.summary)
    if not result.settled:
        parts.append("the page was still changing when observed")
    if result.closed:
        parts.append("the page closed")
    return "; ".join(parts)
