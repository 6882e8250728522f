"""The agent's action vocabulary, written once: one `ActionSpec` per action.

A spec holds everything about an action that used to be spelled out in several
places: the tool schema the model is offered (`prompts/tools.json` is generated from
these, `python -m browser_agent.agent.registry > prompts/tools.json`, and a test fails
when they differ), how it runs on a page, whether it may navigate (an action that
cannot needs no full settle when more actions follow), how it is labelled in records
and displays, its cassette form (`browser_agent.testing.cassette`) and its command in
an interactive session (`/click 5`). Replay, the benchmarks, the MCP server, the action
cache, the session and the cassette all go through `ACTIONS`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from ..actions import ActionResult
from ..change_summary import NOTHING
from ..exceptions import ConfigurationError, PageError, PolicyBlockedError
from ..llm import escape_untrusted, untrusted_block
from ..page import Page
from ..secrets import Secrets
from ..tools import function_schema

EXTRACT_MAX_CHARS = 8000
"""An `extract` longer than this is cut, saying how much more there was."""

Args = dict[str, Any]


@dataclass(frozen=True)
class RunContext:
    """What an action may need besides the page and its arguments."""

    secrets: Secrets | None = None
    file_urls: bool = False
    """Whether `goto` may open `file:` URLs (see `Agent.file_urls`)."""


class Words:
    """A cassette command after its verb: its tokens (text, quoted?) and a way to read a
    target (`ROLE "NAME"`, `"NAME"` or a ref) off the front of some of them."""

    def __init__(
        self,
        tokens: list[tuple[str, bool]],
        target: Callable[[list[tuple[str, bool]]], tuple[int, list[tuple[str, bool]]]],
    ) -> None:
        self.tokens = tokens
        self._target = target

    def target(self) -> tuple[int, Words]:
        ref, rest = self._target(self.tokens)
        return ref, Words(rest, self._target)

    @property
    def quoted(self) -> list[str]:
        return [t for t, q in self.tokens if q]

    @property
    def words(self) -> list[str]:
        """Bare (unquoted) words, lower case."""
        return [t.lower() for t, q in self.tokens if not q]

    def first(self) -> str:
        """The first token, quoted or not; IndexError when there is none."""
        return self.tokens[0][0]


def _q(v: Any) -> str:
    return json.dumps(str(v), ensure_ascii=False)


@dataclass(frozen=True)
class ActionSpec:
    """One action of the vocabulary."""

    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[Page, Args, RunContext], Awaitable[ActionResult | str]] | None
    """How it runs on a page (None for `done`, which the loop handles itself)."""
    parse: Callable[[Words], Args]
    """Its cassette command (the words after the verb) as tool-call arguments."""
    command: Callable[[Args, Callable[[], str]], str | None]
    """Its cassette command for recorded arguments, given the target's text; None when
    the command form cannot say it (the raw tool call is written instead)."""
    may_navigate: Callable[[Args], bool] = field(default=lambda a: True)
    """Whether it can load another document by itself (a click or Enter can)."""
    label: Callable[[Args], str] = field(default=lambda a: "")
    """Its label in records and displays when it names no ref."""
    session: Callable[[list[str]], Args] | None = None
    """Its command in an interactive session (`/click 5`: the words after the verb) as
    arguments; None when the session does not offer it. Raises ConfigurationError."""

    def schema(self) -> dict[str, Any]:
        """The tool the model is offered (OpenAI function-calling form)."""
        return function_schema(self.name, self.description, self.parameters)


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required is not None:
        out["required"] = required
    return out


# ---------------------------------------------------------------- running


async def _click(page: Page, a: Args, ctx: RunContext) -> ActionResult:
    return await page.click(a["ref"])


async def _type(page: Page, a: Args, ctx: RunContext) -> ActionResult:
    text = str(a.get("text", ""))
    fill = _secret_filler(page, text, ctx.secrets)
    return await page.type(a["ref"], text, submit=bool(a.get("submit")), fill=fill)


async def _select(page: Page, a: Args, ctx: RunContext) -> ActionResult:
    return await page.select(a["ref"], a["option"])


async def _check(page: Page, a: Args, ctx: RunContext) -> ActionResult:
    return await page.check(a["ref"], bool(a.get("on", True)))


async def _scroll(page: Page, a: Args, ctx: RunContext) -> ActionResult:
    return await page.scroll(a.get("direction", "down"), a.get("ref"))


async def _goto(page: Page, a: Args, ctx: RunContext) -> ActionResult:
    url = str(a["url"])
    scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
    if page.browser is not None and page.browser.has_policy:
        return await page.goto(url, observe=True)  # the policy refuses all but http(s)
    if not (
        scheme in ("http", "https") or url == "about:blank" or (ctx.file_urls and scheme == "file")
    ):
        why = "file: URLs are off for this agent (Agent(file_urls=True) opens them)"
        if scheme != "file":
            why = f"the agent opens only http and https URLs, not {scheme or 'this'}:"
        raise PolicyBlockedError(f"goto failed: {why}")
    return await page.goto(url, observe=True)


async def _back(page: Page, a: Args, ctx: RunContext) -> ActionResult:
    return await page.back()


async def _press(page: Page, a: Args, ctx: RunContext) -> ActionResult:
    return await page.press(str(a["key"]), ref=a.get("ref"))


async def _wait_for(page: Page, a: Args, ctx: RunContext) -> ActionResult:
    return await page.wait_for(a.get("text") or None)


async def _extract(page: Page, a: Args, ctx: RunContext) -> str:
    ref = a.get("ref")
    fmt: Literal["markdown", "text"] = "text" if a.get("format") == "text" else "markdown"
    text = await page.extract(fmt, ref=ref if ref is not None else None)
    if len(text) > EXTRACT_MAX_CHARS:
        more = len(text) - EXTRACT_MAX_CHARS
        text = text[:EXTRACT_MAX_CHARS] + f"\n… ({more} more characters)"
    return text


def _secret_filler(page: Page, text: str, secrets: Secrets | None) -> Callable[[str], str] | None:
    """The value exists only here, on its way into the page, and only if the document
    holding the field (a frame's own origin, not the top page's) may have it."""
    if not secrets or "{{" not in text:
        return None

    def fill(origin: str) -> str:
        return secrets.substitute(text, origin, policy=page.browser)

    return fill


# ---------------------------------------------------------------- cassette forms


def _parse_type(w: Words) -> Args:
    ref, rest = w.target()
    args: Args = {"ref": ref, "text": rest.quoted[0]}
    if "submit" in rest.words:
        args["submit"] = True
    return args


def _parse_select(w: Words) -> Args:
    ref, rest = w.target()
    return {"ref": ref, "option": rest.first()}


def _parse_check(w: Words) -> Args:
    ref, rest = w.target()
    return {"ref": ref, "on": not any(x in ("off", "false") for x in rest.words)}


def _parse_scroll(w: Words) -> Args:
    args: Args = {"direction": w.first().lower() if w.tokens else "down"}
    if len(w.tokens) > 1:
        args["ref"], _ = Words(w.tokens[1:], w._target).target()
    return args


def _parse_done(w: Words) -> Args:
    failed = any(x in ("fail", "failed", "failure", "false") for x in w.words)
    return {"result": w.quoted[0] if w.quoted else "", "success": not failed}


def _done_command(a: Args, target: Callable[[], str]) -> str:
    result = a.get("result", "")
    if not isinstance(result, str):
        result = json.dumps(result)
    return f"done {_q(result)}" + ("" if a.get("success", True) else " fail")


def _never(a: Args) -> bool:
    return False


# ------------------------------------------------------- interactive session forms


def _ref_first(verb: str, words: list[str]) -> Args:
    """The ref a session command starts with (`5` or `[5]`), taken off `words`."""
    if not words or not words[0].lstrip("[").rstrip("]").isdigit():
        raise ConfigurationError(f"/{verb} needs a ref first, e.g. /{verb} 5")
    return {"ref": int(words.pop(0).lstrip("[").rstrip("]"))}


def _session_type(words: list[str]) -> Args:
    a = _ref_first("type", words)
    a["submit"] = "--submit" in words
    a["text"] = " ".join(w for w in words if w != "--submit")
    return a


def _session_select(words: list[str]) -> Args:
    a = _ref_first("select", words)
    if not words:
        raise ConfigurationError("/select needs an option: /select 4 France")
    a["option"] = " ".join(words)
    return a


def _session_check(words: list[str]) -> Args:
    a = _ref_first("check", words)
    a["on"] = not (words and words[0].lower() in ("off", "false", "no", "0"))
    return a


def _session_press(words: list[str]) -> Args:
    if not words:
        raise ConfigurationError("/press needs a key: /press Enter")
    return {"key": words[0]}


def _session_scroll(words: list[str]) -> Args:
    direction = words[0] if words else "down"
    if direction not in ("up", "down"):
        raise ConfigurationError("/scroll goes up or down: /scroll down")
    return {"direction": direction}


_REF = {"type": "integer"}

SPECS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "click",
        "Click the element with this ref.",
        _obj(
            {"ref": {"type": "integer", "description": "Element ref from the latest observation."}},
            ["ref"],
        ),
        _click,
        parse=lambda w: {"ref": w.target()[0]},
        command=lambda a, t: f"click {t()}",
        session=lambda w: _ref_first("click", w),
    ),
    ActionSpec(
        "type",
        "Replace the text of an input with this ref; submit=true presses Enter afterwards.",
        _obj(
            {
                "ref": _REF,
                "text": {"type": "string"},
                "submit": {"type": "boolean", "default": False},
            },
            ["ref", "text"],
        ),
        _type,
        parse=_parse_type,
        command=lambda a, t: (
            f"type {t()} {_q(a.get('text', ''))}" + (" submit" if a.get("submit") else "")
        ),
        may_navigate=lambda a: bool(a.get("submit")),
        session=_session_type,
    ),
    ActionSpec(
        "select",
        "Choose an option (by its visible label) in the select/combobox with this ref.",
        _obj({"ref": _REF, "option": {"type": "string"}}, ["ref", "option"]),
        _select,
        parse=_parse_select,
        command=lambda a, t: f"select {t()} {_q(a.get('option', ''))}",
        may_navigate=_never,
        session=_session_select,
    ),
    ActionSpec(
        "check",
        "Set a checkbox, radio or switch on (default) or off.",
        _obj({"ref": _REF, "on": {"type": "boolean", "default": True}}, ["ref"]),
        _check,
        parse=_parse_check,
        command=lambda a, t: f"check {t()}" + ("" if a.get("on", True) else " off"),
        may_navigate=_never,
        session=_session_check,
    ),
    ActionSpec(
        "scroll",
        "Scroll the page, or the scrollable element with this ref, by about one screen.",
        _obj(
            {"direction": {"type": "string", "enum": ["up", "down"]}, "ref": _REF},
            ["direction"],
        ),
        _scroll,
        parse=_parse_scroll,
        command=lambda a, t: (
            f"scroll {a.get('direction', 'down')}" + (f" {t()}" if a.get("ref") is not None else "")
        ),
        may_navigate=_never,
        session=_session_scroll,
    ),
    ActionSpec(
        "goto",
        "Open this URL in the current tab.",
        _obj({"url": {"type": "string"}}, ["url"]),
        _goto,
        parse=lambda w: {"url": w.first()},
        command=lambda a, t: f"goto {_q(a.get('url', ''))}",
        label=lambda a: str(a.get("url", "")),
    ),
    ActionSpec(
        "back",
        "Go back to the previous page.",
        _obj({}),
        _back,
        parse=lambda w: {},
        command=lambda a, t: "back",
        session=lambda w: {},
    ),
    ActionSpec(
        "press",
        "Press a key or chord on the focused element, e.g. Enter, Escape, Control+A.",
        _obj({"key": {"type": "string"}}, ["key"]),
        _press,
        parse=lambda w: {"key": w.first()},
        command=lambda a, t: None if "ref" in a else f"press {_q(a.get('key', ''))}",
        label=lambda a: str(a.get("key", "")),
        session=_session_press,
    ),
    ActionSpec(
        "wait_for",
        "Wait until this text appears on the page, or for the page to settle if no text is given.",
        _obj({"text": {"type": "string"}}),
        _wait_for,
        parse=lambda w: {"text": w.quoted[0]} if w.quoted else {},
        command=lambda a, t: f"wait_for {_q(a['text'])}" if a.get("text") else "wait_for",
        label=lambda a: json.dumps(a.get("text", "")) if a.get("text") else "",
    ),
    ActionSpec(
        "extract",
        "Return the page's main content as markdown or plain text, for reading long pages; "
        "with ref, the full content of that element in the observation's format (use it to "
        "open a list shown as `collapsed: N links`).",
        _obj(
            {
                "format": {"type": "string", "enum": ["markdown", "text"], "default": "markdown"},
                "ref": {
                    "type": "integer",
                    "description": "Optional: an element (such as a collapsed list) to show in "
                    "full.",
                },
            }
        ),
        _extract,
        parse=lambda w: {"format": w.words[0] if w.words else "markdown"},
        command=lambda a, t: f"extract {a.get('format', 'markdown')}",
    ),
    ActionSpec(
        "done",
        "Finish the task: result is the answer or a summary, success says whether the task "
        "was achieved.",
        _obj({"result": {"type": "string"}, "success": {"type": "boolean"}}, ["result", "success"]),
        None,
        parse=_parse_done,
        command=_done_command,
    ),
)

ACTIONS: dict[str, ActionSpec] = {s.name: s for s in SPECS}
"""Every action the agent offers the model, by name, in the order offered."""
PAGE_ACTIONS = frozenset(s.name for s in SPECS if s.run is not None)
"""The actions that run on the page (all but `done`)."""


def tool_schemas() -> list[dict[str, Any]]:
    """The tools of `prompts/tools.json`, as the registry writes them."""
    return [s.schema() for s in SPECS]


def tools_json() -> str:
    """`prompts/tools.json` as generated from the registry."""
    return json.dumps(tool_schemas(), indent=2, ensure_ascii=False) + "\n"


async def run_action(
    page: Page, name: str, args: Args, ctx: RunContext | None = None
) -> ActionResult | str:
    """Run one page action by name with the model's arguments (`extract` gives text)."""
    spec = ACTIONS.get(name)
    if spec is None or spec.run is None:
        raise PageError(f"unknown page action {name!r}")
    return await spec.run(page, args, ctx or RunContext())


def describe_result(result: ActionResult) -> str:
    """The tool result the model reads: what happened, in one line, ending with what
    changed on the page (`ActionResult.summary`); "nothing on the page changed" is left
    out when something else already says what the action did."""
    parts = ["ok" if result.ok else f"error: {result.error}"]
    if result.note:
        parts.append(result.note)
    if result.target is not None and result.ref is not None and result.target != result.ref:
        parts.append(f"acted on [{result.target}], the re-rendered element")
    if result.navigated:
        parts.append(f"navigated to {result.url}")
    if result.new_pages:
        parts.append("opened " + ", ".join(result.new_pages))
    if result.dialog is not None:
        d = result.dialog
        parts.append(f'{d.type} "{d.message}" {"accepted" if d.accepted else "dismissed"}')
    if result.download is not None:
        parts.append(f"downloaded {result.download.suggested_filename}")
    if result.summary and (result.summary != NOTHING or len(parts) == 1):
        parts.append(result.summary)
    if not result.settled:
        parts.append("the page was still changing when observed")
    if result.closed:
        parts.append("the page closed")
    return "; ".join(parts)


def tool_result(result: ActionResult) -> str:
    """`describe_result`'s line, made safe to put in a prompt: page-controlled parts
    (URLs, labels, file names) cannot open or close a block of ours, and the dialog's
    text, which the page wrote, goes inside the page's untrusted boundary."""
    line = describe_result(result)
    d = result.dialog
    if d is not None and d.message:
        quoted = msgspec.structs.replace(d, message="its text is below")
        line = describe_result(msgspec.structs.replace(result, dialog=quoted))
    if result.download is not None and result.download.error:
        line += f" ({result.download.error})"  # e.g. cancelled by the download caps
    line = escape_untrusted(line)
    if d is not None and d.message:
        line += f"\n{untrusted_block(d.message, source=f'{d.type} dialog')}"
    return line


if __name__ == "__main__":  # regenerate prompts/tools.json
    print(tools_json(), end="")
