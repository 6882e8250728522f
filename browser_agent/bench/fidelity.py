"""`bench fidelity`: how much of each article's main text the default observation carries.

On the shared corpus of saved articles (`../shared/corpus/articles` and its ground truth),
each page is served from loopback (every other request aborted) and read three ways in
the same run: our default observation, Playwright's `aria_snapshot(mode="ai")`, and the
text of `page.content()` (every text node of the document, hidden ones included: the
ceiling). A main-text sentence counts as carried when its words appear in that order,
contiguously, in the words a reader of the output sees (refs, roles and quoting removed),
so a sentence split by an inline link still counts in both formats.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Error as PlaywrightError
from rich.console import Console
from rich.table import Table
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from browser_agent.browser import Browser
from browser_agent.corpus import default_corpus, iter_pages
from browser_agent.exceptions import BrowserAgentError, ConfigurationError
from browser_agent.stats import percentile
from browser_agent.terminal import console as make_console

from ..testing import FixtureServer

MIN_WORDS = 4
"""Shorter fragments ("Advertisement", a byline) say little about fidelity."""
WORST = 10

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_OUR_ELEMENT = re.compile(r'^\[\d+\] \S+ ("(?:[^"\\]|\\.)*")(.*)$')
_OUR_VALUE = re.compile(r' value=("(?:[^"\\]|\\.)*")')
_ARIA_LINE = re.compile(r'^- (?:([\w/-]+)(?: "((?:[^"\\]|\\.)*)")?(?: \[[^\]]*\])*:? ?)?(.*)$')


def words(text: str) -> list[str]:
    """Lower-cased word tokens; punctuation, quotes and spacing differences vanish."""
    return [w.casefold() for w in _WORD.findall(text)]


def sentences(body: str) -> list[list[str]]:
    """The ground truth's sentences as word lists, skipping fragments under MIN_WORDS."""
    out = []
    for para in body.split("\n"):
        for s in _SENTENCE_END.split(para):
            w = words(s)
            if len(w) >= MIN_WORDS:
                out.append(w)
    return out


def _json_str(quoted: str) -> str:
    try:
        value = json.loads(quoted)
    except ValueError:
        return quoted.strip('"')
    return value if isinstance(value, str) else quoted


def reading_ours(text: str) -> str:
    """What a reader of our text sees: element names and values, headings, plain text."""
    out = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith(("--- ", "… ")):
            continue  # viewport markers and overflow summaries
        m = _OUR_ELEMENT.match(line)
        if m:
            out.append(_json_str(m.group(1)))
            v = _OUR_VALUE.search(m.group(2))
            if v:
                out.append(_json_str(v.group(1)))
            continue
        if line.startswith("img "):
            line = _json_str(line[4:])
        elif line.startswith("\\["):
            line = line[1:]
        out.append(line.lstrip("#").strip())
    return "\n".join(out)


def reading_aria(text: str) -> str:
    """What a reader of an aria snapshot sees: names and text, no roles, refs or URLs."""
    out = []
    for raw in text.split("\n"):
        line = raw.strip()
        m = _ARIA_LINE.match(line)
        if not m:
            out.append(line)
            continue
        role, name, rest = m.groups()
        if role in ("/url", "/placeholder"):
            continue
        if name:
            out.append(_json_str(f'"{name}"'))
        rest = rest.strip()
        if rest.startswith('"') and rest.endswith('"'):
            rest = _json_str(rest)
        if rest:
            out.append(rest)
    return "\n".join(out)


def content_text(html: str) -> str:
    """Every text node of the document outside scripts and styles (hidden ones too)."""
    tree = HTMLParser(html)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    root = tree.body or tree.root
    return root.text(separator="\n") if root is not None else ""


def carried(truth: list[list[str]], seen: str) -> float:
    """Share of `truth`'s sentences whose words appear contiguously, in order, in `seen`."""
    if not truth:
        return 1.0
    haystack = " " + " ".join(words(seen)) + " "
    hits = sum(1 for s in truth if " " + " ".join(s) + " " in haystack)
    return hits / len(truth)


@dataclass
class _Row:
    page: str
    sentences: int
    ours: float
    aria: float
    content: float
    chars_ours: int
    chars_aria: int
    truncated: bool
    missing: list[str] = field(default_factory=list)


async def run(
    corpus: Path | None = None,
    *,
    limit: int | None = None,
    json_output: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Measure every corpus page with ground truth; print and return the figures."""
    console = console or make_console()
    corpus = corpus or default_corpus()
    if corpus is None or not corpus.is_dir():
        raise ConfigurationError(
            "no corpus: expected ../shared/corpus/articles (or pass --corpus DIR)"
        )
    truth_file = corpus.parent / f"{corpus.name}-ground-truth.json"
    try:
        truth = json.loads(truth_file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the ground truth {truth_file.name}: {exc}") from exc
    rows: list[_Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pages: list[tuple[str, str]] = []
        for name, html in iter_pages(corpus):
            key = name.removesuffix(".html")
            if key not in truth:
                continue
            (root / name).write_text(html, "utf-8")
            pages.append((name, html))
            if limit and len(pages) >= limit:
                break
        with FixtureServer(root=root) as server:
            async with Browser.launch(allowed_domains=["127.0.0.1"]) as browser:
                page = await browser.new_page()
                for name, html in pages:
                    want = sentences(str(truth[name.removesuffix(".html")].get("articleBody", "")))
                    if not want:
                        continue
                    try:
                        await page.goto(server.url("/" + name), timeout=30)
                        obs = await page.observe()
                        snap = await page.playwright_page.locator(":root").aria_snapshot(mode="ai")
                    except (PlaywrightError, BrowserAgentError, TimeoutError) as exc:
                        make_console(stderr=True).print(f"skip {name}: {exc}", markup=False)
                        await page.close()
                        page = await browser.new_page()
                        continue
                    ours_seen = reading_ours(obs.text)
                    ours_words = " " + " ".join(words(ours_seen)) + " "
                    rows.append(
                        _Row(
                            page=name,
                            sentences=len(want),
                            ours=carried(want, ours_seen),
                            aria=carried(want, reading_aria(snap)),
                            content=carried(want, content_text(html)),
                            chars_ours=len(obs.text),
                            chars_aria=len(snap),
                            truncated=obs.truncated,
                            missing=[
                                " ".join(s)[:120]
                                for s in want
                                if " " + " ".join(s) + " " not in ours_words
                            ][:3],
                        )
                    )
    result = _summarize(rows, corpus)
    if json_output:
        print(json.dumps(result, indent=2))
    else:
        _print(console, result)
    return result


def _summarize(rows: list[_Row], corpus: Path) -> dict[str, Any]:
    def p(key: str, q: float) -> float:
        return percentile([getattr(r, key) for r in rows], q)

    worst = sorted(rows, key=lambda r: (r.ours, r.page))[:WORST]
    size = [r.chars_ours / r.chars_aria for r in rows if r.chars_aria]
    return {
        "corpus": corpus.name,
        "pages": len(rows),
        "summary": {
            "ours": {"p50": p("ours", 50), "p10": p("ours", 10), "mean": _mean(rows, "ours")},
            "aria": {"p50": p("aria", 50), "p10": p("aria", 10), "mean": _mean(rows, "aria")},
            "content": {
                "p50": p("content", 50),
                "p10": p("content", 10),
                "mean": _mean(rows, "content"),
            },
            "chars_ours": {"p50": p("chars_ours", 50)},
            "chars_aria": {"p50": p("chars_aria", 50)},
            "chars_ratio_vs_aria": {"p50": percentile(size, 50)},
            "truncated_pages": sum(r.truncated for r in rows),
        },
        "worst": [r.__dict__ for r in worst],
        "rows": [{k: v for k, v in r.__dict__.items() if k != "missing"} for r in rows],
    }


def _mean(rows: list[_Row], key: str) -> float:
    return sum(getattr(r, key) for r in rows) / len(rows) if rows else float("nan")


def _print(console: Console, result: dict[str, Any]) -> None:
    s = result["summary"]
    t = Table(title=f"bench fidelity: {result['pages']} pages, main-text sentences carried")
    for col in ("reading", "p50", "p10", "mean", "chars p50"):
        t.add_column(col, justify="left" if col == "reading" else "right")
    for label, key, chars in (
        ("ours: observe()", "ours", f"{s['chars_ours']['p50']:.0f}"),
        ('aria_snapshot(mode="ai")', "aria", f"{s['chars_aria']['p50']:.0f}"),
        ("page.content() text (ceiling)", "content", ""),
    ):
        t.add_row(
            label, f"{s[key]['p50']:.1%}", f"{s[key]['p10']:.1%}", f"{s[key]['mean']:.1%}", chars
        )
    console.print(t)
    console.print(
        f"our text is {s['chars_ratio_vs_aria']['p50']:.0%} of aria_snapshot's characters "
        f"(median); {s['truncated_pages']} pages hit the size cap",
        highlight=False,
    )
    w = Table(title=f"worst {len(result['worst'])} pages for ours")
    for col in ("page", "ours", "aria", "ceiling", "chars", "a sentence we miss"):
        w.add_column(col, overflow="fold")
    for r in result["worst"]:
        w.add_row(
            r["page"][:12],
            f"{r['ours']:.0%}",
            f"{r['aria']:.0%}",
            f"{r['content']:.0%}",
            str(r["chars_ours"]),
            (r["missing"] or [""])[0][:60],
        )
    console.print(w)
