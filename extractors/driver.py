"""Drive the in-page serializer: inject it, call its entry points, keep the mirrors.

On Chromium the script lives in an isolated world created over CDP and re-created
by Chromium itself in every new document (`addScriptToEvaluateOnNewDocument` with a
world name), so page scripts can neither see it nor tamper with it. Other engines
fall back to a main-world handle: no globals, but no isolation either.

Cross-origin frames are serialized by their own copy of the script and stitched in
under their iframe line. Those in the page's renderer process are reached through the
page's CDP session; cross-*site* frames that site isolation runs in another process
(OOPIFs) are invisible to it, so each gets a session of its own (`_Target`), made with
Playwright's public `new_cdp_session(frame)` so it works on launched and connected
browsers alike. Nothing of this runs unless the page's text holds a frame slot.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any, NamedTuple, NoReturn

import anyio
import msgspec
from playwright.async_api import CDPSession, Frame, JSHandle
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page as PWPage

from ..exceptions import (
    CDPConnectionError,
    CDPError,
    ContextGoneError,
    ObservationError,
    PageClosedError,
    StaleRefError,
    UnknownRefError,
)
from ..observation import Element, Observation
from .cdp import CALL_TIMEOUT_S, Call, DirectCDP
from .mirror import FRAME_SLOT, Mirror, Payload, decode

WORLD = "__browser_agent__"
GLOBAL = "__browserAgentSerializer"
FRAME_REF_STRIDE = 100_000
DEFAULT_MAX_CHARS = 40_000


SERIALIZER_FILES = (
    "state.js", "helpers.js", "text.js", "icons.js", "pointer.js", "labels.js", "roles.js",
    "walk.js", "folding.js", "delta.js", "passes.js", "entry.js",
)  # fmt: skip
"""js/serializer/, by concept, in the order they make one scope (see `serializer_source`)."""
ACTIONS_FILES = (
    "prelude.js", "describe.js", "hit.js", "clipping.js", "replaced.js", "prepare.js",
    "popups.js", "settle.js", "late_ui.js", "typing.js", "select.js", "check.js", "scroll.js",
    "upload.js", "waiting.js", "dom_paths.js",
)  # fmt: skip
"""js/actions/, by concept, in the order they make one scope (see `actions_source`)."""


def _js(*path: str) -> str:
    return resources.files("browser_agent.extractors").joinpath("js", *path).read_text("utf-8")


@cache
def serializer_source() -> str:
    """The in-page serializer as one expression, read from the package so it works from
    a wheel. Its files (js/serializer/, one concept each: per-document state, text, icons,
    roles and names, the walk, folding, delta bookkeeping, passes, entry points) are plain
    fragments of one closure, joined in `SERIALIZER_FILES` order with no bundler; it is
    handed the roles, name rules and word lists of js/vocabulary.json, which the offline
    serializer reads too."""
    script = "".join(_js("serializer", name) for name in SERIALIZER_FILES)
    return f"((VOCAB) =>\n{script}\n)({_js('vocabulary.json')})"


def _installer() -> str:
    return f"globalThis.{GLOBAL} ??= {serializer_source()};"


_CALL = f"function(name, arg) {{ return globalThis.{GLOBAL}[name](arg); }}"
_GONE = (
    "Cannot find context",
    "Execution context was destroyed",
    "No frame with given id",
    "Inspected target navigated or closed",
    "Cannot find default execution context",
)
"""What Playwright and CDP say when the document a call ran in went away."""
_CLOSED = ("Target closed", "has been closed", "Session closed", "No session with given id")
_REF_FOR = f"function() {{ return globalThis.{GLOBAL}.refFor(this); }}"
_ELEMENT = f"function(ref) {{ return globalThis.{GLOBAL}.element(ref); }}"
_ADOPT = f"function(host) {{ return globalThis.{GLOBAL}.adoptShadow({{host, root: this}}); }}"
MAX_SHADOW_HOSTS = 64
"""Hosts per document checked for a closed shadow root (each costs a few round trips)."""
MAX_FRAME_DEPTH = 8
"""Cross-origin frames nested deeper than this are left out (Chromium allows ~32)."""


class _Target:
    """An out-of-process iframe: our CDP session on it, and a direct socket to it when
    the browser has a debugging port. Chromium names an OOPIF's target after its frame,
    so `frame_id` is both."""

    def __init__(self, frame: Frame, session: CDPSession, frame_id: str, parent_id: str) -> None:
        self.frame = frame
        self.session = session
        self.fast: DirectCDP | None = None
        self.frame_id = frame_id
        self.parent_id = parent_id
        self.url = frame.url  # re-checked when Playwright's frame moves on
        self.alive = True


class _FrameState:
    def __init__(self, frame_id: str, ordinal: int) -> None:
        self.frame_id = frame_id
        self.ordinal = ordinal
        self.context: int | None = None
        self.mirror = Mirror(frame_id if ordinal else "")
        self.owner_ref: int | None = None
        self.initialized: int | None = None  # context id whose serializer got its ref base
        self.hosts_tried: set[int] = set()  # refs checked for a closed shadow root
        # The OOPIF whose process hosts this frame; None: the page's own process.
        self.target: _Target | None = None

    def forget(self, ctx: int | None) -> None:
        """Drop the context a call failed in, unless a new document's already replaced it.

        The failure of a call cut short by a navigation can arrive after the new document's
        world was announced; clearing that one would re-create the world on the next call's
        path (a round trip and a script run, right after every page load).
        """
        if ctx is None or self.context == ctx:
            self.context = None


class _Part(NamedTuple):
    """A frame's rendered lines with its nested frames stitched in, and their deltas."""

    lines: list[str]
    elements: dict[int, Element]
    added: list[int]
    removed: list[int]
    changed: list[int]


def _merged(payload: Payload, part: _Part) -> tuple[list[int], list[int], list[int]]:
    """A frame's own added/removed/changed refs followed by those of its child frames."""
    return (
        [*payload.added, *part.added],
        [*payload.removed, *part.removed],
        [*payload.changed, *part.changed],
    )


def _spliced(lines: list[str], parts: dict[int, _Part], depths: dict[int, int]) -> _Part:
    """`lines` with each frame slot replaced by its frame's part (indented to the slot's
    depth; a slot whose frame could not be reached is dropped)."""
    out = _Part([], {}, [], [], [])
    for i, line in enumerate(lines):
        if not line.lstrip(" ").startswith(FRAME_SLOT):
            out.lines.append(line)
            continue
        part = parts.get(i)
        if part is None:
            continue
        pad = "  " * depths[i]
        out.lines.extend(pad + sub for sub in part.lines)
        out.elements.update(part.elements)
        out.added.extend(part.added)
        out.removed.extend(part.removed)
        out.changed.extend(part.changed)
    return out


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
        self._actions_installed = False
        # Playwright frames that are OOPIFs, and those found not to be (with their URL
        # then: a navigation may move a frame to another process).
        self._targets: dict[Frame, _Target] = {}
        self._in_process: dict[Frame, str] = {}
        self._discovery = anyio.Lock()

    # ---- set-up ----

    async def attach(self) -> None:
        if not self.isolated or self._cdp is not None:
            return
        cdp = await self.page.context.new_cdp_session(self.page)
        self._cdp = cdp
        cdp.on("Runtime.executionContextCreated", self._on_context)
        cdp.on("Runtime.executionContextDestroyed", self._on_context_gone)
        cdp.on("Runtime.executionContextsCleared", lambda _e: self._drop_contexts(None))
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

    def _on_context(self, event: dict[str, Any], target: _Target | None = None) -> None:
        """Our world appeared in a frame; the session that says so hosts the frame now."""
        ctx = event["context"]
        if ctx.get("name") != self.world:
            return
        frame_id = ctx.get("auxData", {}).get("frameId")
        if frame_id:
            fs = self._frame_state(frame_id)
            if fs.target is not target:
                fs.target = target
                fs.initialized = None
            fs.context = ctx["id"]

    def _on_context_gone(self, event: dict[str, Any], target: _Target | None = None) -> None:
        # Context ids are only unique within one renderer process: match the session too.
        cid = event.get("executionContextId")
        for fs in self._frames.values():
            if fs.target is target and fs.context == cid:
                fs.context = None

    def _drop_contexts(self, target: _Target | None) -> None:
        for fs in self._frames.values():
            if fs.target is target:
                fs.context = None

    def _on_navigated(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        fs = self._frames.get(frame["id"])
        if fs is not None:
            fs.context = None
            fs.mirror.reset()
            fs.owner_ref = None
            fs.hosts_tried.clear()

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

    def _session(self, fs: _FrameState) -> CDPSession:
        """The CDP session of the process hosting `fs` (object handles live there)."""
        if fs.target is not None:
            return fs.target.session
        assert self._cdp is not None
        return self._cdp

    def _channel(self, fs: _FrameState, by_value: bool = True) -> CDPSession | DirectCDP:
        """Where calls into `fs` go: the direct socket for by-value calls when there is one."""
        t = fs.target
        if t is not None:
            return t.fast if (by_value and t.fast) else t.session
        assert self._cdp is not None
        return self._fast if (by_value and self._fast) else self._cdp

    async def _query(
        self, fs: _FrameState, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A by-value command to `fs`'s process, on the direct socket when there is one."""
        try:
            return await self._channel(fs).send(method, params)
        except CDPConnectionError as exc:
            if (exc.timed_out and exc.sent) or not await self._fast_failed(fs):
                raise
            return await self._channel(fs).send(method, params)

    async def _ensure_context(self, fs: _FrameState) -> int:
        cdp = self._session(fs)
        if fs.context is None:
            res = await cdp.send(
                "Page.createIsolatedWorld", {"frameId": fs.frame_id, "worldName": self.world}
            )
            fs.context = res["executionContextId"]
            await cdp.send(
                "Runtime.evaluate",
                {"expression": _installer(), "contextId": fs.context, "returnByValue": True},
            )
        if fs.ordinal and fs.initialized != fs.context:
            fs.initialized = fs.context
            await cdp.send(
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
        """Call a serializer entry point in `fs` (see `_invoke` for failures)."""
        return await self._invoke(fs, _CALL, name, arg, what="serializer")

    async def _invoke(
        self,
        fs: _FrameState,
        declaration: str,
        name: str,
        arg: Any,
        *,
        what: str,
        by_value: bool = True,
        await_promise: bool = False,
        retry_gone: bool = True,
    ) -> Any:
        """One call into our world in `fs`, with the one retry rule of in-page calls.

        Playwright's and our socket's errors are mapped here, once: the direct socket
        broke → reconnect (or fall back to Playwright's session) and call again; the
        document went away under the call → call again in the new document, at most
        twice (`retry_gone=False`: never), then `ContextGoneError`; the page or the
        frame's process closed → `PageClosedError` / `ContextGoneError`; anything else
        → `ObservationError`. Our script not there yet in a new world → (re)install it
        and call again.
        """
        assert self._cdp is not None
        # A call that waits on purpose (`timeoutMs`) is bounded by its wait plus the usual.
        wait_ms = arg.get("timeoutMs") if await_promise and isinstance(arg, dict) else None
        waits = CALL_TIMEOUT_S + wait_ms / 1000 if isinstance(wait_ms, int | float) else None
        for attempt in range(3):
            ctx = None
            try:
                ctx = await self._ensure_context(fs)
                params = {
                    "functionDeclaration": declaration,
                    "executionContextId": ctx,
                    "arguments": [{"value": name}, {"value": arg}],
                    "returnByValue": by_value,
                    "awaitPromise": await_promise,
                }
                # Object handles must live on Playwright's session, values need not.
                channel = self._channel(fs, by_value)
                if isinstance(channel, DirectCDP):
                    res = await channel.send("Runtime.callFunctionOn", params, timeout=waits)
                else:
                    res = await channel.send("Runtime.callFunctionOn", params)
            except (PlaywrightError, CDPError, ObservationError) as exc:
                msg = str(exc)
                if (
                    isinstance(exc, CDPConnectionError)
                    and not (exc.timed_out and exc.sent)  # the page is slow, the socket whole
                    and await self._fast_failed(fs)
                ):
                    continue
                if self._is_closed(fs, msg):
                    await self._target_closed(fs, f"{what} {name}", exc)
                if any(s in msg for s in _GONE):
                    fs.forget(ctx)
                    if attempt < 2 and retry_gone:
                        continue
                    raise ContextGoneError(f"{what} {name}: {msg}") from exc
                raise ObservationError(f"{what} call {name} failed: {msg}") from exc
            if "exceptionDetails" in res:
                details = res["exceptionDetails"]
                text = str(details.get("exception", {}).get("description") or details.get("text"))
                if attempt < 2 and await self._missing_script(fs, ctx, declaration, text):
                    continue
                raise ObservationError(f"{what} {name} threw: {text}")
            result = res["result"]
            return result.get("value") if by_value else result
        raise ContextGoneError(f"{what} {name}: execution context kept disappearing")

    async def _missing_script(
        self, fs: _FrameState, ctx: int | None, declaration: str, text: str
    ) -> bool:
        """Whether a call failed only because our script is not (yet) in the world it
        ran in; if so, it is put there (the serializer by a new world, the actions by
        evaluating them in this one) for the call to be made again."""
        if declaration == _CALL and "is not a function" in text:
            fs.forget(ctx)  # the world exists but the script did not run yet
            return True
        if declaration == _ACT_CALL and ACTIONS_GLOBAL in text:
            await self._session(fs).send(
                "Runtime.evaluate", {"expression": _actions_installer(), "contextId": ctx}
            )
            return True
        return False

    @staticmethod
    def _is_closed(fs: _FrameState, msg: str) -> bool:
        """Whether an error says the session of `fs`'s process is gone."""
        if fs.target is None:
            return "Target closed" in msg or "has been closed" in msg
        return any(s in msg for s in _CLOSED)

    async def _target_closed(self, fs: _FrameState, name: str, exc: Exception) -> NoReturn:
        """A session closed under a call: an OOPIF left its process, or the page closed."""
        if fs.target is not None:
            await self._drop_target(fs.target)
            raise ContextGoneError(f"{name}: the frame left its process") from exc
        await self._closed()
        raise PageClosedError("the page was closed") from exc

    async def _fast_failed(self, fs: _FrameState | None = None) -> bool:
        """The direct connection broke (e.g. the renderer was swapped by a cross-site
        navigation) while the page lives on: reconnect once, else use Playwright's."""
        if fs is not None and fs.target is not None:
            fast, fs.target.fast = fs.target.fast, None  # an OOPIF's: its session will do
            if fast is not None:
                with contextlib.suppress(Exception):
                    await fast.close()
            return fast is not None
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
        await self._sync_targets()
        t = self._targets.get(frame)
        if t is not None:
            return self._frame_state(t.frame_id)
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
        if payload.hosts and self.isolated and await self._adopt_shadow_roots(payload.hosts):
            # Closed shadow roots were handed to the serializer: their hosts are dirty, so
            # a delta brings their content in; what changed is reported from both calls.
            first = payload
            raw = await self.call("observe", {"full": False, "base": self._main.version})
            payload = decode(raw)
            self._main.apply(payload)
            payload.added = [*first.added, *payload.added]
            payload.removed = [r for r in first.removed if r not in payload.added] + [
                r for r in payload.removed if r not in first.added
            ]
            payload.changed = [*first.changed, *payload.changed]
            payload.full = first.full
        lines = self._main.render()
        text = "\n".join(lines)
        elements = self._main.elements
        added, removed, changed = payload.added, payload.removed, payload.changed
        if FRAME_SLOT in text:
            part = await self._stitch(lines, full=full)
            text, elements = "\n".join(part.lines), {**elements, **part.elements}
            added, removed, changed = _merged(payload, part)
        t2 = time.perf_counter()
        m = self._main
        return Observation(
            text=text,
            elements=dict(elements),
            full=payload.full,
            added=tuple(added),
            removed=tuple(removed),
            changed=tuple(changed),
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
        """A fresh full serialization (frames included) that does not disturb the
        incremental state: the oracle an incremental observation must equal."""
        t0 = time.perf_counter()
        cap = max_chars or self.max_chars
        raw = await self.call("snapshot", {"maxChars": cap})
        payload = decode(raw)
        mirror = Mirror()
        mirror.apply(payload)
        lines = mirror.render()
        elements = mirror.elements
        if FRAME_SLOT in "\n".join(lines):
            part = await self._stitch(lines, snapshot=True, max_chars=cap)
            lines, elements = part.lines, {**elements, **part.elements}
        ms = (time.perf_counter() - t0) * 1000
        return Observation(
            text="\n".join(lines),
            elements=dict(elements),
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

    async def _adopt_shadow_roots(self, refs: list[int]) -> bool:
        """Hand the closed shadow roots of these hosts (main frame) to the serializer.

        Page scripts and our world cannot reach a closed root, but CDP can: describe the
        host, resolve its root in our world and pass it in. Each host is tried once per
        document; whether any root was adopted."""
        assert self._main_id is not None
        fs = self._frame_state(self._main_id)
        cdp = self._session(fs)
        adopted = False
        for ref in refs:
            if ref in fs.hosts_tried or len(fs.hosts_tried) >= MAX_SHADOW_HOSTS:
                continue
            fs.hosts_tried.add(ref)
            ids: list[str] = []
            try:
                ctx = await self._ensure_context(fs)
                host = await cdp.send(
                    "Runtime.callFunctionOn",
                    {
                        "functionDeclaration": _ELEMENT,
                        "executionContextId": ctx,
                        "arguments": [{"value": ref}],
                    },
                )
                host_id = host["result"].get("objectId")
                if not host_id:
                    continue
                ids.append(host_id)
                node = await cdp.send("DOM.describeNode", {"objectId": host_id, "depth": 0})
                closed = [
                    r
                    for r in node["node"].get("shadowRoots", [])
                    if r.get("shadowRootType") == "closed"
                ]
                if not closed:
                    continue
                root = await cdp.send(
                    "DOM.resolveNode",
                    {"backendNodeId": closed[0]["backendNodeId"], "executionContextId": ctx},
                )
                root_id = root["object"]["objectId"]
                ids.append(root_id)
                done = await cdp.send(
                    "Runtime.callFunctionOn",
                    {
                        "functionDeclaration": _ADOPT,
                        "objectId": root_id,
                        "arguments": [{"objectId": host_id}],
                        "returnByValue": True,
                    },
                )
                adopted = adopted or bool(done.get("result", {}).get("value"))
            except (PlaywrightError, KeyError):
                continue  # gone or unreachable: it stays marked as not readable
            finally:
                for oid in ids:
                    with contextlib.suppress(PlaywrightError):
                        await cdp.send("Runtime.releaseObject", {"objectId": oid})
        return adopted

    async def region(self, ref: int) -> tuple[list[str], dict[int, Element]]:
        """The lines and elements of one element's content in full (folded regions of
        links opened), from the frame whose serializer owns `ref`."""
        frame_id = self.frame_for_ref(ref)
        if not self.isolated or frame_id is None:
            raw = await self.call("region", ref)
            mirror = self._main
        else:
            fs = self._frame_state(frame_id)
            raw = await self._call(fs, "region", ref)
            mirror = fs.mirror
        res = msgspec.json.decode(raw)
        status = res.get("status")
        if status == "unknown":
            raise UnknownRefError(f"no element [{ref}] on this page", ref)
        if status != "ok":
            raise StaleRefError(f"[{ref}] is gone", ref, f"[{ref}]", None)
        lines = [str(x) for x in res["lines"]]
        elements = {raw_el[0]: mirror.element(raw_el) for raw_el in res["elements"]}
        return lines, elements

    # ---- cross-origin frames ----

    async def _stitch(
        self,
        lines: list[str],
        parent: _FrameState | None = None,
        *,
        full: bool = False,
        snapshot: bool = False,
        max_chars: int | None = None,
        depth: int = 0,
    ) -> _Part:
        """Splice cross-origin frames, serialized in their own worlds, under their iframe.

        Returns `lines` with the slots filled, and the frames' own elements and deltas
        (not `parent`'s). Only reached when the text holds a frame slot, so pages
        without cross-origin frames pay nothing. Frames are serialized concurrently:
        OOPIFs are separate processes, each with its own channel.
        """
        if self._cdp is None:  # main-world fallback: no way into other origins
            kept = [x for x in lines if not x.lstrip(" ").startswith(FRAME_SLOT)]
            return _Part(kept, {}, [], [], [])
        if parent is None:
            assert self._main_id is not None
            parent = self._frame_state(self._main_id)
            await self._sync_targets()
        owners = await self._frame_owners(parent)
        slots: list[tuple[int, _FrameState, int]] = []
        for i, line in enumerate(lines):
            slot = line.lstrip(" ")
            if slot.startswith(FRAME_SLOT):
                ref_s, depth_s = slot[len(FRAME_SLOT) :].split(" ")
                fs = owners.get(int(ref_s))
                if fs is not None:
                    slots.append((i, fs, int(depth_s)))
        parts: dict[int, _Part] = {}
        failed: list[Exception] = []

        async def one(i: int, fs: _FrameState) -> None:
            try:
                part = await self._frame_part(fs, full, snapshot, max_chars, depth + 1)
            except Exception as exc:  # re-raised as itself below, not as an ExceptionGroup
                failed.append(exc)
                return
            if part is not None:
                parts[i] = part

        if len(slots) == 1:
            await one(slots[0][0], slots[0][1])
        elif slots:
            async with anyio.create_task_group() as tg:
                for i, fs, _ in slots:
                    tg.start_soon(one, i, fs)
        if failed:
            raise failed[0]
        return _spliced(lines, parts, {i: d for i, _, d in slots})

    async def _frame_part(
        self,
        fs: _FrameState,
        full: bool,
        snapshot: bool,
        max_chars: int | None,
        depth: int,
    ) -> _Part | None:
        """One child frame's serialization (and its own cross-origin children); None
        when the frame cannot be reached now (it is navigating, or went away)."""
        cap = max_chars or self.max_chars
        try:
            if snapshot:
                payload = decode(await self._call(fs, "snapshot", {"maxChars": cap}))
                mirror = Mirror(fs.mirror.frame)
                mirror.apply(payload)
            else:
                mirror = fs.mirror
                arg = {"full": full, "base": mirror.version, "maxChars": cap}
                payload = decode(await self._call(fs, "observe", arg))
                try:
                    mirror.apply(payload)
                except ValueError:
                    arg = {"full": True, "maxChars": cap}
                    payload = decode(await self._call(fs, "observe", arg))
                    mirror.apply(payload)
        except ObservationError:
            return None
        lines = mirror.render()
        if FRAME_SLOT not in "\n".join(lines):
            return _Part(lines, mirror.elements, payload.added, payload.removed, payload.changed)
        if depth >= MAX_FRAME_DEPTH:
            kept = [x for x in lines if not x.lstrip(" ").startswith(FRAME_SLOT)]
            return _Part(kept, mirror.elements, payload.added, payload.removed, payload.changed)
        nested = await self._stitch(
            lines, fs, full=full, snapshot=snapshot, max_chars=max_chars, depth=depth
        )
        return _Part(
            nested.lines, {**mirror.elements, **nested.elements}, *_merged(payload, nested)
        )

    async def _frame_owners(self, parent: _FrameState) -> dict[int, _FrameState]:
        """Map iframe refs in `parent` to the child frames they hold: those in parent's
        process (its session's frame tree) and the OOPIFs whose parent it is."""
        try:
            tree = await self._query(parent, "Page.getFrameTree")
        except (PlaywrightError, CDPError):
            return {}  # its process went away: its frames are skipped this time
        stack = [tree["frameTree"]]
        kids: list[str] = []
        while stack:
            node = stack.pop()
            if node["frame"]["id"] == parent.frame_id:
                kids = [child["frame"]["id"] for child in node.get("childFrames", [])]
                break
            stack.extend(node.get("childFrames", []))
        for fid in kids:  # a frame in this session's tree lives in this process
            fs = self._frame_state(fid)
            if fs.target is not parent.target:
                fs.target, fs.context, fs.initialized = parent.target, None, None
        kids += [t.frame_id for t in self._targets.values() if t.parent_id == parent.frame_id]
        owners: dict[int, _FrameState] = {}
        for fid in kids:
            fs = self._frame_state(fid)
            if fs.owner_ref is None:
                fs.owner_ref = await self._owner_ref(parent, fid)
            if fs.owner_ref is not None:
                owners[fs.owner_ref] = fs
        return owners

    async def _owner_ref(self, parent: _FrameState, frame_id: str) -> int | None:
        """The ref, in `parent`'s serializer, of the iframe element holding `frame_id`.

        The element lives in the parent's process even when the frame does not, so
        the parent's session resolves it (`DOM.getFrameOwner` covers remote frames)."""
        cdp = self._session(parent)
        try:
            ctx = await self._ensure_context(parent)
            owner = await cdp.send("DOM.getFrameOwner", {"frameId": frame_id})
            node = await cdp.send(
                "DOM.resolveNode",
                {"backendNodeId": owner["backendNodeId"], "executionContextId": ctx},
            )
            res = await cdp.send(
                "Runtime.callFunctionOn",
                {
                    "functionDeclaration": _REF_FOR,
                    "objectId": node["object"]["objectId"],
                    "returnByValue": True,
                },
            )
        except PlaywrightError:
            return None
        ref = res.get("result", {}).get("value")
        return ref if isinstance(ref, int) else None

    async def _sync_targets(self) -> None:
        """Give every OOPIF Playwright knows of a session of ours; forget departed ones.

        Round trips only for frames not seen before, or whose URL changed since."""
        if self._cdp is None:
            return
        async with self._discovery:
            main = self.page.main_frame
            for frame in self.page.frames:
                if frame == main or frame.is_detached():
                    continue
                t = self._targets.get(frame)
                if t is not None:
                    if t.alive and (t.url == frame.url or await self._still_there(t)):
                        continue
                    await self._drop_target(t)
                known = self._in_process.get(frame) == frame.url
                if not known and await self._attach_target(frame) is None:
                    self._in_process[frame] = frame.url
            for frame in [f for f in self._targets if f.is_detached()]:
                await self._drop_target(self._targets[frame])
            for frame in [f for f in self._in_process if f.is_detached()]:
                del self._in_process[frame]

    async def _still_there(self, t: _Target) -> bool:
        """Whether an OOPIF's session survived its frame's navigation."""
        try:
            await t.session.send("Target.getTargetInfo")
        except PlaywrightError:
            return False
        t.url = t.frame.url
        return True

    async def _attach_target(self, frame: Frame) -> _Target | None:
        """Open our session on `frame` if it is an OOPIF (None if it shares a process
        with its parent) and install the scripts there, as `attach` does for the page."""
        try:
            # Playwright refuses frames that have no target of their own.
            session = await self.page.context.new_cdp_session(frame)
        except PlaywrightError:
            return None
        try:
            root = (await session.send("Page.getFrameTree"))["frameTree"]["frame"]
            t = _Target(frame, session, root["id"], root.get("parentId", ""))
            session.on(
                "Runtime.executionContextCreated", functools.partial(self._on_context, target=t)
            )
            session.on(
                "Runtime.executionContextDestroyed",
                functools.partial(self._on_context_gone, target=t),
            )
            session.on("Runtime.executionContextsCleared", lambda _e: self._drop_contexts(t))
            session.on("Page.frameNavigated", self._on_navigated)
            await session.send("Page.enable")
            await session.send("Runtime.enable")
            sources = (
                [_installer(), _actions_installer()] if self._actions_installed else [_installer()]
            )
            for source in sources:
                await session.send(
                    "Page.addScriptToEvaluateOnNewDocument",
                    {"source": source, "worldName": self.world, "runImmediately": True},
                )
        except PlaywrightError:
            with contextlib.suppress(PlaywrightError):
                await session.detach()
            return None
        if self.endpoint:
            with contextlib.suppress(OSError, TimeoutError, PlaywrightError):
                t.fast = await DirectCDP.open(
                    f"ws://{self.endpoint}/devtools/page/{t.frame_id}", timeout=10
                )
        self._targets[frame] = t
        fs = self._frame_state(t.frame_id)
        if fs.target is not t:
            fs.target, fs.context, fs.initialized = t, None, None
        return t

    async def _drop_target(self, t: _Target) -> None:
        """Forget an OOPIF session; its frames are found afresh on the next stitch."""
        t.alive = False
        if self._targets.get(t.frame) is t:
            del self._targets[t.frame]
        for fs in self._frames.values():
            if fs.target is t:
                fs.target, fs.context, fs.initialized, fs.owner_ref = None, None, None, None
                fs.mirror.reset()
        fast, t.fast = t.fast, None
        if fast is not None:
            with contextlib.suppress(Exception):
                await fast.close()
        with contextlib.suppress(PlaywrightError):
            await t.session.detach()

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
        for t in list(self._targets.values()):
            await self._drop_target(t)
        if self._cdp is not None:
            with contextlib.suppress(PlaywrightError):
                await self._cdp.detach()
            self._cdp = None
        if self._fast is not None:
            with contextlib.suppress(Exception):
                await self._fast.close()
            self._fast = None

    # ---- actions (extractors/js/actions/), installed next to the serializer ----

    @property
    def cdp(self) -> CDPSession | None:
        """The page's CDP session (isolated mode only), for DOM-level commands."""
        return self._cdp

    def session_for(self, frame_id: str | None) -> CDPSession | None:
        """The CDP session hosting frame `frame_id` (the page's for None or in-process
        frames): object ids from `call_actions(by_value=False)` are only valid there."""
        fs = self._frames.get(frame_id) if frame_id else None
        if fs is not None and fs.target is not None:
            return fs.target.session
        return self._cdp

    async def install_actions(self) -> None:
        """Have Chromium install the actions in every new document of this page."""
        if not self.isolated or self._actions_installed:
            return
        await self.attach()
        assert self._cdp is not None
        self._actions_installed = True
        add = {"source": _actions_installer(), "worldName": self.world, "runImmediately": True}
        await self._cdp.send("Page.addScriptToEvaluateOnNewDocument", add)
        for t in list(self._targets.values()):
            with contextlib.suppress(PlaywrightError):  # gone: found afresh when needed
                await t.session.send("Page.addScriptToEvaluateOnNewDocument", add)

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
        """Call an in-page actions entry point in the frame `frame_id` (default: main frame).

        With `by_value=False` the CDP RemoteObject is returned (e.g. for an objectId),
        valid on `session_for(frame_id)`. Raises ContextGoneError when the document
        went away under the call; unless `retry_gone` is False, the call is first
        retried in the new document (see `_invoke`).
        """
        if not self.isolated:
            return await self._actions_handle_call(name, arg)
        await self.install_actions()
        assert self._cdp is not None
        if frame_id is None:
            fs = await self._state_for(self.page.main_frame)
        else:
            fs = self._frame_state(frame_id)
        return await self._invoke(
            fs,
            _ACT_CALL,
            name,
            arg,
            what="actions",
            by_value=by_value,
            await_promise=await_promise,
            retry_gone=retry_gone,
        )

    async def _actions_handle_call(self, name: str, arg: Any) -> Any:
        """Main-world fallback (non-Chromium): the actions bound to the serializer handle."""
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

    async def send_input(self, calls: Sequence[Call]) -> bool:
        """Send input events to the page in one flight on the direct socket.

        False when there is no direct socket, or it broke before any event left: the
        caller then sends them through Playwright. Events that did leave may have acted,
        so they are never sent twice.
        """
        if not self.isolated:
            return False
        await self.attach()
        fast = self._fast
        if fast is None:
            return False
        try:
            await fast.send_many(calls)
        except CDPConnectionError as exc:
            if not (exc.timed_out and exc.sent):  # else the socket is whole, the page busy
                await self._fast_failed()
            return exc.sent  # sent: what it did (even closing the page), settle sees
        return True

    async def main_frame_id(self) -> str:
        await self._state_for(self.page.main_frame)
        assert self._main_id is not None
        return self._main_id

    async def frame_owner_ref(self, frame_id: str) -> int | None:
        """The ref, in the main frame, of the iframe element holding frame `frame_id`."""
        fs = self._frames.get(frame_id)
        if fs is None or fs.owner_ref is None:
            await self.attach()
            assert self._main_id is not None
            await self._sync_targets()
            await self._frame_owners(self._frame_state(self._main_id))
            fs = self._frames.get(frame_id)
        return fs.owner_ref if fs is not None else None


ACTIONS_GLOBAL = "__browserAgentActions"
_ACT_CALL = (
    f"function(name, arg) {{ const a = globalThis.{ACTIONS_GLOBAL};"
    f" if (!a) throw new Error('{ACTIONS_GLOBAL} missing'); return a[name](arg); }}"
)


@cache
def actions_source() -> str:
    """The in-page actions (a function of the serializer's api), read from the package:
    js/actions/, one concept each, joined in `ACTIONS_FILES` order."""
    return "".join(_js("actions", name) for name in ACTIONS_FILES)


def _actions_installer() -> str:
    return (
        f"if (globalThis.{GLOBAL}) globalThis.{ACTIONS_GLOBAL} ??="
        f" ({actions_source()})(globalThis.{GLOBAL});"
    )
