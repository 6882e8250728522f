"""User tools: plain Python functions the model may call next to the page actions.

```
from pydantic import BaseModel
from browser_agent import Agent, tool

@tool
async def convert(amount: float, currency: str = "EUR") -> str:
    \"\"\"Convert an amount to US dollars.\"\"\"
    return f"{amount * RATES[currency]:.2f} USD"

agent = Agent(task, llm=pool, tools=[convert])
```

Arguments are validated by a pydantic model built from the signature (or given as
the single parameter's type); a validation error goes back to the model instead of
raising. A parameter annotated `Page` receives the agent's page: such a tool runs in
order with the page actions, every other tool runs concurrently with them.
"""

from __future__ import annotations

import inspect
import json
import sys
import typing
from collections.abc import Callable
from typing import Any, overload

import anyio
import msgspec
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from .exceptions import ConfigurationError
from .page import Page

MAX_RESULT_CHARS = 8000
"""Longer tool results are cut: they go into every later prompt."""


def function_schema(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """A tool as the model is offered it (OpenAI function calling): the runtime's own
    actions and the user's tools are offered alike."""
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


class Tool:
    """A function offered to the model as a tool, with validated arguments."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        localns: dict[str, Any] | None = None,
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        if not self.name.isidentifier():
            raise ConfigurationError(f"tool name {self.name!r} is not an identifier")
        doc = inspect.getdoc(fn) or ""
        self.description = description or doc.split("\n\n")[0].replace("\n", " ").strip()
        self.is_async = inspect.iscoroutinefunction(fn)
        self.page_param: str | None = None
        self._single_model: str | None = None
        self.args_model = self._model_from_signature(fn, localns)
        self.parameters = _compact_schema(self.args_model.model_json_schema())

    @property
    def takes_page(self) -> bool:
        """Whether the tool acts on the page (and so runs in order with page actions)."""
        return self.page_param is not None

    def _model_from_signature(
        self, fn: Callable[..., Any], localns: dict[str, Any] | None
    ) -> type[BaseModel]:
        try:
            hints = typing.get_type_hints(fn, localns=localns)
        except (NameError, TypeError) as exc:
            why = f"tool {self.name}: cannot read its type hints: {exc}"
            raise ConfigurationError(why) from exc
        fields: dict[str, Any] = {}
        params = list(inspect.signature(fn).parameters.values())
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise ConfigurationError(f"tool {self.name}: *args/**kwargs cannot be offered")
            ann = hints.get(p.name, Any)
            if ann is Page or (p.name == "page" and ann is Any):
                self.page_param = p.name
                continue
            default = ... if p.default is p.empty else p.default
            fields[p.name] = (ann, default)
        if len(fields) == 1:
            (only, (ann, default)) = next(iter(fields.items()))
            if isinstance(ann, type) and issubclass(ann, BaseModel) and default is ...:
                self._single_model = only
                return ann
        return create_model(
            f"{self.name}_arguments",
            __config__=ConfigDict(extra="forbid"),
            **fields,
        )

    def schema(self) -> dict[str, Any]:
        """The OpenAI tool schema."""
        return function_schema(self.name, self.description, self.parameters)

    def validate(self, arguments: dict[str, Any]) -> BaseModel:
        """Raises pydantic's ValidationError (the agent reports it to the model)."""
        return self.args_model.model_validate(arguments)

    async def call(self, arguments: dict[str, Any], page: Page | None = None) -> str:
        """Validate, run and render the result as the text the model reads."""
        args = self.validate(arguments)
        if self._single_model is not None:
            kwargs: dict[str, Any] = {self._single_model: args}
        else:
            kwargs = {name: getattr(args, name) for name in type(args).model_fields}
        if self.page_param is not None:
            kwargs[self.page_param] = page
        if self.is_async:
            out = await self.fn(**kwargs)
        else:
            # A synchronous tool runs in a worker thread so it never blocks the loop; it
            # cannot be interrupted, so keep it short.
            out = await anyio.to_thread.run_sync(lambda: self.fn(**kwargs))
        return render_result(out)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly, as if undecorated."""
        out = self.fn(*args, **kwargs)
        return await out if inspect.isawaitable(out) else out


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function a tool: `@tool` or `@tool(name=..., description=...)`.

    The description defaults to the docstring's first paragraph, the argument schema
    to the signature's type hints (pydantic types and constraints included).
    """
    if fn is not None:
        return Tool(fn, name=name, description=description, localns=_caller_locals())

    def decorate(f: Callable[..., Any]) -> Tool:
        return Tool(f, name=name, description=description, localns=_caller_locals())

    return decorate


def _caller_locals(depth: int = 2) -> dict[str, Any]:
    """The namespace `@tool` was applied in: where models defined next to the function live
    (with `from __future__ import annotations` the hints are only names)."""
    frame = sys._getframe(depth)
    try:
        return dict(frame.f_locals)
    finally:
        del frame


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    return obj if isinstance(obj, Tool) else Tool(obj)


def render_result(out: Any) -> str:
    """What the model reads back: text as is, models and data as JSON, None as "ok"."""
    if out is None:
        text = "ok"
    elif isinstance(out, str):
        text = out
    elif isinstance(out, BaseModel):
        text = out.model_dump_json()
    else:
        try:
            text = msgspec.json.encode(out).decode()
        except (TypeError, msgspec.EncodeError):
            text = json.dumps(out, default=str)
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"… ({len(text) - MAX_RESULT_CHARS} more characters)"
    return text


def validation_message(exc: ValidationError) -> str:
    """pydantic's errors, one short line each, for the model."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's titles: they repeat the names and cost tokens on every step.

    (A property called "title" survives: its value is a schema, not a string.)
    """

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: strip(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    out: dict[str, Any] = strip(schema)
    out.setdefault("type", "object")
    out.setdefault("properties", {})
    return out
