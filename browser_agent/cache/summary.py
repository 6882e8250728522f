"""What a run did with the action cache, for its result, `--json` and reports."""

from __future__ import annotations

from typing import Literal

import msgspec

Outcome = Literal["hit", "partial", "miss"]


class CacheSummary(msgspec.Struct, kw_only=True):
    """Which steps came from the cache and which from the model, and why.

    `outcome`: "hit" (every step from the cache), "partial" (some), "miss" (none).
    """

    key: str
    outcome: Outcome = "miss"
    cached_steps: list[int] = msgspec.field(default_factory=list)
    """Step numbers replayed from the cache, without a model call."""
    model_steps: list[int] = msgspec.field(default_factory=list)
    """Step numbers the model took."""
    miss: str = ""
    """Why no entry was used (none yet, unreadable, …)."""
    diverged: list[str] = msgspec.field(default_factory=list)
    """Where the page differed from the cached run, one line each ("step 3: …")."""
    resumed: list[str] = msgspec.field(default_factory=list)
    """Where replaying started again after the model's steps."""
    retargeted: list[str] = msgspec.field(default_factory=list)
    """Targets found again by their fingerprint rather than their ref."""
    recomputed: list[str] = msgspec.field(default_factory=list)
    """Values read again from the live page (`old -> new`), in typed text and answers."""
    stored: bool = False
    """This run's recording replaced the entry."""
    error: str = ""
    """Why the entry could not be stored."""

    def describe(self) -> str:
        """One line for a terminal."""
        n, m = len(self.cached_steps), len(self.model_steps)
        text = f"cache {self.outcome}: {n} step{'s' * (n != 1)} from the cache, {m} from the model"
        if self.miss and not n:
            text += f" ({self.miss})"
        if self.stored:
            text += "; entry stored"
        elif self.error:
            text += f"; not stored: {self.error}"
        return text
