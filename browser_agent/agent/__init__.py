"""The agent: a task, a model pool and a page, one timed and budgeted decision per step.

```
from browser_agent import Agent, Budget

agent = Agent("Buy the blue kettle", llm=pool, start_url=url, budget=Budget(session_s=120))
result = await agent.run()
print(result.success, result.output)
```
"""

from ._loop import (
    PAGE_ACTIONS,
    ActionFinished,
    ActionStarted,
    Agent,
    AgentEvent,
    BudgetNotice,
    EventHook,
    StepFinished,
)
from ._result import (
    ActionRecord,
    AgentResult,
    RunJSON,
    StepRecord,
    StopReason,
    run_json_schema,
    validate_run_json,
)

__all__ = [
    "PAGE_ACTIONS",
    "ActionFinished",
    "ActionRecord",
    "ActionStarted",
    "Agent",
    "AgentEvent",
    "AgentResult",
    "BudgetNotice",
    "EventHook",
    "RunJSON",
    "StepFinished",
    "StepRecord",
    "StopReason",
    "run_json_schema",
    "validate_run_json",
]
