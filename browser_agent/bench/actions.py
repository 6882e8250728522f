"""`bench actions`: action + settle time per action kind, against Playwright + 500 ms.

Ours is the whole step a loop pays for: resolve the ref in the page, trusted input,
settle (DOM quiet + requests + navigation), observe the delta; "input" is its first two
stages alone, next to Playwright's locator action without the wait. The baseline is what
Playwright MCP does: `locator.<action>()` then a fixed 500 ms wait (its snapshot is
not counted, which flatters it). Settle cases measure only the wait on pages that
change immediately, after 100 ms, after a fetch, never, and by navigating; "final"
says how often the returned observation already showed the page's last state.

Pages come from the fixture site on loopback; every other request is aborted.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from rich.console import Console
from rich.table import Table

from browser_agent.actions import ActionResult
from browser_agent.browser import Browser
from browser_agent.page import Page
from browser_agent.stats import percentile
from browser_agent.terminal import console as make_console

from ..testing import FixtureServer

BASELINE_WAIT_MS = 500


def _p(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 50), "p95": percentile(values, 95), "n": len(values)}


def _ref(page: Page, name: str) -> int:
    obs = page.last_observation
    el = obs.find(name=name) if obs is not None else None
    if el is None:
        el = next(
            (e for e in (obs.elements.values() if obs else ()) if e.name.startswith(name)), None
        )
    if el is None:
        raise RuntimeError(f"bench page lacks {name!r}")
    return el.ref


async def _open(page: Page, site: FixtureServer, path: str) -> None:
    await page.goto(site.url(path))
    await page.observe()


# Each case: page, what to do (ours), what to do (Playwright), and whether to reload
# between repeats. `i` alternates states (check on/off, scroll down/up...).
Ours = Callable[[Page, int], Awaitable[ActionResult]]
Theirs = Callable[[Any, int], Awaitable[Any]]


def _cases() -> dict[str, tuple[str, Ours, Theirs]]:
    countries = ["France", "Germany", "Italy", "Spain"]
    return {
        "click": (
            "/spa.html",
            lambda p, i: p.click(_ref(p, "Clicked")),
            lambda pw, i: pw.locator("#counter").click(),
        ),
        "type": (
            "/form.html",
            lambda p, i: p.type(_ref(p, "Full name"), f"Ada Lovelace {i}"),
            lambda pw, i: pw.locator("#full_name").fill(f"Ada Lovelace {i}"),
        ),
        "select": (
            "/form.html",
            lambda p, i: p.select(_ref(p, "Country"), countries[i % 4]),
            lambda pw, i: pw.locator("#country").select_option(label=countries[i % 4]),
        ),
        "check": (
            "/form.html",
            lambda p, i: p.check(_ref(p, "Extra cheese"), on=i % 2 == 0),
            lambda pw, i: pw.locator("#topping_cheese").set_checked(i % 2 == 0),
        ),
        "hover": (
            "/actions/widgets.html",
            lambda p, i: p.hover(_ref(p, "Account menu" if i % 2 == 0 else "Key field")),
            lambda pw, i: pw.locator("#account" if i % 2 == 0 else "#press-field").hover(),
        ),
        "press": (
            "/actions/widgets.html",
            lambda p, i: p.press("a", ref=_ref(p, "Key field")),
            lambda pw, i: pw.locator("#press-field").press("a"),
        ),
        "scroll": (
            "/long.html",
            lambda p, i: p.scroll("down" if i % 2 == 0 else "up"),
            lambda pw, i: pw.mouse.wheel(0, 640 if i % 2 == 0 else -640),
        ),
    }


class SettleCase(NamedTuple):
    path: str
    button: str
    final: str | None  # text of the page's last state; None: it has none
    quiet_ms: float | None = None  # override of the default quiet window
    before: str | None = None  # clicked first (bounded, not measured)


SETTLE_CASES = {
    "immediate": SettleCase("/settle.html", "Immediate", "Status: immediate done"),
    "after_100ms": SettleCase("/settle.html", "After 100ms", "Status: after 100ms done"),
    "after_100ms, quiet 150": SettleCase(
        "/settle.html", "After 100ms", "Status: after 100ms done", quiet_ms=150
    ),
    "fetch (150 ms)": SettleCase("/settle.html", "Fetch", "Status: fetched"),
    "navigate": SettleCase("/settle.html", "Navigate", "Arrived at the target page."),
    "never (spinner it starts)": SettleCase("/settle.html", "Forever", None),
    "immediate, spinner ticking": SettleCase(
        "/settle.html", "Immediate", "Status: immediate done", before="Forever"
    ),
    # UI that comes after the action: a menu opened 200 ms after the click (announced by
    # aria-haspopup), a date picker whose pop-in animation waits 150 ms.
    "menu, 200 ms show delay": SettleCase("/reach/menu.html", "Products", 'menuitem "Laptops"'),
    "date picker, delayed pop-in": SettleCase("/reach/datepicker.html", "Departure", "June 2025"),
}


async def _measure_actions(
    page: Page, site: FixtureServer, repeat: int
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, (path, ours, theirs) in _cases().items():
        await _open(page, site, path)
        await ours(page, 0)  # warm: the actions installed, caches hot
        totals: list[float] = []
        settles: list[float] = []
        inputs: list[float] = []
        unsettled = 0
        for i in range(1, repeat + 1):
            r = await ours(page, i)
            totals.append(r.timings["total"])
            settles.append(r.timings["settle"])
            inputs.append(r.timings["resolve"] + r.timings["act"])
            unsettled += not r.settled
        pw = page.playwright_page
        await _open(page, site, path)
        base: list[float] = []
        bare: list[float] = []
        for i in range(1, repeat + 1):
            t0 = time.perf_counter()
            await theirs(pw, i)
            t1 = time.perf_counter()
            await pw.wait_for_timeout(BASELINE_WAIT_MS)  # the baseline's fixed settle
            base.append((time.perf_counter() - t0) * 1000)
            bare.append((t1 - t0) * 1000)
        out[kind] = {
            "ours": _p(totals),
            "ours_settle": _p(settles),
            "ours_input": _p(inputs),
            "unsettled": unsettled,
            "playwright_action": _p(bare),
            "baseline": _p(base),
        }
    return out


async def _measure_settle(
    page: Page, site: FixtureServer, repeat: int, never_repeat: int
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    default = page.settle_settings.model_copy()
    for name, case in SETTLE_CASES.items():
        settles: list[float] = []
        totals: list[float] = []
        settled = seen = 0
        n = never_repeat if case.final is None else repeat
        for _ in range(n):
            page.settle_settings = default.model_copy()
            await _open(page, site, case.path)  # fresh page: nothing left running from before
            if case.before:
                page.settle_settings.timeout = 0.3
                await page.click(_ref(page, case.before))
                page.settle_settings.timeout = default.timeout
            if case.quiet_ms is not None:
                page.settle_settings.quiet_ms = case.quiet_ms
            r = await page.click(_ref(page, case.button))
            settles.append(r.timings["settle"])
            totals.append(r.timings["total"])
            settled += r.settled
            seen += bool(case.final and r.observation and case.final in r.observation.text)
        out[name] = {
            "settle": _p(settles),
            "total": _p(totals),
            "settled": settled / n,
            "final_state": None if case.final is None else seen / n,
            "quiet_ms": case.quiet_ms or default.quiet_ms,
        }
    page.settle_settings = default
    return out


async def run(json_output: bool = False, quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; print a table (or JSON) and return the figures."""
    repeat = 5 if quick else 30
    never_repeat = 2 if quick else 5
    with FixtureServer() as site:
        async with Browser.launch(allowed_domains=["127.0.0.1"]) as browser:
            page = await browser.new_page()
            settings = page.settle_settings.model_dump(mode="json")
            actions = await _measure_actions(page, site, repeat)
            settle = await _measure_settle(page, site, repeat, never_repeat)
    result: dict[str, Any] = {
        "settle_settings": {k: settings[k] for k in ("quiet_ms", "timeout")},
        "baseline_wait_ms": BASELINE_WAIT_MS,
        "repeat": repeat,
        "actions": actions,
        "settle": settle,
    }
    if json_output:
        import json

        print(json.dumps(result, indent=2))
    else:
        _print(make_console(), result)
    return result


def _print(console: Console, result: dict[str, Any]) -> None:
    s = result["settle_settings"]
    table = Table(
        title=f"bench actions: action + settle + observe, ms (quiet {s['quiet_ms']:g} ms, "
        f"bound {s['timeout']:g} s; n={result['repeat']})"
    )
    for col in ("action", "ours p50", "ours p95", "input p50", "settle p50", "PW p50",
                "PW+500 p50", "PW+500 p95", "× p50"):  # fmt: skip
        table.add_column(col, justify="left" if col == "action" else "right")
    for kind, r in result["actions"].items():
        table.add_row(
            kind,
            f"{r['ours']['p50']:.1f}",
            f"{r['ours']['p95']:.1f}",
            f"{r['ours_input']['p50']:.1f}",
            f"{r['ours_settle']['p50']:.1f}",
            f"{r['playwright_action']['p50']:.1f}",
            f"{r['baseline']['p50']:.1f}",
            f"{r['baseline']['p95']:.1f}",
            f"{r['baseline']['p50'] / r['ours']['p50']:.1f}×",
        )
    console.print(table)
    console.print(
        "ours: resolve + trusted input + settle + observe delta (input: resolve + trusted "
        "input alone); PW: Playwright's locator action alone; PW+500: that + a fixed 500 ms "
        "wait (no snapshot)"
    )
    st = Table(title="settle cases (a click on settle.html), ms")
    for col in ("the page changes", "settle p50", "settle p95", "total p50", "settled", "final"):
        st.add_column(col, justify="left" if col == "the page changes" else "right")
    for name, r in result["settle"].items():
        final = "-" if r["final_state"] is None else f"{r['final_state']:.0%}"
        st.add_row(
            name,
            f"{r['settle']['p50']:.1f}",
            f"{r['settle']['p95']:.1f}",
            f"{r['total']['p50']:.1f}",
            f"{r['settled']:.0%}",
            final,
        )
    console.print(st)
    console.print(
        "final: how often the returned observation already showed the page's last state; "
        "settled: ended by quiet, not by the bound"
    )
