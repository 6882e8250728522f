"""Time budgets for an agent: the session, each decision, each stage, and what to give up.

Hard limits are enforced with cancel scopes (the session, a decision, an observation,
the model call, an action with its settle); soft limits (time to first token, to the
first action, settle) are checked as soon as the stage ends. Either way an overrun is
an event in the timing report and triggers the next configured degradation for the
stage, so a slow session gets cheaper instead of silently stalling.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Degradation = Literal["viewport", "fast_tier", "hedge"]
"""What a session gives up to get back within budget:

* `viewport`: observations shrink to about `viewport_chars` around the viewport;
* `fast_tier`: decisions move to the pool's "fast" tier;
* `hedge`: model calls are hedged across the tier's providers.
"""

HARD_STAGES = frozenset({"session", "decision", "observe", "llm_total", "act"})
"""Stages cut by a cancel scope at their limit; the others are reported after the fact."""

_REMEDIES: dict[str, tuple[Degradation, ...]] = {
    "observe": ("viewport",),
    "prompt": ("viewport",),
    "llm_ttft": ("hedge", "fast_tier"),
    "llm_first_action": ("hedge", "fast_tier"),
    "llm_total": ("fast_tier", "hedge", "viewport"),
    "decision": ("viewport", "fast_tier", "hedge"),
}


class Budget(BaseModel):
    """Limits (seconds) for an agent session; see the module docstring for how they act."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    session_s: float = Field(300.0, gt=0)
    """Wall clock of the whole run, start-up included."""
    decision_s: float = Field(120.0, gt=0)
    """One step: observation, prompt, model call and its actions until the page settled."""
    max_steps: int = Field(30, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    """Prompt plus completion tokens over the whole session; the run stops once reached."""
    max_observation_chars: int | None = Field(None, ge=500)
    """Cap of every observation (the serializer cuts it with "… N more elements below")."""
    max_failures: int = Field(3, ge=1)
    """Consecutive failed steps (no reply, or every action failed) before giving up."""

    observe_s: float = Field(5.0, gt=0)
    prompt_s: float = Field(0.5, gt=0)
    llm_ttft_s: float = Field(10.0, gt=0)
    """Soft: a later first token is reported and triggers hedging or the fast tier."""
    llm_first_action_s: float = Field(15.0, gt=0)
    llm_s: float = Field(60.0, gt=0)
    """The whole model call, retries and hedges included."""
    act_s: float = Field(20.0, gt=0)
    """One action, including its settle and the observation that follows."""
    settle_s: float | None = Field(None, gt=0)
    """Bound of the page's settle after each action; None keeps the page's own setting."""

    degrade: tuple[Degradation, ...] = ("viewport", "fast_tier", "hedge")
    """The degradations allowed, each applied at most once per session."""
    viewport_chars: int = Field(6000, ge=500)
    """Size of an observation once `viewport` degradation is on."""
    hedge: Literal["always", "on_overrun", "never"] = "on_overrun"
    """Hedge model calls from the start, only once the model overran, or never."""

    def limit_s(self, stage: str) -> float | None:
        """The limit of a stage in seconds, or None when it has none."""
        return {
            "session": self.session_s,
            "decision": self.decision_s,
            "observe": self.observe_s,
            "prompt": self.prompt_s,
            "llm_ttft": self.llm_ttft_s,
            "llm_first_action": self.llm_first_action_s,
            "llm_total": self.llm_s,
            "act": self.act_s,
            "settle": self.settle_s,
        }.get(stage)

    def remedies(self, stage: str) -> list[Degradation]:
        """The allowed degradations for an overrun of `stage`, most useful first."""
        return [
            d
            for d in _REMEDIES.get(stage, ())
            if d in self.degrade and not (d == "hedge" and self.hedge == "never")
        ]
