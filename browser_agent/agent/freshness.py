"""What the agent knows of the page between steps, and how far it can trust it.

One object instead of four flags spread over the loop and the executor: the last
observation, whether it still is the page as it is (an action's settle produced it),
whether it came from a short settle and must be confirmed while the next model call
runs (`Agent.speculate`), and until when UI the last action set on its way may still
appear (the next call keeps watching for it, `SettleSettings.ui_ms`).
"""

from __future__ import annotations

import time

from ..observation import Observation


class Freshness:
    """The last observation and its standing: current, early, watched."""

    def __init__(self) -> None:
        self.obs: Observation | None = None
        self.current = False
        """`obs` still is the page as it is: the next step may reuse it."""
        self.early = False
        """`obs` came from a short settle: confirm it while the next call runs."""
        self.watch_until: float | None = None
        """Until when (perf_counter) late UI may appear after the last action."""
        self.watch_hold = False
        """The last action's target suggests late UI without announcing it: the next
        reply's actions wait for the watch to end before they run."""

    def reusable(self) -> Observation | None:
        """The observation to prompt with, if it still is the page as it is."""
        return self.obs if self.current else None

    def taken(self, obs: Observation) -> None:
        """A look just taken: it is the page as it is."""
        self.obs, self.current = obs, True

    def checked(self) -> None:
        """The look was checked as it was taken (a step replayed from the action cache):
        nothing is left to confirm or watch from the step before."""
        self.early, self.watch_until, self.watch_hold = False, None, False

    def stale(self) -> None:
        """The page may have moved: the next step observes again."""
        self.current = False

    def settled_after_action(
        self, obs: Observation, *, light: bool, speculate: bool, watch: tuple[float, bool] | None
    ) -> None:
        """An action's own observation. After a light settle the page may still move:
        the next call confirms it (`speculate`), or the next step observes again.
        `watch` is (until, hold) when UI the action set on its way may still come."""
        self.obs, self.current = obs, speculate or not light
        self.early = speculate and light
        if watch is not None and self.current:
            self.watch_until, self.watch_hold = watch

    def take_early(self) -> bool:
        """Whether the observation the step uses must be confirmed; resets it."""
        early, self.early = self.early, False
        return early

    def take_watch(self) -> tuple[float | None, bool]:
        """(until, hold) for the next call's watch, if it has not already ended; resets it."""
        until, hold = self.watch_until, self.watch_hold
        self.watch_until, self.watch_hold = None, False
        if until is not None and until <= time.perf_counter():
            return None, False
        return until, hold
