"""Serialize saved HTML into the same text format as the in-page serializer.

There is no layout offline, so everything not hidden by markup (`hidden`, inline
`display:none`/`visibility:hidden`, `aria-hidden`, closed `<details>`, inert tags)
counts as visible and there are no viewport markers. Used for recorded pages and,
on static pages, as an oracle for the live serializer.
"""

from __future__ import annotations

import json
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

SKIP = {"script", "style", "noscript", "template", "head", "meta", "link", "title", "base", "svg"}
INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark",
    "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "label",
    "font", "big", "tt", "strike", "wbr", "slot", "ins", "del",
}  # fmt: skip
NAME_FROM_CONTENT = {
    "button", "link", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "option",
    "treeitem", "switch", "checkbox", "radio", "clickable", "summary",
}  # fmt: skip
INTERACTIVE_ROLES = {
    "button", "link", "checkbox", "radio", "switch", "tab", "menuitem", "menuitemcheckbox",
    "menuitemradio", "option", "combobox", "textbox", "searchbox", "slider", "spinbutton",
    "listbox", "treeitem",
}  # fmt: skip
TEXTBOX_TYPES = {"text", "search", "email", "tel", "url", "password", ""}
PLAIN_INPUT_ROLES = {
    "checkbox": "checkbox", "radio": "radio", "range": "slider", "number": "spinbutton",
    "search": "searchbox", "button": "button", "submit": "button", "reset": "button",
    "image": "button",
}  # fmt: skip
MAX_NAME = 80
MAX_VALUE = 120
MAX_TEXT = 400
_WS = re.compile(r"\s+")
_STYLE_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0(\D|$)")


def _collapse(s: str) -> str:
    return _WS.sub(" ", s).strip()


def _clip(s: str, n: int) -> str:
    return s[: n - 1] + "…" if len(s) > n else s


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


class _Run:
    __slots__ = ("space", "text")

    def __init__(self) -> None:
        self.text = ""
        self.space = False


class _Offline:
    def __init__(self, tree: LexborHTMLParser) -> None:
        self.tree = tree
        self.next_ref = 1
        self.out: list[str] = []
        self.labels: dict[str, str] = {}
        for label in tree.css("label[for]"):
            target = label.attributes.get("for") or ""
            self.labels[target] = (self.labels.get(target, "") + " " + self._text(label)).strip()

    def _text(self, node: LexborNode) -> str:
        return _collapse(node.text(deep=True, separator="") or "")

    def _hidden(self, node: LexborNode) -> bool:
        a = node.attributes
        if "hidden" in a or a.get("aria-hidden") == "true":
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
        tag = node.tag
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

    def interactive(self, node: LexborNode, role: str) -> bool:
        if role in INTERACTIVE_ROLES or role == "summary":
            return True
        a = node.attributes
        if a.get("contenteditable") in ("", "true"):
            return True
        ti = a.get("tabindex")
        return ti is not None and ti != "-1" and node.tag != "iframe"

    def name(self, node: LexborNode, role: str) -> str:
        a = node.attributes
        n = ""
        if a.get("aria-labelledby"):
            parts = []
            for ident in (a.get("aria-labelledby") or "").split():
                target = self.tree.css_first(f"#{ident}") if re.match(r"^[\w-]+$", ident) else None
                if target is not None:
                    parts.append(self._text(target))
            n = " ".join(parts)
        if not n:
            n = _collapse(a.get("aria-label") or "")
        tag = node.tag
        if not n and tag in ("input", "select", "textarea"):
            t = (a.get("type") or "").lower()
            if tag == "input" and t in ("submit", "reset", "button"):
                default = {"submit": "Submit", "reset": "Reset"}.get(t, "")
                n = a.get("value") or default
            elif tag == "input" and t == "image":
                n = a.get("alt") or ""
            if not n:
                labels = []
                if a.get("id") and a.get("id") in self.labels:
                    labels.append(self.labels[a["id"]])
                parent = node.parent
                while parent is not None:
                    if parent.tag == "label":
                        labels.append(self._text(parent))
                        break
                    parent = parent.parent
                n = " ".join(labels)
            if not n:
                n = a.get("placeholder") or ""
        if not n and tag == "iframe":
            n = a.get("title") or ""
        if not n and role == "dialog":
            h = node.css_first("h1,h2,h3,h4,h5,h6")
            if h is not None:
                n = self._text(h)
        if not n and role in NAME_FROM_CONTENT:
            n = _clip(self._text(node), MAX_NAME)
            if not n:
                img = node.css_first("img[alt]")
                if img is not None:
                    n = img.attributes.get("alt") or ""
        if not n:
            n = a.get("title") or ""
        return _clip(_collapse(n), MAX_NAME)

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
            return _clip(v, MAX_VALUE)
        if tag == "textarea":
            return _clip(_collapse(node.text() or ""), MAX_VALUE)
        if tag == "select":
            opts = node.css("option")
            chosen = [o for o in opts if "selected" in o.attributes]
            if not chosen and opts and "multiple" not in a:
                chosen = opts[:1]
            return ", ".join(_collapse(o.attributes.get("label") or o.text()) for o in chosen)
        if a.get("contenteditable") in ("", "true"):
            return _clip(self._text(node), MAX_VALUE)
        return a.get("aria-valuenow")

    def states(self, node: LexborNode, role: str) -> list[str]:
        a = node.attributes
        st: list[str] = []
        t = (a.get("type") or "").lower()
        if node.tag == "input" and t in ("checkbox", "radio"):
            if "checked" in a:
                st.append("checked")
        elif a.get("aria-checked") == "true":
            st.append("checked")
        elif a.get("aria-checked") == "mixed":
            st.append("mixed")
        if a.get("aria-pressed") == "true":
            st.append("pressed")
        if a.get("aria-selected") == "true":
            st.append("selected")
        form_tag = node.tag in ("button", "input", "select", "textarea", "option", "fieldset")
        if (form_tag and "disabled" in a) or a.get("aria-disabled") == "true":
            st.append("disabled")
        if role == "summary":
            parent = node.parent
            if parent is not None and parent.tag == "details":
                st.append("expanded" if "open" in parent.attributes else "collapsed")
        elif a.get("aria-expanded") == "true":
            st.append("expanded")
        elif a.get("aria-expanded") == "false":
            st.append("collapsed")
        if ("required" in a and node.tag in ("input", "select", "textarea")) or a.get(
            "aria-required"
        ) == "true":
            st.append("required")
        if ("readonly" in a and node.tag in ("input", "textarea")) or a.get(
            "aria-readonly"
        ) == "true":
            st.append("readonly")
        return st

    # ---- walk ----

    def flush(self, depth: int, run: _Run) -> None:
        if run.text:
            self.out.append("  " * depth + _clip(run.text, MAX_TEXT))
        run.text = ""
        run.space = False

    def children(
        self, node: LexborNode, depth: int, hidden: bool, name_only: bool, run: _Run
    ) -> None:
        child = node.child
        while child is not None:
            if child.tag == "-text":
                if not (hidden or name_only):
                    d = child.text_content or ""
                    if not d.strip():
                        if run.text:
                            run.space = True
                    else:
                        t = _collapse(d)
                        if not run.text:
                            run.text = t
                        else:
                            run.text += (" " if run.space or d[0].isspace() else "") + t
                        run.space = d[-1].isspace()
            elif child.tag not in ("_comment", "-comment", "!doctype"):
                self.element(child, depth, hidden, name_only, run)
            child = child.next

    def element(
        self, node: LexborNode, depth: int, hidden: bool, name_only: bool, run: _Run
    ) -> None:
        tag = node.tag
        if tag in SKIP or tag is None or self._hidden(node):
            return
        a = node.attributes
        if tag == "dialog" and "open" not in a:
            return
        if tag == "input" and (a.get("type") or "").lower() == "hidden":
            return
        role = self.role(node)
        interactive = self.interactive(node, role)
        if not role and interactive:
            role = tag
        if tag == "label":
            interactive = False
        inline = tag in INLINE
        has_control = tag == "label" and (
            "for" in a or node.css_first("input,select,textarea,button") is not None
        )
        if inline and not interactive and tag not in ("iframe", "img", "br"):
            self.children(node, depth, hidden, name_only or has_control, run)
            return
        if tag == "br":
            if run.text:
                run.space = True
            return
        if name_only and not interactive and tag != "iframe":
            self.children(node, depth, hidden, name_only, run)
            return
        self.flush(depth, run)
        inner = _Run()
        pad = "  " * depth
        if tag == "img" or role == "img":
            if not hidden and not name_only:
                alt = _collapse(a.get("alt") or a.get("aria-label") or "")
                if alt:
                    self.out.append(f"{pad}img {_quote(_clip(alt, MAX_NAME))}")
        elif interactive and not hidden:
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
            if tag == "select":
                opts = [
                    _collapse(o.attributes.get("label") or o.text()) for o in node.css("option")
                ]
                if len(opts) > 25:
                    opts = [*opts[:25], f"…{len(opts) - 25} more"]
                line += " options=" + json.dumps(
                    opts, ensure_ascii=False, separators=(",", ":")
                ).replace('\\"', "'")
            st = self.states(node, role)
            if st:
                line += " " + " ".join(st)
            self.out.append(line)
            if tag not in ("select", "input", "textarea", "iframe") and a.get(
                "contenteditable"
            ) not in (
                "",
                "true",
            ):
                self.children(
                    node, depth + 1, hidden, role in NAME_FROM_CONTENT or role == "link", inner
                )
                self.flush(depth + 1, inner)
        elif tag == "iframe":
            if not hidden:
                ref = self.next_ref
                self.next_ref += 1
                self.out.append(f"{pad}[{ref}] iframe {_quote(self.name(node, 'iframe'))}")
        elif role in ("dialog", "alertdialog"):
            if not hidden:
                self.out.append(f"{pad}{role} {_quote(self.name(node, 'dialog'))}")
            self.children(node, depth + 1, hidden, name_only, inner)
            self.flush(depth + 1, inner)
        elif (len(tag) == 2 and tag[0] == "h" and tag[1] in "123456") or role == "heading":
            if not hidden and not name_only:
                level = (
                    int(tag[1])
                    if tag[0] == "h" and tag[1:].isdigit()
                    else int(a.get("aria-level") or 2)
                )
                text = _clip(self._text(node), MAX_TEXT)
                if text:
                    self.out.append(f"{pad}{'#' * level} {text}")
            self.children(node, depth, hidden, True, inner)
        else:
            if tag == "li" and not hidden and not name_only:
                inner.text = "-"
                inner.space = True
            self.children(node, depth, hidden, name_only or has_control, inner)
            if inner.text == "-":
                inner.text = ""
            self.flush(depth, inner)


def serialize_html(html: str) -> str:
    """The model-facing text of a saved page, as the live serializer would write it."""
    tree = LexborHTMLParser(html)
    body = tree.body or tree.root
    s = _Offline(tree)
    if body is None:
        return ""
    run = _Run()
    s.children(body, 0, False, False, run)
    s.flush(0, run)
    return "\n".join(s.out)
