"""Typed text and its Enter, sent to the browser in one flight (see `mouse`).

Only the keys a `type` action sends itself are spelled out here, exactly as Playwright
sends them; every other key (`press`) goes through Playwright's keyboard, which knows
them all and the editing commands a macOS browser needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .extractors.cdp import Call

if TYPE_CHECKING:
    from .plumbing import PagePlumbing

_ENTER = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "location": 0}


def text_events(text: str, submit: bool) -> list[Call]:
    """Insert `text` where the focus is (as an IME commit: one input event), then press
    Enter when `submit`."""
    calls: list[Call] = []
    if text:
        calls.append(("Input.insertText", {"text": text}))
    if submit:
        down = {"type": "keyDown", "text": "\r", "unmodifiedText": "\r", "autoRepeat": False}
        calls.append(("Input.dispatchKeyEvent", {**down, **_ENTER, "modifiers": 0}))
        calls.append(("Input.dispatchKeyEvent", {"type": "keyUp", **_ENTER, "modifiers": 0}))
    return calls


async def insert(page: PagePlumbing, text: str, *, submit: bool = False) -> None:
    """Type `text` into the focused field and optionally submit, Playwright's way when
    there is no direct socket."""
    calls = text_events(text, submit)
    if not calls or await page.serializer.send_input(calls):
        return
    keyboard = page.playwright_page.keyboard
    if text:
        await keyboard.insert_text(text)
    if submit:
        await keyboard.press("Enter")
