"""Command-line values checked where they are read, so a bad one is a one-line usage error.

argparse types (`whole(1)`, `seconds`, `url`) refuse a value with a sentence naming what
the flag accepts; `UsageParser` turns argparse's own errors into `UsageError` instead of
printing usage and exiting; `config_error` says the same of a pydantic validation error,
naming the flag or environment variable the bad value came from.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from pydantic import ValidationError

from .exceptions import ConfigurationError


class UsageError(ConfigurationError):
    """A command line argparse could not read: unknown flag, missing or malformed value."""


class UsageParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are raised (one line, the CLI prints it) rather than
    printed with the usage block; `--help` still prints the full help."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def whole(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `low`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {low}, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"whole number ≥ {low}"
    return parse


def seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (a number > 0), got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text}")
    return value


def http_url(text: str) -> str:
    """An argparse type: a full http(s) URL."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(
            f"expected a full http(s) URL such as https://example.com, got {text!r}"
        )
    return text


def record_file(text: str) -> Path:
    """An argparse type: a file to append a recording to (not a directory)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file such as run.jsonl")
    return path


_HOSTLIKE = re.compile(r"^(localhost|[\w-]+(\.[\w-]+)+|\[[0-9a-fA-F:.]+\])(:\d+)?([/?#].*)?$")
_FILELIKE = (".html", ".htm", ".xhtml", ".mhtml", ".svg", ".txt")


def guess_url(text: str) -> tuple[str | None, str]:
    """A URL for what a person typed where a URL goes, and a note when it was guessed.

    A full URL is kept; `example.com/path` or `localhost:8000` gets `https://` (the note
    says so); anything else gives None and the reason.
    """
    text = text.strip()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text) or text.startswith(("about:", "data:")):
        return text, ""
    if text.lower().endswith(_FILELIKE) and "/" not in text.split("?")[0].rstrip("/"):
        return None, f"no file {text!r} here, and it is not a URL"
    if _HOSTLIKE.match(text):
        url = f"https://{text}"
        return url, f"{text} has no scheme: trying {url}"
    return None, f"{text!r} is neither a file nor a URL (give a full URL, e.g. https://example.com)"


def config_error(exc: ValidationError, names: Mapping[str, str]) -> ConfigurationError:
    """One line for a pydantic error: each bad field under the flag or variable it came
    from (`names`: field -> "--max-steps"), what it accepts and what it got."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(x) for x in err.get("loc", ())) or "value"
        name = names.get(field, field)
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        got: Any = err.get("input")
        shown = f", got {got!r}" if isinstance(got, str | int | float) else ""
        parts.append(f"{name}: {msg}{shown}")
    return ConfigurationError("; ".join(parts) or str(exc).splitlines()[0])
