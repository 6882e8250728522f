"""The one redaction every string passes before it leaves the process.

A secret can reach text in many spellings: as typed, escaped inside a JSON string (and
inside JSON that is itself a string: tool-call arguments in a recording), percent-encoded
in a URL a form put it in, HTML-escaped. `Redactor` replaces each of them, whatever the
value's length, so masking never depends on how the value happened to be written.
The model gets `{{name}}` back where a named secret was; keys and typed passwords
become `***`. Logs go through the same object (`LogRedaction`), so a DEBUG trace of the
wire (the websocket client logs what it sends) never shows a value either.
"""

from __future__ import annotations

import html
import json
import logging
import weakref
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

from .llm._redact import MASK
from .llm._redact import redact as redact_patterns


def encodings(value: str) -> list[str]:
    """`value` in every spelling a prompt, a URL, a page or a JSON file can hold it."""
    once = json.dumps(value)[1:-1]
    forms = [
        value,
        once,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(once)[1:-1],  # JSON inside a JSON string
        json.dumps(json.dumps(value, ensure_ascii=False)[1:-1], ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        # A form's application/x-www-form-urlencoded as browsers write it: `*` kept, `~` not.
        quote_plus(value, safe="*").replace("~", "%7E"),
        html.escape(value),
        html.escape(value, quote=False),
    ]
    return list(dict.fromkeys(f for f in forms if f))


class Redactor:
    """Replaces known values (in every encoding) and credential-shaped strings.

    `named` maps a placeholder (`{{pw}}`) to its value; `masked` values become `***`
    (API keys, values typed into password fields). `patterns` also masks anything
    shaped like a credential (bearer tokens, `sk-…` keys, `user:pass@` in URLs): for
    files, logs and the terminal, not for the model, which must read the page's URLs.
    """

    def __init__(
        self, named: dict[str, str] | None = None, masked: Iterable[str | None] = ()
    ) -> None:
        self._named = dict(named or {})
        self._masked: list[str] = []
        self._pairs: list[tuple[str, str]] = []
        for value in masked:
            self.mask(value)
        self._build()
        _LIVE.add(self)

    def mask(self, value: str | None) -> None:
        """Also replace `value` from now on (a password the agent typed)."""
        if value and value not in self._masked:
            self._masked.append(value)
            self._build()

    def _build(self) -> None:
        pairs: dict[str, str] = {}
        for placeholder, value in self._named.items():
            for form in encodings(value):
                pairs.setdefault(form, placeholder)
        for value in self._masked:
            for form in encodings(value):
                pairs.setdefault(form, MASK)
        # Longest first: a value that contains another is replaced whole.
        self._pairs = sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def values(self) -> Iterator[str]:
        yield from self._named.values()
        yield from self._masked

    def text(self, text: str, *, patterns: bool = False) -> str:
        if text and self._pairs:
            for form, placeholder in self._pairs:
                if form in text:
                    text = text.replace(form, placeholder)
        if patterns and text:
            text = redact_patterns(text)
        return text

    def obj(self, obj: Any, *, patterns: bool = False) -> Any:
        """A copy of JSON-like data with every string (keys included) redacted."""
        if isinstance(obj, str):
            return self.text(obj, patterns=patterns)
        if isinstance(obj, dict):
            return {
                self.text(k, patterns=patterns) if isinstance(k, str) else k: self.obj(
                    v, patterns=patterns
                )
                for k, v in obj.items()
            }
        if isinstance(obj, list | tuple):
            return [self.obj(v, patterns=patterns) for v in obj]
        return obj


_LIVE: weakref.WeakSet[Redactor] = weakref.WeakSet()
"""Every redactor still in use: what the log filter masks."""


class LogRedaction(logging.Filter):
    """Masks the values of every live `Redactor` (and credential shapes) in log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_is_frame(a) for a in record.args):
            # A websocket frame logs an elided payload, which could cut a value in two:
            # redact the whole payload first, then elide.
            record.args = tuple(_frame_text(a) if _is_frame(a) else a for a in record.args)
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to logging
            return True
        clean = redact_patterns(message)
        for r in list(_LIVE):
            clean = r.text(clean)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def _is_frame(obj: object) -> bool:
    return type(obj).__name__ == "Frame" and type(obj).__module__.startswith("websockets")


def _frame_text(frame: Any, limit: int = 300) -> str:
    data = bytes(getattr(frame, "data", b""))
    text = data.decode("utf-8", "replace")
    for r in list(_LIVE):
        text = r.text(text)
    text = redact_patterns(text)
    if len(text) > limit:
        text = text[: limit - 100] + "…" + text[-99:]
    return f"{getattr(frame.opcode, 'name', '?')} {text!r} [{len(data)} bytes]"


LOGGERS = ("browser_agent", "extractors", "websockets", "websockets.client", "httpx", "httpcore")
"""Loggers whose records can carry what was sent: ours, the CDP websocket, HTTP."""

_FILTER = LogRedaction()


def install_log_redaction(extra: Iterable[str] = ()) -> None:
    """Attach the filter to the loggers that can see secrets (idempotent).

    A logger's filter sees only records made by that logger, not its children's, so
    each is named: the list above and every child of them that exists by now (ours are
    made at import time, before any run).
    """
    ours = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name.startswith(("browser_agent.", "extractors.", "websockets.", "httpx.", "httpcore."))
    ]
    for name in (*LOGGERS, *ours, *extra):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def log_for(name: str) -> logging.Logger:
    """A logger of ours with the redaction attached."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
