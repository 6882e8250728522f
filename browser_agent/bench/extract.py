"""`bench extract` and `bench delta`: our observation against the peers, in one run.

Pages are served from loopback and every other request is aborted, so timings measure
extraction and not the network.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from rich.console import Console
from rich.table import Table

from browser_agent.browser import Browser
from browser_agent.corpus import default_corpus, iter_pages
from browser_agent.exceptions import BrowserAgentError
from browser_agent.page import Page
from browser_agent.stats import percentile
from browser_agent.terminal import console as make_console

from ..extractors.offline import serialize_html
from ..testing import FixtureServer, generate_page

GENERATED = (1_000, 10_000)
DELTA_SIZES = (1_000, 10_000, 50_000, 100_000)
TARGET_ARIA_RATIO = 15.0
"""How many times faster than `aria_snapshot(mode="ai")` a full observation should be."""


async def _timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, Any]:
    """Median ms over `repeat` calls, and the last result."""
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = await fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), out


async def _noop_world(page: Page) -> Any:
    return await page.serializer.call("version")


async def measure_page(page: Page, repeat: int) -> dict[str, float]:
    """One loaded page: each method's first call on the fresh document, then medians of
    `repeat` warm calls, the same count for every method so ratios compare like with like
    (Playwright's first aria_snapshot also injects its script; ours is injected at load)."""
    pw = page.playwright_page

    async def aria() -> str:
        return await pw.locator(":root").aria_snapshot(mode="ai")

    async def content_parse() -> str:
        return serialize_html(await pw.content())

    ours_first, _ = await _timed(lambda: page.observe(full=True), 1)
    aria_first, _ = await _timed(aria, 1)
    noop, _ = await _timed(lambda: pw.evaluate("0"), repeat)
    noop_world, _ = await _timed(lambda: _noop_world(page), repeat)
    ours, obs = await _timed(lambda: page.observe(full=True), repeat)
    aria_ms, snap = await _timed(aria, repeat)
    sel, offline = await _timed(content_parse, repeat)
    # The least any in-page serializer costs on this path: visit every node, send back
    # as many characters as ours (no style, box or text read).
    floor, _ = await _timed(lambda: page.serializer.call("floor", len(obs.text)), repeat)
    # The least a serializer in our format costs: visibility of each element, a ref and a
    # box per control, the text (no names, values, states, frames or delta bookkeeping).
    bare, _ = await _timed(lambda: page.serializer.call("bare"), repeat)
    return {
        "noop": noop,
        "noop_world": noop_world,
        "ours": ours,
        "aria": aria_ms,
        "selectolax": sel,
        "floor": floor,
        "bare": bare,
        "ours_first": ours_first,
        "aria_first": aria_first,
        "chars_ours": len(obs.text),
        "chars_aria": len(snap),
        "chars_selectolax": len(offline),
        "elements": len(obs.elements),
    }


async def run_extract(
    corpus: Path | None = None,
    *,
    limit: int | None = None,
    repeat: int = 5,
    json_output: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    console = console or make_console()
    corpus = corpus or default_corpus()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names: list[str] = []
        if corpus is not None:
            for name, html in iter_pages(corpus):
                (root / name).write_text(html, "utf-8")
                names.append(name)
                if limit and len(names) >= limit:
                    break
        for n in GENERATED:
            name = f"generated-{n}.html"
            (root / name).write_text(generate_page(n), "utf-8")
            names.append(name)
        with FixtureServer(root=root) as server:
            async with Browser.launch(allowed_domains=["127.0.0.1"]) as browser:
                page = await browser.new_page()
                for name in names:
                    try:
                        await page.goto(server.url("/" + name), timeout=30)
                        row: dict[str, Any] = {**await measure_page(page, repeat)}
                    except (PlaywrightError, BrowserAgentError, TimeoutError) as exc:
                        # A page that never loads, or navigates itself away while it is
                        # measured (a timed redirect off the policy): said and skipped, and
                        # its tab replaced so its late navigation cannot cut the next goto.
                        make_console(stderr=True).print(f"[yellow]skip {name}: {exc}")
                        await page.close()
                        page = await browser.new_page()
                        continue
                    row["page"] = name
                    rows.append(row)
    corpus_rows = [r for r in rows if not r["page"].startswith("generated-")]
    result: dict[str, Any] = {
        "pages": len(rows),
        "corpus": str(corpus) if corpus else None,
        "rows": rows,
    }
    result["summary"] = _summarize(corpus_rows or rows)
    result["generated"] = {r["page"]: r for r in rows if r["page"].startswith("generated-")}
    if json_output:
        import json

        print(json.dumps(result, indent=2))
    else:
        _print_extract(console, result)
    return result


def _summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = (
        "noop", "noop_world", "floor", "bare", "ours", "aria", "selectolax", "ours_first",
        "aria_first",
    )  # fmt: skip
    for key in keys:
        vals = [r[key] for r in rows]
        out[key] = {"p50": percentile(vals, 50), "p95": percentile(vals, 95)}
    for name, theirs, ours in (
        ("ratio_aria", "aria", "ours"),
        ("ratio_selectolax", "selectolax", "ours"),
        ("ratio_first_aria", "aria_first", "ours_first"),
        ("ratio_aria_floor", "aria", "floor"),
        ("ratio_aria_bare", "aria", "bare"),
    ):
        ratios = [r[theirs] / r[ours] for r in rows if r[ours] > 0]
        out[name] = {"p50": percentile(ratios, 50), "p5": percentile(ratios, 5)}
    for key in ("chars_ours", "chars_aria", "chars_selectolax"):
        out[key] = {"p50": percentile([r[key] for r in rows], 50)}
    shares = [r["chars_ours"] / r["chars_aria"] for r in rows if r["chars_aria"]]
    out["chars_ratio_vs_aria"] = {"p50": percentile(shares, 50)}
    return out


def _print_extract(console: Console, result: dict[str, Any]) -> None:
    s = result["summary"]
    table = Table(title=f"bench extract: {result['pages']} pages (ms; medians of repeats)")
    for col in ("method", "p50 ms", "p95 ms", "× ours (median)", "chars p50"):
        table.add_column(col, justify="right" if col != "method" else "left")
    table.add_row(
        "no-op page.evaluate", f"{s['noop']['p50']:.2f}", f"{s['noop']['p95']:.2f}", "", ""
    )
    table.add_row(
        "no-op call, our world",
        f"{s['noop_world']['p50']:.2f}",
        f"{s['noop_world']['p95']:.2f}",
        "",
        "",
    )
    table.add_row(
        "ours: observe(full=True)",
        f"{s['ours']['p50']:.2f}",
        f"{s['ours']['p95']:.2f}",
        "1.0",
        f"{s['chars_ours']['p50']:.0f}",
    )
    table.add_row(
        'aria_snapshot(mode="ai")',
        f"{s['aria']['p50']:.2f}",
        f"{s['aria']['p95']:.2f}",
        f"{s['ratio_aria']['p50']:.1f}",
        f"{s['chars_aria']['p50']:.0f}",
    )
    table.add_row(
        "content() + selectolax",
        f"{s['selectolax']['p50']:.2f}",
        f"{s['selectolax']['p95']:.2f}",
        f"{s['ratio_selectolax']['p50']:.1f}",
        f"{s['chars_selectolax']['p50']:.0f}",
    )
    table.add_row(
        "first call on a fresh document: ours",
        f"{s['ours_first']['p50']:.2f}",
        f"{s['ours_first']['p95']:.2f}",
        "1.0",
        "",
    )
    table.add_row(
        "first call on a fresh document: aria",
        f"{s['aria_first']['p50']:.2f}",
        f"{s['aria_first']['p95']:.2f}",
        f"{s['ratio_first_aria']['p50']:.1f}",
        "",
    )
    console.print(table)
    console.print(
        f"our text is {s['chars_ratio_vs_aria']['p50']:.0%} of aria_snapshot's characters (median)"
    )
    console.print(
        f"floor (our world visits every node, sends back as many characters): "
        f"p50 {s['floor']['p50']:.2f} ms, {s['ratio_aria_floor']['p50']:.1f}× faster than "
        f"aria_snapshot; {TARGET_ARIA_RATIO:.0f}× would need ours within "
        f"{s['ratio_aria_floor']['p50'] / TARGET_ARIA_RATIO:.1f}× of it",
        highlight=False,
    )
    console.print(
        f"bare pass (each element's visibility, a ref and a box per control, the text; "
        f"no names, values or states): p50 {s['bare']['p50']:.2f} ms, "
        f"{s['ratio_aria_bare']['p50']:.1f}× faster than aria_snapshot",
        highlight=False,
    )
    gen = result["generated"]
    if gen:
        g = Table(title="generated pages")
        for col in ("page", "elements", "ours ms", "aria ms", "ratio"):
            g.add_column(col)
        for name, r in gen.items():
            g.add_row(
                name,
                str(r["elements"]),
                f"{r['ours']:.1f}",
                f"{r['aria']:.1f}",
                f"{r['aria'] / r['ours']:.1f}",
            )
        console.print(g)


_NEXT_FRAME = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"

_SMALL_CHANGES = (
    # in view: the first paragraph's text
    "(() => { const p = document.querySelector('p');"
    " p.textContent = 'changed ' + Math.random(); })()",
    # far below the fold: an attribute on an element in the middle of the page
    "(() => { const all = document.querySelectorAll('button'); const b = all[all.length >> 1];"
    " const on = b.getAttribute('aria-pressed') === 'true';"
    " b.setAttribute('aria-pressed', on ? 'false' : 'true'); })()",
)


async def run_delta(
    *,
    repeat: int = 20,
    sizes: tuple[int, ...] = DELTA_SIZES,
    json_output: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    console = console or make_console()
    rows = []
    with FixtureServer() as server:
        async with Browser.launch(allowed_domains=["127.0.0.1"]) as browser:
            page = await browser.new_page()
            pw = page.playwright_page
            for n in sizes:
                await page.goto(server.url(f"/gen/{n}.html"), timeout=60)
                # The first round trip waits for the renderer's first layout of the
                # page; that is page load, not extraction.
                await page.serializer.call("version")
                t0 = time.perf_counter()
                full = await page.observe(full=True)
                full_ms = (time.perf_counter() - t0) * 1000
                noop_world, noop, delta = [], [], []
                deltas_full = 0
                for i in range(repeat):
                    await pw.evaluate(_SMALL_CHANGES[i % len(_SMALL_CHANGES)])
                    # Let the page lay the change out, as it has by the time an action
                    # has settled; otherwise the first geometry read pays for layout.
                    await pw.evaluate(_NEXT_FRAME)
                    t0 = time.perf_counter()
                    await page.serializer.call("version")
                    noop_world.append((time.perf_counter() - t0) * 1000)
                    t0 = time.perf_counter()
                    await pw.evaluate("0")
                    noop.append((time.perf_counter() - t0) * 1000)
                    t0 = time.perf_counter()
                    obs = await page.observe()
                    delta.append((time.perf_counter() - t0) * 1000)
                    deltas_full += obs.full
                rows.append(
                    {
                        "elements": n,
                        "full_ms": full_ms,
                        "lines": full.text.count("\n") + 1,
                        "noop_ms": statistics.median(noop),
                        "noop_world_ms": statistics.median(noop_world),
                        "delta_ms": statistics.median(delta),
                        "delta_p95_ms": percentile(delta, 95),
                        "over_noop_ms": statistics.median(delta) - statistics.median(noop_world),
                        "full_passes": deltas_full,
                    }
                )
    result = {"rows": rows}
    if json_output:
        import json

        print(json.dumps(result, indent=2))
    else:
        t = Table(title=f"bench delta: one small change, medians of {repeat}")
        for col in (
            "elements",
            "full pass ms",
            "no-op (our world) ms",
            "no-op evaluate ms",
            "delta p50 ms",
            "delta p95 ms",
            "delta − no-op ms",
            "full fallbacks",
        ):
            t.add_column(col, justify="right")
        for r in rows:
            t.add_row(
                str(r["elements"]),
                f"{r['full_ms']:.1f}",
                f"{r['noop_world_ms']:.2f}",
                f"{r['noop_ms']:.2f}",
                f"{r['delta_ms']:.2f}",
                f"{r['delta_p95_ms']:.2f}",
                f"{r['over_noop_ms']:+.2f}",
                str(r["full_passes"]),
            )
        console.print(t)
    return result
