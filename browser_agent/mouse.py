"""Trusted mouse clicks, sent to the browser in one flight.

Playwright's `mouse.click` awaits each event before sending the next. Chromium holds a
mouse move until the next animation frame, so its reply (and the press behind it) can
wait up to a frame. Sent together on the direct CDP socket, the press makes Chromium
dispatch the queued move at once: the page sees the same events in the same order
(pointer and mouse moves, hover, down, up, click), one round trip later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browser_agent.exceptions import ActionError

from .extractors.cdp import Call

if TYPE_CHECKING:
    from .plumbing import PagePlumbing

_MASK = {"left": 1, "right": 2, "middle": 4}
"""The `buttons` bit of each mouse button."""


def click_events(x: float, y: float, button: str, count: int) -> list[Call]:
    """The CDP input calls of a click, as Playwright sends them (`count` presses for
    a double or triple click, each with its running click count)."""
    at = {"x": x, "y": y, "modifiers": 0}
    calls: list[Call] = [
        ("Input.dispatchMouseEvent", {"type": "mouseMoved", "button": "none", "buttons": 0, **at})
    ]
    for n in range(1, count + 1):
        down = {"type": "mousePressed", "button": button, "buttons": _MASK[button], "force": 0.5}
        up = {"type": "mouseReleased", "button": button, "buttons": 0}
        calls.append(("Input.dispatchMouseEvent", {**down, **at, "clickCount": n}))
        calls.append(("Input.dispatchMouseEvent", {**up, **at, "clickCount": n}))
    return calls


async def click(
    page: PagePlumbing, x: float, y: float, *, button: str = "left", count: int = 1
) -> None:
    """Click at viewport point (x, y) of the top-level page, Playwright's way when there
    is no direct socket (a browser reached through a Playwright server)."""
    if button not in _MASK:
        raise ActionError(f"unknown mouse button {button!r}: left, right or middle")
    if count < 1:
        raise ActionError(f"a click needs at least one press, not {count}")
    if not await page.serializer.send_input(click_events(x, y, button, count)):
        await page.playwright_page.mouse.click(x, y, button=button, click_count=count)  # type: ignore[arg-type]
