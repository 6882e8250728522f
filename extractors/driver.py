"""Drive the in-page serializer: inject it, call its entry points, keep the mirrors.

On Chromium the script lives in an isolated world created over CDP and re-created
by Chromium itself in every new document (`addScriptToEvaluateOnNewDocument` with a
world name), so page scripts can neither see it nor tamper with it. Other engines
fall back to a main-world handle: no globals, but no isolation either.
"""

from __future__ import annotations

import contextlib
import time
from functools import cache
from importlib import resources
from typing import Any

from playwright.async_api import CDPSession, Frame, JSHandle
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page as PWPage

from browser_agent.exceptions import ObservationError, PageClosedError
from browser_agent.observation import Element, Observation

from .cdp import CDPConnectionError, CDPError, DirectCDP
from .mirror import FRAME_SLOT, Mirror, decode

WORLD = "__browser_agent__"
GLOBAL = "__browserAgentSerializer"
FRAME_REF_STRIDE = 100_000
DEFAULT_MAX_CHARS = 40_000


@cache
def serializer_source() -> str:
    """The in-page script, read from the package so it works from a wheel."""
    return resources.files("extractors").joinpath("js/serializer.js").read_text("utf-8")


def _installer() -> str:
    return f"globalThis.{GLOBAL} ??= {serializer_source()};"


_CALL = f"function(name, arg) {{ return globalThis.{GLOBAL}[name](arg); }}"
_GONE = ("Cannot find context", "Execution context was destroyed", "No frame with given id")


class _FrameState:
    def __init__(self, frame_id: str, ordinal: int) -> None:
        self.frame_id = frame_id
        self.ordinal = ordinal
        self.context: int | None = None
        self.mirror = Mirror(frame_id if ordinal else "")
        self.owner_ref: int | None = None
        self.initialized: int | None = None  # context id whose serializer got its ref base


class InPageSerializer:
    """One per Playwright page; `observe()` returns the whole page, shipping only changes."""

    def __init__(
        self,
        page: PWPage,
        *,
        isolated: bool | None = None,
        world: str = WORLD,
        endpoint: str | None = None,
    ) -> None:
        self.page = page
        # host:port of the browser's debugging port, for a direct CDP connection.
        self.endpoint = endpoint
        self._fast: DirectCDP | None = None
        self.world = world
        browser = page.context.browser
        engine = browser.browser_type.name if browser else "chromium"
        self.isolated = (engine == "chromium") if isolated is None else isolated
        self._cdp: CDPSession | None = None
        self._frames: dict[str, _FrameState] = {}
        self._handle: JSHandle | None = None
        self._handle_doc: object = None
        self._main = Mirror()
        self._ordinals = 0
        self._main_id: str | None = None
        self.max_chars = DEFAULT_MAX_CHARS

    # ---- set-up ----

    async def attach(self) -> None:
        if not self.isolated or self._cdp is not None:
            return
        cdp = await self.page.context.new_cdp_session(self.page)
        self._cdp = cdp
        cdp.on("Runtime.executionContextCreated", self._on_context)
        cdp.on("Runtime.executionContextDestroyed", self._on_context_gone)
        cdp.on("Runtime.executionContextsCleared", lambda _e: self._drop_contexts())
        cdp.on("Page.frameNavigated", self._on_navigated)
        await cdp.send("Page.enable")
        tree = await cdp.send("Page.getFrameTree")
        self._main_id = tree["frameTree"]["frame"]["id"]
        await cdp.send("Runtime.enable")
        await cdp.send(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": _installer(), "worldName": self.world, "runImmediately": True},
        )
        if self.endpoint:
            # The hot-path calls skip Playwright's relay; events, scripts and
            # object handles stay on Playwright's session.
            info = await cdp.send("Target.getTargetInfo")
            target = info["targetInfo"]["targetId"]
            try:
                self._fast = await DirectCDP.open(
                    f"ws://{self.endpoint}/devtools/page/{target}", timeout=10
                )
            except (OSError, TimeoutError, CDPError):
                self._fast = None

    def _on_context(self, event: dict[str, Any]) -> None:
        ctx = event["context"]
        if ctx.get("name") != self.world:
            return
        frame_id = ctx.get("auxData", {}).get("frameId")
        if frame_id:
            self._frame_state(frame_id).context = ctx["id"]

    def _on_context_gone(self, event: dict[str, Any]) -> None:
        cid = event.get("executionContextId")
        for fs in self._frames.values():
            if fs.context == cid:
                fs.context = None

    def _drop_contexts(self) -> None:
        for fs in self._frames.values():
            fs.context = None

    def _on_navigated(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        fs = self._frames.get(frame["id"])
        if fs is not None:
            fs.context = None
            fs.mirror.reset()
            fs.owner_ref = None

    def _frame_state(self, frame_id: str) -> _FrameState:
        fs = self._frames.get(frame_id)
        if fs is None:
            is_main = frame_id == self._main_frame_id()
            fs = _FrameState(frame_id, 0 if is_main else self._next_ordinal())
            if is_main:
                fs.mirror = self._main
            self._frames[frame_id] = fs
        return fs

    def _next_ordinal(self) -> int:
        self._ordinals += 1
        return self._ordinals

    def _main_frame_id(self) -> str | None:
        return self._main_id

    async def _ensure_context(self, fs: _FrameState) -> int:
        assert self._cdp is not None
        if fs.context is None:
            res = await self._cdp.send(
                "Page.createIsolatedWorld", {"frameId": fs.frame_id, "worldName": self.world}
            )
            fs.context = res["executionContextId"]
            await self._cdp.send(
                "Runtime.evaluate",
                {"expression": _installer(), "contextId": fs.context, "returnByValue": True},
            )
        if fs.ordinal and fs.initialized != fs.context:
            fs.initialized = fs.context
            await self._cdp.send(
                "Runtime.callFunctionOn",
                {
                    "functionDeclaration": _CALL,
                    "executionContextId": fs.context,
                    "arguments": [
                        {"value": "init"},
                        {"value": {"refBase": fs.ordinal * FRAME_REF_STRIDE}},
                    ],
                    "returnByValue": True,
                },
            )
        assert fs.context is not None
        return fs.context

    async def _call(self, fs: _FrameState, name: str, arg: Any) -> Any:
        assert self._cdp is not None
        for attempt in range(3):
            ctx = await self._ensure_context(fs)
            channel = self._fast or self._cdp
            try:
                res = await channel.send(
                    "Runtime.callFunctionOn",
                    {
                        "functionDeclaration": _CALL,
                        "executionContextId": ctx,
                        "arguments": [{"value": name}, {"value": arg}],
                        "returnByValue": True,
                    },
                )
            except PlaywrightError as exc:
                msg = str(exc)
                if isinstance(exc, CDPConnectionError) and await self._fast_failed():
                    continue
                if any(s in msg for s in _GONE) and attempt < 2:
                    fs.context = None
                    continue
                if "Target closed" in msg or "has been closed" in msg:
                    await self._closed()
                    raise PageClosedError("the page was closed") from exc
                raise ObservationError(f"serializer call {name} failed: {msg}") from exc
            if "exceptionDetails" in res:
                details = res["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                if attempt == 0 and "is not a function" in str(text):
                    fs.context = None  # world exists but the script did not run yet
                    continue
                raise ObservationError(f"serializer {name} threw: {text}")
            return res["result"].get("value")
        raise ObservationError(f"serializer {name}: execution context kept disappearing")

    async def _fast_failed(self) -> bool:
        """The direct connection broke (e.g. the renderer was swapped by a cross-site
        navigation) while the page lives on: reconnect once, else use Playwright's."""
        fast, self._fast = self._fast, None
        if fast is not None:
            with contextlib.suppress(Exception):
                await fast.close()
        if self.page.is_closed() or self._cdp is None:
            return False
        if fast is not None and self.endpoint:
            with contextlib.suppress(OSError, TimeoutError, PlaywrightError):
                info = await self._cdp.send("Target.getTargetInfo")
                target = info["targetInfo"]["targetId"]
                self._fast = await DirectCDP.open(
                    f"ws://{self.endpoint}/devtools/page/{target}", timeout=10
                )
            if self._fast is None:
                self.endpoint = None  # the port is gone: Playwright's session from now on
        return True

    async def _closed(self) -> None:
        """Our own connection can learn of a closed page before Playwright does: wait
        (bounded) until Playwright agrees, so `browser.pages` is consistent."""
        if not self.page.is_closed():
            with contextlib.suppress(PlaywrightError):
                await self.page.wait_for_event("close", timeout=5000)

    # ---- main-world fallback (non-Chromium) ----

    async def _handle_call(self, name: str, arg: Any) -> Any:
        frame = self.page.main_frame
        for attempt in range(2):
            try:
                if self._handle is None:
                    self._handle = await frame.evaluate_handle(serializer_source())
                return await self._handle.evaluate("(s, [n, a]) => s[n](a)", [name, arg])
            except PlaywrightError as exc:
                if attempt == 0 and ("destroyed" in str(exc) or "navigat" in str(exc)):
                    self._handle = None
                    self._main.reset()
                    continue
                raise ObservationError(f"serializer call {name} failed: {exc}") from exc
        raise ObservationError(f"serializer {name}: page kept navigating")

    # ---- entry points ----

    async def call(self, name: str, arg: Any = None, frame: Frame | None = None) -> Any:
        """Call a named entry point of the serializer in `frame` (default: main frame)."""
        if not self.isolated:
            return await self._handle_call(name, arg)
        await self.attach()
        fs = await self._state_for(frame or self.page.main_frame)
        return await self._call(fs, name, arg)

    async def _state_for(self, frame: Frame) -> _FrameState:
        assert self._main_id is not None
        if frame == self.page.main_frame:
            return self._frame_state(self._main_id)
        fid = await self._frame_id(frame)
        return self._frame_state(fid)

    async def _frame_id(self, frame: Frame) -> str:
        tree = await self._cdp.send("Page.getFrameTree")  # type: ignore[union-attr]
        stack = [tree["frameTree"]]
        while stack:
            node = stack.pop()
            f = node["frame"]
            if f.get("name", "") == frame.name and f.get("url") == frame.url:
                return f["id"]
            stack.extend(node.get("childFrames", []))
        raise ObservationError(f"frame {frame.url} is not in this page")

    async def observe(self, *, full: bool = False, max_chars: int | None = None) -> Observation:
        """The complete current page text; a delta is applied when the page allows one."""
        t0 = time.perf_counter()
        if max_chars:
            self.max_chars = max_chars
        raw = await self.call(
            "observe",
            {"full": full, "base": self._main.version, "maxChars": self.max_chars},
        )
        t1 = time.perf_counter()
        payload = decode(raw)
        try:
            self._main.apply(payload)
        except ValueError:
            raw = await self.call("observe", {"full": True, "maxChars": self.max_chars})
            payload = decode(raw)
            self._main.apply(payload)
        lines = self._main.render()
        text = "\n".join(lines)
        elements = self._main.elements
        if FRAME_SLOT in text:
            text, elements = await self._stitch(lines)
        t2 = time.perf_counter()
        m = self._main
        return Observation(
            text=text,
            elements=dict(elements),
            full=payload.full,
            added=tuple(payload.added),
            removed=tuple(payload.removed),
            changed=tuple(payload.changed),
            version=payload.version,
            url=payload.url,
            title=payload.title,
            timings={
                "evaluate": (t1 - t0) * 1000,
                "in_page": payload.ms,
                "apply": (t2 - t1) * 1000,
                "total": (t2 - t0) * 1000,
            },
            truncated=bool(m.above or m.below),
            scroll=(m.scroll[0], m.scroll[1]),
            viewport=(m.scroll[2], m.scroll[3]),
            full_reason=payload.why,
        )

    async def snapshot(self, *, max_chars: int | None = None) -> Observation:
        """A fresh full serialization that does not disturb the incremental state."""
        t0 = time.perf_counter()
        raw = await self.call("snapshot", {"maxChars": max_chars or self.max_chars})
        payload = decode(raw)
        mirror = Mirror()
        mirror.apply(payload)
        ms = (time.perf_counter() - t0) * 1000
        return Observation(
            text="\n".join(mirror.render()),
            elements=dict(mirror.elements),
            full=True,
            added=(),
            removed=(),
            changed=(),
            version=0,
            url=payload.url,
            title=payload.title,
            timings={"total": ms, "in_page": payload.ms},
            truncated=bool(mirror.above or mirror.below),
            scroll=(mirror.scroll[0], mirror.scroll[1]),
            viewport=(mirror.scroll[2], mirror.scroll[3]),
        )

    async def _stitch(self, lines: list[str]) -> tuple[str, dict[int, Element]]:
        """Splice cross-origin frames, serialized in their own worlds, under their iframe."""
        owners = await self._frame_owners()
        out: list[str] = []
        elements = dict(self._main.elements)
        for line in lines:
            slot = line.lstrip(" ")
            if not slot.startswith(FRAME_SLOT):
                out.append(line)
                continue
            ref_s, depth_s = slot[len(FRAME_SLOT) :].split(" ")
            fs = owners.get(int(ref_s))
            if fs is None:
                continue
            try:
                raw = await self._call(
                    fs, "observe", {"base": fs.mirror.version, "maxChars": self.max_chars}
                )
                payload = decode(raw)
                try:
                    fs.mirror.apply(payload)
                except ValueError:
                    fs.mirror.reset()
                    payload = decode(await self._call(fs, "observe", {"full": True}))
                    fs.mirror.apply(payload)
            except ObservationError:
                continue
            pad = "  " * int(depth_s)
            out.extend(pad + sub for sub in fs.mirror.render())
            elements.update(fs.mirror.elements)
        return "\n".join(out), elements

    async def _frame_owners(self) -> dict[int, _FrameState]:
        """Map iframe refs in the main frame to the child frames they hold."""
        assert self._cdp is not None
        owners: dict[int, _FrameState] = {}
        tree = await self._cdp.send("Page.getFrameTree")
        children = tree["frameTree"].get("childFrames", [])
        main = self._frame_state(tree["frameTree"]["frame"]["id"])
        main_ctx = await self._ensure_context(main)
        for child in children:
            fid = child["frame"]["id"]
            fs = self._frame_state(fid)
            if fs.owner_ref is None:
                try:
                    owner = await self._cdp.send("DOM.getFrameOwner", {"frameId": fid})
                    node = await self._cdp.send(
                        "DOM.resolveNode",
                        {"backendNodeId": owner["backendNodeId"], "executionContextId": main_ctx},
                    )
                    res = await self._cdp.send(
                        "Runtime.callFunctionOn",
                        {
                            "functionDeclaration": (
                                f"function() {{ return globalThis.{GLOBAL}.refFor(this); }}"
                            ),
                            "objectId": node["object"]["objectId"],
                            "returnByValue": True,
                        },
                    )
                    fs.owner_ref = res["result"]["value"]
                except PlaywrightError:
                    continue
            owners[fs.owner_ref] = fs  # type: ignore[index]
        return owners

    def frame_for_ref(self, ref: int) -> str | None:
        """The CDP frame id whose serializer owns `ref` (None for the main frame)."""
        ordinal = ref // FRAME_REF_STRIDE
        if ordinal == 0:
            return None
        for fs in self._frames.values():
            if fs.ordinal == ordinal:
                return fs.frame_id
        return None

    async def detach(self) -> None:
        if self._cdp is not None:
            with contextlib.suppress(PlaywrightError):
                await self._cdp.detach()
            self._cdp = None
        if self._fast is not None:
            with contextlib.suppress(Exception):
                await self._fast.close()
            self._fast = None

    # ---- actions (extractors/js/actions.js), installed next to the serializer ----

    @property
    def cdp(self) -> CDPSession | None:
        """The page's CDP session (isolated mode only), for DOM-level commands."""
        return self._cdp

    async def install_actions(self) -> None:
        """Have Chromium install actions.js in every new document of this page."""
        if not self.isolated or getattr(self, "_actions_installed", False):
            return
        await self.attach()
        assert self._cdp is not None
        self._actions_installed = True
        await self._cdp.send(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": _actions_installer(), "worldName": self.world, "runImmediately": True},
        )

    async def call_actions(
        self,
        name: str,
        arg: Any = None,
        *,
        frame_id: str | None = None,
        await_promise: bool = False,
        by_value: bool = True,
        retry_gone: bool = True,
    ) -> Any:
        """Call an actions.js entry point in the frame `frame_id` (default: main frame).

        With `by_value=False` the CDP RemoteObject is returned (e.g. for an objectId).
        Raises ContextGoneError when the document went away under the call; unless
        `retry_gone` is False, the call is first retried once in the new document.
        """
        if not self.isolated:
            return await self._actions_handle_call(name, arg)
        await self.install_actions()
        assert self._cdp is not None
        if frame_id is None:
            fs = await self._state_for(self.page.main_frame)
        else:
            fs = self._frame_state(frame_id)
        for attempt in range(3):
            try:
                ctx = await self._ensure_context(fs)
                # Object handles must live on Playwright's session, values need not.
                channel = self._fast if (by_value and self._fast) else self._cdp
                res = await channel.send(
                    "Runtime.callFunctionOn",
                    {
                        "functionDeclaration": _ACT_CALL,
                        "executionContextId": ctx,
                        "arguments": [{"value": name}, {"value": arg}],
                        "returnByValue": by_value,
                        "awaitPromise": await_promise,
                    },
                )
            except (PlaywrightError, ObservationError) as exc:
                msg = str(exc)
                if isinstance(exc, CDPConnectionError) and await self._fast_failed():
                    continue
                if "Target closed" in msg or "has been closed" in msg:
                    await self._closed()
                    raise PageClosedError("the page was closed") from exc
                if any(s in msg for s in _ACT_GONE):
                    fs.context = None
                    if attempt < 1 and retry_gone:
                        continue
                    raise ContextGoneError(f"actions {name}: {msg}") from exc
                raise ObservationError(f"actions call {name} failed: {msg}") from exc
            if "exceptionDetails" in res:
                details = res["exceptionDetails"]
                text = str(details.get("exception", {}).get("description") or details.get("text"))
                if ACTIONS_GLOBAL in text and attempt < 2:
                    await self._cdp.send(
                        "Runtime.evaluate",
                        {"expression": _actions_installer(), "contextId": ctx},
                    )
                    continue
                raise ObservationError(f"actions {name} threw: {text}")
            result = res["result"]
            return result.get("value") if by_value else result
        raise ContextGoneError(f"actions {name}: execution context kept disappearing")

    async def _actions_handle_call(self, name: str, arg: Any) -> Any:
        """Main-world fallback (non-Chromium): actions.js bound to the serializer handle."""
        for attempt in range(2):
            try:
                if self._handle is None:
                    await self._handle_call("version", None)
                if getattr(self, "_actions_for", None) is not self._handle:
                    self._actions = await self._handle.evaluate_handle(  # type: ignore[union-attr]
                        f"(s) => ({actions_source()})(s)"
                    )
                    self._actions_for = self._handle
                return await self._actions.evaluate("(a, [n, x]) => a[n](x)", [name, arg])
            except PlaywrightError as exc:
                if attempt == 0 and ("destroyed" in str(exc) or "navigat" in str(exc)):
                    self._handle = None
                    self._main.reset()
                    continue
                raise ObservationError(f"actions call {name} failed: {exc}") from exc
        raise ContextGoneError(f"actions {name}: page kept navigating")

    async def main_frame_id(self) -> str:
        await self._state_for(self.page.main_frame)
        return self._main_id

    async def frame_owner_ref(self, frame_id: str) -> int | None:
        """The ref, in the main frame, of the iframe element holding frame `frame_id`."""
        fs = self._frames.get(frame_id)
        if fs is None or fs.owner_ref is None:
            await self._frame_owners()
            fs = self._frames.get(frame_id)
        return fs.owner_ref if fs is not None else None


ACTIONS_GLOBAL = "__browserAgentActions"
_ACT_CALL = (
    f"function(name, arg) {{ const a = globalThis.{ACTIONS_GLOBAL};"
    f" if (!a) throw new Error('{ACTIONS_GLOBAL} missing'); return a[name](arg); }}"
)
_ACT_GONE = (
    *_GONE,
    "Inspected target navigated or closed",
    "Cannot find default execution context",
    "Execution context was destroyed",
)


class ContextGoneError(ObservationError):
    """The document (and our world in it) went away during a call: it navigated."""


@cache
def actions_source() -> str:
    """The in-page actions script, read from the package so it works from a wheel."""
    return resources.files("extractors").joinpath("js/actions.js").read_text("utf-8")


def _actions_installer() -> str:
    return (
        f"if (globalThis.{GLOBAL}) globalThis.{ACTIONS_GLOBAL} ??="
        f" ({actions_source()})(globalThis.{GLOBAL});"
    )
