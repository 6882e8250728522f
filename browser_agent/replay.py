"""Re-running a recording without a model: self-healing targets, checked page state.

Each recorded page action is executed again on a live page. Its target is the
recorded ref when that element still has the recorded role and name; otherwise it is
found by its fingerprint: role + name first, then text, then its DOM path. After each
action the rerun waits exactly until the page shows what the recording shows next
(the next URL and, after a navigation, its document; the next action's target), each
wait driven by page events and bounded; only a state that does not come within the
bound falls back to the full settle. URLs are rebased from the recorded start URL
onto the live one, so another host or folder works. A step whose target cannot be
found is a divergence: it is reported, and with a fallback model it is handed to the
model instead of failing the rerun.

```
report = await rerun("session.jsonl", page, start_url=url)
print(report.ok, report.rerun_ms, report.recorded_ms)
```
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import anyio
import msgspec
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame
from rich.text import Text

from .agent.registry import run_action
from .browser import Browser
from .demo import is_demo_recording, order_problems
from .exceptions import ContextGoneError, PageError
from .observation import Element, Observation
from .page import Page
from .recording import (
    MASK,
    ActionLine,
    Fingerprint,
    RecordedStep,
    Recording,
    RecordingFile,
    legacy_path,
    read,
)
from .testing import FixtureServer

How = Literal["ref", "role+name", "text", "path", ""]
Wait = Literal["expected", "settled", ""]

ACTION_TIMEOUT_S = 30.0
"""Upper bound on one re-executed action (its own settle is bounded more tightly)."""
EXPECT_MIN_S = 0.5
EXPECT_FACTOR = 3.0
"""The next state may take this many times what the recorded action took (at least
`EXPECT_MIN_S`, at most the page's settle timeout) before the full settle takes over."""
START_S = 2.0
"""How long the first target may take to show after the start page's DOMContentLoaded
(pages that render from script) before the full settle takes over."""
RECHECK_S = 0.1
"""Longest wait for a DOM change before looking for the target again: a change that
lands between a look and the wait is not missed for longer than this."""


class ActionOutcome(msgspec.Struct):
    name: str
    label: str = ""
    recorded_ref: int | None = None
    ref: int | None = None
    how: How = ""
    """How the target was found: the same ref, or by which part of its fingerprint."""
    ok: bool = True
    error: str | None = None
    wait: Wait = ""
    """How the wait after it ended: the expected state showed, or the full settle ran."""
    wait_ms: float = 0.0


class StepOutcome(msgspec.Struct):
    session: int
    step: int
    ok: bool = True
    actions: list[ActionOutcome] = msgspec.field(default_factory=list)
    divergence: str | None = None
    """What differed from the recording (None when nothing did)."""
    fallback: bool = False
    """The step was handed to the fallback model."""
    expected_url: str = ""
    url: str = ""
    ms: float = 0.0
    recorded_ms: float = 0.0


class RerunReport(msgspec.Struct):
    ok: bool
    steps: list[StepOutcome]
    recorded_ms: float
    rerun_ms: float
    torn: bool = False
    problem: str | None = None
    """Why the rerun failed when no single step says it: nothing to re-run, or the page
    it ended on is not the one the recording ended on."""

    @property
    def divergences(self) -> list[StepOutcome]:
        return [s for s in self.steps if s.divergence is not None]

    @property
    def ratio(self) -> float:
        """Rerun time over recorded time (0 when nothing was recorded)."""
        return self.rerun_ms / self.recorded_ms if self.recorded_ms else 0.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self)
        data["ratio"] = round(self.ratio, 4)
        data["divergences"] = [
            {"session": s.session, "step": s.step, "divergence": s.divergence}
            for s in self.divergences
        ]
        return data


FallbackFn = Callable[[Page, Recording, RecordedStep, str], Awaitable[bool]]
"""Hand a divergent step to a model: (page, recording, step, why) -> whether it worked."""


# -------------------------------------------------------------------------- targets


def find_target(
    fp: Fingerprint, obs: Observation, *, legacy: bool = False
) -> tuple[int, How] | None:
    """The element `fp` describes in `obs`, without asking the page: the same ref if it
    still matches, else by role + name (the nth duplicate), then text. With `legacy`
    (a version-1 recording) its path is an observation path, matched here too."""
    els = list(obs.elements.values())
    same = obs.elements.get(fp.ref)
    if same is not None and same.role == fp.role and same.name == fp.name:
        return fp.ref, "ref"
    if fp.name:
        named = [e for e in els if e.role == fp.role and e.name == fp.name]
        if named:
            return named[min(fp.nth, len(named) - 1)].ref, "role+name"
        key = fp.name.casefold().strip()
        texts = [e for e in els if e.name.casefold().strip() == key]
        if not texts:
            texts = [e for e in els if e.role == fp.role and key and key in e.name.casefold()]
        if texts:
            return texts[0].ref, "text"
    if legacy and fp.path:
        for e in els:
            if e.tag == fp.tag and e.role == fp.role and legacy_path(obs, e) == fp.path:
                return e.ref, "path"
    return None


async def locate(
    page: Page, fp: Fingerprint, obs: Observation, *, legacy: bool = False
) -> tuple[int, How] | None:
    """`find_target`, then the recorded DOM path resolved in the page (one call)."""
    found = find_target(fp, obs, legacy=legacy)
    if found is not None or legacy or not fp.path:
        return found
    try:
        ref = await page.call_in_page("findPath", {"path": fp.path})
    except PageError:
        return None
    el: Element | None = obs.elements.get(ref) if isinstance(ref, int) else None
    if el is None or (fp.tag and el.tag != fp.tag):
        return None  # not what the model could see, or another kind of element
    return el.ref, "path"


def runnable(a: ActionLine) -> bool:
    """A recorded action worth running again (the rerun and the action cache)."""
    return not a.skipped and a.kind == "page" and a.ok  # others did nothing when recorded


def _first_target(step: RecordedStep | None) -> Fingerprint | None:
    if step is None:
        return None
    for a in step.actions:
        if runnable(a):
            return a.target
    return None


def describe_line(a: ActionLine) -> str:
    """A recorded action in a few words, by its target's role and name when it has one."""
    if a.target is not None and a.target.role:
        return f'{a.name} {a.target.role} "{a.target.name}"'
    return f"{a.name} {a.label}".strip()


# ------------------------------------------------------------------------ URLs


class Rebase:
    """Maps recorded URLs onto the live site: the recorded start URL's folder becomes
    the live start URL's folder (same for the origin)."""

    def __init__(self, recorded: str | None, live: str | None) -> None:
        self.pairs: list[tuple[str, str]] = []
        if recorded and live and recorded != live:
            self.pairs.append((recorded.rsplit("/", 1)[0] + "/", live.rsplit("/", 1)[0] + "/"))
            self.pairs.append((_origin(recorded), _origin(live)))

    def __call__(self, url: str) -> str:
        for old, new in self.pairs:
            if url.startswith(old):
                return new + url[len(old) :]
        return url


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/"


def same_url(a: str, b: str) -> bool:
    """The same page, whatever its fragment or a trailing slash."""
    return a.split("#", 1)[0].rstrip("/") == b.split("#", 1)[0].rstrip("/")


# ---------------------------------------------------------------------- waiting


class _Navigations:
    """Counts the page's main-frame navigations as they commit, so a wait for "the
    page went to URL X" is woken by the event, never by polling."""

    def __init__(self, page: Page) -> None:
        self._pw = page.playwright_page
        self.count = 0
        self._event = anyio.Event()
        self._pw.on("framenavigated", self._on)

    def _on(self, frame: Frame) -> None:
        if frame == self._pw.main_frame:
            self.count += 1
            self._event.set()
            self._event = anyio.Event()

    async def until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._event.wait()

    def close(self) -> None:
        self._pw.remove_listener("framenavigated", self._on)


class ReplayContext:
    """What every step of one rerun shares."""

    def __init__(self, page: Page, legacy: bool) -> None:
        self.page = page
        self.legacy = legacy
        self.navs = _Navigations(page)

    @contextmanager
    def light(self) -> Iterator[None]:
        """The action's own settle without a quiet window: it still waits for the
        requests and the navigation the action set off; `expect` does the rest."""
        full = self.page.settle_settings
        self.page.settle_settings = full.model_copy(update={"quiet_ms": 0.0})
        try:
            yield
        finally:
            self.page.settle_settings = full

    async def expect(
        self,
        obs: Observation | None,
        *,
        url: str | None,
        after_nav: int | None,
        target: Fingerprint | None,
        bound: float,
    ) -> tuple[Observation | None, Wait]:
        """Wait until the page is at `url`, has committed a navigation past `after_nav`
        (the count before an action that navigated when recorded) and reached
        DOMContentLoaded, and shows `target`; at most `bound` s, then the full settle."""
        page = self.page
        pw = page.playwright_page
        t_end = time.perf_counter() + bound
        with anyio.move_on_after(bound):
            try:
                if url is not None or after_nav is not None:
                    await self.navs.until(
                        lambda: (
                            (url is None or same_url(url, page.url))
                            and (after_nav is None or self.navs.count > after_nav)
                        )
                    )
                    await pw.wait_for_load_state("domcontentloaded", timeout=bound * 1000)
                    obs = None  # whatever was observed may be the old document
                while True:
                    if obs is None:
                        obs = await page.observe()
                    if target is None or await locate(page, target, obs, legacy=self.legacy):
                        return obs, "expected"
                    obs = None
                    left = min(t_end - time.perf_counter(), RECHECK_S)
                    try:
                        arg = {"timeoutMs": max(left, 0.001) * 1000}
                        await page.call_in_page("changed", arg, await_promise=True)
                    except ContextGoneError:  # it navigated: wait for the new document
                        await pw.wait_for_load_state("domcontentloaded", timeout=bound * 1000)
            except (PageError, PlaywrightError):
                pass  # the settle below says what the page is now
        try:
            result = await page.wait_for()  # no condition: the full settle, then observe
        except PageError:
            return None, "settled"
        return result.observation, "settled"


def expect_bound(a: ActionLine, page: Page) -> float:
    """How long to wait for what the recording shows after `a`: a few times what it
    took when recorded, within the page's settle timeout."""
    took = sum(a.timings.get(k, 0.0) for k in ("resolve", "act", "settle", "observe")) / 1000
    return min(max(EXPECT_FACTOR * took, EXPECT_MIN_S), page.settle_settings.timeout)


# ---------------------------------------------------------------------------- rerun


async def rerun(
    source: str | Path | Recording | RecordingFile,
    page: Page,
    *,
    start_url: str | None = None,
    fallback: FallbackFn | None = None,
    values: dict[str, str] | None = None,
    on_step: Callable[[StepOutcome], object] | None = None,
) -> RerunReport:
    """Re-execute every session of a recording on `page`, without a model.

    `start_url` replaces the recorded one (recorded URLs are rebased onto it); `values`
    fills redacted values by field name (`{"Password": "…"}`); `fallback` handles a
    step whose target is gone (see `model_fallback`). Stops at the first divergence
    that leaves no way on (a missing target with no fallback).
    """
    if isinstance(source, Recording):
        sessions, torn = [source], source.torn
    else:
        f = source if isinstance(source, RecordingFile) else read(source)
        sessions, torn = f.sessions, f.torn
    t0 = time.perf_counter()
    outcomes: list[StepOutcome] = []
    ok = True
    problem = None
    if not any(runnable(a) for rec in sessions for s in rec.steps for a in s.actions):
        ok, problem = False, "nothing to re-run: the recording has no complete step that acted"
        sessions = []
    for i, rec in enumerate(sessions):
        ctx = ReplayContext(page, legacy=rec.header.version < 2)
        try:
            done = len(outcomes)
            if not await _session(
                ctx, i, rec, start_url, fallback, values or {}, outcomes, on_step
            ):
                ok = False
                if outcomes and (outcomes[-1].divergence or "").startswith("target"):
                    break
            elif not any(o.fallback for o in outcomes[done:]):
                differs = await _ending_differs(page, rec)
                if differs is not None:
                    ok, problem = False, f"task {i + 1}: {differs}"
        finally:
            ctx.navs.close()
    recorded = sum(r.recorded_ms for r in sessions)
    return RerunReport(
        ok=ok,
        steps=outcomes,
        recorded_ms=recorded,
        rerun_ms=(time.perf_counter() - t0) * 1000,
        torn=torn,
        problem=problem,
    )


_DIGITS = re.compile(r"\d+")
_HEADING = re.compile(r"^\s*#{1,6} ")


def _gist(text: str) -> str:
    """A title or heading with its numbers blanked: an order number may differ."""
    return _DIGITS.sub("#", " ".join(text.split()))


def ending_difference(recorded: RecordedStep, obs: Observation) -> str | None:
    """How the page `obs` differs from the one a recording ended on, or None: its title,
    and the headings the recorded page had (numbers aside). A form post that now fails
    lands on another title or heading even at the same URL."""
    if not recorded.text:
        return None
    title = recorded.line.title
    if _gist(title) != _gist(obs.title):
        return f"the page ends titled {obs.title!r}, the recording ended on {title!r}"
    live = {_gist(ln) for ln in obs.text.splitlines() if _HEADING.match(ln)}
    missing = [
        ln.strip()
        for ln in recorded.text.splitlines()
        if _HEADING.match(ln) and _gist(ln) not in live
    ]
    if missing:
        return f"the page ends without {missing[0]!r}, which the recording ended on"
    return None


async def _ending_differs(page: Page, rec: Recording) -> str | None:
    """After a session re-ran: its page, once settled, against the recording's last
    observation, when that shows the end (its step did nothing more on the page, as a
    `done` step; a run cut after an action never saw where that action led)."""
    if not rec.steps or any(runnable(a) for a in rec.steps[-1].actions):
        return None
    try:
        obs = (await page.wait_for()).observation
    except PageError as exc:
        return f"the page could not be read at the end: {exc}"
    if obs is None:
        return None
    return ending_difference(rec.steps[-1], obs)


async def _session(
    ctx: ReplayContext,
    i: int,
    rec: Recording,
    start_url: str | None,
    fallback: FallbackFn | None,
    values: dict[str, str],
    outcomes: list[StepOutcome],
    on_step: Callable[[StepOutcome], object] | None,
) -> bool:
    """One recorded session; False once a step failed (stopping at a missing target)."""
    page = ctx.page
    live = start_url if (start_url and i == 0) else rec.header.start_url
    rebase = Rebase(rec.header.start_url, start_url)
    obs: Observation | None = None
    if live:
        await page.goto(rebase(live), wait_until="domcontentloaded")
        first = rec.steps[0] if rec.steps else None
        bound = min(START_S, page.settle_settings.timeout)
        obs, _ = await ctx.expect(
            None, url=None, after_nav=None, target=_first_target(first), bound=bound
        )
    ok = True
    for k, step in enumerate(rec.steps):
        nxt = rec.steps[k + 1] if k + 1 < len(rec.steps) else None
        out, obs = await _step(ctx, i, rec, step, nxt, obs, rebase, fallback, values)
        outcomes.append(out)
        if on_step is not None:
            on_step(out)
        if not out.ok:
            ok = False
            if out.divergence and out.divergence.startswith("target"):
                return False
    return ok


async def _step(
    ctx: ReplayContext,
    session: int,
    rec: Recording,
    step: RecordedStep,
    nxt: RecordedStep | None,
    obs: Observation | None,
    rebase: Rebase,
    fallback: FallbackFn | None,
    values: dict[str, str],
) -> tuple[StepOutcome, Observation | None]:
    """Run one step; returns its outcome and the page as last observed (None: unknown)."""
    page = ctx.page
    t0 = time.perf_counter()
    out = StepOutcome(session=session, step=step.n, recorded_ms=step.line.spans_ms.get("total", 0))
    actions = [a for a in step.actions if runnable(a)]
    for k, a in enumerate(actions):
        if obs is None:  # the first action's page, or what the last wait left unknown
            obs = await page.observe()
        ao = ActionOutcome(name=a.name, label=describe_line(a))
        out.actions.append(ao)
        args = dict(a.args)
        if a.target is not None:
            ao.recorded_ref = a.target.ref
            found = await locate(page, a.target, obs, legacy=ctx.legacy)
            if found is None:
                ao.ok, ao.error = False, f"no {a.target.role} {a.target.name!r} on the page"
                why = f"target not found: {describe_line(a)} ({page.url})"
                if fallback is None:
                    out.ok, out.divergence = False, why
                    break
                out.fallback, out.divergence = True, why
                out.ok = await fallback(page, rec, step, why)
                obs = None
                break
            ao.ref, ao.how = found
            args["ref"] = found[0]
        if a.name == "goto" and "url" in args:
            args["url"] = rebase(str(args["url"]))
        if a.name == "type" and MASK in str(args.get("text", "")):
            name = a.target.name if a.target is not None else ""
            args["text"] = values.get(name, str(args["text"]))
        navs = ctx.navs.count
        try:
            with anyio.fail_after(ACTION_TIMEOUT_S), ctx.light():
                result = await run_action(page, a.name, args)
        except (PageError, TimeoutError) as exc:
            ao.ok, ao.error = False, str(exc) or type(exc).__name__
            out.ok, out.divergence = False, f"{describe_line(a)} failed: {ao.error}"
            obs = None
            break
        if isinstance(result, str):
            continue
        if not result.ok:
            ao.ok, ao.error = False, result.error
            out.ok, out.divergence = False, f"{describe_line(a)} failed: {result.error}"
            obs = None
            break
        # Wait for what the recording shows next: within the step the next target;
        # after its last action the next step's URL and first target.
        last = k == len(actions) - 1
        target = _first_target(nxt) if last else actions[k + 1].target
        url = rebase(nxt.line.url) if last and nxt is not None and nxt.line.url else None
        t1 = time.perf_counter()
        obs, ao.wait = await ctx.expect(
            result.observation,
            url=url,
            after_nav=navs if a.navigated else None,
            target=target,
            bound=expect_bound(a, page),
        )
        ao.wait_ms = (time.perf_counter() - t1) * 1000
    if out.ok and not out.fallback and nxt is not None and nxt.line.url:
        out.expected_url = rebase(nxt.line.url)
        out.url = page.url
        if not same_url(out.expected_url, out.url):
            out.ok = False
            out.divergence = f"expected the page {out.expected_url}, got {out.url}"
    out.ms = (time.perf_counter() - t0) * 1000
    return out, obs


def model_fallback(llm: Any, *, max_steps: int = 4) -> FallbackFn:
    """A fallback that asks the model to do the divergent step (with `llm` as for Agent)."""

    async def handle(page: Page, rec: Recording, step: RecordedStep, why: str) -> bool:
        from .agent import Agent
        from .budget import Budget

        wanted = "; ".join(describe_line(a) for a in step.actions if a.kind == "page")
        task = (
            f"{rec.header.task}\n\nYou are resuming a recorded run, but the page changed "
            f"({why}). The recorded step was: {wanted}. Do what that step meant to do "
            "on the current page, then call done."
        )
        agent = Agent(task, llm=llm, budget=Budget(max_steps=max_steps, session_s=120))
        result = await agent.run(page)
        return result.success

    return handle


# ----------------------------------------------------------------------------- CLI


async def replay_command(args: Any, console: Any) -> int:
    """`browser-agent replay FILE [--rerun | --show | --html OUT]`; exit 1 when the rerun
    does not pass (a divergence, nothing to re-run, another ending)."""
    import json

    from .terminal import console as make_console
    from .terminal import print_error, safe
    from .timeline_report import show, write_html

    f = read(args.file)
    for problem in f.problems:  # a torn last line, sessions that never ended
        print_error(f"{args.file}: {problem}", prefix="warning")
    if args.html is not None:
        out = write_html(f.sessions, args.html, title=f"recording {Path(args.file).name}")
        if args.json:
            print(json.dumps({"html": str(out), "torn": f.torn, "problems": f.problems}))
        else:
            console.print(Text(f"wrote {out}"))
        return 0
    if not args.rerun:
        if args.json:
            print(json.dumps({**msgspec.to_builtins(f), "problems": f.problems}))
        else:
            show(f.sessions, console, name=Path(args.file).name)
        return 0
    fallback = _fallback(args)

    def on_step(s: StepOutcome) -> None:
        if not args.json:
            _print_step(console, s)

    async with contextlib.AsyncExitStack() as stack:
        start_url, check_order = args.url, None
        if start_url is None and all(
            is_demo_recording(r.header.task, r.header.start_url) for r in f.sessions
        ):
            # The demo's shop lived only while the demo ran: serve the bundled one again.
            site = stack.enter_context(FixtureServer())
            start_url = site.url("/shop/index.html")
            check_order = site
            if not args.json:
                note = f"a demo recording: re-running it on the bundled shop at {site.origin}"
                print_error(note, prefix="note")
        headless = not args.headed
        opening = Browser.connect(args.cdp) if args.cdp else Browser.launch(headless=headless)
        browser = await stack.enter_async_context(opening)
        page = await browser.new_page()
        report = await rerun(f, page, start_url=start_url, fallback=fallback, on_step=on_step)
        if check_order is not None and report.ok:
            problems = order_problems(
                check_order.submissions[-1] if check_order.submissions else None
            )
            if problems:
                report.ok, report.problem = False, f"the order: {'; '.join(problems)}"
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        term = make_console()
        if report.problem:
            term.print(Text("✗ ", style="red") + Text(safe(report.problem)))
        failed = "rerun diverged" if report.divergences else "rerun failed"
        verdict = ("rerun passed", "green") if report.ok else (failed, "red")
        term.print(
            Text(verdict[0], style=verdict[1])
            + Text(
                f": {report.rerun_ms:.0f} ms vs {report.recorded_ms:.0f} ms recorded "
                f"({report.ratio:.0%})"
            )
        )
    return 0 if report.ok else 1


def _fallback(args: Any) -> FallbackFn | None:
    """`--fallback-model [MODEL]`: the model that takes divergent steps, if asked for."""
    if args.fallback_model is None:
        return None
    from pydantic import ValidationError

    from .arguments import config_error
    from .exceptions import ConfigurationError
    from .llm import ProviderConfig

    model = args.fallback_model or None
    try:
        config = ProviderConfig.from_env(base_url=args.base_url, model=model)
    except ValidationError as exc:
        raise config_error(exc, {"base_url": "--base-url / OPENAI_BASE_URL"}) from None
    except ConfigurationError as exc:
        if "no model" in str(exc):
            raise ConfigurationError(
                "--fallback-model needs a model: --fallback-model MODEL, or set BROWSER_AGENT_MODEL"
            ) from None
        raise
    return model_fallback(config)


def _print_step(console: Any, s: StepOutcome) -> None:
    """One line per re-run step (page strings as plain text, never markup)."""
    from .terminal import safe

    mark = Text("✓ ", style="green") if s.ok else Text("✗ ", style="red")
    line = mark + Text(
        f"task {s.session + 1} step {s.step}: {len(s.actions)} actions, {s.ms:.0f} ms"
    )
    healed = [f"{a.label} by {a.how}" for a in s.actions if a.how not in ("ref", "")]
    if healed:
        line.append(safe(f" (re-targeted: {'; '.join(healed)})"), style="dim")
    settled = sum(a.wait == "settled" for a in s.actions)
    if settled:  # the expected state did not show in time: the full settle ran
        line.append(f" ({settled} full settle{'s' * (settled != 1)})", style="dim")
    if s.fallback:
        line.append(" (handed to the model)", style="yellow")
    console.print(line)
    if s.divergence:
        console.print(Text("    divergence: ", style="red") + Text(safe(s.divergence)))
