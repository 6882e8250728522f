"""The readable main content of an HTML page, as markdown or plain text.

For reading long pages (articles, docs, search results) where the interactive
serialization is the wrong tool. The main content is `<main>` / `[role=main]` /
a single `<article>` when the page marks it, else the block holding most of the
paragraph text (a small Readability-style score); site chrome (navigation, banners,
sidebars, footers), scripts, forms' controls and hidden markup are dropped.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

Format = Literal["markdown", "text"]

DROP = (
    "script, style, noscript, template, svg, canvas, iframe, object, embed, head, "
    "input, select, textarea, button, [hidden], [aria-hidden=true], dialog:not([open])"
)
CHROME = "nav, aside, [role=navigation], [role=complementary], [role=search]"
PAGE_CHROME = "header, footer, [role=banner], [role=contentinfo]"
BLOCK = {
    "p", "div", "section", "article", "main", "header", "footer", "figure", "figcaption",
    "address", "details", "summary", "form", "fieldset", "legend", "center", "body", "html",
}  # fmt: skip
_MARKS = {"a": "", "img": "", "strong": "**", "b": "**", "em": "*", "i": "*", "code": "`"}
"""Inline tags with a markdown form, and the marks around their text."""
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_WS = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_BR = "\u2028"
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden")


def extract(html: str, *, url: str = "", format: Format = "markdown") -> str:
    """Markdown (headings, lists, links, tables, code) or plain text of the main content."""
    if format not in ("markdown", "text"):
        raise ValueError(f"format must be 'markdown' or 'text', not {format!r}")
    tree = LexborHTMLParser(html)
    for node in tree.css(DROP):
        node.decompose()
    for node in tree.css("[style]"):
        if _HIDDEN_STYLE.search(node.attributes.get("style") or ""):
            node.decompose()
    root = _main(tree)
    if root is None:
        return ""
    for node in root.css(CHROME):
        node.decompose()
    if root.tag in ("body", "html"):
        for node in root.css(PAGE_CHROME):
            if not _inside(node, ("article", "main", "section")):
                node.decompose()
    out = _Writer(format == "markdown", url)
    out.walk(root)
    out.flush()
    return out.result()


def _inside(node: LexborNode, tags: tuple[str, ...]) -> bool:
    p = node.parent
    while p is not None:
        if p.tag in tags:
            return True
        p = p.parent
    return False


def _text_len(node: LexborNode) -> int:
    return len(_WS.sub(" ", node.text(deep=True)).strip())


def _main(tree: LexborHTMLParser) -> LexborNode | None:
    body = tree.body or tree.root
    if body is None:
        return None
    for sel in ("main", "[role=main]"):
        found = tree.css(sel)
        if len(found) == 1 and _text_len(found[0]) > 0:
            return found[0]
    articles = tree.css("article")
    if len(articles) == 1 and _text_len(articles[0]) > 0:
        return articles[0]
    # Readability-style: paragraphs vote for their parent (and half for the grandparent).
    scores: dict[int, float] = {}
    nodes: dict[int, LexborNode] = {}
    for p in tree.css("p, pre, td, blockquote"):
        n = _text_len(p)
        if n < 25:
            continue
        score = 1 + p.text().count(",") + min(n / 100, 3)
        for weight, anc in ((1.0, p.parent), (0.5, p.parent.parent if p.parent else None)):
            if anc is None or anc.tag in ("html",):
                continue
            key = anc.mem_id
            nodes[key] = anc
            scores[key] = scores.get(key, 0.0) + score * weight
    if not scores:
        return body
    best = nodes[max(scores, key=lambda k: scores[k])]
    total = _text_len(body)
    return best if total and _text_len(best) >= 0.3 * total else body


class _Writer:
    """Walks the DOM once, emitting blocks; inline markup goes into the current line."""

    def __init__(self, markdown: bool, base: str) -> None:
        self.md = markdown
        self.base = base
        self.blocks: list[tuple[str, bool]] = []  # (text, tight: part of a list)
        self.buf: list[str] = []
        self.prefix: list[str] = []  # list-item bullets / indentation waiting for text
        self.indent = ""

    # -- output --

    def flush(self, lead: str = "", tight: bool = False) -> None:
        text = _WS.sub(" ", "".join(self.buf)).strip().replace(f" {_BR} ", _BR)
        text = text.replace(f"{_BR} ", _BR).replace(f" {_BR}", _BR).strip(_BR + " ")
        self.buf.clear()
        if not text:
            return
        if self.prefix:
            lead = self.prefix.pop() + lead
            tight = True
        elif self.indent:
            lead = self.indent + lead
            tight = True
        sep = "  \n" if self.md else "\n"
        self.blocks.append((lead + text.replace(_BR, sep + " " * len(lead)), tight))

    def raw(self, text: str, tight: bool = False) -> None:
        self.flush()
        if text.strip():
            self.blocks.append((text, tight))

    def result(self) -> str:
        parts: list[str] = []
        prev_tight = False
        for text, tight in self.blocks:
            if not text:  # end of a list: what follows is a new paragraph
                prev_tight = False
                continue
            if parts:
                parts.append("\n" if tight and prev_tight else "\n\n")
            parts.append(text)
            prev_tight = tight
        return "".join(parts).strip() + ("\n" if parts else "")

    # -- walking --

    def inline(self, node: LexborNode) -> str:
        saved = self.buf
        self.buf = []
        self.children(node)
        text = _WS.sub(" ", "".join(self.buf)).strip()
        self.buf = saved
        return text

    def children(self, node: LexborNode) -> None:
        child = node.child
        while child is not None:
            self.walk(child)
            child = child.next

    def walk(self, node: LexborNode) -> None:
        tag = node.tag
        if tag == "-text":
            self.buf.append(node.text(deep=False))
            return
        if tag in ("-comment", "-doctype") or tag is None:
            return
        md = self.md
        if tag == "br":
            self.buf.append(f" {_BR} ")
        elif tag in HEADINGS:
            self.flush()
            text = self.inline(node)
            if text:
                self.blocks.append((("#" * HEADINGS[tag] + " " if md else "") + text, False))
        elif tag in _MARKS:
            self.mark(node, tag)
        elif tag in ("ul", "ol", "menu"):
            self.list_(node, ordered=tag == "ol")
        elif tag == "pre":
            code = node.text(deep=True).strip("\n")
            self.raw(f"```\n{code}\n```" if md else code)
        elif tag == "blockquote":
            self.flush()
            sub = _Writer(md, self.base)
            sub.children(node)
            sub.flush()
            quoted = sub.result().strip()
            if quoted:
                lines = quoted.split("\n")
                self.raw("\n".join((f"> {ln}" if md else f"  {ln}").rstrip() for ln in lines))
        elif tag == "table":
            self.table(node)
        elif tag == "hr":
            self.raw("---" if md else "")
        elif tag in ("dt", "dd"):
            self.flush()
            self.children(node)
            self.flush(lead="" if tag == "dt" else ": " if md else "  ")
        elif tag in BLOCK or tag in ("li", "dl", "tr", "tbody", "thead"):
            self.flush()
            self.children(node)
            self.flush()
        else:
            self.children(node)

    def mark(self, node: LexborNode, tag: str) -> None:
        """An inline element with a markdown form: link, bold, italic, code, image."""
        md = self.md
        if tag == "img":
            alt = (node.attributes.get("alt") or "").strip()
            src = node.attributes.get("src") or ""
            if md and alt and src:
                self.buf.append(f"![{alt}]({urljoin(self.base, src)})")
            return
        text = self.inline(node)
        if tag == "a":
            href = node.attributes.get("href") or ""
            if md and text and href and not href.startswith(("javascript:", "#")):
                self.buf.append(f"[{text}]({urljoin(self.base, href)})")
            else:
                self.buf.append(text)
            return
        wrap = _MARKS[tag]
        self.buf.append(f"{wrap}{text}{wrap}" if md and text else text)

    def list_(self, node: LexborNode, ordered: bool) -> None:
        self.flush()
        saved = self.indent
        n = 0
        for li in node.iter():
            if li.tag != "li":
                if li.tag not in ("-text", "-comment"):
                    self.walk(li)
                continue
            n += 1
            bullet = f"{n}. " if ordered else "- "
            self.prefix.append(saved + bullet)
            depth = len(self.prefix)
            self.indent = saved + " " * len(bullet)
            self.children(li)
            self.flush()
            while len(self.prefix) >= depth:  # an empty item leaves its bullet unused
                self.prefix.pop()
            self.indent = saved
        self.indent = saved
        if not saved:
            self.blocks.append(("", False))

    def table(self, node: LexborNode) -> None:
        self.flush()
        rows: list[list[str]] = []
        for tr in node.css("tr"):
            cells = [self.inline(c) for c in tr.iter() if c.tag in ("td", "th")]
            if self.md:
                cells = [c.replace("|", "\\|") for c in cells]
            if any(cells):
                rows.append(cells)
        if not rows:
            return
        if not self.md:
            self.raw("\n".join(" | ".join(r) for r in rows))
            return
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        self.raw("\n".join(lines))
