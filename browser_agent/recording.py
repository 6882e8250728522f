"""Recorded sessions: an append-only, versioned JSON-lines log of everything an agent did.

A file holds one or more sessions (an interactive session appends one per task). Each
session is a `Header` line, a `Prefix` line per distinct stable prompt prefix (stored
once, referenced by hash), one `StepLine` per step (flushed when the step ends, so a
crash loses at most the step in flight) and a `Footer` with the outcome:

    {"type":"header","format":"browser-agent-recording","version":2,"task":...}
    {"type":"prefix","hash":"9f2c…","messages":[{"role":"system",...},...]}
    {"type":"step","n":1,"observation":{"full":true,"text":"..."},"request":{...},...}
    {"type":"footer","success":true,"output":"...","reason":"done",...}

Observations are stored whole on a full pass and as a line delta against the previous
recorded observation otherwise. Each action's target carries a `Fingerprint` (role,
name, tag, text, path) so `replay` can find it again when refs differ; the path is a
DOM path computed in the page before the action runs (`RecordingWriter.capture`).
Values typed into password-like fields and known secrets are masked before a line
reaches the file.

Format versions: 2 made `Fingerprint.path` a DOM path (in version 1 it was the
element's place among the observation's elements of its role, `frame>role:k`). Older
versions are read; a newer one raises `RecordingVersionError`.
"""

from __future__ import annotations

import hashlib
import platform
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

from ._version import __version__
from .exceptions import ConfigurationError, PageError
from .extractors.driver import FRAME_REF_STRIDE
from .llm._redact import MASK
from .observation import Element, Observation
from .page_diff import common_ends
from .records import AgentResult, StepRecord
from .redaction import Redactor

if TYPE_CHECKING:
    from .page import Page

FORMAT = "browser-agent-recording"
VERSION = 2
"""The format version this runtime writes and the newest it reads."""

_PASSWORDISH = re.compile(r"(?i)pass(word|code|phrase)?\b|\bpin\b|secret|token|api[ -_]?key|otp")
_PATH_ROLE = re.compile(r"[^a-z0-9_-]")


class RecordingError(ConfigurationError):
    """A file is not a readable recording (wrong format, corrupt line before the end)."""


class RecordingVersionError(RecordingError):
    """The recording was written by a newer format version than this runtime reads."""

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported


# --------------------------------------------------------------------------- lines


class Fingerprint(msgspec.Struct, omit_defaults=True):
    """How to find an action's target again when refs differ: role + name, then text,
    then path.

    `path` is a DOM path computed in the page when the action ran, e.g.
    `form#join > p:nth(2) > input[name="email"][type="email"]` (see `domPath` in
    extractors/js/actions/dom_paths.js); empty when none was captured (a target in a cross-origin
    frame, or a recorder that was not asked to capture).
    """

    ref: int
    role: str = ""
    name: str = ""
    tag: str = ""
    text: str = ""
    path: str = ""
    nth: int = 0
    """Index among elements with the same role and name (for duplicates)."""


class ObservationDelta(msgspec.Struct, omit_defaults=True):
    """Lines `head` (kept from the start) + `lines` + `tail` (kept from the end)."""

    head: int
    tail: int
    lines: list[str] = msgspec.field(default_factory=list)


class ObservationLine(msgspec.Struct, omit_defaults=True):
    full: bool
    version: int = 0
    url: str = ""
    title: str = ""
    text: str | None = None
    """The complete text on a full pass (or the first recorded observation)."""
    delta: ObservationDelta | None = None
    chars: int = 0


class Request(msgspec.Struct, omit_defaults=True):
    """The messages of a model call: `prefix` (hash) + history + the observation message.

    `history` messages already recorded by earlier steps are not repeated: `added` holds
    only the ones appended since (`history_len` is the total before them). The final
    observation message is rebuilt from the step's observation and `note`.
    """

    prefix: str
    history_len: int = 0
    added: list[dict[str, Any]] = msgspec.field(default_factory=list)
    note: str | None = None
    tier: str = ""


class ActionLine(msgspec.Struct, omit_defaults=True):
    name: str
    args: dict[str, Any]
    id: str = ""
    kind: str = "page"
    label: str = ""
    target: Fingerprint | None = None
    ok: bool = True
    error: str | None = None
    skipped: bool = False
    result: str = ""
    navigated: bool = False
    url: str = ""
    start_ms: float = 0.0
    end_ms: float = 0.0
    timings: dict[str, float] = msgspec.field(default_factory=dict)


class Header(msgspec.Struct, tag="header", tag_field="type"):
    task: str
    format: str = FORMAT
    version: int = VERSION
    runtime: str = ""
    browser: str = ""
    python: str = ""
    session_id: str = ""
    started_at: float = 0.0
    start_url: str | None = None
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class Prefix(msgspec.Struct, tag="prefix", tag_field="type"):
    hash: str
    messages: list[dict[str, Any]]


class StepLine(msgspec.Struct, tag="step", tag_field="type", omit_defaults=True):
    n: int
    url: str = ""
    title: str = ""
    observation: ObservationLine | None = None
    request: Request | None = None
    reply: dict[str, Any] | None = None
    """The raw assistant message (content, tool_calls) plus provider, model, usage."""
    actions: list[ActionLine] = msgspec.field(default_factory=list)
    spans_ms: dict[str, float] = msgspec.field(default_factory=dict)
    events: list[dict[str, Any]] = msgspec.field(default_factory=list)
    errors: list[str] = msgspec.field(default_factory=list)


class Footer(msgspec.Struct, tag="footer", tag_field="type", omit_defaults=True):
    success: bool
    reason: str
    output: Any = None
    detail: str = ""
    steps: int = 0
    session_ms: float = 0.0
    browser: str = ""
    """The browser's version (the header may not know it: the browser starts later)."""
    report: dict[str, Any] = msgspec.field(default_factory=dict)


Line = Header | Prefix | StepLine | Footer


# ------------------------------------------------------------------------- helpers


def prefix_hash(messages: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256(msgspec.json.encode(list(messages))).hexdigest()[:16]


def fingerprint(
    obs: Observation, ref: int, fallback: Element | None = None, *, path: str = ""
) -> Fingerprint:
    """The target `ref` as it was in `obs` (or `fallback`, an element seen earlier);
    `path` is its DOM path if one was captured (`dom_paths`)."""
    el = obs.elements.get(ref) or fallback
    if el is None:
        return Fingerprint(ref=ref, path=path)
    nth = 0
    for other in obs.elements.values():
        if other.ref == ref:
            break
        if other.role == el.role and other.frame == el.frame and other.name == el.name:
            nth += 1
    return Fingerprint(
        ref=ref,
        role=el.role,
        name=el.name,
        tag=el.tag,
        text=_line_of(obs.text, ref),
        path=path,
        nth=nth,
    )


def legacy_path(obs: Observation, el: Element) -> str:
    """The version-1 path of `el`: `frame>role:k`, the k-th element of its role."""
    k = 0
    for other in obs.elements.values():
        if other.ref == el.ref:
            break
        if other.role == el.role and other.frame == el.frame:
            k += 1
    return f"{el.frame}>{_PATH_ROLE.sub('', el.role)}:{k}"


async def dom_paths(page: Page, refs: Iterable[int]) -> dict[int, str]:
    """Robust DOM paths of `refs`, computed in the page in one call (~1 ms).

    Refs inside cross-origin frames get none: their frame is another document whose
    identity does not survive a reload. A page that cannot answer gives no paths rather
    than an error: a path is a fallback, never a reason to fail a step.
    """
    wanted = [r for r in dict.fromkeys(refs) if 0 < r < FRAME_REF_STRIDE]
    if not wanted:
        return {}
    try:
        found = await page.call_in_page("domPath", {"refs": wanted})
    except PageError:
        return {}
    return {r: p for r, p in zip(wanted, found or (), strict=False) if isinstance(p, str) and p}


def _line_of(text: str, ref: int) -> str:
    """The element's line in the observation, without its ref and indentation."""
    m = re.search(rf"^[ \t]*\[{ref}\][ \t]+(.*)$", text, re.MULTILINE)
    return m.group(1).strip() if m else ""


def line_delta(old: str, new: str) -> ObservationDelta:
    a, b = old.split("\n"), new.split("\n")
    head, tail = common_ends(a, b)
    return ObservationDelta(head=head, tail=tail, lines=b[head : len(b) - tail])


def apply_delta(old: str, d: ObservationDelta) -> str:
    a = old.split("\n")
    return "\n".join(a[: d.head] + d.lines + (a[len(a) - d.tail :] if d.tail else []))


def is_password_like(el: Element | None) -> bool:
    """A field whose typed value must never be written: a password or key by its label
    (the serializer shows filled password inputs as `•••`)."""
    if el is None:
        return False
    return el.value == "•••" or bool(_PASSWORDISH.search(el.name))


# -------------------------------------------------------------------------- writer


class RecordingWriter:
    """Appends one session to a recording file; every line is flushed as it is written.

    ```
    with RecordingWriter(path, secrets=[api_key]) as w:
        w.header(Header(task=...))
        w.step(step_record, obs, messages, prefix_len=2)
        w.footer(result)
    ```
    """

    def __init__(
        self,
        path: str | Path,
        *,
        secrets: Iterable[str | None] = (),
        redactor: Redactor | None = None,
    ) -> None:
        self.path = Path(path)
        self.redactor = redactor if redactor is not None else Redactor()
        """Every string of every line passes it (values in any encoding, any length)."""
        for secret in secrets:
            self.redactor.mask(secret)
        self._file: IO[bytes] | None = None
        self._prefixes: set[str] = set()
        self._last_text: str | None = None
        self._history_len = 0
        self._typed = Redactor()
        """Values the agent typed into password-like fields: masked in the file only."""
        self._paths: dict[int, str] = {}
        self._t0 = 0.0

    def __enter__(self) -> RecordingWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("ab")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, line: Line) -> None:
        assert self._file is not None, "use RecordingWriter as a context manager"
        # Redacted string by string before encoding: a value is found however the
        # file would have escaped it, and masking a short one cannot break the JSON.
        data = self.redactor.obj(msgspec.to_builtins(line, enc_hook=_enc), patterns=True)
        data = self._typed.obj(data)
        self._file.write(msgspec.json.encode(data) + b"\n")
        self._file.flush()

    def header(self, header: Header) -> None:
        self._t0 = time.perf_counter()
        self.write(header)

    async def capture(self, page: Page, *refs: int) -> None:
        """Compute the DOM paths of action targets now, before the action runs (it may
        navigate away); the step's fingerprints carry them when the step is written.

        For the agent loop to call before each action on a ref while recording (until
        it does, recordings carry no DOM paths): one call into the page, ~1 ms.
        """
        self._paths.update(await dom_paths(page, refs))

    def step(
        self,
        rec: StepRecord,
        obs: Observation | None,
        messages: Sequence[dict[str, Any]] = (),
        *,
        prefix_len: int = 0,
        note: str | None = None,
        seen: dict[int, Element] | None = None,
    ) -> None:
        """One finished step: its observation, request, reply, actions and times."""
        obs_line = None
        if obs is not None:
            obs_line = ObservationLine(
                full=obs.full,
                version=obs.version,
                url=obs.url,
                title=obs.title,
                chars=len(obs.text),
            )
            if obs.full or self._last_text is None:
                obs_line.text = obs.text
            else:
                obs_line.delta = line_delta(self._last_text, obs.text)
            self._last_text = obs.text
        request = None
        if messages:
            prefix = list(messages[:prefix_len])
            h = prefix_hash(prefix)
            if h not in self._prefixes:
                self._prefixes.add(h)
                self.write(Prefix(hash=h, messages=prefix))
            history = list(messages[prefix_len:-1])
            added = history[self._history_len :] if len(history) >= self._history_len else history
            start = len(history) - len(added)
            request = Request(
                prefix=h, history_len=start, added=added, note=note, tier=rec.tier or ""
            )
            self._history_len = len(history)
        actions = []
        for a in rec.actions:
            target = None
            ref = a.args.get("ref")
            if isinstance(ref, int) and obs is not None:
                el = obs.elements.get(ref) or (seen or {}).get(ref)
                target = fingerprint(obs, ref, el, path=self._paths.get(ref, ""))
                if a.name == "type" and (is_password_like(el) or "type=password" in target.text):
                    value = str(a.args.get("text", ""))
                    if value and "{{" not in value:
                        self._typed.mask(value)
            actions.append(
                ActionLine(
                    name=a.name,
                    args=dict(a.args),
                    id=a.id,
                    kind=a.kind,
                    label=a.label,
                    target=target,
                    ok=a.ok,
                    error=a.error,
                    skipped=a.skipped,
                    result=a.result,
                    navigated=a.navigated,
                    url=a.url,
                    start_ms=a.start_ms,
                    end_ms=a.end_ms,
                    timings=dict(a.timings),
                )
            )
        self._paths.clear()  # refs restart with the next document
        reply = None
        if rec.reply is not None:
            r = rec.reply
            reply = {
                "message": r.raw,
                "provider": r.provider,
                "model": r.model,
                "finish_reason": r.finish_reason,
                "usage": msgspec.to_builtins(r.usage),
                "timings": msgspec.to_builtins(r.timings),
            }
        self.write(
            StepLine(
                n=rec.n,
                url=rec.url,
                title=rec.title,
                observation=obs_line,
                request=request,
                reply=reply,
                actions=actions,
                spans_ms=dict(rec.spans_ms),
                events=[msgspec.to_builtins(e) for e in rec.events],
                errors=list(rec.errors),
            )
        )

    def footer(self, result: AgentResult, *, browser: str = "") -> None:
        data = result.to_dict()
        self.write(
            Footer(
                success=result.success,
                reason=result.reason,
                output=data["output"],
                detail=result.detail,
                steps=len(result.steps),
                session_ms=(time.perf_counter() - self._t0) * 1000 if self._t0 else 0.0,
                browser=browser,
                report=data["report"],
            )
        )


def _enc(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    raise NotImplementedError(type(obj).__name__)


def runtime_header(
    task: str,
    *,
    start_url: str | None,
    session_id: str,
    browser: str = "",
    settings: dict[str, Any] | None = None,
) -> Header:
    return Header(
        task=task,
        runtime=__version__,
        browser=browser,
        python=platform.python_version(),
        session_id=session_id,
        started_at=time.time(),
        start_url=start_url,
        settings=settings or {},
    )


# -------------------------------------------------------------------------- reader


class RecordedStep(msgspec.Struct):
    """A recorded step with its observation text rebuilt."""

    line: StepLine
    text: str
    """The complete observation the model saw at this step ("" if none was recorded)."""

    @property
    def n(self) -> int:
        return self.line.n

    @property
    def actions(self) -> list[ActionLine]:
        return self.line.actions


class Recording(msgspec.Struct):
    """One recorded session."""

    header: Header
    steps: list[RecordedStep] = msgspec.field(default_factory=list)
    prefixes: dict[str, list[dict[str, Any]]] = msgspec.field(default_factory=dict)
    footer: Footer | None = None
    torn: bool = False
    """The file ended in a partial line (the process died while writing it)."""

    @property
    def complete(self) -> bool:
        return self.footer is not None

    @property
    def recorded_ms(self) -> float:
        if self.footer is not None and self.footer.session_ms:
            return self.footer.session_ms
        return sum(s.line.spans_ms.get("total", 0.0) for s in self.steps)

    def messages(self, step: RecordedStep) -> list[dict[str, Any]]:
        """The exact messages of a step's model call, rebuilt from the file."""
        from .llm import observation_message

        req = step.line.request
        if req is None:
            return []
        history: list[dict[str, Any]] = []
        for s in self.steps:
            if s.n > step.n or s.line.request is None:
                continue
            r = s.line.request
            del history[r.history_len :]
            history.extend(r.added)
        obs = step.line.observation
        msg = observation_message(
            step.text, url=obs.url if obs else None, title=obs.title if obs else None, note=req.note
        )
        return [*self.prefixes.get(req.prefix, []), *history, msg]


class RecordingFile(msgspec.Struct):
    sessions: list[Recording]
    torn: bool = False
    """The file ends in a partial line (dropped): the process died while writing it."""
    torn_line: int | None = None

    @property
    def unfinished(self) -> list[int]:
        """Indexes of sessions without a footer: their process stopped before the end."""
        return [i for i, s in enumerate(self.sessions) if s.footer is None]

    @property
    def problems(self) -> list[str]:
        """What is missing from the file, one sentence each (empty for a whole file)."""
        out = []
        if self.torn:
            out.append(
                f"line {self.torn_line} is torn (cut mid-line): what was being written "
                "when the process died (a step or the footer) is lost"
            )
        for i in self.unfinished:
            s = self.sessions[i]
            n = len(s.steps)
            out.append(
                f"session {i + 1} ({s.header.task[:60]!r}) has no footer: it stopped before "
                f"its end (crash, kill or interrupt); {n} complete step{'s' * (n != 1)} kept"
            )
        return out


_decoder = msgspec.json.Decoder(Line)


def _lines(data: bytes) -> Iterator[tuple[int, bytes, bool]]:
    lines = data.split(b"\n")
    last = len(lines) - 1
    for i, ln in enumerate(lines):
        if ln.strip():
            yield i + 1, ln, i == last


def read(path: str | Path) -> RecordingFile:
    """Every session in a file. A torn last line is dropped and reported (`torn`), and
    so is a session without a footer (`unfinished`, `problems`); an unreadable line
    anywhere else raises RecordingError, a newer format version RecordingVersionError."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise RecordingError(f"cannot read {p}: {exc.strerror}") from None
    sessions: list[Recording] = []
    torn, torn_line = False, None
    last_text = ""
    for no, raw, is_last in _lines(data):
        try:
            line = _decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            if is_last and not data.endswith(b"\n"):
                torn, torn_line = True, no
                break
            probe = _probe(raw)  # a newer header may not decode as ours
            if probe is not None and probe.version > VERSION:
                raise _too_new(p, no, probe.version) from None
            raise RecordingError(f"{p}:{no}: not a recording line: {exc}") from None
        if isinstance(line, Header):
            if line.format != FORMAT:
                raise RecordingError(f"{p}:{no}: not a recording (format {line.format!r})")
            if line.version > VERSION:
                raise _too_new(p, no, line.version)
            sessions.append(Recording(header=line))
            last_text = ""
        elif not sessions:
            raise RecordingError(f"{p}:{no}: a {type(line).__name__} line before any header")
        else:
            last_text = _add_line(sessions[-1], line, last_text)
    if not sessions:
        raise RecordingError(f"{p}: no recorded session in the file")
    if torn:
        sessions[-1].torn = True
    return RecordingFile(sessions=sessions, torn=torn, torn_line=torn_line)


def _add_line(current: Recording, line: Prefix | StepLine | Footer, last_text: str) -> str:
    """Add a line to its session; returns the observation text as of that line (steps
    store a delta against the one before)."""
    if isinstance(line, Prefix):
        current.prefixes[line.hash] = line.messages
    elif isinstance(line, StepLine):
        o = line.observation
        if o is not None:
            if o.text is not None:
                last_text = o.text
            elif o.delta is not None:
                last_text = apply_delta(last_text, o.delta)
        current.steps.append(RecordedStep(line=line, text=last_text if o is not None else ""))
    else:
        current.footer = line
    return last_text


class _HeaderProbe(msgspec.Struct):
    type: str = ""
    format: str = ""
    version: int = 0


def _probe(raw: bytes) -> _HeaderProbe | None:
    """The format and version of a header line, whatever else it holds."""
    try:
        probe = msgspec.json.decode(raw, type=_HeaderProbe)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return probe if probe.type == "header" and probe.format == FORMAT else None


def _too_new(p: Path, no: int, version: int) -> RecordingVersionError:
    return RecordingVersionError(
        f"{p}:{no}: written in recording format version {version}, newer than this "
        f"browser-agent reads (up to version {VERSION}); upgrade browser-agent to read it",
        found=version,
        supported=VERSION,
    )


def load(path: str | Path) -> Recording:
    """The first session of a recording file."""
    return read(path).sessions[0]


def is_recording(data: bytes) -> bool:
    head = data.lstrip()[:200]
    return head.startswith(b"{") and FORMAT.encode() in head.split(b"\n", 1)[0]


__all__ = [
    "FORMAT",
    "MASK",
    "VERSION",
    "ActionLine",
    "Fingerprint",
    "Footer",
    "Header",
    "RecordedStep",
    "Recording",
    "RecordingError",
    "RecordingFile",
    "RecordingVersionError",
    "RecordingWriter",
    "StepLine",
    "dom_paths",
    "fingerprint",
    "load",
    "read",
]
