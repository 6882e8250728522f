"""Acting on refs: resolve in the page, act with trusted input, settle, observe.

Playwright cannot adopt an element from our isolated world, so an action asks the
in-page half (extractors/js/actions/) to resolve the ref, check it is still what
the model saw and make it actionable, and gets back a point in viewport coordinates;
the input itself is trusted (CDP mouse and keyboard events; clicks and typed text go
in one flight, see `mouse` and `keyboard`). DOM-level
setters are used only where no input gesture exists (select options, date and colour
inputs, file lists).

Errors about the request itself (unknown or stale ref, element never actionable,
bad argument) raise before anything happened. Problems after the input was sent
(a navigation that failed, a checkbox that did not toggle) come back in the
`ActionResult` with `ok=False`, next to the observation: the action did happen.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import itertools
import mimetypes
import os
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from playwright.async_api import Error as PlaywrightError

from . import keyboard, mouse
from .action_types import ActionResult, ActionSettings, Direction, Target, UrlMatch
from .change_summary import summarize
from .exceptions import (
    ActionError,
    CDPError,
    ContextGoneError,
    NavigationError,
    ObservationError,
    PageClosedError,
    PolicyBlockedError,
    StaleRefError,
    UnknownRefError,
)
from .extractors.driver import FRAME_REF_STRIDE
from .observation import Observation
from .plumbing import PagePlumbing
from .settle import DownloadInfo, SettleNotes, Watch, downloads, settle

if TYPE_CHECKING:
    from .browser import Browser

__all__ = ["ActionResult", "ActionSettings", "Direction", "Target", "UrlMatch"]

Act = Callable[[Target | None], Awaitable[str | None]]
ACT_MARGIN = 10.0
"""Seconds an input gesture may take beyond the actionability timeout (a frozen page)."""


# ---------------------------------------------------------------- resolving


def _expected(page: PagePlumbing, ref: int) -> tuple[dict[str, Any] | None, str]:
    el = page.seen.get(ref)
    if el is None:
        return None, f"[{ref}]"
    expect: dict[str, Any] = {"role": el.role, "name": el.name, "tag": el.tag}
    expect["bbox"] = list(el.bbox)
    if el.frame:  # cross-origin: the child's viewport, not ours
        expect["bbox"] = None
    return expect, f"[{ref}] {el.label}"


async def resolve(
    page: PagePlumbing,
    ref: int,
    verb: str,
    *,
    checks: dict[str, bool] | None = None,
    timeout: float | None = None,
    opens: str | None = None,
) -> Target:
    """Find the live element behind `ref` and wait (bounded) until it can take input.

    `opens` names an action that can open UI (click, hover, type, press): the page then
    checks whether the target announces a popup, for settle to wait for it.
    """
    if not isinstance(ref, int) or isinstance(ref, bool) or ref <= 0:
        raise UnknownRefError(f"{ref!r} is not a ref", ref if isinstance(ref, int) else -1)
    expect, label = _expected(page, ref)
    frame = page.serializer.frame_for_ref(ref) if ref >= FRAME_REF_STRIDE else None
    if ref >= FRAME_REF_STRIDE and frame is None:
        raise UnknownRefError(f"no element {label} on this page{_moved_hint(page)}", ref)
    limit = page.action_settings.timeout if timeout is None else timeout
    arg: dict[str, Any] = {
        "ref": ref,
        "expect": expect,
        "timeoutMs": limit * 1000,
        "checks": checks or {},
    }
    if opens is not None:
        arg["opens"] = opens
    try:
        with anyio.fail_after(limit + 5):
            res = await page.call_in_page("prepare", arg, frame=frame, await_promise=True)
    except ContextGoneError as exc:
        raise StaleRefError(f"{label} is gone: the page navigated", ref, label, None) from exc
    except TimeoutError as exc:
        raise ActionError(f"cannot {verb} {label}: the page did not answer") from exc
    status = res["status"]
    if status == "unknown":
        raise UnknownRefError(f"no element {label} on this page{_moved_hint(page)}", ref)
    if status == "stale":
        actual = res.get("actual")
        if res["reason"] == "changed":
            msg = f"{label} changed: it is now {actual}"
        else:
            msg = f"{label} is {res['reason']}" + (f"; in its place: {actual}" if actual else "")
        raise StaleRefError(msg, ref, label.partition(" ")[2] or label, actual)
    if status == "error":
        raise ActionError(f"cannot {verb} {label}: {res['reason']}")
    x, y = res["x"], res["y"]
    if frame is not None and x is not None:
        owner = await page.serializer.frame_owner_ref(frame)
        if owner is None:
            raise ActionError(f"cannot {verb} {label}: its frame is not on the page")
        off = await page.call_in_page(
            "frameOffset",
            {"ref": owner, "x": x, "y": y, "timeoutMs": limit * 1000},
            await_promise=True,
        )
        if off["status"] != "ok":
            raise ActionError(f"cannot {verb} {label}: {off['reason']}")
        x, y = off["x"], off["y"]
    if res.get("retargeted"):
        label = f'[{res["ref"]}] {res["role"]} "{res["name"]}"'
    return Target(
        res["ref"], x, y, frame, res["tag"], res["type"], label, res["retargeted"],
        bool(res.get("late")),
    )  # fmt: skip


def _moved_hint(page: PagePlumbing) -> str:
    obs = page.last_observation
    if obs is not None and obs.url != page.url:
        return " (the page navigated since the last observation: observe again)"
    return ""


# ---------------------------------------------------------------- the action frame


async def perform(
    page: PagePlumbing,
    action: str,
    ref: int | None,
    act: Act,
    *,
    checks: dict[str, bool] | None = None,
    timeout: float | None = None,
    verify: Callable[[Target | None], Awaitable[str | None]] | None = None,
    observe: bool = True,
    do_settle: bool = True,
    begin: bool = True,
    act_bound: float | None = None,
    opens: str | None = None,
) -> ActionResult:
    """Resolve, act, settle, observe; time each stage. Every stage is bounded."""
    limit = page.action_settings.timeout if timeout is None else timeout
    if page.playwright_page.is_closed():
        raise PageClosedError("the page was closed")
    async with page.action_lock:
        t0 = time.perf_counter()
        before = page.last_observation
        target = None
        if ref is not None:
            target = await resolve(page, ref, action, checks=checks, timeout=timeout, opens=opens)
        elif begin:
            await _begin(page)
        t1 = time.perf_counter()
        # When the action began, on the clock of the page's `performance.timeOrigin`: the
        # wall clock, shared only with a browser on this machine (a remote one may skew).
        local = page.browser is not None and page.browser.is_local
        acted_at = time.time() * 1000 if local else None
        with page.events.watch() as watch:
            note = cut = None
            bound = act_bound if act_bound is not None else limit + ACT_MARGIN
            try:
                with anyio.fail_after(bound):
                    note = await act(target)
            except _Cut as exc:
                cut = str(exc)
            except (PlaywrightError, CDPError) as exc:  # the input did not go through
                if not page.playwright_page.is_closed():
                    why = exc.message if isinstance(exc, PlaywrightError) else str(exc)
                    raise ActionError(f"{action} failed: {why}") from exc
                watch.closed = True
            except TimeoutError as exc:
                raise ActionError(f"{action} did not complete within {bound:g} s") from exc
            t2 = time.perf_counter()
            settled = True
            notes = SettleNotes()
            if do_settle and not watch.closed:
                ui_ms = page.settle_settings.ui_ms if page.settle_settings.observe else 0.0
                quiet = page.quiet_check(target, acted_at, ui_ms=ui_ms, notes=notes)
                settled, _ = await settle(watch, quiet, page.settle_settings)
            t3 = time.perf_counter()
            error = cut or watch.error
            if verify is not None and error is None and not watch.closed:
                error = await verify(target)
            got = await downloads(watch, t3 + page.settle_settings.timeout, page)
        obs = None
        closed = watch.closed or page.playwright_page.is_closed()
        if observe and page.settle_settings.observe and not closed:
            try:
                with anyio.fail_after(page.settle_settings.timeout + ACT_MARGIN):
                    obs = await page.observe(full=notes.restyled)
            except PageClosedError:
                closed = True
            except TimeoutError as exc:
                raise ObservationError("the page did not answer the observation") from exc
        t4 = time.perf_counter()
    res = _result(action, ref, target, watch, note, error, settled, obs, got, closed,
                  (t0, t1, t2, t3, t4), page)  # fmt: skip
    res.summary = summarize(before, obs, churn=notes.churn)
    res.late_ui = target is not None and target.late_ui
    return res


def _result(
    action: str,
    ref: int | None,
    target: Target | None,
    watch: Watch,
    note: str | None,
    error: str | None,
    settled: bool,
    obs: Observation | None,
    got: list[DownloadInfo],
    closed: bool,
    t: tuple[float, float, float, float, float],
    page: PagePlumbing,
) -> ActionResult:
    ms = [(b - a) * 1000 for a, b in itertools.pairwise(t)]
    return ActionResult(
        action=action,
        ref=ref,
        ok=error is None,
        error=error,
        navigated=watch.navigated,
        url="" if closed else page.url,
        new_pages=[p.url for p in watch.popups],
        dialog=watch.dialogs[0] if watch.dialogs else None,
        download=got[0] if got else None,
        timings={
            "resolve": ms[0],
            "act": ms[1],
            "settle": ms[2],
            "observe": ms[3],
            "total": (t[4] - t[0]) * 1000,
        },
        settled=settled,
        observation=obs,
        target=target.ref if target is not None else None,
        note=note or "",
        closed=closed,
    )


async def _begin(page: PagePlumbing) -> None:
    # Mid-navigation nothing can be ticking yet in a document that is not there.
    with contextlib.suppress(ObservationError):
        await page.call_in_page("begin")


def _need_point(t: Target | None) -> Target:
    assert t is not None and t.x is not None and t.y is not None
    return t


# ---------------------------------------------------------------- actions


async def click(
    page: PagePlumbing,
    ref: int,
    *,
    button: str = "left",
    count: int = 1,
    timeout: float | None = None,
) -> ActionResult:
    async def act(t: Target | None) -> None:
        t = _need_point(t)
        await mouse.click(page, *t.point(), button=button, count=count)

    return await perform(page, "click", ref, act, timeout=timeout, opens="click")


async def hover(page: PagePlumbing, ref: int, *, timeout: float | None = None) -> ActionResult:
    async def act(t: Target | None) -> None:
        t = _need_point(t)
        await page.playwright_page.mouse.move(*t.point())

    return await perform(page, "hover", ref, act, timeout=timeout, opens="hover")


async def type_text(
    page: PagePlumbing,
    ref: int,
    text: str,
    *,
    submit: bool = False,
    clear: bool = True,
    timeout: float | None = None,
    fill: Callable[[str], str] | None = None,
) -> ActionResult:
    """`fill`, when given, makes the text to type from the origin of the document that
    holds the field (a cross-origin frame's own, not the top page's): secrets are
    substituted there, after focus, so a value never goes to a host it is not for."""
    pw = page.playwright_page

    async def act(t: Target | None) -> str | None:
        nonlocal text
        t = _need_point(t)
        arg = {"ref": t.ref, "clear": clear}
        info = await page.call_in_page("focus", arg, frame=t.frame)
        if info["status"] == "navigating":
            # Keystrokes sent now would land in the next page (its autofocused field).
            raise _Cut(
                f"nothing was typed: {t.label} made the page load {info['url']} when it took focus"
            )
        _check(info, "type into", t)
        if fill is not None:
            text = fill(str(info.get("origin") or page.url))
        if info["kind"] == "value":
            res = await page.call_in_page("setValue", {"ref": t.ref, "value": text}, frame=t.frame)
            _check(res, "type into", t)
            typed = ""  # set already: only the Enter is left to send
        else:
            if not info["focused"]:
                # focus() was refused (e.g. the frame is not focusable from script):
                # a trusted click focuses like a user does.
                await mouse.click(page, *t.point())
                info = await page.call_in_page("focus", arg, frame=t.frame)
                _check(info, "type into", t)
                if not info.get("focused"):
                    raise ActionError(f"cannot type into {t.label}: it does not take focus")
            if info.get("end"):
                await pw.keyboard.press("End")
            if not text and clear and not info.get("empty"):
                await pw.keyboard.press("Delete")
            typed = text
        await keyboard.insert(page, typed, submit=submit)
        return None

    return await perform(
        page, "type", ref, act, checks={"editable": True}, timeout=timeout, opens="type"
    )


class _Cut(Exception):
    """The page cut the action short (it began to leave mid-action): the result still
    settles and observes the page, and reports the action as failed with this message."""


def _check(res: dict[str, Any], verb: str, t: Target) -> None:
    if res.get("status") == "stale":
        raise StaleRefError(f"{t.label} is gone", t.ref, t.label, None)
    if res.get("status") == "error":
        raise ActionError(f"cannot {verb} {t.label}: {res['reason']}")


async def select(
    page: PagePlumbing, ref: int, option: str | Sequence[str], *, timeout: float | None = None
) -> ActionResult:
    values = [option] if isinstance(option, str) else list(option)
    if not values:
        raise ActionError("select needs at least one option")
    limit = page.action_settings.timeout if timeout is None else timeout

    async def act(t: Target | None) -> str | None:
        assert t is not None
        res = await page.call_in_page(
            "selectOptions", {"ref": t.ref, "values": values}, frame=t.frame
        )
        if res["status"] == "custom":
            await _select_custom(page, t, values, limit)
            return None
        if res["status"] == "error" and "options" in res:
            listed = ", ".join(f'"{o}"' for o in res["options"])
            raise ActionError(f"cannot select in {t.label}: {res['reason']}; options: {listed}")
        _check(res, "select in", t)
        return "selected " + ", ".join(f'"{s}"' for s in res["selected"])

    return await perform(
        page, "select", ref, act, checks={"hit": False, "stable": False}, timeout=timeout
    )


async def _select_custom(page: PagePlumbing, t: Target, values: list[str], limit: float) -> None:
    """ARIA listbox/combobox: open it if needed, then click each option by name."""
    opened = False
    for value in values:
        deadline = time.perf_counter() + limit
        while True:
            found = await page.call_in_page(
                "findOption", {"ref": t.ref, "label": value}, frame=t.frame
            )
            if found["status"] == "ok":
                break
            if found["status"] == "error":
                raise ActionError(f"cannot select in {t.label}: {found['reason']}")
            if not opened and t.x is not None:
                await mouse.click(page, *t.point())
                opened = True
            left = deadline - time.perf_counter()
            if left <= 0:
                raise ActionError(f'cannot select in {t.label}: no option "{value}"')
            await page.call_in_page(
                "changed", {"timeoutMs": min(left, 0.25) * 1000}, frame=t.frame, await_promise=True
            )
        opt = await resolve(page, found["ref"], "select", timeout=limit)
        opt = _need_point(opt)
        await mouse.click(page, *opt.point())


async def check(
    page: PagePlumbing, ref: int, on: bool = True, *, timeout: float | None = None
) -> ActionResult:
    async def state(t: Target) -> Any:
        res = await page.call_in_page("checked", t.ref, frame=t.frame)
        _check(res, "check", t)
        return res

    async def act(t: Target | None) -> str | None:
        t = _need_point(t)
        res = await state(t)
        if res["state"] is on:
            return "already " + ("checked" if on else "unchecked")
        if res["radio"] and not on:
            raise ActionError(f"cannot uncheck {t.label}: pick another radio button instead")
        await mouse.click(page, *t.point())
        return None

    async def verify(t: Target | None) -> str | None:
        assert t is not None
        try:
            res = await state(t)
        except (StaleRefError, ActionError, ContextGoneError):
            return None  # it went away with the click (navigation, re-render): not ours to judge
        if res["state"] is not on:
            return f"clicking {t.label} did not {'check' if on else 'uncheck'} it"
        return None

    return await perform(page, "check", ref, act, verify=verify, timeout=timeout)


async def press(
    page: PagePlumbing, key: str, *, ref: int | None = None, timeout: float | None = None
) -> ActionResult:
    async def act(t: Target | None) -> None:
        if t is not None:
            res = await page.call_in_page("focusElement", t.ref, frame=t.frame)
            if res["away"]:  # its focus handler navigated: the key would go to the next page
                raise _Cut(f"{key} was not pressed: {t.label} made the page load {res['away']}")
            if not res["focused"]:
                await mouse.click(page, *t.point())
        await page.playwright_page.keyboard.press(key)

    checks = {"hit": False, "stable": False}
    return await perform(page, "press", ref, act, checks=checks, timeout=timeout, opens="press")


async def scroll(
    page: PagePlumbing,
    direction: Direction = "down",
    ref: int | None = None,
    amount: float | None = None,
    *,
    timeout: float | None = None,
) -> ActionResult:
    if direction not in ("up", "down", "left", "right", "top", "bottom"):
        raise ActionError(f"unknown scroll direction {direction!r}")

    async def act(t: Target | None) -> str:
        arg = {"ref": t.ref if t else None, "direction": direction, "amount": amount}
        res = await page.call_in_page("scroll", arg, frame=t.frame if t else None)
        if res["status"] == "stale":
            raise StaleRefError("the element to scroll is gone", ref or 0, "", None)
        dx, dy = res["moved"]
        where = f" in {res['container']}" if res.get("container") else ""
        if not dx and not dy:
            side = {"up": "top", "top": "top", "down": "bottom", "bottom": "bottom"}.get(
                direction, f"{direction} edge"
            )
            return f"did not move{where}: already at the {side}"
        moved = f"{abs(dy):.0f} px {'down' if dy > 0 else 'up'}" if dy else ""
        moved = moved or f"{abs(dx):.0f} px {'right' if dx > 0 else 'left'}"
        end = " (reached the end)" if res["atEnd"] and (dy > 0 or dx > 0) else ""
        return f"scrolled {moved}{where}{end}"

    checks = {"enabled": False, "hit": False, "stable": False, "scroll": False, "point": False}
    result = await perform(page, "scroll", ref, act, checks=checks, timeout=timeout, begin=False)
    obs = result.observation
    if result.note.endswith(_AT_END) and obs is not None and obs.added and not obs.truncated:
        # The end was reached, and the page loaded more there (infinite scroll).
        result.note = result.note[: -len(_AT_END)] + " (more loaded at the end)"
    return result


_AT_END = " (reached the end)"


async def upload(
    page: PagePlumbing,
    ref: int,
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    timeout: float | None = None,
) -> ActionResult:
    files = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    resolved = [Path(p).expanduser().resolve() for p in files]
    for p in resolved:
        if not p.is_file():
            raise ActionError(f"cannot upload {p}: no such file")
    pw = page.playwright_page
    limit = page.action_settings.timeout if timeout is None else timeout

    async def act(t: Target | None) -> str:
        assert t is not None
        info = await page.call_in_page("fileInput", t.ref, frame=t.frame)
        _check(info, "upload to", t)
        names = ", ".join(p.name for p in resolved)
        if info["status"] == "none":
            # A button or drop zone that opens the file chooser: click it and answer.
            at = _need_point(await resolve(page, t.ref, "upload to", timeout=limit))
            async with pw.expect_file_chooser(timeout=limit * 1000) as chooser:
                await mouse.click(page, *at.point())
            await (await chooser.value).set_files(resolved)
            return f"uploaded {names}"
        if info["disabled"]:
            raise ActionError(f"cannot upload to {t.label}: disabled")
        if len(resolved) > 1 and not info["multiple"]:
            raise ActionError(f"cannot upload {len(resolved)} files to {t.label}: takes one")
        await _set_files(page, info["ref"], t.frame, resolved)
        return f"uploaded {names}"

    checks = {"visible": False, "point": False}
    return await perform(page, "upload", ref, act, checks=checks, timeout=timeout)


async def _set_files(page: PagePlumbing, ref: int, frame: str | None, files: list[Path]) -> None:
    cdp = page.serializer.session_for(frame)  # an OOPIF's object ids live on its own session
    if cdp is not None and page.local_files:
        obj = await page.call_in_page("element", ref, frame=frame, by_value=False)
        try:
            await cdp.send(
                "DOM.setFileInputFiles",
                {"files": [str(p) for p in files], "objectId": obj["objectId"]},
            )
        finally:
            await cdp.send("Runtime.releaseObject", {"objectId": obj["objectId"]})
        return
    # Remote browser: its file system is not ours, ship the bytes.
    payload = [
        {
            "name": p.name,
            "type": mimetypes.guess_type(p.name)[0] or "",
            "data": base64.b64encode(p.read_bytes()).decode(),
        }
        for p in files
    ]
    await page.call_in_page("setFiles", {"ref": ref, "files": payload}, frame=frame)


# ---------------------------------------------------------------- navigation


_REFUSALS = (
    "ERR_BLOCKED_BY_CLIENT",  # the request router
    "ERR_PROXY_CONNECTION_FAILED",  # the black-hole proxy
    "ERR_TUNNEL_CONNECTION_FAILED",
    "ERR_NAME_NOT_RESOLVED",  # the resolver rules
)


def _policy_refusal(browser: Browser | None, message: str, since: int) -> str | None:
    """The policy's reason when a navigation failed because the policy refused it.

    The router aborts, the proxy refuses the connection, the resolver answers NOTFOUND:
    each is only the policy's doing when the URL is outside it, the one named or a
    redirect hop refused during this navigation (after `since` refusals), so a real
    DNS failure of an allowed host is never blamed on an older refusal.
    """
    if browser is None or not browser.has_policy or not any(r in message for r in _REFUSALS):
        return None
    named = re.search(r" at (\S+)", message.splitlines()[0])
    if named and not browser.allows(named.group(1)):
        return browser.blocked_reason(named.group(1))
    if browser.refusals > since and browser.blocked and not browser.allows(browser.blocked[-1]):
        return browser.blocked_reason(browser.blocked[-1])
    return None


async def navigate(
    page: PagePlumbing,
    action: str,
    go: Callable[[], Awaitable[Any]],
    *,
    observe: bool,
    timeout: float,
) -> ActionResult:
    async def act(_t: Target | None) -> None:
        since = page.browser.refusals if page.browser is not None else 0
        try:
            res = await go()
        except PlaywrightError as exc:
            if page.playwright_page.is_closed():
                raise PageClosedError("the page was closed") from exc
            why = _policy_refusal(page.browser, exc.message, since)
            if why is not None:
                raise PolicyBlockedError(f"{action} failed: {why}; choose another way") from exc
            raise NavigationError(f"{action} failed: {exc.message.splitlines()[0]}") from exc
        if res is None and action in ("back", "forward"):
            raise NavigationError(f"no {'previous' if action == 'back' else 'next'} page")

    return await perform(
        page, action, None, act, observe=observe, do_settle=observe, begin=False,
        act_bound=timeout + ACT_MARGIN,
    )  # fmt: skip


# ---------------------------------------------------------------- waiting


def url_matches(url: str, pattern: UrlMatch) -> bool:
    """A glob (`**/done*`), a substring, a compiled regex, or a predicate."""
    if callable(pattern) and not isinstance(pattern, re.Pattern):
        return bool(pattern(url))
    if isinstance(pattern, re.Pattern):
        return pattern.search(url) is not None
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(url, pattern.replace("**", "*"))
    return pattern in url


async def wait_for(
    page: PagePlumbing,
    *,
    text: str | None = None,
    ref: int | None = None,
    url: UrlMatch | None = None,
    gone: bool = False,
    timeout: float = 10.0,
) -> ActionResult:
    what = (
        f"text {text!r}"
        if text is not None
        else f"[{ref}]"
        if ref is not None
        else f"url {url!r}"
        if url is not None
        else None
    )

    async def met() -> bool:
        if url is not None and url_matches(page.url, url) == gone:
            return False
        if ref is not None:
            st = await page.call_in_page("state", ref, frame=page.serializer.frame_for_ref(ref))
            if not st["known"] and not gone:
                raise UnknownRefError(f"no element [{ref}] on this page", ref)
            if (st["connected"] and st["visible"]) == gone:
                return False
        if text is not None:
            found = await page.call_in_page("hasText", {"text": text})
            if not found:
                obs = await page.observe()
                found = " ".join(text.split()) in " ".join(obs.text.split())
            if found == gone:
                return False
        return True

    async def act(_t: Target | None) -> str | None:
        if what is None:
            return None
        pw = page.playwright_page
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            try:
                if await met():
                    return f"{what} {'gone' if gone else 'present'}"
                if left <= 0:
                    break
                await page.call_in_page(
                    "changed", {"timeoutMs": min(left, 0.25) * 1000}, await_promise=True
                )
            except ContextGoneError:
                with anyio.move_on_after(max(left, 0.0)):
                    await pw.wait_for_load_state("domcontentloaded")
        state = "disappear" if gone else "appear"
        raise ActionError(f"timed out after {timeout:g} s waiting for {what} to {state}")

    return await perform(page, "wait_for", None, act, act_bound=timeout + ACT_MARGIN)
