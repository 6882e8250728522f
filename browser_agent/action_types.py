"""What actions take and give: their settings, their result, a resolved target.

Plain types below the page and its actions, so both can name them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from .exceptions import ActionError
from .observation import Observation
from .settle import DialogInfo, DownloadInfo

Direction = Literal["up", "down", "left", "right", "top", "bottom"]
UrlMatch = str | re.Pattern[str] | Callable[[str], bool]


class ActionSettings(BaseModel):
    """How actions behave; set on `page.action_settings`."""

    model_config = ConfigDict(validate_assignment=True)

    timeout: float = Field(5.0, gt=0)
    """How long (s) an element may take to become visible, enabled, stable, unobscured."""
    accept_confirm: bool = True
    """Answer `confirm()` with OK (False: Cancel). Alerts are always accepted."""
    accept_prompt: bool = True
    """Answer `prompt()` (False: Cancel)."""
    prompt_text: str | None = None
    """What to answer a `prompt()` with; None gives the prompt's own default."""
    max_downloads: int = Field(20, ge=0)
    """Downloads a page may start (by an action or by itself); later ones are cancelled."""
    max_download_mb: float = Field(100.0, gt=0)
    """A download that grows past this many MB is cancelled (browsers on this machine:
    the size of a remote browser's download cannot be watched)."""


class ActionResult(msgspec.Struct, kw_only=True):
    """What one action did and what the page looks like once it settled."""

    action: str
    ref: int | None = None
    ok: bool = True
    error: str | None = None
    navigated: bool = False
    url: str = ""
    new_pages: list[str] = []
    dialog: DialogInfo | None = None
    download: DownloadInfo | None = None
    timings: dict[str, float] = {}
    settled: bool = True
    observation: Observation | None = None
    target: int | None = None
    """The ref acted on: differs from `ref` when a re-rendered element was re-found."""
    note: str = ""
    closed: bool = False
    """The action closed its own page (e.g. a button calling window.close())."""
    summary: str = ""
    """What the action changed on the page, in one bounded line from the observations
    before and after it (see `change_summary`): `+5 elements: listbox "Tags" [7]–[11]`,
    `[4] checkbox "I agree" now checked`, `nothing on the page changed`. Empty when it
    was not observed or it loaded another document."""
    late_ui: bool = False
    """The target looks like a field that offers its own choices without announcing
    them (autocomplete="off", an autocomplete or date-picker class): UI may still come
    after the observation (see `SettleSettings.ui_ms`); the agent keeps watch for it."""

    def raise_for_error(self) -> ActionResult:
        """Raise ActionError if the action reported a problem; return self otherwise."""
        if not self.ok:
            raise ActionError(self.error or f"{self.action} failed")
        return self


class Target(msgspec.Struct):
    """A resolved ref: the point to send input to (top-level viewport CSS px)."""

    ref: int
    x: float | None
    y: float | None
    frame: str | None
    tag: str
    type: str
    label: str
    retargeted: bool = False
    late_ui: bool = False

    def point(self) -> tuple[float, float]:
        """Where to send input; only for targets that were checked to have a point."""
        assert self.x is not None and self.y is not None, f"{self.label} has no point"
        return self.x, self.y
