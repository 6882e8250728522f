"""Serialize saved HTML into the same text format as the in-page serializer.

There is no layout offline, so everything not hidden by markup (`hidden`, inline
`display:none`/`visibility:hidden`, closed `<details>`, inert tags) counts as visible
(aria-hidden content too, marked, as live) and there are no viewport markers or
cursors. Used for recorded pages and, on static pages, as an oracle for the live
serializer.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any, NamedTuple

from selectolax.lexbor import LexborHTMLParser, LexborNode

_VOCAB: dict[str, Any] = json.loads(
    resources.files("browser_agent.extractors").joinpath("js/vocabulary.json").read_text("utf-8")
)
"""The live serializer's roles, name rules and word lists: one source for both."""
SKIP = set(_VOCAB["skipTags"])
INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark",
    "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "label",
    "font", "big", "tt", "strike", "wbr", "slot", "ins", "del",
}  # fmt: skip
NAME_FROM_CONTENT = set(_VOCAB["nameFromContent"])
INTERACTIVE_ROLES = set(_VOCAB["interactiveRoles"])
COMPOSITE_ROLES = set(_VOCAB["compositeRoles"])
TEXTBOX_TYPES = set(_VOCAB["textboxTypes"])
PLAIN_INPUT_ROLES: dict[str, str] = _VOCAB["plainInputRoles"]
MAX_NAME: int = _VOCAB["maxName"]
MAX_VALUE: int = _VOCAB["maxValue"]
MAX_LINE: int = _VOCAB["maxLine"]
_WS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ue000-\uf8ff]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMAT_START = re.compile(r'^(?:[\[\\#…]|---|(?:img|dialog|alertdialog) ")')
HANDLER_ATTRS = tuple(_VOCAB["handlerAttributes"])
ACTION_WORDS = set(_VOCAB["actionWords"])
CLASS_NOISE = set(_VOCAB["classNoise"])
ICON_TAGS = set(_VOCAB["iconTags"])
SYMBOL_CONTROL = re.compile(_VOCAB["symbolControl"])
CONTROL_TAGS = {"button", "select", "textarea"}
_STYLE_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0(\D|$)")


def _collapse(s: str) -> str:
    return _WS.sub(" ", s).strip()


def _clip(s: str, n: int) -> str:
    return s[: n - 1] + "…" if len(s) > n else s


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _exact(s: str) -> str:
    """A value as the page holds it (white space kept); control characters dropped."""
    v = _CONTROLS.sub("", s)
    if len(v) > MAX_VALUE:
        return f"{v[:MAX_VALUE]}… ({len(v) - MAX_VALUE} more characters)"
    return v


def _as_text(t: str) -> str:
    """Text that would read like a line of the format is shown behind a backslash."""
    return "\\" + t if _FORMAT_START.match(t) else t


def _class_tokens(node: LexborNode) -> list[str]:
    out = []
    for c in (node.attributes.get("class") or "").split():
        for t in re.split(r"[-_]+|(?<=[a-z])(?=[A-Z])", c):
            w = t.lower()
            if 1 < len(w) < 21 and w.isalpha() and w.isascii() and w not in CLASS_NOISE:
                out.append(w)
    return out


def _is_control(node: LexborNode) -> bool:
    tag = node.tag or ""
    a = node.attributes
    if tag in CONTROL_TAGS or (tag == "a" and "href" in a):
        return True
    if tag == "input":
        return (a.get("type") or "").lower() != "hidden"
    r = (a.get("role") or "").strip().split(" ")[0]
    return r in INTERACTIVE_ROLES


class _Run:
    __slots__ = ("cell", "space", "text")

    def __init__(self) -> None:
        self.text = ""
        self.space = False
        self.cell = 0  # table cells begun since the last text: " | " each


class OfflineElement(NamedTuple):
    """An element line's record, as the live `Element` has it but without a box (no layout)."""

    ref: int
    tag: str
    role: str
    name: str
    value: str | None
    states: tuple[str, ...]


class OfflinePage(NamedTuple):
    """A saved page serialized offline: the text, its title and its element records."""

    text: str
    title: str
    elements: dict[int, OfflineElement]


class _Offline:
    def __init__(self, tree: LexborHTMLParser) -> None:
        self.tree = tree
        self.next_ref = 1
        self.out: list[str] = []
        self.elements: dict[int, OfflineElement] = {}
        self.images: list[int] = []  # run length of the image line last written, by index
        self.labels: dict[str, str] = {}
        for label in tree.css("label[for]"):
            target = label.attributes.get("for") or ""
            self.labels[target] = (self.labels.get(target, "") + " " + self._text(label)).strip()

    # ---- text a person reads ----

    def _text(self, node: LexborNode, aria: bool = True) -> str:
        """Rendered text with word boundaries between blocks; hidden parts left out,
        nested controls too unless nothing else is there (as the live serializer)."""
        return self._content(node, aria, True) or self._content(node, aria, False)

    def _content(self, node: LexborNode, aria: bool, skip: bool) -> str:
        parts: list[str] = []

        def visit(n: LexborNode) -> None:
            child = n.child
            while child is not None:
                tag = child.tag
                if tag == "-text":
                    parts.append(child.text_content or "")
                elif tag and tag not in SKIP and not tag.startswith(("_", "-", "!")):
                    a = child.attributes
                    if self._hidden(child) or (aria and a.get("aria-hidden") == "true"):
                        pass
                    elif tag == "br":
                        parts.append(" ")
                    elif tag in ("textarea", "select") or (skip and _is_control(child)):
                        pass
                    elif tag in ("img", "input", "svg"):
                        alt = self._svg_name(child) if tag == "svg" else a.get("alt") or ""
                        alt = alt or a.get("aria-label") or ""
                        if alt:
                            parts.append(f" {alt} ")
                    else:
                        block = tag not in INLINE
                        if block:
                            parts.append(" ")
                        visit(child)
                        if block:
                            parts.append(" ")
                child = child.next

        visit(node)
        return _collapse("".join(parts))

    def _svg_name(self, node: LexborNode) -> str:
        label = node.attributes.get("aria-label")
        if label:
            return _collapse(label)
        child = node.child
        while child is not None:
            if child.tag == "title":
                return _collapse(child.text() or "")
            child = child.next
        return ""

    def _class_words(self, node: LexborNode | None) -> str:
        for _ in range(4):
            if node is None:
                break
            words = [w for w in _class_tokens(node) if w in ACTION_WORDS]
            if words:
                return " ".join(list(dict.fromkeys(words))[:3])
            child = node.child
            while child is not None and (child.tag or "").startswith(("-", "_", "!")):
                child = child.next
            node = child
        return ""

    def _inner_label(self, node: LexborNode) -> str:
        for d in node.traverse(include_text=False):
            if d is node:
                continue
            a = d.attributes
            found = self._svg_name(d) if d.tag == "svg" else ""
            found = found or _collapse(a.get("aria-label") or a.get("title") or a.get("alt") or "")
            if found:
                return found
        return ""

    def _hidden(self, node: LexborNode) -> bool:
        a = node.attributes
        if "hidden" in a:
            return True
        style = a.get("style") or ""
        if style and _STYLE_HIDDEN.search(style):
            return True
        parent = node.parent
        return (
            parent is not None
            and parent.tag == "details"
            and "open" not in parent.attributes
            and node.tag != "summary"
        )

    def role(self, node: LexborNode) -> str:
        a = node.attributes
        explicit = (a.get("role") or "").strip().split(" ")[0]
        if explicit and explicit not in ("none", "presentation", "generic"):
            return explicit
        tag = node.tag or ""
        if tag in ("a", "area"):
            return "link" if "href" in a else ""
        if tag == "button":
            return "button"
        if tag == "input":
            t = (a.get("type") or "text").lower()
            return "" if t == "hidden" else PLAIN_INPUT_ROLES.get(t, "textbox")
        if tag == "select":
            multiple = "multiple" in a or int(a.get("size") or 0) > 1
            return "listbox" if multiple else "combobox"
        return {"textarea": "textbox", "summary": "summary", "iframe": "iframe",
                "dialog": "dialog"}.get(tag, "")  # fmt: skip

    def interactive(self, node: LexborNode, role: str, owner: str) -> bool | str:
        """True for controls, "clickable" for other targets the markup shows (no styles
        offline, so no cursors)."""
        if role in INTERACTIVE_ROLES or role == "summary":
            return True
        a = node.attributes
        tag = node.tag or ""
        if a.get("contenteditable") in ("", "true"):
            return True
        ti = a.get("tabindex")
        if ti is not None and ti != "-1" and tag != "iframe":
            return True
        if tag in ("label", "body", "html"):
            return False
        handler = any(h in a for h in HANDLER_ATTRS)
        if owner == "control":
            return "clickable" if handler else False
        if handler:
            return "clickable"
        if tag == "a" and node.child is not None:
            return "clickable"
        has_child_element = any(
            not (c.tag or "").startswith(("-", "_", "!")) for c in _children(node)
        )
        if (not has_child_element or tag == "svg") and tag in ICON_TAGS:
            text = "" if tag == "svg" else _collapse(node.text() or "")
            words = any(w in ACTION_WORDS for w in _class_tokens(node))
            if not text:
                labelled = tag != "img" and (
                    "title" in a
                    or "aria-label" in a
                    or bool(
                        re.search(
                            r"(?:^|[\s_-])(?:btn|button)(?:$|[\s_-])", a.get("class") or "", re.I
                        )
                    )
                )
                return "clickable" if words or labelled else False
            if len(text) == 1 and SYMBOL_CONTROL.match(text):
                return "clickable" if owner or words or _beside_input(node) else False
        return False

    def name(self, node: LexborNode, role: str) -> str:
        a = node.attributes
        n = self._labelledby(node)
        if not n:
            n = _collapse(a.get("aria-label") or "")
        tag = node.tag
        if not n and tag in ("input", "select", "textarea"):
            n = self._field_name(node)
        if not n and tag == "iframe":
            n = a.get("title") or ""
        if not n and tag == "svg":
            n = self._svg_name(node)
        if not n and (tag == "img" or role == "img"):
            n = a.get("alt") or ""
        if not n and role == "dialog":
            h = node.css_first("h1,h2,h3,h4,h5,h6")
            if h is not None:
                n = self._text(h)
        if not n and role in NAME_FROM_CONTENT:
            n = self._text(node, True) or self._text(node, False)
        if not n and role not in NAME_FROM_CONTENT and role == tag:
            n = self._text(node)
        if not n:
            n = a.get("title") or ""
        if not n and tag == "button" and (a.get("type") or "").lower() == "reset":
            n = "Reset"
        if not n and (role in NAME_FROM_CONTENT or role in INTERACTIVE_ROLES or role == tag):
            n = self._inner_label(node) or self._class_words(node)
        if not n and tag == "a":
            n = _href_name(a.get("href") or "")
        return _clip(_collapse(n), MAX_NAME)

    def _labelledby(self, node: LexborNode) -> str:
        """The text of the elements `aria-labelledby` names."""
        parts = []
        for ident in (node.attributes.get("aria-labelledby") or "").split():
            target = self.tree.css_first(f"#{ident}") if re.match(r"^[\w-]+$", ident) else None
            if target is not None:
                parts.append(self._text(target))
        return " ".join(parts)

    def _field_name(self, node: LexborNode) -> str:
        """A form field's name: a button input's value, an image input's alt, its
        labels, then its placeholder."""
        a, tag = node.attributes, node.tag
        t = (a.get("type") or "").lower()
        n = ""
        if tag == "input" and t in ("submit", "reset", "button"):
            default = {"submit": "Submit", "reset": "Reset"}.get(t, "")
            n = _collapse(a.get("value") or "") or default
            if n == "Submit" and a.get("title"):
                n = a.get("title") or ""
        elif tag == "input" and t == "image":
            n = a.get("alt") or ""
        if not n:
            labels = []
            node_id = a.get("id")
            if node_id and node_id in self.labels:
                labels.append(self.labels[node_id])
            parent = node.parent
            while parent is not None:
                if parent.tag == "label":
                    labels.append(self._text(parent))
                    break
                parent = parent.parent
            n = " ".join(labels)
        return n or a.get("placeholder") or ""

    def name_cut(self, node: LexborNode, role: str) -> bool:
        a = node.attributes
        if role not in NAME_FROM_CONTENT or "aria-label" in a or "aria-labelledby" in a:
            return False
        return len(self._text(node, False)) > MAX_NAME

    def value(self, node: LexborNode) -> str | None:
        a = node.attributes
        tag = node.tag
        if tag == "input":
            t = (a.get("type") or "text").lower()
            if t in ("checkbox", "radio") or PLAIN_INPUT_ROLES.get(t) == "button":
                return None
            v = a.get("value") or ""
            if t == "password":
                return "•••" if v else ""
            if t == "file":
                return ""
            return _exact(v)
        if tag == "textarea":
            return _exact(node.text() or "")
        if tag == "select":
            opts = node.css("option")
            chosen = [o for o in opts if "selected" in o.attributes]
            if not chosen and opts and "multiple" not in a:
                chosen = opts[:1]
            return ", ".join(_collapse(o.attributes.get("label") or o.text()) for o in chosen)
        if a.get("contenteditable") in ("", "true"):
            return _exact(node.text() or "")
        shown = a.get("aria-valuetext") or a.get("aria-valuenow")
        return None if shown is None else _exact(shown)

    def range(self, node: LexborNode, role: str) -> str:
        if role not in ("slider", "spinbutton"):
            return ""
        a = node.attributes
        lo, hi = a.get("aria-valuemin"), a.get("aria-valuemax")
        if node.tag == "input":
            ranged = (a.get("type") or "").lower() == "range"
            lo = a.get("min") or ("0" if ranged else lo)
            hi = a.get("max") or ("100" if ranged else hi)
        out = ""
        if lo:
            out += f" min={_quote(_exact(lo))}"
        if hi:
            out += f" max={_quote(_exact(hi))}"
        return out

    def states(self, node: LexborNode, role: str, aria_hidden: bool) -> list[str]:
        a = node.attributes
        st: list[str] = _checked(node)
        if a.get("aria-pressed") == "true":
            st.append("pressed")
        if a.get("aria-selected") == "true":
            st.append("selected")
        form_tag = node.tag in ("button", "input", "select", "textarea", "option", "fieldset")
        if (form_tag and "disabled" in a) or a.get("aria-disabled") == "true":
            st.append("disabled")
        st += _expanded(node, role)
        popup = a.get("aria-haspopup")
        if popup and popup != "false":
            st.append("haspopup" if popup in ("true", "menu") else f"haspopup={popup}")
        current = a.get("aria-current")
        if current and current != "false":
            st.append("current" if current == "true" else f"current={current}")
        editable = a.get("contenteditable") in ("", "true")
        if (
            node.tag == "textarea"
            or a.get("aria-multiline") == "true"
            or (editable and a.get("aria-multiline") != "false")
        ):
            st.append("multiline")
        if ("required" in a and node.tag in ("input", "select", "textarea")) or a.get(
            "aria-required"
        ) == "true":
            st.append("required")
        if ("readonly" in a and node.tag in ("input", "textarea")) or a.get(
            "aria-readonly"
        ) == "true":
            st.append("readonly")
        if aria_hidden:
            st.append("aria-hidden")
        return st

    # ---- walk ----

    def push(self, line: str) -> None:
        self.out.append(line)
        self.images.append(0)

    def flush(self, depth: int, run: _Run) -> None:
        if run.text and run.text != "-":
            pad = "  " * depth
            t = run.text
            while len(t) > MAX_LINE:
                cut = t.rfind(" ", 0, MAX_LINE + 1)
                if cut < MAX_LINE // 2:
                    cut = MAX_LINE
                self.push(pad + _as_text(t[:cut]))
                t = t[cut:].lstrip()
            if t:
                self.push(pad + _as_text(t))
        run.text = ""
        run.space = False
        run.cell = 0

    def children(self, node: LexborNode, depth: int, ctx: _Ctx, run: _Run) -> None:
        child = node.child
        last_img: LexborNode | None = None
        while child is not None:
            if child.tag == "-text":
                if not (ctx.hidden or ctx.name_only):
                    d = child.text_content or ""
                    t = _collapse(d)
                    if not t:
                        if run.text:
                            run.space = True
                    else:
                        lead = t[0] != d[0]
                        if not run.text:
                            run.text = t
                        elif run.cell:
                            run.text += " | " * run.cell + t
                        else:
                            run.text += (" " if run.space or lead else "") + t
                        run.cell = 0
                        run.space = t[-1] != d[-1]
            elif child.tag not in ("_comment", "-comment", "!doctype"):
                self.element(child, depth, ctx, run, last_img)
                last_img = child if child.tag == "img" else None
            child = child.next

    def element(
        self,
        node: LexborNode,
        depth: int,
        ctx: _Ctx,
        run: _Run,
        prev_img: LexborNode | None = None,
    ) -> None:
        tag = node.tag
        if tag is None or self._dropped(node, tag):
            return
        a = node.attributes
        aria_hidden = ctx.aria_hidden or a.get("aria-hidden") == "true"
        role = self.role(node)
        interactive = self.interactive(node, role, ctx.owner)
        if interactive == "clickable":
            role = "clickable"
        if not role and interactive:
            role = tag
        if tag == "label":
            interactive = False
        sub = ctx._replace(aria_hidden=aria_hidden)
        if tag == "svg" and not interactive:
            if not ctx.hidden and not ctx.name_only and role == "img":
                alt = self.name(node, "img")
                if alt:
                    self.flush(depth, run)
                    self.push(f"{'  ' * depth}img {_quote(_clip(alt, MAX_NAME))}")
            return
        cell = tag in ("td", "th")
        inline = tag in INLINE or cell
        has_control = tag == "label" and (
            "for" in a or node.css_first("input,select,textarea,button") is not None
        )
        if inline and not interactive and tag not in ("iframe", "img", "br"):
            inner_ctx = sub._replace(name_only=True) if has_control else sub
            if cell and run.text:
                run.cell += 1
            self.children(node, depth, inner_ctx, run)
            return
        if tag == "br":
            if run.text:
                run.space = True
            return
        if ctx.name_only and not interactive and tag != "iframe":
            self.children(node, depth, sub, run)
            return
        self.flush(depth, run)
        self.block(node, depth, ctx, sub, role, interactive, aria_hidden, has_control, prev_img)

    def _dropped(self, node: LexborNode, tag: str) -> bool:
        """Elements that make no line and hold none: inert tags, hidden ones, a closed
        dialog, a hidden input."""
        a = node.attributes
        if tag in SKIP or self._hidden(node):
            return True
        if tag == "dialog" and "open" not in a:
            return True
        return tag == "input" and (a.get("type") or "").lower() == "hidden"

    def block(
        self,
        node: LexborNode,
        depth: int,
        ctx: _Ctx,
        sub: _Ctx,
        role: str,
        interactive: bool | str,
        aria_hidden: bool,
        has_control: bool,
        prev_img: LexborNode | None,
    ) -> None:
        """An element that starts lines of its own: an image, a control, a frame, a
        dialog, a heading, or a block whose text and children follow."""
        tag = node.tag or ""
        a = node.attributes
        inner = _Run()
        pad = "  " * depth
        if (tag == "img" or role == "img") and not interactive:
            if not ctx.hidden and not ctx.name_only:
                self.image(a, pad, prev_img)
        elif interactive and not ctx.hidden:
            self.push(self.control_line(node, role, pad, aria_hidden))
            editable = a.get("contenteditable") in ("", "true")
            if tag not in ("select", "input", "textarea", "iframe", "svg") and not editable:
                named = role in NAME_FROM_CONTENT or role == "link"
                control = role in INTERACTIVE_ROLES and role not in COMPOSITE_ROLES
                owner = "control" if interactive is True and control else "clickable"
                cut = self.name_cut(node, role)
                self.children(
                    node, depth + 1, sub._replace(name_only=named and not cut, owner=owner), inner
                )
                self.flush(depth + 1, inner)
        elif tag == "iframe":
            if not ctx.hidden:
                ref = self.next_ref
                self.next_ref += 1
                name = self.name(node, "iframe")
                self.elements[ref] = OfflineElement(ref, tag, "iframe", name, None, ())
                self.push(f"{pad}[{ref}] iframe {_quote(name)}")
        elif role in ("dialog", "alertdialog"):
            if not ctx.hidden:
                self.push(f"{pad}{role} {_quote(self.name(node, 'dialog'))}")
            self.children(node, depth + 1, sub, inner)
            self.flush(depth + 1, inner)
        elif (len(tag) == 2 and tag[0] == "h" and tag[1] in "123456") or role == "heading":
            if not ctx.hidden and not ctx.name_only:
                self.heading(node, pad)
            self.children(node, depth, sub._replace(name_only=True), inner)
        else:
            if tag == "li" and not ctx.hidden and not ctx.name_only:
                inner.text = "-"
                inner.space = True
            self.children(node, depth, sub._replace(name_only=True) if has_control else sub, inner)
            self.flush(depth, inner)

    def image(self, a: dict[str, str | None], pad: str, prev_img: LexborNode | None) -> None:
        """An image's line; a run of the same image right after it counts up (`×N`)."""
        alt = _collapse(a.get("alt") or a.get("aria-label") or "")
        if not alt:
            return
        line = f"{pad}img {_quote(_clip(alt, MAX_NAME))}"
        if prev_img is not None and self.images and self.images[-1]:
            base = self.out[-1].split(" ×")[0]
            if base == line:
                self.images[-1] += 1
                self.out[-1] = f"{line} ×{self.images[-1]}"
                return
        self.out.append(line)
        self.images.append(1)

    def control_line(self, node: LexborNode, role: str, pad: str, aria_hidden: bool) -> str:
        """An interactive element's line: ref, role, name, type, value, range, options,
        states."""
        a, tag = node.attributes, node.tag
        ref = self.next_ref
        self.next_ref += 1
        name = self.name(node, role)
        value = self.value(node)
        line = f"{pad}[{ref}] {role} {_quote(name)}"
        if tag == "input":
            t = (a.get("type") or "text").lower()
            plain = t in PLAIN_INPUT_ROLES or t in TEXTBOX_TYPES
            if not plain or t in ("password", "email", "tel", "url"):
                line += f" type={t}"
        if value:
            line += f" value={_quote(value)}"
        line += self.range(node, role)
        if tag == "select":
            opts = [_collapse(o.attributes.get("label") or o.text()) for o in node.css("option")]
            if len(opts) > 25:
                opts = [*opts[:25], f"…{len(opts) - 25} more"]
            line += " options=" + json.dumps(
                opts, ensure_ascii=False, separators=(",", ":")
            ).replace('\\"', "'")
        st = self.states(node, role, aria_hidden)
        if st:
            line += " " + " ".join(st)
        self.elements[ref] = OfflineElement(ref, tag or "", role, name, value, tuple(st))
        return line

    def heading(self, node: LexborNode, pad: str) -> None:
        """A heading's line: `#` marks for its level (h1-h6 or aria-level), then its text."""
        tag, a = node.tag or "", node.attributes
        level = (
            int(tag[1]) if tag[:1] == "h" and tag[1:].isdigit() else int(a.get("aria-level") or 2)
        )
        text = _clip(self._text(node, False), MAX_LINE)
        if text:
            self.push(f"{pad}{'#' * min(max(level, 1), 6)} {text}")


class _Ctx(NamedTuple):
    hidden: bool = False
    name_only: bool = False
    aria_hidden: bool = False
    owner: str = ""


def _children(node: LexborNode) -> list[LexborNode]:
    out = []
    child = node.child
    while child is not None:
        out.append(child)
        child = child.next
    return out


def _href_name(raw: str) -> str:
    """Where a link goes, as a last resort for its name (no base URL offline: as written)."""
    if not raw or re.match(r"\s*(javascript|data):", raw, re.I):
        return ""
    if raw.lower().startswith("mailto:"):
        return "email"
    return re.sub(r"^(?:https?:)?//(?:www\.)?", "", raw).rstrip("/") or "/"


def _checked(node: LexborNode) -> list[str]:
    """`checked` or `mixed`, from the input's attribute or the element's ARIA."""
    a = node.attributes
    t = (a.get("type") or "").lower()
    if node.tag == "input" and t in ("checkbox", "radio"):
        return ["checked"] if "checked" in a else []
    if a.get("aria-checked") == "true":
        return ["checked"]
    return ["mixed"] if a.get("aria-checked") == "mixed" else []


def _expanded(node: LexborNode, role: str) -> list[str]:
    """`expanded` or `collapsed`: a summary's from its details, others' from ARIA."""
    a = node.attributes
    if role == "summary":
        parent = node.parent
        if parent is not None and parent.tag == "details":
            return ["expanded" if "open" in parent.attributes else "collapsed"]
        return []
    if a.get("aria-expanded") == "true":
        return ["expanded"]
    return ["collapsed"] if a.get("aria-expanded") == "false" else []


def _beside_input(node: LexborNode) -> bool:
    parent = node.parent
    return parent is not None and any(
        c.tag == "input"
        and (c.attributes.get("type") or "text") not in ("hidden", "checkbox", "radio")
        for c in _children(parent)
    )


def serialize_html(html: str) -> str:
    """The model-facing text of a saved page, as the live serializer would write it."""
    return serialize_page(html).text


def serialize_page(html: str) -> OfflinePage:
    """The text of a saved page with its title and a record per element line."""
    tree = LexborHTMLParser(html)
    body = tree.body or tree.root
    s = _Offline(tree)
    title_node = tree.css_first("title")
    title = _collapse(title_node.text()) if title_node is not None else ""
    if body is None:
        return OfflinePage("", title, {})
    run = _Run()
    s.children(body, 0, _Ctx(), run)
    s.flush(0, run)
    return OfflinePage("\n".join(s.out), title, s.elements)
