"""Prompts from the `prompts` package, assembled so every step shares a byte-stable prefix.

Order of a request: system prompt, tools, task (identical bytes every step, so the
provider's prompt cache hits), then the history of earlier steps (append-only, so it
extends the cached prefix), then the one part that changes: the current observation.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

import msgspec

from ._types import Action, ModelReply

OBSERVATION_OPEN = "<page_observation"
OBSERVATION_CLOSE = "</page_observation>"


@functools.cache
def load_system_prompt() -> str:
    """prompts/system.md, read once (works from an installed wheel)."""
    return resources.files("browser_agent.prompts").joinpath("system.md").read_text("utf-8").strip()


@functools.cache
def _tools_json() -> str:
    return resources.files("browser_agent.prompts").joinpath("tools.json").read_text("utf-8")


def load_tools() -> list[dict[str, Any]]:
    """prompts/tools.json: the OpenAI tool schemas offered to the model (a fresh copy)."""
    return json.loads(_tools_json())


@functools.cache
def default_tools() -> tuple[dict[str, Any], ...]:
    """The shared, parsed default tools; do not mutate."""
    return tuple(load_tools())


def action_response_format(tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A JSON-schema `response_format` equivalent to `tools`, for servers without tool calls.

    The reply is `{"actions": [{"name": ..., "arguments": {...}}, ...]}`; each element
    is parsed as soon as it closes, exactly like a streamed tool call.
    """
    variants = []
    for t in tools:
        fn = t.get("function", t)
        variants.append(
            {
                "type": "object",
                "properties": {
                    "name": {"const": fn["name"]},
                    "arguments": fn.get("parameters") or {"type": "object"},
                },
                "required": ["name", "arguments"],
            }
        )
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "browser_actions",
            "schema": {
                "type": "object",
                "properties": {
                    "actions": {"type": "array", "minItems": 1, "items": {"anyOf": variants}}
                },
                "required": ["actions"],
            },
        },
    }


_OUR_TAGS = re.compile(
    r"<(?=[\s/]*(?:page_observation|page_content|tabs|task|action_results)\b)", re.IGNORECASE
)


def escape_untrusted(text: str) -> str:
    """Page-controlled text made unable to open or close any block of ours.

    Every `<` that starts one of our tags, in any case or spacing (`</ PAGE_Observation >`),
    becomes `&lt;`: the page can write about the tag but never end the block it is in.
    Titles, URLs, dialog text, `extract` output and tool results all pass here.
    """
    return _OUR_TAGS.sub("&lt;", text) if "<" in text else text


def untrusted_block(
    text: str, *, source: str | None = None, url: str | None = None, title: str | None = None
) -> str:
    """`text` inside the page's untrusted boundary, its attributes escaped like its body."""
    attrs = ""
    if source:
        attrs += f" source={json.dumps(source)}"
    if url:
        attrs += f" url={json.dumps(escape_untrusted(url), ensure_ascii=False)}"
    if title:
        attrs += f" title={json.dumps(escape_untrusted(title), ensure_ascii=False)}"
    return f"{OBSERVATION_OPEN}{attrs}>\n{escape_untrusted(text)}\n{OBSERVATION_CLOSE}"


def observation_message(
    observation_text: str,
    *,
    url: str | None = None,
    title: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The per-step user message: the page inside a delimited untrusted block."""
    content = untrusted_block(observation_text, url=url, title=title)
    if note:
        content += f"\n{escape_untrusted(note)}"
    return {"role": "user", "content": content}


def build_messages(
    task: str,
    observation_text: str,
    history: Iterable[Mapping[str, Any]] = (),
    *,
    url: str | None = None,
    title: str | None = None,
    note: str | None = None,
    system: str | None = None,
) -> list[dict[str, Any]]:
    """Messages for one step: [system, task, *history, observation].

    The first two are byte-identical across steps of a task; `history` should only ever
    grow (see `step_messages`); `note` (e.g. a budget warning) goes after the page.
    """
    return [
        {"role": "system", "content": system if system is not None else load_system_prompt()},
        {"role": "user", "content": f"<task>\n{task.strip()}\n</task>"},
        *(dict(m) for m in history),
        observation_message(observation_text, url=url, title=title, note=note),
    ]


def step_messages(reply: ModelReply, results: Mapping[str, str] | Sequence[str] = ()) -> list[dict]:
    """What a finished step appends to the history: the assistant turn and one tool result
    per action (by action id, or in order). Old observations are not kept, so the
    history stays small and each step's prompt extends the previous one."""
    msgs: list[dict[str, Any]] = [dict(reply.raw)]
    if isinstance(results, Mapping):
        by_id = dict(results)
    else:
        by_id = {a.id: r for a, r in zip(reply.actions, results, strict=False)}
    if "tool_calls" in reply.raw:
        for action in reply.actions:
            msgs.append(
                {"role": "tool", "tool_call_id": action.id, "content": by_id.get(action.id, "ok")}
            )
    elif reply.actions:  # JSON-schema mode: no tool ids, one user turn with the results
        lines = [f"{a.name}: {by_id.get(a.id, 'ok')}" for a in reply.actions]
        msgs.append(
            {
                "role": "user",
                "content": "<action_results>\n" + "\n".join(lines) + "\n</action_results>",
            }
        )
    return msgs


def action_text(action: Action) -> str:
    """A compact one-line form, e.g. `click {"ref":13}`, for logs and results."""
    return f"{action.name} {msgspec.json.encode(action.arguments).decode()}"
