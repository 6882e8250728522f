"""The agent loop: observe → prompt → stream the decision, acting while it streams → repeat.

A step is one decision. Its observation is usually already there (the previous
action's settle produced it); the prompt is the byte-stable prefix plus the history
plus that observation; the model's first complete tool call starts executing while
the rest of the reply streams; page actions run in order, independent user tools
run concurrently; everything is timed on the session clock and bounded by the
`Budget`.

`_Run` holds one run's state; what it does besides the loop is in the modules of its
bases: `degrade` (overruns and remedies), `recovery` (a crashed page, closing what a cut
run opened), `outbound` (redaction of all that leaves the run, the recording header,
the result), `model_time` (spans of model calls). The reply's actions run in
`executor.Batch`; the last observation's standing is `freshness.Freshness`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from ..browser import Browser
from ..budget import Degradation
from ..churn import Churn
from ..exceptions import (
    BudgetExceededError,
    ConfigurationError,
    LLMError,
    PageClosedError,
    PageCrashedError,
    PageError,
)
from ..llm import (
    Action,
    LLMPool,
    ModelReply,
    load_system_prompt,
    observation_message,
    step_messages,
)
from ..observation import Observation
from ..page import Page
from ..recording import RecordingWriter
from ..records import ActionRecord, AgentResult, StepRecord, StopReason
from ..redaction import Redactor, install_log_redaction
from ..timing import STAGES, Span, Timeline
from .degrade import DegradePolicy
from .events import AgentEvent, StepFinished
from .executor import Batch, InCall
from .freshness import Freshness
from .model_time import ModelTime
from .outbound import Outbound, _api_keys
from .recovery import Recovery, open_pages
from .registry import ACTIONS

if TYPE_CHECKING:
    from ..cache.player import CachePlayer
    from .facade import Agent

log = logging.getLogger("browser_agent.agent")

BUILTIN_TOOLS = frozenset(ACTIONS)


class _Run(DegradePolicy, Recovery, Outbound, ModelTime):
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
        self.in_call: InCall | None = None
        """The model call under way, for the accounting of a step cut in the middle of it."""
        self.steps: list[StepRecord] = []
        self.view = Freshness()
        """The last observation and whether it still is the page as it is."""
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

    # -- start-up

    async def run_to_end(
        self, stack: contextlib.AsyncExitStack, target: Page | Browser | None
    ) -> AgentResult:
        tl = self.tl
        if self.recorder is not None:
            self.recorder.header(self.recording_header(target))
        kept = open_pages(target)  # a cut run closes only the pages it opened
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
                    first = await page.observe(max_chars=cap)
                except PageCrashedError:
                    new = await self.recover(StepRecord(n=0), page)
                    if new is None:
                        raise
                    first = await new.observe(max_chars=cap)
            self.view.taken(first)
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
                self.view.stale()
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
            obs = self.view.reusable()
            if obs is not None:
                s.attrs["reused"] = True
            else:
                self.view.early = False
                obs = await self.fresh_observation(rec, page)
        if obs is None:
            return None
        self.use_observation(obs, rec)
        return obs

    def use_observation(self, obs: Observation, rec: StepRecord) -> None:
        """Make `obs` the step's observation (what the prompt and the recording show)."""
        self.view.taken(obs)
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
        early = self.view.take_early()
        until, hold = self.view.take_watch()
        if not await self.call(messages, obs, rec, parent, confirm=early, until=until, hold=hold):
            return
        # The page moved after the early observation: look again and call again.
        page = self.page
        assert page is not None
        with self.tl.span("observe", parent=parent, step=rec.n):
            fresh = await self.fresh_observation(rec, page)
        if fresh is None:
            return
        self.use_observation(fresh, rec)
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
        batch = Batch(self, rec, parent, obs)
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
        self.in_call = call = InCall(t0, parent)
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
        self.take_reply(reply, batch, rec, parent, start, tl.at(t1))
        return False

    def take_reply(
        self,
        reply: ModelReply,
        batch: Batch,
        rec: StepRecord,
        parent: Span,
        start: float,
        returned: float,
    ) -> None:
        """Account for a complete reply and add it, with its tool results, to the history."""
        tl = self.tl
        rec.reply = reply
        self.tokens += reply.usage.prompt_tokens + reply.usage.completion_tokens
        self.llm_spans(reply, start, returned, rec, parent)
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
            done = batch.records.get(action.id)
            if done is None:  # never handed to us (cannot happen with a callback): say so
                done = batch.skip(action, "not run")
            results[action.id] = done.result
        new = self.seal(step_messages(reply, results))
        self.history.extend(new)
        self.history_chars += sum(len(str(m.get("content") or "")) for m in new)
        self.history_chars += sum(
            len(tc["function"]["arguments"]) for m in new for tc in m.get("tool_calls", ())
        )
        self.agent.history = self.history


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
