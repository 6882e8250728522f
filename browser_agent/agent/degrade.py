"""The degrade policy: what the loop does when a stage overruns its budget.

Every overrun is recorded; the first remedy that can still help (a smaller
observation, the fast tier, hedged calls) is applied once and recorded too, or a
`no_degrade` event says, once per stage, why none fits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..budget import HARD_STAGES, Budget, Degradation, OverrunCause
from ..llm import LLMPool
from ..records import StepRecord
from ..timing import Event, Timeline
from .events import AgentEvent, BudgetNotice
from .freshness import Freshness

if TYPE_CHECKING:
    from .facade import Agent


class DegradePolicy:
    """The `_Run` methods that report overruns and apply degradations."""

    agent: Agent
    pool: LLMPool
    budget: Budget
    tl: Timeline
    view: Freshness
    notes: list[str]
    pending: list[AgentEvent]
    tier: str
    """The model tier decisions go to (`fast_tier` moves it)."""
    hedge: bool
    """Whether calls are hedged (`hedge` turns it on)."""
    viewport: bool
    """Whether observations are cut around the viewport (`viewport` turns it on)."""
    applied: set[Degradation]
    held: set[str]
    """Stages whose overrun found no fitting remedy (said once per session)."""

    def overrun(
        self,
        stage: str,
        rec: StepRecord | None,
        limit_ms: float,
        actual_ms: float,
        detail: str = "",
    ) -> None:
        """Report an overrun and apply the first degradation that can still help."""
        if not detail:
            detail = "cut at the limit" if stage in HARD_STAGES else "reported"
        ev = self.tl.event(
            "overrun",
            stage=stage,
            step=rec.n if rec else None,
            limit_ms=limit_ms,
            actual_ms=actual_ms,
            detail=detail,
        )
        if rec is not None:
            rec.events.append(ev)
        self._notice(ev)
        remedy, why = self.budget.choose(self.cause(stage, rec, actual_ms), self.applied)
        if remedy is not None and self.degrade(remedy, stage, rec, why):
            return
        if remedy is None and stage not in self.held:
            self.held.add(stage)
            ev = self.tl.event("no_degrade", stage=stage, step=rec.n if rec else None, detail=why)
            if rec is not None:
                rec.events.append(ev)
            self._notice(ev)

    def cause(self, stage: str, rec: StepRecord | None, actual_ms: float) -> OverrunCause:
        """Where the step's time went and what could help, for `Budget.choose`."""
        tiers = self.pool.tiers()
        routes = tiers.get(self.tier, [])
        reply = rec.reply if rec is not None else None
        provider = reply.provider if reply is not None else (routes[0] if routes else "")
        route = self.pool.stats().get(provider)
        step = rec.n if rec is not None else None
        return OverrunCause(
            stage=stage,
            step_ms=actual_ms,
            model_ms=sum(s.ms for s in self.tl.spans if s.name == "llm_total" and s.step == step),
            ttft_ms=reply.timings.ttft if reply is not None else None,
            usual_ttft_ms=route.ttft_p50_ms if route is not None else None,
            observation_chars=rec.observation_chars if rec is not None else 0,
            providers=len(routes),
            same_provider_hedge=self.pool.hedge.same_provider,
            hedging=self.hedge,
            fast_tier=self.tier != "fast" and "fast" in tiers,
        )

    def degrade(
        self, remedy: Degradation, stage: str, rec: StepRecord | None, why: str = ""
    ) -> bool:
        tiers = self.pool.tiers()
        if remedy == "viewport":
            self.viewport = True
            self.view.stale()  # the next observation is the smaller one
            what = f"observations cut to ~{self.budget.viewport_chars} chars around the viewport"
            self.notes.append(
                "Note: to save time the page is now shown around the viewport only; "
                "scroll to see more."
            )
        elif remedy == "fast_tier":
            if self.tier == "fast" or "fast" not in tiers:
                return False
            what = f"decisions moved from the {self.tier!r} tier to 'fast'"
            self.tier = "fast"
        else:
            if self.hedge or (
                len(tiers.get(self.tier, [])) < 2 and not self.pool.hedge.same_provider
            ):
                return False
            self.hedge = True
            what = f"model calls hedged across {', '.join(tiers[self.tier])}"
        if why:
            what += f": {why}"
        self.applied.add(remedy)
        ev = self.tl.event("degrade", stage=stage, step=rec.n if rec else None, detail=what)
        if rec is not None:
            rec.events.append(ev)
        self._notice(ev)
        return True

    def _notice(self, ev: Event) -> None:
        # Noticed in sync code: delivered with the next event (at the latest, the step's).
        if self.agent.on_event is not None:
            self.pending.append(BudgetNotice(ev))
