"""Whether a page that changed while the model was thinking changed in a way that matters.

The agent starts a model call on an observation and keeps watching the page meanwhile
(see `Agent.speculate` and `SettleSettings.ui_ms`); when the page changes, the call may
be cancelled and made again on the new page. That costs a model call, so only changes
the next decision could depend on count:

  * it touches an interactive element (one appeared or went; a name, value or state
    changed) or a line of text near one (within `page_diff.NEAR_LINES` lines, or inside
    it: a price above its button, a message under its field); text standing apart (a
    footer, a clock in a corner) never counts;
  * and it does not repeat: a change whose only difference is its numbers (a clock,
    a live counter, a countdown) never counts, nor does a text or name change this
    page was already seen making while the model thought (a rotating banner, from its
    second turn on). Elements that appear or go always count: that is what late UI
    (a list of suggestions, a menu) looks like, however often it was seen before.
"""

from __future__ import annotations

from .observation import Element, Observation
from .page_diff import PageDiff, diff, masked, same_document


def _key(el: Element) -> str:
    return f"{el.role}:{masked(el.name)}"


class Churn:
    """What one page was seen changing by itself, and the judgement built on it."""

    def __init__(self) -> None:
        self.url = ""
        self.seen: set[str] = set()
        """Keys (number-masked element labels and text lines) seen changing unprompted."""

    def matters(self, before: Observation, after: Observation) -> bool:
        """Whether `after` differs from `before` in a way that should be shown to the
        model before it acts; remembers what changed, so a repeat does not count."""
        if after.url != before.url or not same_document(before, after):
            return True
        if after.url != self.url:
            self.url, self.seen = after.url, set()
        d = diff(before, after)
        if d.added or d.removed:
            return True
        keys = self._keys(d)
        fresh = [k for k in keys if k not in self.seen]
        self.seen.update(keys)
        return bool(fresh)

    def _keys(self, d: PageDiff) -> list[str]:
        """One key per relevant text or state change that is not a mere tick of numbers."""
        keys = [f"~{_key(c.after)}:{c.gained}{c.lost}" for c in d.changed if not c.only_numbers]
        ticked = {masked(t.text) for t in d.text_removed}
        for t in d.text_added:
            if t.near_element and masked(t.text) not in ticked:
                keys.append(f"t:{masked(t.text)}")
        added = {masked(t.text) for t in d.text_added}
        for t in d.text_removed:
            if t.near_element and masked(t.text) not in added:
                keys.append(f"t:{masked(t.text)}")
        return keys
