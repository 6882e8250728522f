"""Incremental parsing of a streamed reply: bytes → server-sent events → chunks → actions.

Nothing here waits for the end of the stream: a tool call becomes an `ActionReady`
the moment the closing brace of its arguments arrives, whatever way the server
split or interleaved the fragments.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ..exceptions import InvalidActionError, MalformedResponseError, ProviderError
from ._types import (
    Action,
    ActionReady,
    ActionValidator,
    ContentDelta,
    StreamEvent,
    ToolCallDelta,
    Usage,
)

# --------------------------------------------------------------------------- SSE


class SSEDecoder:
    """Server-sent events from bytes split anywhere (mid-line, mid-event, CRLF or LF)."""

    __slots__ = ("_buf", "_data", "_event")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[bytes] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        """Complete events in this chunk as (event name, data); the rest is kept."""
        buf = self._buf + chunk if self._buf else chunk
        out: list[tuple[str, bytes]] = []
        start = 0
        while (nl := buf.find(b"\n", start)) >= 0:
            self._line(buf[start : nl - 1 if nl > start and buf[nl - 1] == 13 else nl], out)
            start = nl + 1
        self._buf = buf[start:]
        return out

    def flush(self) -> list[tuple[str, bytes]]:
        """At end of stream: a last event the server did not terminate with a blank line."""
        out: list[tuple[str, bytes]] = []
        if self._buf:
            self._line(self._buf.rstrip(b"\r"), out)
            self._buf = b""
        self._line(b"", out)
        return out

    def _line(self, line: bytes, out: list[tuple[str, bytes]]) -> None:
        if not line:
            if self._data:
                out.append((self._event, b"\n".join(self._data)))
                self._data = []
            self._event = ""
            return
        if line[0] == 58:  # ":" comment / keep-alive
            return
        field, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            self._data.append(value)
        elif field == b"event":
            self._event = value.decode("utf-8", "replace")


# ------------------------------------------------------------------ wire chunks


class _Fn(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _ToolCallDelta(msgspec.Struct):
    index: int | None = None
    id: str | None = None
    function: _Fn | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    tool_calls: list[_ToolCallDelta] | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None


class _Choice(msgspec.Struct):
    index: int = 0
    delta: _Delta | None = None
    message: _Delta | None = None  # non-streamed replies
    finish_reason: str | None = None


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    prompt_cache_hit_tokens: int | None = None  # DeepSeek-style


class _XGroq(msgspec.Struct):
    usage: _Usage | None = None


class _Chunk(msgspec.Struct):
    model: str | None = None
    choices: list[_Choice] | None = None
    usage: _Usage | None = None
    x_groq: _XGroq | None = None
    error: Any = None


_chunk_decoder = msgspec.json.Decoder(_Chunk)


# ------------------------------------------------------------- JSON boundaries

_OUTSIDE = re.compile(r'["{}\[\]]')
_INSIDE = re.compile(r'["\\]')


MAX_JSON_DEPTH = 64
"""Deepest nesting of a tool call's arguments (or a JSON-mode reply) we parse."""
MAX_REPLY_CHARS = 1_000_000
"""Largest reply (its text and tool-call arguments) we read: past it the stream is cut
and the call fails with that reason, so a huge reply never enters the history."""
MAX_STREAM_BYTES = 32_000_000
"""Largest stream of server-sent data (chunk envelopes included) we read."""
MAX_TOOL_CALLS = 32
"""Tool calls kept from one reply; the rest are dropped, and the reply says so."""


class JsonScanner:
    """Finds where JSON objects and arrays close in text that arrives in fragments.

    `feed` returns (start, end, parents) for every container closed by the new text,
    `parents` being the opening brackets still enclosing it (at most the outer three:
    callers only ask whether it is top level or one or two levels in). It does not
    validate: decoding the slice does. Work is linear in the text: each fragment is
    scanned once, and nesting deeper than `max_depth` or text longer than `max_chars`
    raises ValueError, so a hostile reply cannot hold the event loop.
    """

    __slots__ = (
        "_escape",
        "_in_str",
        "_kinds",
        "_len",
        "_parts",
        "_stack",
        "_text",
        "max_chars",
        "max_depth",
    )

    def __init__(self, max_depth: int = MAX_JSON_DEPTH, max_chars: int = MAX_REPLY_CHARS) -> None:
        self._parts: list[str] = []
        self._text: str | None = ""
        self._len = 0
        self._stack: list[int] = []
        self._kinds: list[str] = []
        self._in_str = False
        self._escape = False
        self.max_depth = max_depth
        self.max_chars = max_chars

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self._parts)
            self._parts = [self._text]
        return self._text

    def feed(self, fragment: str) -> list[tuple[int, int, tuple[str, ...]]]:
        base = self._len
        self._len += len(fragment)
        if self._len > self.max_chars:
            raise ValueError(f"longer than {self.max_chars} characters")
        if fragment:
            self._parts.append(fragment)
            self._text = None
        out: list[tuple[int, int, tuple[str, ...]]] = []
        i, n = 0, len(fragment)
        if self._escape and n:  # the character after a backslash that ended the last one
            self._escape, i = False, 1
        while i < n:
            if self._in_str:
                m = _INSIDE.search(fragment, i)
                if m is None:
                    break
                j = m.start()
                if fragment[j] == "\\":
                    if j + 1 >= n:  # escape split across fragments
                        self._escape = True
                        break
                    i = j + 2
                    continue
                self._in_str = False
                i = j + 1
                continue
            m = _OUTSIDE.search(fragment, i)
            if m is None:
                break
            j = m.start()
            c = fragment[j]
            if c == '"':
                self._in_str = True
            elif c in "{[":
                if len(self._stack) >= self.max_depth:
                    raise ValueError(f"nested deeper than {self.max_depth} levels")
                self._stack.append(base + j)
                self._kinds.append(c)
            else:
                if not self._stack:
                    raise ValueError(f"unbalanced {c!r} at {base + j}")
                start, opened = self._stack.pop(), self._kinds.pop()
                if (opened == "{") != (c == "}"):
                    raise ValueError(f"mismatched {c!r} at {base + j}")
                out.append((start, base + j + 1, tuple(self._kinds[:3])))
            i = j + 1
        return out


# ------------------------------------------------------------------ validation


def tool_schemas(tools: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
    """Tool name → JSON schema of its parameters; None means accept any tool."""
    if not tools:
        return None
    out: dict[str, dict[str, Any]] = {}
    for t in tools:
        fn = t.get("function", t)
        out[fn["name"]] = fn.get("parameters") or {}
    return out


_BOOLS = {"true": True, "false": False}


def check_arguments(
    name: str, args: object, schemas: dict[str, dict[str, Any]] | None
) -> tuple[dict[str, Any], str | None]:
    """Coerce near-misses ("13" for 13, "true" for true), fill defaults, or say what is wrong."""
    if not isinstance(args, dict):
        return {}, f"arguments of {name} are not a JSON object"
    if schemas is None:
        return args, None
    schema = schemas.get(name)
    if schema is None:
        return args, f"unknown tool {name!r}"
    props: dict[str, Any] = schema.get("properties") or {}
    out = dict(args)
    for key in schema.get("required") or ():
        if key not in out:
            return out, f"{name}: missing argument {key!r}"
    for key, spec in props.items():
        if key not in out:
            if "default" in spec:
                out[key] = spec["default"]
            continue
        v = out[key]
        kind = spec.get("type")
        if kind == "integer" and not (isinstance(v, int) and not isinstance(v, bool)):
            s = str(v).strip().strip("[]")
            if isinstance(v, str | float) and s.lstrip("-").isdigit():
                out[key] = int(s)
            else:
                return out, f"{name}: {key} must be an integer, got {v!r}"
        elif kind == "boolean" and not isinstance(v, bool):
            if isinstance(v, str) and v.lower() in _BOOLS:
                out[key] = _BOOLS[v.lower()]
            else:
                return out, f"{name}: {key} must be a boolean, got {v!r}"
        elif kind == "string" and not isinstance(v, str):
            return out, f"{name}: {key} must be a string, got {v!r}"
        if "enum" in spec and out[key] not in spec["enum"]:
            return out, f"{name}: {key} must be one of {spec['enum']}, got {out[key]!r}"
    return out, None


# ------------------------------------------------------------------- assembler


class _Slot:
    __slots__ = ("emitted", "final", "id", "index", "name", "scanner", "value")

    def __init__(self, index: int) -> None:
        self.index = index
        self.id: str | None = None
        self.name = ""
        self.scanner = JsonScanner()
        self.value: tuple[int, int] | None = None  # slice of the closed arguments
        self.emitted = False
        self.final = ""

    @property
    def args(self) -> str:
        return self.scanner.text


class StreamAssembler:
    """Turns decoded SSE payloads into events and, at the end, the reply's parts."""

    def __init__(
        self,
        *,
        provider: str = "",
        tools: list[dict[str, Any]] | None = None,
        json_mode: bool = False,
        validate: ActionValidator | None = None,
    ) -> None:
        self.provider = provider
        self.schemas = tool_schemas(tools)
        self.json_mode = json_mode
        self.validate = validate
        self.text_parts: list[str] = []
        self.slots: dict[int, _Slot] = {}
        self.actions: list[Action] = []
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model = ""
        self.saw_done = False
        self.tokens = 0
        self._json = JsonScanner() if json_mode else None
        self._last_slot: _Slot | None = None
        self.max_tool_calls = MAX_TOOL_CALLS
        self.max_reply_chars = MAX_REPLY_CHARS
        self.chars = 0
        """Characters of text and arguments so far (what `max_reply_chars` caps)."""
        self.bytes = 0
        self.dropped = 0
        """Tool calls dropped past `max_tool_calls`."""
        self._overflow: dict[int, _Slot] = {}

    @property
    def limits(self) -> list[str]:
        """What the caps cut from this reply, in words for the step's record."""
        if not self.dropped:
            return []
        cap = self.max_tool_calls
        return [
            f"the reply had {cap + self.dropped} tool calls: only the first {cap} were kept "
            f"(at most {cap} per reply)"
        ]

    def _count(self, data: bytes = b"", chars: int = 0) -> None:
        self.bytes += len(data)
        self.chars += chars
        if self.chars > self.max_reply_chars or self.bytes > MAX_STREAM_BYTES:
            raise MalformedResponseError(
                f"{self.provider}: the reply is larger than {self.max_reply_chars} characters; "
                "it was cut there",
                provider=self.provider,
            )

    # -- feeding

    def feed(self, event: str, data: bytes) -> list[StreamEvent]:
        self._count(data)
        if data == b"[DONE]":
            self.saw_done = True
            return []
        if not data.strip():
            return []  # an empty event some servers send first
        try:
            chunk = _chunk_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MalformedResponseError(
                f"{self.provider}: malformed stream chunk ({exc}): {data[:200]!r}",
                provider=self.provider,
            ) from None
        if chunk.error is not None or event == "error":
            raise ProviderError(
                f"{self.provider}: error in stream: {str(chunk.error or data[:300])[:300]}",
                provider=self.provider,
                retryable=True,
            )
        return self._chunk(chunk)

    def feed_completion(self, data: bytes) -> list[StreamEvent]:
        """A non-streamed reply (a server that ignored `stream: true`), parsed the same way."""
        self._count(data)
        try:
            chunk = _chunk_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MalformedResponseError(
                f"{self.provider}: malformed reply ({exc})", provider=self.provider
            ) from None
        for choice in chunk.choices or ():
            if choice.message is not None and choice.delta is None:
                choice.delta = choice.message
                for i, tc in enumerate(choice.delta.tool_calls or ()):
                    if tc.index is None:
                        tc.index = i
        events = self._chunk(chunk)
        self.saw_done = True
        return events

    def _chunk(self, chunk: _Chunk) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if chunk.model and not self.model:
            self.model = chunk.model
        usage = chunk.usage or (chunk.x_groq.usage if chunk.x_groq else None)
        if usage is not None:
            cached = usage.prompt_cache_hit_tokens or 0
            if usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens:
                cached = usage.prompt_tokens_details.cached_tokens
            self.usage = Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0, cached)
        for choice in chunk.choices or ():
            if choice.index != 0:
                continue  # n > 1 is not used; keep the first choice
            delta = choice.delta
            if delta is not None:
                if delta.reasoning_content or delta.reasoning:
                    self.tokens += 1
                if delta.content:
                    self._count(chars=len(delta.content))
                    self.tokens += 1
                    self.text_parts.append(delta.content)
                    events.append(ContentDelta(delta.content))
                    if self._json is not None:
                        self._feed_json(delta.content, events)
                for tc in delta.tool_calls or ():
                    self._tool_delta(tc, events)
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        return events

    def _tool_delta(self, tc: _ToolCallDelta, events: list[StreamEvent]) -> None:
        if tc.index is not None:
            slot = self.slots.get(tc.index) or self._overflow.get(tc.index)
            if slot is None:
                slot = self._new_slot(tc.index)
        elif self._last_slot is not None and (tc.id is None or tc.id == self._last_slot.id):
            slot = self._last_slot
        else:
            index = max([*self.slots, *self._overflow], default=-1) + 1
            slot = self._new_slot(index)
        self._last_slot = slot
        if slot.index in self._overflow:
            return  # past the cap: its deltas are read and dropped
        if tc.id and not slot.id:
            slot.id = tc.id
        fn = tc.function
        name = fn.name if fn else None
        args = (fn.arguments if fn else None) or ""
        if name and not (slot.name and name == slot.name and self._known(slot.name)):
            slot.name += name  # names may arrive in pieces; a repeated full name is not one
        if not name and not args:
            return
        self._count(chars=len(args))
        self.tokens += 1
        events.append(ToolCallDelta(slot.index, name, args))
        if args and slot.value is None:
            try:
                closed = slot.scanner.feed(args)
            except ValueError as exc:
                raise MalformedResponseError(
                    f"{self.provider}: broken arguments for {slot.name or 'tool call'}: {exc}",
                    provider=self.provider,
                ) from None
            for start, end, parents in closed:
                if not parents:
                    slot.value = (start, end)
                    self._emit_ready(events)
                    break

    def _new_slot(self, index: int) -> _Slot:
        slot = _Slot(index)
        if len(self.slots) >= self.max_tool_calls:
            self._overflow[index] = slot
            self.dropped += 1
        else:
            self.slots[index] = slot
        return slot

    def _known(self, name: str) -> bool:
        return self.schemas is None or name in self.schemas

    def _emit_ready(self, events: list[StreamEvent]) -> None:
        """Hand out closed tool calls in index order, never one before an earlier one."""
        for index in sorted(self.slots):
            slot = self.slots[index]
            if slot.emitted:
                continue
            if slot.value is None:
                return
            start, end = slot.value
            self._emit(slot, slot.args[start:end], events)

    def _emit(self, slot: _Slot, args_text: str, events: list[StreamEvent]) -> None:
        slot.emitted = True
        slot.final = args_text.strip() or "{}"
        if not slot.id:
            slot.id = f"call_{slot.index}"
        try:
            args = msgspec.json.decode(args_text) if args_text.strip() else {}
        except msgspec.DecodeError as exc:
            raise MalformedResponseError(
                f"{self.provider}: arguments of {slot.name or 'tool call'} are not JSON ({exc}): "
                f"{args_text[:200]!r}",
                provider=self.provider,
            ) from None
        self._add_action(Action(slot.id, slot.name, args), events)

    def _add_action(self, action: Action, events: list[StreamEvent]) -> None:
        if self.json_mode and len(self.actions) >= self.max_tool_calls:
            self.dropped += 1
            return
        if not action.name:
            raise InvalidActionError(
                f"{self.provider}: tool call without a name", provider=self.provider
            )
        args, problem = check_arguments(action.name, action.arguments, self.schemas)
        action.arguments = args
        if problem is None and self.validate is not None:
            problem = self.validate(action)
        if problem is not None:
            raise InvalidActionError(
                f"{self.provider}: invalid action: {problem}", provider=self.provider
            )
        self.actions.append(action)
        events.append(ActionReady(action))

    def _feed_json(self, text: str, events: list[StreamEvent]) -> None:
        """JSON-schema mode: each element of the top-level `actions` array is an action."""
        assert self._json is not None
        try:
            closed = self._json.feed(text)
        except ValueError as exc:
            raise MalformedResponseError(
                f"{self.provider}: broken JSON reply: {exc}", provider=self.provider
            ) from None
        for start, end, parents in closed:
            if parents in (("[",), ("{", "[")) and self._json.text[start] == "{":
                self._json_action(self._json.text[start:end], events)
            elif not parents and self._json.text[start] == "{" and not self.actions:
                # A bare {"name": ..., "arguments": ...} rather than {"actions": [...]}.
                try:
                    obj = msgspec.json.decode(self._json.text[start:end])
                except msgspec.DecodeError:
                    continue
                if isinstance(obj, dict) and "name" in obj:
                    self._json_action(self._json.text[start:end], events)

    def _json_action(self, text: str, events: list[StreamEvent]) -> None:
        try:
            obj = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise MalformedResponseError(
                f"{self.provider}: action is not JSON ({exc}): {text[:200]!r}",
                provider=self.provider,
            ) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
            raise InvalidActionError(
                f"{self.provider}: action without a name: {text[:200]!r}", provider=self.provider
            )
        args: Any = obj.get("arguments", obj.get("args", {}))  # check_arguments vets it
        self._add_action(Action(f"call_{len(self.actions)}", obj["name"], args), events)

    # -- the end

    def finish(self) -> list[StreamEvent]:
        """At end of stream: close what can be closed, or say precisely what is missing."""
        if not self.saw_done and self.finish_reason is None:
            raise MalformedResponseError(
                f"{self.provider}: stream ended before the reply was complete",
                provider=self.provider,
            )
        events: list[StreamEvent] = []
        for index in sorted(self.slots):
            slot = self.slots[index]
            if slot.emitted:
                continue
            if slot.value is not None:
                start, end = slot.value
                self._emit(slot, slot.args[start:end], events)
            elif not slot.args.strip():
                self._emit(slot, "", events)  # a tool without arguments
            else:
                why = " (max_tokens reached)" if self.finish_reason == "length" else ""
                raise MalformedResponseError(
                    f"{self.provider}: arguments of {slot.name or 'tool call'} never closed{why}",
                    provider=self.provider,
                )
        if self._json is not None and not self.actions and self.text.strip():
            self._feed_json("", events)
            if not self.actions:
                raise MalformedResponseError(
                    f"{self.provider}: JSON reply holds no action: {self.text[:200]!r}",
                    provider=self.provider,
                )
        return events

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def raw_message(self) -> dict[str, Any]:
        """The assistant message as a non-streamed API reply would carry it."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        calls = [
            {
                "id": s.id or f"call_{s.index}",
                "type": "function",
                "function": {"name": s.name, "arguments": s.final},
            }
            for _, s in sorted(self.slots.items())
            if s.emitted
        ]
        if calls:
            msg["tool_calls"] = calls
        return msg
