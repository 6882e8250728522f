"""The actions of one model reply, run as they stream in (see `Batch`)."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import ValidationError

from ..actions import ActionResult
from ..exceptions import (
    PageClosedError,
    PageError,
    StaleRefError,
    ToolError,
)
from ..llm import (
    Action,
    ModelReply,
    escape_untrusted,
    untrusted_block,
)
from ..observation import Observation
from ..page import Page
from ..records import ActionRecord, StepRecord
from ..settle import SettleSettings
from ..timing import Span
from ..tools import Tool, validation_message
from .events import ActionFinished, ActionStarted
from .registry import ACTIONS, PAGE_ACTIONS, RunContext, run_action, tool_result

if TYPE_CHECKING:
    from ._loop import _Run

log = logging.getLogger("browser_agent.agent")

HOLD_MARGIN_S = 0.25
"""How long past its window a held action waits for the late-UI check to finish."""


class InCall:
    """A model call under way: when it started, and its reply once it came."""

    __slots__ = ("parent", "reply", "t0", "t1")

    def __init__(self, t0: float, parent: Span) -> None:
        self.t0, self.t1, self.parent = t0, t0, parent
        self.reply: ModelReply | None = None


class Batch:
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
        spec = ACTIONS.get(action.name)
        return spec.label(args) if spec is not None else ""

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
                self.settle_lightly(self.running, superseded=True)

    async def before_acting(self) -> None:
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

    def settle_lightly(self, r: ActionRecord, *, superseded: bool) -> None:
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
                await self.before_acting()
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
        await self.before_acting()
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
            run.view.stale()  # it may have changed the page
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
        light = not ACTIONS[r.name].may_navigate(r.args)
        if light or speculate:
            self.running = r
            if (more and light) or speculate:
                self.settle_lightly(r, superseded=more)
        try:
            with anyio.move_on_after(limit) as scope:
                try:
                    ref = r.args.get("ref")
                    if run.recorder is not None and isinstance(ref, int):
                        await run.recorder.capture(page, ref)  # the target's DOM path
                    ctx = RunContext(run.secrets, file_urls=run.agent.file_urls)
                    result = await run_action(page, r.name, r.args, ctx)
                finally:
                    page.settle_settings = full
                    self.running = self.full_settle = None
        except Exception as exc:
            self.raised(r, exc, page)
        t1 = time.perf_counter()
        start, end = tl.at(t0), tl.at(t1)
        r.end_ms = end
        if result is None:
            if scope.cancelled_caught:
                run.view.stale()
                self.fail(r, f"{r.name} did not finish within {limit:g} s")
                run.overrun("act", self.rec, limit * 1000, (t1 - t0) * 1000)
            tl.add("act", start, end, parent=self.parent, step=self.rec.n, action=r.name)
            return
        if isinstance(result, str):  # extract: it read the page as it is now
            r.result = untrusted_block(result, source="extract", url=page.url)
            # The page may have moved since the last observation (the extract shows it):
            # the next step must not be prompted with an older look than the extract's.
            run.view.stale()
            tl.add("act", start, end, parent=self.parent, step=self.rec.n, action=r.name)
            return
        self.settled(r, result, t0, start, end, full)

    def raised(self, r: ActionRecord, exc: Exception, page: Page) -> None:
        """An action that raised: a typed error is the model's to read, anything else is a
        bug or page text the serializer choked on (said, and logged at debug)."""
        run = self.run
        if isinstance(exc, PageClosedError) and not page.crashed:
            run.page_closed = True
            self.fail(r, str(exc), why="the page was closed")
            return
        run.view.stale()
        if isinstance(exc, StaleRefError):
            self.fail(r, str(exc), why=f"the page changed under the reply ({exc})")
        elif isinstance(exc, PageClosedError):  # crashed: the next observation reopens it
            self.fail(r, "the page crashed", why="the page crashed")
        elif isinstance(exc, PageError):
            self.fail(r, str(exc))
        else:
            log.debug("%s failed", r.name, exc_info=exc)
            self.fail(r, f"{r.name} failed: {type(exc).__name__}: {exc}")

    def settled(
        self,
        r: ActionRecord,
        result: ActionResult,
        t0: float,
        start: float,
        end: float,
        full: SettleSettings,
    ) -> None:
        """An action that ran: its spans, its tool result, what the run now knows of the
        page, and whether the rest of the reply may still run."""
        run, tl = self.run, self.run.tl
        page = run.page
        assert page is not None
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
        r.result = tool_result(result)
        if result.observation is not None:
            # UI the action set on its way may still come: the next call watches for it.
            watch = None
            if full.ui_ms > 0:
                acted = t0 + (t.get("resolve", 0.0) + t.get("act", 0.0)) / 1000
                watch = (acted + full.ui_ms / 1000, result.late_ui)
            light = "light_settle" in r.timings
            run.view.settled_after_action(
                result.observation, light=light, speculate=run.agent.speculate, watch=watch
            )
        else:
            run.view.stale()
        if not result.settled:
            limit_ms = page.settle_settings.timeout * 1000
            settle_ms = t.get("settle", 0.0)
            run.overrun("settle", self.rec, limit_ms, settle_ms, "the page kept changing")
        if page.crashed:
            run.view.stale()
            self.stopped = "the page crashed"
        elif result.closed:
            run.page_closed = True
            self.stopped = "the page was closed"
        elif result.navigated:
            self.stopped = f"the page navigated to {result.url} after {r.name} {r.label}".rstrip()
        elif not result.ok:
            self.stopped = f"the earlier action {r.name} {r.label} failed"
