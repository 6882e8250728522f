"""Re-running a recording without a model: self-healing targets, checked page state.

Each recorded page action is executed again on a live page. Its target is the
recorded ref when that element still has the recorded role and name; otherwise it is
found by its fingerprint: role + name first, then text, then path. After each step
the page must be where the recording says the next step started (URLs are rebased
from the recorded start URL onto the live one, so another host or folder works).
A step whose target cannot be found is a divergence: it is reported, and with a
fallback model it is handed to the model instead of failing the rerun.

```
report = await rerun("session.jsonl", page, start_url=url)
print(report.ok, report.rerun_ms, report.recorded_ms)
```
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import anyio
import msgspec

from .exceptions import PageError
from .observation import Element, Observation
from .page import Page
from .recording import MASK, ActionLine, Fingerprint, Recording, RecordingFile, Step, read

How = Literal["ref", "role+name", "text", "path", ""]

ACTION_TIMEOUT_S = 30.0
"""Upper bound on one re-executed action (its own settle is bounded more tightly)."""


class ActionOutcome(msgspec.Struct, omit_defaults=True):
    name: str
    label: str = ""
    recorded_ref: int | None = None
    ref: int | None = None
    how: How = ""
    """How the target was found: the same ref, or by which part of its fingerprint."""
    ok: bool = True
    error: str | None = None


class StepOutcome(msgspec.Struct, omit_defaults=True):
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

    @property
    def divergences(self) -> list[StepOutcome]:
        return [s for s in self.steps if s.divergence is not None]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self)
        data["divergences"] = [
            {"session": s.session, "step": s.step, "divergence": s.divergence}
            for s in self.divergences
        ]
        return data


FallbackFn = Callable[[Page, Recording, Step, str], Awaitable[bool]]
"""Hand a divergent step to a model: (page, recording, step, why) -> whether it worked."""


# -------------------------------------------------------------------------- targets


def _path_of(obs: Observation, el: Element) -> str:
    k = 0
    for other in obs.elements.values():
        if other.ref == el.ref:
            break
        if other.role == el.role and other.frame == el.frame:
            k += 1
    return f"{el.frame}>{el.role}:{k}"


def find_target(fp: Fingerprint, obs: Observation) -> tuple[int, How] | None:
    """The element `fp` describes in `obs`: the same ref if it still matches, else by
    role + name (the nth duplicate), text, then path (same tag required)."""
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
    if fp.path:
        for e in els:
            if e.tag == fp.tag and e.role == fp.role and _path_of(obs, e) == fp.path:
                return e.ref, "path"
    return None


def _describe(a: ActionLine) -> str:
    if a.target is not None and a.target.role:
        return f'{a.name} {a.target.role} "{a.target.name}"'
    return f"{a.name} {a.label}".strip()


# ------------------------------------------------------------------------ URLs


class _Rebase:
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


def _same_url(a: str, b: str) -> bool:
    return a.split("#", 1)[0].rstrip("/") == b.split("#", 1)[0].rstrip("/")


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
    for i, rec in enumerate(sessions):
        live = start_url if (start_url and i == 0) else rec.header.start_url
        rebase = _Rebase(rec.header.start_url, start_url)
        if live:
            await page.goto(rebase(live))
        for k, step in enumerate(rec.steps):
            nxt = rec.steps[k + 1] if k + 1 < len(rec.steps) else None
            out = await _step(i, rec, step, nxt, page, rebase, fallback, values or {})
            outcomes.append(out)
            if on_step is not None:
                on_step(out)
            if not out.ok:
                ok = False
                if out.divergence and out.divergence.startswith("target"):
                    break
        else:
            continue
        break
    recorded = sum(r.recorded_ms for r in sessions)
    return RerunReport(
        ok=ok,
        steps=outcomes,
        recorded_ms=recorded,
        rerun_ms=(time.perf_counter() - t0) * 1000,
        torn=torn,
    )


async def _step(
    session: int,
    rec: Recording,
    step: Step,
    nxt: Step | None,
    page: Page,
    rebase: _Rebase,
    fallback: FallbackFn | None,
    values: dict[str, str],
) -> StepOutcome:
    from .agent._loop import _dispatch

    t0 = time.perf_counter()
    out = StepOutcome(session=session, step=step.n, recorded_ms=step.line.spans_ms.get("total", 0))
    obs = await page.observe()
    for a in step.actions:
        if a.skipped or a.kind != "page" or not a.ok:
            continue  # not run, or without effect, when recorded
        ao = ActionOutcome(name=a.name, label=_describe(a))
        out.actions.append(ao)
        args = dict(a.args)
        if a.target is not None:
            ao.recorded_ref = a.target.ref
            found = find_target(a.target, obs)
            if found is None:
                ao.ok, ao.error = False, f"no {a.target.role} {a.target.name!r} on the page"
                why = f"target not found: {_describe(a)} ({page.url})"
                if fallback is None:
                    out.ok, out.divergence = False, why
                    break
                out.fallback, out.divergence = True, why
                out.ok = await fallback(page, rec, step, why)
                break
            ao.ref, ao.how = found
            args["ref"] = found[0]
        if a.name == "goto" and "url" in args:
            args["url"] = rebase(str(args["url"]))
        if a.name == "type" and MASK in str(args.get("text", "")):
            name = a.target.name if a.target is not None else ""
            args["text"] = values.get(name, str(args["text"]))
        try:
            with anyio.fail_after(ACTION_TIMEOUT_S):
                result = await _dispatch(page, a.name, args)
        except (PageError, TimeoutError) as exc:
            ao.ok, ao.error = False, str(exc) or type(exc).__name__
            out.ok, out.divergence = False, f"{_describe(a)} failed: {ao.error}"
            break
        if isinstance(result, str):
            continue
        if not result.ok:
            ao.ok, ao.error = False, result.error
            out.ok, out.divergence = False, f"{_describe(a)} failed: {result.error}"
            break
        obs = result.observation or await page.observe()
    if out.ok and not out.fallback and nxt is not None and nxt.line.url:
        out.expected_url = rebase(nxt.line.url)
        out.url = page.url
        if not _same_url(out.expected_url, out.url):
            out.ok = False
            out.divergence = f"expected the page {out.expected_url}, got {out.url}"
    out.ms = (time.perf_counter() - t0) * 1000
    return out


def model_fallback(llm: Any, *, max_steps: int = 4) -> FallbackFn:
    """A fallback that asks the model to do the divergent step (with `llm` as for Agent)."""

    async def handle(page: Page, rec: Recording, step: Step, why: str) -> bool:
        from .agent import Agent
        from .budget import Budget

        wanted = "; ".join(_describe(a) for a in step.actions if a.kind == "page")
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
    """`browser-agent replay FILE [--rerun | --show | --html OUT]`; exit 1 on divergence."""
    import json

    from rich.console import Console

    from .browser import Browser
    from .timeline_report import table, write_html

    f = read(args.file)
    err = Console(stderr=True)
    if f.torn:
        err.print(
            f"[yellow]warning:[/] {args.file} ends in a torn line (line {f.torn_line}); "
            "the step in flight when it was written is lost",
            highlight=False,
        )
    if args.html is not None:
        out = write_html(f.sessions, args.html, title=f"recording {Path(args.file).name}")
        if args.json:
            print(json.dumps({"html": str(out), "torn": f.torn}))
        else:
            console.print(f"wrote {out}", highlight=False)
        return 0
    if not args.rerun:
        if args.json:
            print(msgspec.json.encode(f).decode())
        else:
            console.print(table(f.sessions))
        return 0
    fallback = None
    if args.fallback_model is not None:
        from .exceptions import ConfigurationError
        from .llm import ProviderConfig

        try:
            config = ProviderConfig.from_env(
                base_url=args.base_url, model=args.fallback_model or None
            )
        except Exception as exc:  # pydantic's ValidationError: a usage problem
            raise ConfigurationError(str(exc).replace("\n", " ")) from None
        fallback = model_fallback(config)

    def show(s: StepOutcome) -> None:
        if args.json:
            return
        mark = "[green]✓[/]" if s.ok else "[red]✗[/]"
        healed = [f"{a.label} by {a.how}" for a in s.actions if a.how not in ("ref", "")]
        line = f"{mark} task {s.session + 1} step {s.step}: {len(s.actions)} actions, {s.ms:.0f} ms"
        if healed:
            line += f" [dim](re-targeted: {'; '.join(healed)})[/]"
        if s.fallback:
            line += " [yellow](handed to the model)[/]"
        console.print(line, highlight=False)
        if s.divergence:
            console.print(f"    [red]divergence:[/] {s.divergence}", highlight=False)

    opening = Browser.connect(args.cdp) if args.cdp else Browser.launch(headless=not args.headed)
    async with opening as browser:
        page = await browser.new_page()
        report = await rerun(f, page, start_url=args.url, fallback=fallback, on_step=show)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        share = report.rerun_ms / report.recorded_ms if report.recorded_ms else 0.0
        verdict = "[green]rerun passed[/]" if report.ok else "[red]rerun diverged[/]"
        console.print(
            f"{verdict}: {report.rerun_ms:.0f} ms vs {report.recorded_ms:.0f} ms recorded "
            f"({share:.0%})",
            highlight=False,
        )
    return 0 if report.ok else 1
