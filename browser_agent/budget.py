"""Time budgets for an agent: the session, each decision, each stage, and what to give up.

Hard limits are enforced with cancel scopes (the session, a decision, an observation,
the model call, an action with its settle); soft limits (time to first token, to the
first action, settle) are checked as soon as the stage ends. Either way an overrun is
an event in the timing report and triggers the next configured degradation for the
stage, so a slow session gets cheaper instead of silently stalling.

The remedy fits the cause (`Budget.choose`): when the model was the slow stage, a
second provider (hedging) or a faster tier comes first; a smaller observation only
when the prompt's size is what made the call slow. When nothing fits, the runtime says
so instead of cutting what the model sees for nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Degradation = Literal["viewport", "fast_tier", "hedge"]
"""What a session gives up to get back within budget:

* `viewport`: observations shrink to about `viewport_chars` around the viewport;
* `fast_tier`: decisions move to the pool's "fast" tier;
* `hedge`: model calls are hedged across the tier's providers.
"""

HARD_STAGES = frozenset({"session", "decision", "observe", "llm_total", "act"})
"""Stages cut by a cancel scope at their limit; the others are reported after the fact."""
MODEL_STAGES = frozenset({"llm_ttft", "llm_first_action", "llm_total"})
"""Stages whose overrun is the model's (a whole step's is when most of it was)."""
_STALL_RATIO = 3.0
"""A first token later than this × the provider's usual is its tail, not the prompt."""

_REMEDIES: dict[str, tuple[Degradation, ...]] = {
    "observe": ("viewport",),
    "prompt": ("viewport",),
    "llm_ttft": ("hedge", "fast_tier"),
    "llm_first_action": ("hedge", "fast_tier"),
    "llm_total": ("fast_tier", "hedge", "viewport"),
    "decision": ("viewport", "fast_tier", "hedge"),
}


@dataclass(frozen=True)
class OverrunCause:
    """What an overrun's remedy depends on: where the step's time went, and what could help.

    `ttft_ms` is this call's time to first token (None when none came); `usual_ttft_ms`
    the provider's recent p50. `providers` counts the routes of the tier in use;
    `same_provider_hedge` whether the pool may hedge to the same provider.
    """

    stage: str
    step_ms: float = 0.0
    model_ms: float = 0.0
    ttft_ms: float | None = None
    usual_ttft_ms: float | None = None
    observation_chars: int = 0
    providers: int = 1
    same_provider_hedge: bool = False
    hedging: bool = False
    fast_tier: bool = False
    """A "fast" tier exists and is not the one in use."""

    @property
    def model_bound(self) -> bool:
        """The model was the slow stage (for a whole step: at least half its time)."""
        if self.stage in MODEL_STAGES:
            return True
        return self.stage == "decision" and self.model_ms * 2 >= self.step_ms > 0


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
    hedge: Literal["adaptive", "on_overrun", "never"] = "adaptive"
    """"adaptive": from the first call, a call whose first token is later than about the
    provider's recent p95 gets a second request within the pool's `HedgePolicy`
    budgets; "on_overrun": only once the model overran; "never". ("always" is read as
    "adaptive".)"""

    @field_validator("hedge", mode="before")
    @classmethod
    def _old_hedge_name(cls, v: object) -> object:
        return "adaptive" if v == "always" else v

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

    def choose(
        self, cause: OverrunCause, applied: Collection[Degradation] = ()
    ) -> tuple[Degradation | None, str]:
        """The degradation that fits the cause of an overrun, and why (None: none fits).

        Slow model: hedge (another provider answers while one is slow), else the fast
        tier, else a smaller observation only if the prompt's size made the call slow.
        Slow page or prompt work: a smaller observation.
        """
        allowed = [d for d in self.remedies(cause.stage) if d not in applied]
        if cause.stage == "decision" and not cause.model_bound:
            allowed = [d for d in allowed if d == "viewport"]
            if allowed:
                share = f"{cause.step_ms - cause.model_ms:.0f} of {cause.step_ms:.0f} ms"
                return "viewport", f"most of the step ({share}) was outside the model"
            return None, "the step was slow outside the model and no remedy is left"
        if not cause.model_bound:
            if "viewport" in allowed:
                return "viewport", f"the {cause.stage} stage was slow"
            return None, f"the {cause.stage} stage was slow and no remedy is left"
        can_hedge = cause.providers > 1 or cause.same_provider_hedge
        if "hedge" in allowed and can_hedge and not cause.hedging:
            return "hedge", "the model was the slow stage: a second request can answer first"
        if "fast_tier" in allowed and cause.fast_tier:
            return "fast_tier", "the model was the slow stage: a faster tier exists"
        bound, why = self._prompt_bound(cause)
        if bound and "viewport" in allowed:
            return "viewport", why
        where = (
            "one provider"
            if cause.providers < 2 and not cause.same_provider_hedge
            else "hedging already on"
        )
        return None, (
            f"the model was the slow stage with {where} and no faster tier; {why}, "
            "so the observation is kept whole"
        )

    def _prompt_bound(self, cause: OverrunCause) -> tuple[bool, str]:
        """Whether a shorter prompt would have made the call faster, and why (not)."""
        chars = cause.observation_chars
        if chars <= self.viewport_chars:
            return False, f"the observation ({chars} chars) is no larger than the viewport cut"
        if cause.ttft_ms is None:
            return False, "no first token came at all: a stall, not the prompt's size"
        usual = cause.usual_ttft_ms
        if usual is not None and cause.ttft_ms > _STALL_RATIO * usual:
            return False, (
                f"its first token came after {cause.ttft_ms:.0f} ms against a usual "
                f"{usual:.0f} ms: the provider's tail, not the prompt's size"
            )
        return True, (
            f"the prompt's size made the call slow: a {chars}-char observation, and the "
            f"first token after {cause.ttft_ms:.0f} ms is the provider's usual at that size"
        )
