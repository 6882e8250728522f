"""Cassettes: a scripted model policy, replayed by the local model server.

A cassette is a list of steps. A step is what the model answers at one turn: some
text (optional) and one or more actions. Actions are written as one-line commands
that name their target by label, resolved against the observation in the request
(so a cassette survives ref changes), or as raw tool calls:

    click button "Add to cart"          → click {"ref": N} for the line `[N] button "Add to cart"`
    type searchbox "Search" "kettle" submit
    select combobox "Country" "Germany"
    check checkbox "I agree"            (`check checkbox "I agree" off` unchecks)
    scroll down | scroll up [ROLE "NAME"]
    goto "https://example.com/"   back   press "Enter"   wait_for "Done"   extract text
    done "Added the kettle"             (`done "No such item" fail` for success=false)
    {"name": "click", "arguments": {"ref": 13}}

A target is `ROLE "NAME"`, `"NAME"` (any role), or a ref: `[13]` / `13`.

Files are JSON (`{"steps": [...]}` or a bare list) or JSONL (one step per line).
A step is a command string, a list of them (several tool calls in one reply), or an
object `{"actions": [...], "text": "...", "match": "..."}`.

Which step answers a request (the server is stateless, so concurrent sessions work):
the first step whose `match` substring occurs in the observation; otherwise the step
at index n, n being the number of assistant turns already in the request. Past the
last step the model answers `done "cassette exhausted" fail`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from ..agent.registry import ACTIONS, Words
from ..exceptions import BrowserAgentError, ConfigurationError


class ToolCall(msgspec.Struct, forbid_unknown_fields=True):
    """A raw tool call: name and arguments, exactly as the model would send them."""

    name: str
    arguments: dict[str, Any] = msgspec.field(default_factory=dict)


class CassetteStep(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """One scripted reply."""

    actions: list[str | ToolCall] = msgspec.field(default_factory=list)
    text: str = ""
    match: str | None = None


StepLike = str | list[str | ToolCall] | CassetteStep


class Cassette(msgspec.Struct, omit_defaults=True):
    """A scripted policy; see the module docstring for the format."""

    steps: list[StepLike] = msgspec.field(default_factory=list)
    name: str = ""
    version: int = 1

    @classmethod
    def of(cls, *steps: StepLike, name: str = "") -> Cassette:
        return cls(steps=list(steps), name=name)

    @classmethod
    def loads(cls, data: str | bytes, *, jsonl: bool = False) -> Cassette:
        try:
            if jsonl:
                lines = data.splitlines()
                steps = [msgspec.json.decode(ln, type=StepLike) for ln in lines if ln.strip()]
                return cls(steps=steps)
            text = data.strip()
            if text[:1] in ("[", b"["):
                return cls(steps=msgspec.json.decode(text, type=list[StepLike]))
            return msgspec.json.decode(text, type=cls)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ConfigurationError(f"malformed cassette: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> Cassette:
        """A cassette file, or a recording (`record=`) served as its script."""
        p = Path(path)
        data = p.read_bytes()
        from ..recording import is_recording

        if is_recording(data):
            return cls.from_recording(p)
        c = cls.loads(data, jsonl=p.suffix == ".jsonl")
        return c if c.name else msgspec.structs.replace(c, name=p.stem)

    @classmethod
    def from_recording(cls, source: Any, *, session: int = 0) -> Cassette:
        """The model's side of a recorded session: one step per recorded reply, its
        actions named by their targets' role and name so refs may differ on replay.

        `source` is a path or a `browser_agent.recording.Recording`. Actions that were
        skipped when recorded are left out; steps are chosen by turn (no `match`).
        """
        from ..recording import Recording, read

        rec = source if isinstance(source, Recording) else read(source).sessions[session]
        steps: list[StepLike] = []
        for s in rec.steps:
            if s.line.reply is None:
                continue
            actions = [_command(a) for a in s.actions if not a.skipped]
            text = str((s.line.reply.get("message") or {}).get("content") or "")
            steps.append(CassetteStep(actions=actions, text=text))
        return cls(steps=steps, name=Path(str(rec.header.session_id or "recording")).name)

    def dumps(self) -> bytes:
        return msgspec.json.encode(self)

    def normalized(self) -> list[CassetteStep]:
        return [_as_step(s) for s in self.steps]

    def choose(self, messages: Sequence[Mapping[str, Any]]) -> tuple[int, CassetteStep] | None:
        """The step answering these messages (see module docstring), or None past the end."""
        steps = self.normalized()
        observation = observation_of(messages)
        for i, s in enumerate(steps):
            if s.match is not None and s.match in observation:
                return i, s
        n = sum(1 for m in messages if m.get("role") == "assistant")
        return (n, steps[n]) if n < len(steps) else None

    def reply(
        self, messages: Sequence[Mapping[str, Any]]
    ) -> tuple[int | None, str, list[ToolCall]]:
        """(step index, text, resolved tool calls) for a request; raises CassetteError."""
        chosen = self.choose(messages)
        if chosen is None:
            return None, "", [ToolCall("done", {"result": "cassette exhausted", "success": False})]
        index, step = chosen
        page = ObservationText(observation_of(messages))
        calls = [
            a if isinstance(a, ToolCall) else parse_command(a, page, step=index)
            for a in step.actions
        ]
        return index, step.text, calls


class CassetteError(BrowserAgentError):
    """A step could not be resolved against the observation (the page diverged)."""


def _as_step(s: StepLike) -> CassetteStep:
    if isinstance(s, CassetteStep):
        return s
    if isinstance(s, str):
        return CassetteStep(actions=[s])
    return CassetteStep(actions=list(s))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def observation_of(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the last user message: where the current observation is."""
    for m in reversed(messages):
        if m.get("role") == "user":
            return _content_text(m.get("content"))
    return ""


_LINE = re.compile(r'^[ \t]*\[(\d+)\][ \t]+(\S+)[ \t]+("(?:[^"\\\n]|\\.)*")', re.MULTILINE)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')


class ObservationText:
    """The elements of an observation text, for resolving `ROLE "NAME"` targets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._elements: list[tuple[int, str, str]] | None = None

    @property
    def elements(self) -> list[tuple[int, str, str]]:
        if self._elements is None:
            out = []
            for m in _LINE.finditer(self.text):
                try:
                    name = json.loads(m.group(3))
                except json.JSONDecodeError:
                    name = m.group(3)[1:-1]
                out.append((int(m.group(1)), m.group(2), name))
            self._elements = out
        return self._elements

    def find(self, role: str | None, name: str) -> int | None:
        for exact in (True, False):
            for ref, r, n in self.elements:
                if role is not None and r != role:
                    continue
                if n == name if exact else n.casefold() == name.casefold():
                    return ref
        return None

    @property
    def refs(self) -> list[int]:
        return [ref for ref, _, _ in self.elements]


class _Tok(msgspec.Struct):
    text: str
    quoted: bool


def _tokens(command: str) -> list[_Tok]:
    out = []
    for t in _TOKEN.findall(command):
        if t.startswith('"') and t.endswith('"') and len(t) >= 2:
            out.append(_Tok(json.loads(t), True))
        else:
            out.append(_Tok(t, False))
    return out


def _target(toks: list[_Tok], page: ObservationText, command: str) -> tuple[int, list[_Tok]]:
    """Consume a target from the front: ROLE "NAME", "NAME", [N] or N."""
    if not toks:
        raise CassetteError(f"{command!r}: missing target")
    first = toks[0]
    if not first.quoted and re.fullmatch(r"\[?\d+\]?", first.text):
        return int(first.text.strip("[]")), toks[1:]
    if first.quoted:
        role, name, rest = None, first.text, toks[1:]
    elif len(toks) >= 2 and toks[1].quoted:
        role, name, rest = first.text, toks[1].text, toks[2:]
    else:
        raise CassetteError(f'{command!r}: target must be ROLE "NAME", "NAME" or a ref')
    ref = page.find(role, name)
    if ref is None:
        label = f'{role} "{name}"' if role else f'"{name}"'
        raise CassetteError(f"{command!r}: no {label} in the observation")
    return ref, rest


def parse_command(command: str, page: ObservationText, *, step: int | None = None) -> ToolCall:
    """Resolve one cassette command against the page into a tool call."""
    command = command.strip()
    if command.startswith("{"):
        try:
            return msgspec.json.decode(command, type=ToolCall)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise CassetteError(f"step {step}: bad raw tool call {command!r}: {exc}") from None
    toks = _tokens(command)
    if not toks:
        raise CassetteError(f"step {step}: empty command")
    spec = ACTIONS.get(toks[0].text)
    if spec is None:
        raise CassetteError(f"step {step}: unknown command {toks[0].text!r} in {command!r}")

    def target(rest: list[tuple[str, bool]]) -> tuple[int, list[tuple[str, bool]]]:
        ref, left = _target([_Tok(t, q) for t, q in rest], page, command)
        return ref, [(t.text, t.quoted) for t in left]

    try:
        return ToolCall(
            spec.name, spec.parse(Words([(t.text, t.quoted) for t in toks[1:]], target))
        )
    except (StopIteration, IndexError):
        raise CassetteError(f"step {step}: incomplete command {command!r}") from None
    except CassetteError as exc:
        raise CassetteError(f"step {step}: {exc}") from None


def _command(a: Any) -> str | ToolCall:
    """A recorded action (`recording.ActionLine`) as a cassette command."""
    args = a.args
    fp = a.target

    def target() -> str:
        if fp is not None and fp.role and fp.name:
            return f"{fp.role} {json.dumps(fp.name, ensure_ascii=False)}"
        return f"[{args.get('ref')}]"

    spec = ACTIONS.get(a.name)
    line = spec.command(args, target) if spec is not None else None
    return line if line is not None else ToolCall(a.name, dict(args))
