"""The agent: a task, a model pool and a page, one timed and budgeted decision per step.

```
from browser_agent import Agent, Budget

agent = Agent("Buy the blue kettle", llm=pool, start_url=url, budget=Budget(session_s=120))
result = await agent.run()
print(result.success, result.output)
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ..records import (
        ActionRecord,
        AgentResult,
        RunJSON,
        StepRecord,
        StopReason,
        run_json_schema,
        validate_run_json,
    )
    from .events import (
        ActionFinished,
        ActionStarted,
        AgentEvent,
        BudgetNotice,
        EventHook,
        StepFinished,
    )
    from .facade import Agent
    from .registry import ACTIONS, PAGE_ACTIONS, ActionSpec, RunContext, run_action
else:  # imported on first use
    __getattr__, __dir__ = lazy_exports(
        globals(),
        {
            "..records": (
                "ActionRecord",
                "AgentResult",
                "RunJSON",
                "StepRecord",
                "StopReason",
                "run_json_schema",
                "validate_run_json",
            ),
            ".events": (
                "ActionFinished",
                "ActionStarted",
                "AgentEvent",
                "BudgetNotice",
                "EventHook",
                "StepFinished",
            ),
            ".facade": ("Agent",),
            ".registry": ("ACTIONS", "PAGE_ACTIONS", "ActionSpec", "RunContext", "run_action"),
        },
    )

__all__ = [
    "ACTIONS",
    "PAGE_ACTIONS",
    "ActionFinished",
    "ActionRecord",
    "ActionSpec",
    "ActionStarted",
    "Agent",
    "AgentEvent",
    "AgentResult",
    "BudgetNotice",
    "EventHook",
    "RunContext",
    "RunJSON",
    "StepFinished",
    "StepRecord",
    "StopReason",
    "run_action",
    "run_json_schema",
    "validate_run_json",
]
