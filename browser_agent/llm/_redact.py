"""Keys never reach logs, errors, recordings or reprs: everything shown passes through here."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers echoed back by a server.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]+"), r"\1" + MASK),
    # Well-known key shapes (OpenAI, Groq, Cerebras, Fireworks, xAI...).
    (re.compile(r"\b(?:sk|gsk|csk|fw|xai|rk)[-_][A-Za-z0-9_\-]{8,}"), MASK),
    # Credentials in URLs: scheme://user:pass@host. Neither rule runs past a quote, a
    # backslash or an angle bracket: redaction also runs over JSON lines (recordings),
    # and eating a closing quote would make the line unreadable.
    (re.compile(r"(?<=://)[^/\s:@\"'\\<>]+:[^/\s@\"'\\<>]+@"), MASK + "@"),
    # Keys passed as query parameters.
    (
        re.compile(r"(?i)([?&](?:api[-_]?key|key|token|access_token)=)[^&\s\"'\\<>]+"),
        r"\1" + MASK,
    ),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Mask the given secrets and anything shaped like a credential."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text
