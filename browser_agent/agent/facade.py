"""The `Agent`: a task, a model pool and its settings; `run()` hands them to the loop."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..browser import Browser
from ..budget import Budget
from ..cache.store import ActionCache, as_cache
from ..exceptions import (
    ConfigurationError,
)
from ..llm import (
    LLMPool,
    ProviderConfig,
    load_tools,
)
from ..page import Page
from ..recording import RecordingWriter
from ..records import AgentResult
from ..secrets import Secrets, SecretsLike
from ..tools import Tool, as_tool
from ._loop import BUILTIN_TOOLS, _Run
from .events import EventHook


class Agent:
    """Runs a task on a page with a model pool, one timed, budgeted decision per step.

    ```
    agent = Agent("Add the blue kettle to the cart", llm=pool, start_url=url)
    result = await agent.run()            # or run(browser) / run(page)
    print(result.success, result.output)
    result.report.table()                 # p50/p95/p99 per stage
    ```
    `llm` is an `LLMPool` (left open), one `ProviderConfig` or a list of them (a pool
    is made and closed), or None for `LLMPool.from_env()`. `tools` are user tools
    (`@tool` functions); `output_model` makes `done` return an instance of that
    pydantic model; `record` appends every step to a JSON-lines file; `on_event` sees
    actions and steps as they happen (for live displays); `cache` (a directory or an
    `ActionCache`) replays a task done before without the model (`browser_agent.cache`).
    """

    def __init__(
        self,
        task: str,
        *,
        llm: LLMPool | ProviderConfig | Sequence[ProviderConfig] | None = None,
        start_url: str | None = None,
        budget: Budget | None = None,
        tools: Sequence[Tool | Callable[..., Any]] = (),
        output_model: type[BaseModel] | None = None,
        record: str | os.PathLike[str] | None = None,
        tier: str = "fast",
        allowed_domains: Sequence[str] | None = None,
        headless: bool = True,
        on_event: EventHook | None = None,
        system_prompt: str | None = None,
        otel: bool | None = None,
        batch_quiet_ms: float = 10.0,
        secrets: SecretsLike | Secrets | None = None,
        blocked_domains: Sequence[str] = (),
        speculate: bool = True,
        file_urls: bool = False,
        cache: ActionCache | str | os.PathLike[str] | None = None,
    ) -> None:
        if not task.strip():
            raise ConfigurationError("the task is empty")
        self.task = task
        self.llm = llm
        self.start_url = start_url
        self.budget = budget or Budget()
        self.output_model = output_model
        self.record = record
        self.tier = tier
        self.allowed_domains = allowed_domains
        self.headless = headless
        self.on_event = on_event
        self.system_prompt = system_prompt
        self.otel = otel
        self.batch_quiet_ms = batch_quiet_ms
        """DOM-quiet window (ms) after an action the model already followed with others,
        and (with `speculate`) after the last action of a reply."""
        self.speculate = speculate
        """Start the next model call once the page is loaded and briefly quiet, and wait
        out the rest of the settle while the model thinks: a page that still moves
        cancels the call before any of its actions ran, and it is made again."""
        self.secrets = Secrets(secrets)
        """The model sees only `{{name}}`; values are typed on allowed hosts only."""
        self.blocked_domains = list(blocked_domains)
        self.file_urls = file_urls
        """Let the model's `goto` open `file:` URLs (off: only http, https and
        about:blank). A domain policy refuses them whatever this says."""
        self.cache = as_cache(cache)
        """Replay the last successful run of this task, handing over to the model at the
        first step the page differs; a successful run replaces the entry."""
        self.tools: dict[str, Tool] = {}
        for t in tools:
            self.add_tool(t)
        self.history: list[dict[str, Any]] = []
        """The conversation after the system prompt and task, as of the last run."""
        self.last_prompt: list[dict[str, Any]] = []
        """The messages of the last model call."""

    # -- tools

    def add_tool(self, fn: Tool | Callable[..., Any]) -> Tool:
        t = as_tool(fn)
        if t.name in BUILTIN_TOOLS:
            raise ConfigurationError(f"tool {t.name!r} would shadow a built-in action")
        if t.name in self.tools:
            raise ConfigurationError(f"two tools are called {t.name!r}")
        self.tools[t.name] = t
        return t

    def tool(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Any:
        """Register a user tool: `@agent.tool` or `@agent.tool(name=...)`."""

        def register(f: Callable[..., Any]) -> Tool:
            ns = dict(sys._getframe(1).f_locals)  # where models next to `f` are defined
            return self.add_tool(Tool(f, name=name, description=description, localns=ns))

        return register(fn) if fn is not None else register

    def tool_schemas(self) -> list[dict[str, Any]]:
        """What the model is offered: the page actions, `done`, then the user tools."""
        tools = load_tools()
        if self.output_model is not None:
            for t in tools:
                fn = t["function"]
                if fn["name"] == "done":
                    params = fn["parameters"]
                    schema = self.output_model.model_json_schema()
                    defs = schema.pop("$defs", None)
                    if defs:
                        params["$defs"] = defs
                    schema.pop("title", None)
                    params["properties"]["result"] = {
                        "anyOf": [schema, {"type": "string"}],
                        "description": "The answer as this JSON object; when success is "
                        "false, a sentence saying why.",
                    }
        tools += [t.schema() for t in self.tools.values()]
        return tools

    # -- running

    async def run(self, target: Page | Browser | None = None) -> AgentResult:
        """Run the task to the end: done, max steps, max failures or the session budget.

        Without a target a headless browser is launched (and closed at the end). The
        model connection is warmed while the browser starts and the first page loads.
        Raises only for configuration problems (no model, no browser); everything that
        goes wrong during the task is in the result.
        """
        pool, owned = self._pool()
        async with contextlib.AsyncExitStack() as stack:
            if owned:
                stack.push_async_callback(pool.aclose)
            run = _Run(self, pool)
            if self.record is not None:
                writer = RecordingWriter(Path(self.record), redactor=run.redactor)
                run.recorder = stack.enter_context(writer)
            if self.cache is not None:
                run.cache = stack.enter_context(self.cache.player(run, target))
            return await run.run_to_end(stack, target)

    def _pool(self) -> tuple[LLMPool, bool]:
        llm = self.llm
        if isinstance(llm, LLMPool):
            return llm, False
        if llm is None:
            return LLMPool.from_env(), True
        configs = [llm] if isinstance(llm, ProviderConfig) else list(llm)
        return LLMPool(configs), True
