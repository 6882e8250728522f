"""What an agent run tells its `on_event` hook as it happens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from ..records import ActionRecord, StepRecord
from ..timing import Event


class ActionStarted(msgspec.Struct, tag="action_started"):
    """An action is about to run (its record is filled in when it finishes)."""

    step: int
    record: ActionRecord
    url: str = ""
    """The page the model saw when it chose the action."""


class ActionFinished(msgspec.Struct, tag="action_finished"):
    step: int
    record: ActionRecord


class StepFinished(msgspec.Struct, tag="step_finished"):
    record: StepRecord


class BudgetNotice(msgspec.Struct, tag="budget"):
    """An overrun or a degradation, the moment it is known."""

    event: Event


AgentEvent = ActionStarted | ActionFinished | StepFinished | BudgetNotice
EventHook = Callable[[AgentEvent], Awaitable[object] | object]
