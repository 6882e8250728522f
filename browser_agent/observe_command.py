"""`browser-agent observe URL|FILE`: the page's text exactly as the model reads it.

stdout carries `obs.text` and nothing else (or one JSON object with `--json`, the same
schema live and `--offline`); the element and time counts go to stderr, and
`--timings` adds where the time went (launch, load, observe, close).

A saved page references scripts, styles and images on hosts that a local file has no
business reaching; waiting for them (or for DNS to fail) cost 4-12 s per page and
nothing in the observation. A local file is therefore opened in a browser whose
network goes nowhere: every host resolves to nothing and every http(s) request goes to
a proxy port nothing listens on, so each one fails at once and `load` comes as soon as
the file and its local resources are in.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Literal

import msgspec

from .arguments import guess_url
from .browser import BLACKHOLE_PROXY, Browser
from .exceptions import ConfigurationError
from .terminal import console, print_error

OFFLINE_NETWORK_ARGS = (
    f"--proxy-server={BLACKHOLE_PROXY}",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
"""Launch flags for a local file: no request leaves the browser, each fails at once."""


class ElementJson(msgspec.Struct):
    tag: str
    role: str
    name: str
    value: str | None
    states: list[str]
    bbox: list[float] | None
    """In viewport CSS px; None offline (no layout)."""


class ObservationJson(msgspec.Struct):
    """What `observe --json` prints, live and `--offline` alike."""

    source: Literal["live", "offline"]
    url: str
    title: str
    version: int
    full: bool
    truncated: bool
    text: str
    elements: dict[int, ElementJson]
    timings: dict[str, float]


def resolve_target(target: str) -> tuple[str, bool, str]:
    """(URL, is a local file, a note for stderr) for what the user typed."""
    path = Path(target)
    if path.is_file():
        return path.resolve().as_uri(), True, ""
    if path.is_dir():
        raise ConfigurationError(f"{target} is a directory, not a page")
    url, note = guess_url(target)
    if url is None:
        raise ConfigurationError(note)
    return url, url.startswith("file:"), note


async def observe_command(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    browser = None
    try:
        if args.offline:
            data = _offline(args.target, args.max_chars)
        else:
            url, local, note = resolve_target(args.target)
            if note:
                print_error(note, prefix="note")
            browser = await Browser.launch(
                executable_path=args.chromium, args=OFFLINE_NETWORK_ARGS if local else ()
            )
            data = await _live(browser, url, args, launched_ms=(time.perf_counter() - t0) * 1000)
        # The page is printed before the browser closes: nothing waits for the teardown.
        data.timings["wall"] = (time.perf_counter() - t0) * 1000
        if args.json:
            print(msgspec.json.encode(data).decode(), flush=True)
        else:
            print(data.text, flush=True)  # exactly the text, never wrapped or styled
    finally:
        if browser is not None:
            t1 = time.perf_counter()
            await browser.close()
            close_ms = (time.perf_counter() - t1) * 1000
    if not args.json:
        t = data.timings
        err = console(stderr=True)
        where = f"observe {t['total']:.1f} ms" + (
            f" (in page {t['in_page']:.1f} ms)" if "in_page" in t else " (offline)"
        )
        err.print(
            f"[dim]{len(data.elements)} elements, {len(data.text)} chars, {where}[/]",
            highlight=False,
        )
        if args.timings:
            if browser is not None:
                t["close"] = close_ms
            err.print(f"[dim]{timings_line(t)}[/]", highlight=False)
    return 0


def timings_line(t: dict[str, float]) -> str:
    """`timings: launch 812 ms · new page 300 ms · load 95 ms · observe 70.5 ms (in page
    66.1) · wall 1290 ms · close 150 ms`: `wall` is until the page was printed; closing
    the browser comes after."""
    parts = []
    for stage in ("launch", "new_page", "load", "parse", "total", "wall", "close"):
        if stage not in t:
            continue
        label = "observe" if stage == "total" else stage.replace("_", " ")
        part = f"{label} {t[stage]:.1f} ms"
        if stage == "total" and "in_page" in t:
            part += f" (in page {t['in_page']:.1f})"
        parts.append(part)
    return "timings: " + " · ".join(parts)


def _offline(target: str, max_chars: int | None) -> ObservationJson:
    from .extractors.offline import serialize_page

    if max_chars is not None:
        raise ConfigurationError(
            "--max-chars caps the live serializer; --offline has no size cap (drop one)"
        )
    path = Path(target)
    if not path.is_file():
        raise ConfigurationError(f"--offline needs a saved page (a file), got {target}")
    t0 = time.perf_counter()
    page = serialize_page(path.read_text("utf-8", "replace"))
    ms = (time.perf_counter() - t0) * 1000
    return ObservationJson(
        source="offline",
        url=path.resolve().as_uri(),
        title=page.title,
        version=1,
        full=True,
        truncated=False,
        text=page.text,
        elements={
            e.ref: ElementJson(e.tag, e.role, e.name, e.value, list(e.states), None)
            for e in page.elements.values()
        },
        timings={"parse": ms, "total": ms},
    )


async def _live(
    browser: Browser, url: str, args: argparse.Namespace, *, launched_ms: float
) -> ObservationJson:
    t: dict[str, float] = {"launch": launched_ms}
    t1 = time.perf_counter()
    page = await browser.new_page()
    t["new_page"] = (time.perf_counter() - t1) * 1000
    t1 = time.perf_counter()
    await page.goto(url)
    t["load"] = (time.perf_counter() - t1) * 1000
    obs = await page.observe(full=args.full, max_chars=args.max_chars)
    return ObservationJson(
        source="live",
        url=obs.url,
        title=obs.title,
        version=obs.version,
        full=obs.full,
        truncated=obs.truncated,
        text=obs.text,
        elements={
            ref: ElementJson(e.tag, e.role, e.name, e.value, list(e.states), list(e.bbox))
            for ref, e in obs.elements.items()
        },
        timings={**obs.timings, **t},
    )
