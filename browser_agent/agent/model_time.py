"""Where a model call's time goes: its spans (total, first token, first action), the
retries and hedges it took, and the time of a call a step was cut in the middle of."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..budget import Budget
from ..llm import (
    ModelReply,
)
from ..records import StepRecord
from ..timing import Span, Timeline
from .executor import InCall

if TYPE_CHECKING:
    pass

log = logging.getLogger("browser_agent.agent")


class ModelTime:
    """The `_Run` methods that account for the time of model calls."""

    budget: Budget
    tl: Timeline
    in_call: InCall | None

    def overrun(
        self,
        stage: str,
        rec: StepRecord | None,
        limit_ms: float,
        actual_ms: float,
        detail: str = "",
    ) -> None: ...

    def cut_call(self, rec: StepRecord) -> None:
        """A step cut mid-call (its limit, the session's): the model's time still counts."""
        call, self.in_call = self.in_call, None
        if call is None:
            return
        tl = self.tl
        if call.reply is None:
            tl.add("llm_total", tl.at(call.t0), tl.now(), parent=call.parent, step=rec.n, cut=True)
        else:
            self.llm_spans(call.reply, tl.at(call.t0), tl.at(call.t1), rec, call.parent)

    def llm_spans(
        self, reply: ModelReply, start: float, returned: float, rec: StepRecord, parent: Span
    ) -> None:
        tl, b, t = self.tl, self.budget, reply.timings
        end = min(start + t.total, returned)
        llm = tl.add(
            "llm_total",
            start,
            end,
            parent=parent,
            step=rec.n,
            provider=reply.provider,
            attempts=reply.attempts,
            hedged=reply.hedged,
            hedge_won=reply.hedge_won,
        )
        for name, at in (("llm_ttft", t.ttft), ("llm_first_action", t.first_action)):
            if at is not None:
                tl.add(name, start, min(start + at, end), parent=llm, step=rec.n)
        for failure in reply.failures:
            ev = tl.event("retry", stage="llm_total", step=rec.n, detail=failure)
            rec.events.append(ev)
        if reply.hedged:
            which = "second" if reply.hedge_won else "first"
            detail = f"won by {reply.provider} (the {which} request)"
            ev = tl.event("hedge", stage="llm_total", step=rec.n, detail=detail)
            rec.events.append(ev)
        if t.ttft is not None and t.ttft > b.llm_ttft_s * 1000:
            self.overrun("llm_ttft", rec, b.llm_ttft_s * 1000, t.ttft)
        if t.first_action is not None and t.first_action > b.llm_first_action_s * 1000:
            self.overrun("llm_first_action", rec, b.llm_first_action_s * 1000, t.first_action)
