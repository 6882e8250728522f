"""Incremental parsing: SSE split anywhere, tool calls split and interleaved any way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from browser_agent.exceptions import InvalidActionError, MalformedResponseError, ProviderError
from browser_agent.llm import (
    ActionReady,
    ContentDelta,
    SSEDecoder,
    StreamAssembler,
    load_tools,
)
from browser_agent.llm._stream import JsonScanner, check_arguments, tool_schemas

TOOLS = load_tools()


def sse(*payloads: Any) -> bytes:
    out = b""
    for p in payloads:
        data = p if isinstance(p, bytes) else json.dumps(p).encode()
        out += b"data: " + data + b"\n\n"
    return out


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **kw: Any) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "c1", "model": "m", "choices": choices, **kw}


def tc(index: int | None, args: str = "", name: str | None = None, id: str | None = None) -> dict:
    call: dict[str, Any] = {"function": {"arguments": args}}
    if index is not None:
        call["index"] = index
    if name is not None:
        call["function"]["name"] = name
        call["type"] = "function"
    if id is not None:
        call["id"] = id
    return {"tool_calls": [call]}


def run(stream: bytes, *, splits: int | None = None, **kw: Any) -> tuple[StreamAssembler, list]:
    """Feed the bytes in pieces of `splits` bytes (or whole) and collect events."""
    kw.setdefault("tools", TOOLS)
    dec, asm, events = SSEDecoder(), StreamAssembler(provider="p", **kw), []
    step = splits or len(stream)
    for i in range(0, len(stream), step):
        for ev, data in dec.feed(stream[i : i + step]):
            events += asm.feed(ev, data)
    for ev, data in dec.flush():
        events += asm.feed(ev, data)
    events += asm.finish()
    return asm, events


def actions(events: list) -> list[tuple[str, dict]]:
    return [(e.action.name, e.action.arguments) for e in events if isinstance(e, ActionReady)]


# ---------------------------------------------------------------------------- SSE


def test_sse_any_split_crlf_comments_multiline() -> None:
    raw = b': keep-alive\r\n\r\nevent: message\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata: [DONE]\n\n'
    for size in range(1, len(raw) + 1):
        dec, got = SSEDecoder(), []
        for i in range(0, len(raw), size):
            got += dec.feed(raw[i : i + size])
        got += dec.flush()
        assert got == [("message", b'{"a":\n1}'), ("", b"[DONE]")], size


def test_sse_last_event_without_blank_line() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: x") == []
    assert dec.flush() == [("", b"x")]


# -------------------------------------------------------------------- scanner


def test_json_scanner_closes_at_the_right_brace_across_fragments() -> None:
    text = '{"text": "a } \\" { ]", "n": [1, {"x": 2}], "e": "\\\\"}'
    for size in range(1, len(text) + 1):
        s, closed = JsonScanner(), []
        for i in range(0, len(text), size):
            closed += s.feed(text[i : i + size])
        top = [c for c in closed if not c[2]]
        assert top == [(0, len(text), ())], size
        assert json.loads(text[top[0][0] : top[0][1]])


def test_json_scanner_rejects_mismatched_brackets() -> None:
    with pytest.raises(ValueError):
        JsonScanner().feed('{"a": [1}')


# ------------------------------------------------------------- tool-call shapes


def openai_style() -> bytes:
    """Empty first chunks, role chunk, arguments in many fragments, usage last."""
    args = '{"ref": 3, "text": "blue kettle", "submit": true}'
    return b"data: \n\n" + sse(
        {},
        chunk(None, prompt_filter_results=[]),
        chunk({"role": "assistant", "content": ""}),
        chunk(tc(0, "", "type", "call_a")),
        *[chunk(tc(0, args[i : i + 3])) for i in range(0, len(args), 3)],
        chunk(tc(1, "", "click", "call_b")),
        *[chunk(tc(1, c)) for c in '{"ref":13}'],
        chunk({}, "tool_calls"),
        chunk(
            None,
            usage={
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 64},
            },
        ),
        b"[DONE]",
    )


@pytest.mark.parametrize("splits", [None, 1, 7, 64])
def test_fragmented_arguments_any_byte_split(splits: int | None) -> None:
    asm, events = run(openai_style(), splits=splits)
    assert actions(events) == [
        ("type", {"ref": 3, "text": "blue kettle", "submit": True}),
        ("click", {"ref": 13}),
    ]
    assert asm.usage is not None
    assert (asm.usage.prompt_tokens, asm.usage.completion_tokens) == (100, 20)
    assert asm.usage.cached_tokens == 64
    raw = asm.raw_message()
    assert [c["id"] for c in raw["tool_calls"]] == ["call_a", "call_b"]
    assert json.loads(raw["tool_calls"][0]["function"]["arguments"])["text"] == "blue kettle"


def test_action_is_ready_before_the_stream_ends() -> None:
    """The first action is handed out when its brace closes, not at [DONE]."""
    dec, asm = SSEDecoder(), StreamAssembler(provider="p", tools=TOOLS)
    events: list = []
    frames = [
        sse(chunk(tc(0, "", "click", "a"))),
        sse(chunk(tc(0, '{"ref"'))),
        sse(chunk(tc(0, ": 13}"))),
        sse(chunk(tc(1, '{"result": "ok",', "done", "b"))),
    ]
    for i, frame in enumerate(frames):
        for ev, data in dec.feed(frame):
            events += asm.feed(ev, data)
        if i == 1:
            assert not actions(events)
        if i == 2:
            assert actions(events) == [("click", {"ref": 13})]
    assert len(actions(events)) == 1  # the second call is still open


def test_interleaved_tool_calls_by_index_come_out_in_order() -> None:
    a, b = '{"ref": 3, "text": "x"}', '{"ref": 13}'
    frames = [chunk(tc(0, "", "type", "a")), chunk(tc(1, "", "click", "b"))]
    for i in range(max(len(a), len(b))):
        if i < len(b):
            frames.append(chunk(tc(1, b[i])))
        if i < len(a):
            frames.append(chunk(tc(0, a[i])))
    frames.append(chunk({}, "tool_calls"))
    _, events = run(sse(*frames, b"[DONE]"))
    # Call 1 closes first but must not overtake call 0.
    assert actions(events) == [
        ("type", {"ref": 3, "text": "x", "submit": False}),
        ("click", {"ref": 13}),
    ]


def test_whole_calls_missing_index_and_repeated_name() -> None:
    frames = [
        chunk(tc(None, '{"ref": 12}', "click", "x1")),
        chunk(tc(None, "", "back", "x2")),  # no arguments at all
        chunk({"tool_calls": [{"id": "x3", "function": {"name": "press"}}]}),
        chunk({"tool_calls": [{"id": "x3", "function": {"name": "press", "arguments": '{"key"'}}]}),
        chunk({"tool_calls": [{"function": {"arguments": ': "Enter"}'}}]}),
        chunk({}, "tool_calls"),
    ]
    _, events = run(sse(*frames))  # and no [DONE]: finish_reason is enough
    assert actions(events) == [("click", {"ref": 12}), ("back", {}), ("press", {"key": "Enter"})]


def test_name_split_across_fragments_and_coercion() -> None:
    frames = [
        chunk(tc(0, "", "wait", "a")),
        chunk(tc(0, "", "_for")),
        chunk(tc(0, "{}")),
        chunk(tc(1, '{"ref": "[20]", "on": "false"}', "check", "b")),
        chunk({}, "tool_calls"),
    ]
    _, events = run(sse(*frames, b"[DONE]"))
    assert actions(events) == [("wait_for", {}), ("check", {"ref": 20, "on": False})]


def test_content_then_tool_call_and_reasoning_count_as_tokens() -> None:
    frames = [
        chunk({"reasoning_content": "thinking"}),
        chunk({"content": "Let me "}),
        chunk({"content": "search."}),
        chunk(tc(0, '{"url": "https://a.test/"}', "goto", "a")),
        chunk({}, "tool_calls", x_groq={"usage": {"prompt_tokens": 5, "completion_tokens": 7}}),
    ]
    asm, events = run(sse(*frames, b"[DONE]"))
    assert [e.text for e in events if isinstance(e, ContentDelta)] == ["Let me ", "search."]
    assert asm.text == "Let me search."
    assert asm.usage is not None and asm.usage.completion_tokens == 7
    assert asm.tokens == 4


def test_non_streamed_completion_parses_the_same() -> None:
    body = {
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "z",
                            "type": "function",
                            "function": {"name": "click", "arguments": '{"ref":4}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3},
    }
    asm = StreamAssembler(provider="p", tools=TOOLS)
    events = asm.feed_completion(json.dumps(body).encode()) + asm.finish()
    assert actions(events) == [("click", {"ref": 4})]


# ---------------------------------------------------------------- JSON schema mode


def test_json_schema_mode_emits_each_array_element_as_it_closes() -> None:
    content = json.dumps(
        {
            "actions": [
                {"name": "click", "arguments": {"ref": 13}},
                {"name": "done", "arguments": {"result": "ok", "success": True}},
            ]
        }
    )
    first_close = content.index("}}") + 2
    asm = StreamAssembler(provider="p", tools=TOOLS, json_mode=True)
    events = asm.feed("", json.dumps(chunk({"content": content[:first_close]})).encode())
    assert actions(events) == [("click", {"ref": 13})]
    events = asm.feed("", json.dumps(chunk({"content": content[first_close:]}, "stop")).encode())
    events += asm.finish()
    assert actions(events) == [("done", {"result": "ok", "success": True})]


def test_json_schema_mode_bare_action_object() -> None:
    _, events = run(
        sse(chunk({"content": '{"name": "back", "arguments": {}}'}, "stop")), json_mode=True
    )
    assert actions(events) == [("back", {})]


# ----------------------------------------------------------------------- errors


def test_malformed_chunk_is_a_typed_error() -> None:
    with pytest.raises(MalformedResponseError, match="malformed stream chunk"):
        run(b'data: {"choices": [\n\n')


def test_arguments_that_are_not_json() -> None:
    with pytest.raises(MalformedResponseError, match="not JSON"):
        run(sse(chunk(tc(0, '{"ref": 1,,}', "click", "a"))))


def test_unknown_tool_and_bad_argument_types() -> None:
    with pytest.raises(InvalidActionError, match="unknown tool"):
        run(sse(chunk(tc(0, "{}", "teleport", "a"))))
    with pytest.raises(InvalidActionError, match="missing argument 'ref'"):
        run(sse(chunk(tc(0, "{}", "click", "a"))))
    with pytest.raises(InvalidActionError, match="one of"):
        run(sse(chunk(tc(0, '{"direction": "sideways"}', "scroll", "a"))))


def test_validator_rejects_actions() -> None:
    with pytest.raises(InvalidActionError, match="ref 99"):
        run(
            sse(chunk(tc(0, '{"ref": 99}', "click", "a"))),
            validate=lambda a: f"ref {a.arguments['ref']} is not on the page",
        )


def test_truncated_stream_and_unclosed_arguments() -> None:
    with pytest.raises(MalformedResponseError, match="before the reply was complete"):
        run(sse(chunk({"content": "hi"})))
    with pytest.raises(MalformedResponseError, match=r"never closed.*max_tokens"):
        run(sse(chunk(tc(0, '{"ref": ', "click", "a")), chunk({}, "length")))


def test_error_event_in_stream() -> None:
    with pytest.raises(ProviderError, match="overloaded"):
        run(sse({"error": {"message": "overloaded"}}))


def test_check_arguments_fills_defaults() -> None:
    args, problem = check_arguments("type", {"ref": 3, "text": "x"}, tool_schemas(TOOLS))
    assert problem is None and args == {"ref": 3, "text": "x", "submit": False}
