"""Secrets the model may use but never see: it writes `{{name}}`, the page gets the value.

The value is substituted only at action time, only into `type`, and only on a page
whose host the secret (and the browser's domain policy) allows. Everything that
leaves the runtime toward the model, a log, a recording or an exception message goes
through `redact`, which puts the placeholder back wherever the value shows up (a
text field echoing it, an error quoting the field), so a leak needs two mistakes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import msgspec

from .exceptions import SecretError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


class Secret(msgspec.Struct, frozen=True):
    """A secret value, usable only on hosts matching `domains` (wildcards; empty: any
    host the browser's domain policy allows)."""

    value: str
    domains: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never print the value by accident
        return f"Secret(value='***', domains={self.domains!r})"


SecretsLike = Mapping[str, "str | Secret | Sequence[Any]"]


class Secrets:
    """Named secrets: `Secrets({"pw": "hunter2", "card": Secret("4111…", ("shop.example",))})`."""

    def __init__(self, secrets: SecretsLike | Secrets | None = None) -> None:
        self._redactor: Any = None
        if isinstance(secrets, Secrets):
            self._items: dict[str, Secret] = dict(secrets._items)
            return
        self._items = {}
        for name, value in (secrets or {}).items():
            if not PLACEHOLDER.fullmatch("{{" + name + "}}"):
                raise SecretError(f"invalid secret name {name!r}: use letters, digits, _ . -")
            if isinstance(value, Secret):
                secret = value
            elif isinstance(value, str):
                secret = Secret(value)
            else:
                secret = Secret(str(value[0]), tuple(value[1]))
            if not secret.value:
                raise SecretError(f"secret {name!r} is empty")
            self._items[name] = secret

    def __bool__(self) -> bool:
        return bool(self._items)

    def __repr__(self) -> str:
        return f"Secrets({sorted(self._items)})"

    @property
    def names(self) -> list[str]:
        return list(self._items)

    def values(self) -> list[str]:
        """The raw values, for writers that mask them (recordings)."""
        return [s.value for s in self._items.values()]

    def prompt_note(self) -> str:
        """What the model is told: the placeholders it may type, never the values."""
        if not self._items:
            return ""
        names = ", ".join("{{" + n + "}}" for n in self._items)
        return (
            f"Secrets you may type (write the placeholder exactly, the value is filled in "
            f"for you on the right site): {names}"
        )

    def allowed_on(self, name: str, url: str) -> bool:
        from .browser import host_allowed  # browser imports page, which imports us

        secret = self._items.get(name)
        if secret is None:
            return False
        if not secret.domains:
            return True
        return host_allowed(url, list(secret.domains)) and bool(urlsplit(url).hostname)

    def substitute(self, text: str, url: str, *, policy: Any = None) -> str:
        """`text` with every `{{name}}` replaced by its value, if allowed on `url`.

        `policy` (a Browser) adds its domain policy. Raises SecretError naming the
        placeholder (never the value) for an unknown name or a host not allowed.
        """
        if "{{" not in text:
            return text

        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self._items:
                raise SecretError(f"unknown secret {{{{{name}}}}}; known: {self.names}")
            host = urlsplit(url).hostname or url
            if not self.allowed_on(name, url) or (policy is not None and not policy.allows(url)):
                raise SecretError(f"secret {{{{{name}}}}} may not be used on {host}")
            return self._items[name].value

        return PLACEHOLDER.sub(one, text)

    def placeholders(self) -> dict[str, str]:
        """`{{name}}` → value, for a `Redactor`."""
        return {"{{" + n + "}}": s.value for n, s in self._items.items()}

    def redact(self, text: str) -> str:
        """`text` with every secret value, in any encoding, replaced by its placeholder."""
        if not self._items or not text:
            return text
        if self._redactor is None:
            from .redaction import Redactor

            self._redactor = Redactor(self.placeholders())
        return self._redactor.text(text)

    def redact_all(self, texts: Iterable[str]) -> list[str]:
        return [self.redact(t) for t in texts]

    def redact_obj(self, obj: Any) -> Any:
        """A deep copy of JSON-like data with every string redacted."""
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, dict):
            return {k: self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.redact_obj(v) for v in obj]
        return obj
