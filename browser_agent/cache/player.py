"""Replay, then hand over: the steps of a cached run without the model, the rest with it.

`Agent(cache=DIR)` gives each run a `CachePlayer`. Before every step the agent asks it
(`step(n)`) whether the page is where a step of the cached run began: at the URL the
recording shows, with the step's first target found (by its ref, or re-targeted by its
fingerprint), or for a step without a target, under the same title. If so, the step is
replayed as step n with no model call: each action is checked before it runs (its target
found again, a value it types read again if the model had read it off a page), and after
it the runner waits for the state the recording shows next. If not, the model takes step
n on the current page, with the replayed steps in its history and a note saying where
the page differed; after each of its steps the runner looks whether the page is back at
a cached step further on, and replays from there. `done` answers with the values read
again from the live page (see `values`); when they cannot be, that step is the model's.

Every run records itself into a partial file of the cache (beside a `record=` file, if
any); when the run succeeds, that recording replaces the entry (`ActionCache.commit`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio
import msgspec
from pydantic import BaseModel, ValidationError

from ..agent.events import ActionFinished, ActionStarted, AgentEvent, StepFinished
from ..agent.freshness import Freshness
from ..agent.registry import RunContext, run_action, tool_result
from ..budget import Budget
from ..exceptions import PageError
from ..llm import (
    Action,
    CallTimings,
    ModelReply,
    Usage,
    escape_untrusted,
    step_messages,
    untrusted_block,
)
from ..observation import Observation
from ..page import Page
from ..recording import (
    MASK,
    ActionLine,
    Fingerprint,
    Header,
    RecordedStep,
    Recording,
    RecordingWriter,
)
from ..records import ActionRecord, AgentResult, CacheSummary, StepRecord
from ..redaction import Redactor
from ..replay import Rebase, ReplayContext, describe_line, expect_bound, locate, runnable, same_url
from ..secrets import Secrets
from ..timing import Event, Span, Timeline
from .store import ActionCache, CacheError, Miss
from .values import derive, recompute

log = logging.getLogger("browser_agent.cache")

ACTION_TIMEOUT_S = 30.0
"""Upper bound on one replayed action (its own settle is bounded more tightly)."""
ACTIONABLE_MIN_S = 1.0
"""A replayed target may take this long (or 3× what it took when recorded) to become
visible, enabled and unobscured; past it, the page differs (a dialog over it…) and the
model is asked, rather than waiting out the action's full timeout."""


class Host(Protocol):
    """What the player uses of the agent's run (`browser_agent.agent._loop._Run`)."""

    agent: Any
    tools: list[dict[str, Any]]
    tl: Timeline
    budget: Budget
    page: Page | None
    view: Freshness
    history: list[dict[str, Any]]
    history_chars: int
    notes: list[str]
    finished: tuple[bool, Any] | None
    recorder: Any
    secrets: Secrets
    redactor: Redactor
    step_obs: Observation | None

    def remaining(self) -> float: ...
    def seal(self, messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]: ...
    def use_observation(self, obs: Observation, rec: StepRecord) -> None: ...
    def finish_step(self, rec: StepRecord, span: Span) -> None: ...
    async def emit(self, event: AgentEvent | None) -> None: ...


class _Diverged(Exception):
    """The live page is not what the cached step expects: the model takes over."""


class _Prepared(msgspec.Struct):
    """A cached action made ready for the live page."""

    args: dict[str, Any]
    label: str = ""
    how: str = ""
    changed: tuple[tuple[str, str], ...] = ()
    answer: Any = None


def replayable(a: ActionLine) -> bool:
    """An action that did something when recorded: a page action that worked, or done."""
    return runnable(a) or (a.kind == "done" and a.ok and not a.skipped)


def _counts(a: ActionLine) -> bool:
    """An action that makes its step worth replaying, or (a user tool) handing over."""
    return replayable(a) or (a.kind == "tool" and a.ok and not a.skipped)


def _first_target(step: RecordedStep) -> Fingerprint | None:
    for a in step.actions:
        if replayable(a):
            return a.target
    return None


@contextmanager
def _light(page: Page, a: ActionLine) -> Iterator[None]:
    """A replayed action's own settle: no quiet window (the wait for what the recording
    shows next replaces it), and after an action that loaded a page when recorded, no
    wait for the new page's subresources and no observation (that wait observes the
    page as soon as the next target is there). Its target gets `ACTIONABLE_MIN_S`."""
    settle, act = page.settle_settings, page.action_settings
    update: dict[str, Any] = {"quiet_ms": 0.0}
    if a.navigated:
        update.update(network=False, observe=False)
    took = (a.timings.get("resolve", 0.0) + a.timings.get("act", 0.0)) / 1000
    bound = min(act.timeout, max(ACTIONABLE_MIN_S, 3 * took))
    page.settle_settings = settle.model_copy(update=update)
    page.action_settings = act.model_copy(update={"timeout": bound})
    try:
        yield
    finally:
        page.settle_settings, page.action_settings = settle, act


class _EntryWriter(RecordingWriter):
    """The run's recording into the cache's partial file; its footer ends the run."""

    def __init__(self, player: CachePlayer, path: Path, redactor: Redactor) -> None:
        super().__init__(path, redactor=redactor)
        self.player = player

    def header(self, header: Header) -> None:
        extra = {"cache_key": self.player.key, "cache_start": self.player.start}
        super().header(msgspec.structs.replace(header, settings={**header.settings, **extra}))

    def footer(self, result: AgentResult, *, browser: str = "") -> None:
        super().footer(result, browser=browser)
        self.player.finish(result)


class RecorderTee:
    """Two recording writers fed the same lines: the user's `record=` file and the cache's."""

    def __init__(self, *writers: RecordingWriter) -> None:
        self.writers = writers

    def header(self, header: Header) -> None:
        for w in self.writers:
            w.header(header)

    async def capture(self, page: Page, *refs: int) -> None:
        for w in self.writers:
            await w.capture(page, *refs)

    def step(self, *args: Any, **kw: Any) -> None:
        for w in self.writers:
            w.step(*args, **kw)

    def footer(self, result: AgentResult, *, browser: str = "") -> None:
        for w in self.writers:
            w.footer(result, browser=browser)


class CachePlayer:
    """One run's use of the cache: look up, replay, hand over, resume, store."""

    def __init__(self, cache: ActionCache, run: Host, start: str | None) -> None:
        self.cache = cache
        self.run = run
        self.start = start or ""
        """The live start URL: recorded URLs are mapped onto it."""
        self.key = cache.key_for(run.agent.task, start, run.tools)
        self.summary = CacheSummary(key=self.key)
        self.entry: Recording | None = None
        self.steps: list[RecordedStep] = []
        """The cached steps that did something, in order."""
        self.looked = False
        self.pos = 0
        """The cached step expected next."""
        self.diverged: str | None = None
        """Why the page left the cached run (None while it follows it)."""
        self.model_turn = False
        """A replayed step just failed on the page: the next step is the model's."""
        self.replayed = 0
        self.live: dict[int, str] = {}
        """Cached step -> the live page it was replayed on (values are read from it)."""
        self.ctx: ReplayContext | None = None
        self.rebase = Rebase(None, None)
        self.recorded_start = ""
        self.writer: _EntryWriter | None = None
        self.partial: Path | None = None
        self.ended = False

    # -- lifecycle

    def __enter__(self) -> CachePlayer:
        run = self.run
        self.partial = self.cache.partial()
        writer = self.writer = _EntryWriter(self, self.partial, run.redactor)
        writer.__enter__()
        run.recorder = RecorderTee(run.recorder, writer) if run.recorder else writer
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ctx is not None:
            self.ctx.navs.close()
            self.ctx = None
        if self.writer is not None:
            self.writer.__exit__()
        if not self.ended and self.partial is not None:
            self.cache.discard(self.partial)

    def finish(self, result: AgentResult) -> None:
        """The run ended (its footer is written): store its recording if it succeeded."""
        self.ended = True
        s = self.summary
        s.model_steps = [r.n for r in result.steps if r.source == "model"]
        s.cached_steps = [r.n for r in result.steps if r.source == "cache"]
        if s.cached_steps:
            s.outcome = "partial" if s.model_steps else "hit"
        red = self.run.redactor.text  # page text and values read off pages: like any output
        for lines in (s.diverged, s.resumed, s.retargeted, s.recomputed):
            lines[:] = [red(x) for x in lines]
        assert self.writer is not None and self.partial is not None
        self.writer.__exit__()
        if result.success and result.reason == "done":
            try:
                self.cache.commit(self.partial, self.key)
                s.stored = True
            except CacheError as exc:
                s.error = str(exc)
        else:
            self.cache.discard(self.partial)
        result.cache = s

    # -- the run's look at the page (what the model's next step would prompt with)

    def _adopt(self, obs: Observation, rec: StepRecord) -> None:
        """The step's observation; a replayed step is checked as it goes, so nothing
        is left to confirm or watch from the step before."""
        self.run.use_observation(obs, rec)
        self.run.view.checked()

    # -- looking up

    def _look(self) -> None:
        self.looked = True
        found = self.cache.load(self.key)
        if isinstance(found, Miss):
            self.summary.miss = found.reason
            return
        self.entry = found
        self.steps = [s for s in found.steps if any(_counts(a) for a in s.actions)]
        self.recorded_start = str(found.header.settings.get("cache_start") or "")
        self.rebase = Rebase(self.recorded_start or None, self.start or None)
        if not self.steps:
            self.entry, self.summary.miss = None, "the entry has no steps"

    def _url(self, recorded: str) -> str:
        """A recorded URL on the live site: the start URL (whatever its query), rebased."""
        if recorded and recorded == self.recorded_start:
            return self.start
        return self.rebase(recorded)

    def _page(self) -> Page:
        page = self.run.page
        assert page is not None
        if self.ctx is None or self.ctx.page is not page:
            if self.ctx is not None:
                self.ctx.navs.close()
            legacy = self.entry is not None and self.entry.header.version < 2
            self.ctx = ReplayContext(page, legacy=legacy)
        return page

    async def _check(self, k: int, obs: Observation) -> str | None:
        """Why the page is not where cached step `k` began, or its first action cannot
        run on it (None when both are fine)."""
        step = self.steps[k]
        want = self._url(step.line.url)
        if want and not same_url(want, obs.url):
            return f"expected the page {want}, got {obs.url}"
        tools = sorted({a.name for a in step.actions if a.kind == "tool" and a.ok})
        if tools:
            return f"the cached step called {', '.join(tools)}, a tool the cache does not replay"
        first = next(a for a in step.actions if replayable(a))
        if first.target is None and step.line.title != obs.title:
            return f"expected the page titled {step.line.title!r}, got {obs.title!r}"
        try:
            await self._prepare(k, first, obs, {**self.live, k: obs.text})
        except _Diverged as exc:
            return str(exc)
        return None

    async def _prepare(
        self, k: int, a: ActionLine, obs: Observation, live: dict[int, str]
    ) -> _Prepared:
        """What cached action `a` does on the live page: its target found again, values
        it types or answers read again. Raises _Diverged when it cannot run there."""
        args = dict(a.args)
        out = _Prepared(args=args)
        if a.kind == "done":
            out.answer, out.changed = self._answer(k, a, live)
            return out
        if a.target is not None:
            assert self.ctx is not None
            found = await locate(self.ctx.page, a.target, obs, legacy=self.ctx.legacy)
            if found is None:
                raise _Diverged(f"no {a.target.role} {a.target.name!r} on the page")
            ref, out.how = found
            args["ref"] = ref
            el = obs.elements.get(ref)
            out.label = f"[{ref}] {el.label}" if el is not None else f"[{ref}]"
        elif a.name == "goto":
            args["url"] = out.label = self._url(str(args.get("url", "")))
        if a.name == "type":
            args["text"], out.changed = self._typed(k, str(args.get("text", "")), live)
        return out

    # -- a step

    async def step(self, n: int) -> bool:
        """Replay the cached step the page is at as step `n`; False: the model takes it.

        A bug of the cache's own (an unexpected exception) never ends the run: it is
        logged, the cache is set aside for the rest of the run, and the model goes on."""
        try:
            return await self._step(n)
        except Exception as exc:
            log.warning("the action cache failed; the model goes on", exc_info=True)
            self.entry = None
            self.summary.diverged.append(f"step {n}: the cache failed: {type(exc).__name__}")
            return False

    async def _step(self, n: int) -> bool:
        run = self.run
        if not self.looked:
            self._look()
        if self.entry is None or self.pos >= len(self.steps) or run.page is None:
            return False
        if self.model_turn:
            self.model_turn = False
            return False
        page = self._page()
        t0 = time.perf_counter()
        obs = run.view.reusable()
        if obs is None:
            try:
                obs = await page.observe(max_chars=run.budget.max_observation_chars)
            except Exception:  # crashed, closed, choked: the model's step observes and says so
                return False
        first_why = None
        wanted = [self.pos] if self.diverged is None else range(self.pos, len(self.steps))
        for k in wanted:
            why = await self._check(k, obs)
            if why is None:
                await self._replay(n, k, obs, t0)
                return True
            first_why = first_why or why
        if self.diverged is None:
            self._diverge(n, first_why or "the page differs")
        return False

    def _diverge(self, n: int, why: str) -> Event:
        """The model takes over from here: say why, to the report and to the model."""
        run = self.run
        self.diverged = why
        self.summary.diverged.append(f"step {n}: {why}")
        ev = run.tl.event("cache", step=n, detail=f"the page differs from the cached run: {why}")
        if self.replayed:
            run.notes.append(
                f"Note: {self.replayed} step(s) of this task were replayed from the action "
                "cache, a recording of an earlier successful run; their actions and results "
                f"are above. The page now differs from that run ({why}). Go on with the task "
                "from this page."
            )
        return ev

    async def _replay(self, n: int, k: int, obs: Observation, t0: float) -> None:
        run = self.run
        tl = run.tl
        step = self.steps[k]
        rec = StepRecord(n=n, source="cache")
        span = tl.begin("step", parent=tl.root, step=n, source="cache")
        span.start_ms = min(span.start_ms, tl.at(t0))
        tl.add("observe", tl.at(t0), tl.now(), parent=span, step=n, reused=obs is run.view.obs)
        self._adopt(obs, rec)
        if self.diverged is not None:
            detail = f"back on the cached run at its step {step.n}; replaying from there"
            rec.events.append(tl.event("cache", step=n, detail=detail))
            self.summary.resumed.append(f"step {n}: cached step {step.n}")
            self.diverged = None
        self.live[k] = obs.text
        nxt = self.steps[k + 1] if k + 1 < len(self.steps) else None
        actions = [a for a in step.actions if replayable(a)]
        why = None
        ran = 0
        try:
            for i, a in enumerate(actions):
                after = actions[i + 1].target if i + 1 < len(actions) else None
                last = i == len(actions) - 1
                obs = await self._action(n, k, a, obs, rec, span, i, after, nxt if last else None)
                ran += 1
        except _Diverged as exc:
            why = str(exc)
        if why is None:
            detail = f"replayed the cached step {step.n} without the model"
            rec.events.append(tl.event("cache", step=n, detail=detail))
        tl.end(span)
        self.replayed += 1
        self.pos = k + 1 if ran else k
        if why is not None:
            rec.events.append(self._diverge(n, why))
            self.model_turn = True
        run.finish_step(rec, span)
        if run.recorder is not None:
            page = run.page
            run.recorder.step(rec, run.step_obs, seen=page.seen if page is not None else None)
        if run.finished is None:
            self._remember(rec)
        await run.emit(StepFinished(rec))

    def _remember(self, rec: StepRecord) -> None:
        """The replayed actions and their results join the model's history, as if it had
        made them: the model that takes over knows what was done."""
        run = self.run
        done = [r for r in rec.actions if r.kind == "page"]
        if not done:
            return
        actions = [Action(r.id, r.name, r.args) for r in done]
        raw = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": r.id,
                    "type": "function",
                    "function": {"name": r.name, "arguments": json.dumps(r.args)},
                }
                for r in done
            ],
        }
        reply = ModelReply(text="", actions=actions, raw=raw, usage=Usage(), timings=CallTimings())
        new = run.seal(step_messages(reply, {r.id: r.result for r in done}))
        run.history.extend(new)
        run.history_chars += sum(len(str(m.get("content") or "")) for m in new)
        run.history_chars += sum(
            len(tc["function"]["arguments"]) for m in new for tc in m.get("tool_calls", ())
        )
        run.agent.history = run.history

    async def _action(
        self,
        n: int,
        k: int,
        a: ActionLine,
        obs: Observation,
        rec: StepRecord,
        span: Span,
        i: int,
        after: Fingerprint | None,
        nxt: RecordedStep | None,
    ) -> Observation:
        """Check and run one cached action; returns the page after it. Raises _Diverged."""
        run = self.run
        tl = run.tl
        prep = await self._prepare(k, a, obs, self.live)
        args = prep.args
        kind: Literal["page", "done"] = "done" if a.kind == "done" else "page"
        r = ActionRecord(id=f"cache_{n}_{i}", name=a.name, args=args, kind=kind)
        r.label = prep.label
        self._recomputed(n, prep.changed)
        if prep.how not in ("ref", ""):
            self.summary.retargeted.append(f"step {n}: {describe_line(a)} by {prep.how}")
            r.timings["retargeted"] = 1.0
        if a.kind == "done":
            self._finish(r, a, prep, rec)
            await run.emit(ActionStarted(n, r, obs.url))
            await run.emit(ActionFinished(n, r))
            return obs
        assert self.ctx is not None
        page = self.ctx.page
        rec.actions.append(r)
        await run.emit(ActionStarted(n, r, obs.url))
        t0 = time.perf_counter()
        r.start_ms = tl.at(t0)
        navs = self.ctx.navs.count
        ref = args.get("ref")
        result: Any = None
        try:
            if run.recorder is not None and isinstance(ref, int):
                await run.recorder.capture(page, ref)  # the target's DOM path, as recorded
            limit = min(ACTION_TIMEOUT_S, run.budget.act_s, max(run.remaining(), 0.001))
            with anyio.fail_after(limit), _light(page, a):
                context = RunContext(run.secrets, file_urls=run.agent.file_urls)
                result = await run_action(page, a.name, args, context)
        except (PageError, TimeoutError) as exc:
            r.ok, r.error = False, str(exc) or type(exc).__name__
        except Exception as exc:  # a bug, or page text the serializer choked on
            log.debug("replaying %s failed", a.name, exc_info=True)
            r.ok, r.error = False, f"{a.name} failed: {type(exc).__name__}: {exc}"
        if r.error is not None:
            r.result = f"error: {escape_untrusted(r.error)}"  # the page may have written it
        acted = time.perf_counter()
        if isinstance(result, str):  # extract: what the model would have read
            r.result = untrusted_block(result, source="extract", url=page.url)
        elif result is not None:
            r.timings.update(result.timings)
            r.ok, r.error = result.ok, result.error
            r.navigated, r.url = result.navigated, result.url
            r.result = tool_result(result)
            t = result.timings
            acted = t0 + (t.get("resolve", 0.0) + t.get("act", 0.0)) / 1000
        if not r.ok:
            self.run.view.stale()
            r.end_ms = tl.now()
            tl.add("act", r.start_ms, r.end_ms, parent=span, step=n, action=a.name)
            await run.emit(ActionFinished(n, r))
            raise _Diverged(f"{describe_line(a)} failed: {r.error}")
        # Wait for what the recording shows next: within the step the next target, after
        # its last action the next step's URL and first target.
        url = self._url(nxt.line.url) if nxt is not None and nxt.line.url else None
        target = after if nxt is None else _first_target(nxt)
        before = result.observation if result is not None and not isinstance(result, str) else None
        new, _ = await self.ctx.expect(
            before,
            url=url,
            after_nav=navs if a.navigated else None,
            target=target,
            bound=expect_bound(a, page),
        )
        r.end_ms = tl.now()
        tl.add("act", r.start_ms, tl.at(acted), parent=span, step=n, action=a.name)
        tl.add("settle", tl.at(acted), r.end_ms, parent=span, step=n, action=a.name)
        await run.emit(ActionFinished(n, r))
        if new is None:
            self.run.view.stale()
            raise _Diverged(f"the page could not be observed after {describe_line(a)}")
        self.run.view.taken(new)
        return new

    def _pages(self, k: int) -> dict[int, str]:
        """The recorded pages of the cached steps up to `k` (where values were read)."""
        return {j: self.steps[j].text for j in range(k + 1)}

    def _typed(
        self, k: int, text: str, live: dict[int, str]
    ) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The text to type: as recorded, with values the model had read off a page read
        again from the live one. Raises _Diverged when that cannot be done."""
        if MASK in text:
            raise _Diverged("the typed value was masked in the cache (pass it as a secret)")
        template = derive(text, self.run.agent.task, self._pages(k))
        if template is None:
            raise _Diverged(f"the typed text {text!r} holds a value no page showed")
        if not template.slots:
            return text, ()
        again = recompute(template, live)
        if again is None:
            raise _Diverged(f"a value typed into the page is no longer shown: {text!r}")
        return again.text, again.changed

    def _recomputed(self, n: int, changed: Sequence[tuple[str, str]]) -> None:
        for old, new in changed:
            self.summary.recomputed.append(f"step {n}: {old} -> {new}")

    def _answer(
        self, k: int, a: ActionLine, live: dict[int, str]
    ) -> tuple[Any, tuple[tuple[str, str], ...]]:
        """The cached answer with the values it holds read again from the live pages;
        raises _Diverged when it cannot be (the model answers instead)."""
        run = self.run
        success = bool(a.args.get("success", True))
        raw = a.args.get("result", "")
        text = raw if isinstance(raw, str) else json.dumps(raw)
        template = derive(text, run.agent.task, self._pages(k))
        if template is None:
            raise _Diverged("the answer holds a value the model worked out, not read")
        again = recompute(template, live)
        if again is None:
            raise _Diverged("a value of the cached answer is no longer on the page")
        output: Any = again.text
        model: type[BaseModel] | None = run.agent.output_model
        try:
            if not isinstance(raw, str) or (model is not None and success):
                output = json.loads(again.text)
            if model is not None and success:
                output = model.model_validate(output)
            elif not isinstance(raw, str):
                output = json.dumps(output)
        except (ValueError, ValidationError):
            raise _Diverged("the answer read again does not fit its schema") from None
        return output, again.changed

    def _finish(self, r: ActionRecord, a: ActionLine, prep: _Prepared, rec: StepRecord) -> None:
        """Run a cached done: the run ends with the answer read again."""
        run = self.run
        success = bool(a.args.get("success", True))
        out = prep.answer
        r.args["result"] = out.model_dump(mode="json") if isinstance(out, BaseModel) else out
        r.result, r.start_ms = "ok: finished", run.tl.now()
        r.end_ms = r.start_ms
        rec.actions.append(r)
        run.finished = (success, out)
