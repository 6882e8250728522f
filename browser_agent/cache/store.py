"""The cache directory: one recording per key, replaced whole and never seen half-written.

`DIR/<key>.jsonl` holds the recording of the last successful run of a task (a
`browser_agent.recording` file of one session). A run writes its own recording into
`DIR/.partial/` as it goes; only a successful run's file is moved over the entry, by an
atomic rename under a lock (`filelock`), after its bytes reached the disk. Readers take
no lock: a rename swaps the whole file, so a reader sees the old entry or the new one,
never a torn one, also when `batch` runs the same task many times at once.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from filelock import FileLock, Timeout

from ..exceptions import ConfigurationError
from ..recording import Recording, RecordingError, read
from .key import cache_key

STALE_PARTIAL_S = 3600.0
"""A partial file untouched this long belongs to a run that was killed."""
if TYPE_CHECKING:
    from .player import CachePlayer

LOCK_TIMEOUT_S = 10.0
"""Longest wait for another process's rename or clear (each takes milliseconds)."""


class CacheError(ConfigurationError):
    """The cache directory cannot be used (a file is in its place, it cannot be created)."""


class Miss(msgspec.Struct, frozen=True):
    """Why a lookup found no usable entry."""

    reason: str


class ActionCache:
    """A directory of recorded successful runs, one per task key.

    ```
    cache = ActionCache("~/.cache/browser-agent")      # or Agent(..., cache="DIR")
    agent = Agent(task, llm=pool, start_url=url, cache=cache)
    cache.clear()                                     # forget every task
    ```
    `key` is mixed into every task's key: change it to start over without clearing.
    """

    def __init__(self, directory: str | os.PathLike[str], *, key: str | None = None) -> None:
        path = Path(directory).expanduser()
        if path.exists() and not path.is_dir():
            raise CacheError(f"the action cache {path} is not a directory")
        self.directory = path
        self.key = key

    def __repr__(self) -> str:
        return f"ActionCache({str(self.directory)!r}, key={self.key!r})"

    # -- keys and paths

    def key_for(self, task: str, start_url: str | None, tools: list[dict[str, object]]) -> str:
        return cache_key(task, start_url, tools, self.key)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.jsonl"

    def _ensure(self) -> None:
        try:
            (self.directory / ".partial").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise CacheError(f"cannot create the action cache {self.directory}: {why}") from None

    def _lock(self) -> FileLock:
        return FileLock(str(self.directory / ".lock"), timeout=LOCK_TIMEOUT_S)

    def player(self, run: Any, target: object) -> CachePlayer:
        """The cache's part in one agent run (see `player.CachePlayer`)."""
        from ..page import Page
        from .player import CachePlayer

        start = run.agent.start_url or (target.url if isinstance(target, Page) else None)
        return CachePlayer(self, run, start)

    # -- reading

    def load(self, key: str) -> Recording | Miss:
        """The entry for `key`, or why there is none usable (absent, unreadable, from a
        run that did not succeed, written for another key)."""
        path = self.path(key)
        if not path.is_file():
            return Miss("no entry for this task")
        try:
            f = read(path)
        except RecordingError as exc:
            return Miss(f"the entry is unreadable: {exc}")
        rec = f.sessions[0]
        if len(f.sessions) != 1 or f.torn or rec.footer is None:
            return Miss("the entry is incomplete")
        if not rec.footer.success:
            return Miss("the entry is not from a successful run")
        if rec.header.settings.get("cache_key") != key:
            return Miss("the entry was written for another key")
        return rec

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.path(key).is_file()

    def keys(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.jsonl"))

    # -- writing

    def partial(self) -> Path:
        """A fresh file in `.partial/` for a run to record into."""
        self._ensure()
        return self.directory / ".partial" / f"{os.getpid()}-{uuid.uuid4().hex}.jsonl"

    def commit(self, partial: Path, key: str) -> Path:
        """Make `partial` the entry for `key`: flushed to disk, then renamed over the old
        entry under the lock. Raises CacheError (the partial is removed) when it cannot."""
        target = self.path(key)
        try:
            with open(partial, "rb+") as f:
                os.fsync(f.fileno())
            with self._lock():
                os.replace(partial, target)
        except (OSError, Timeout) as exc:
            self.discard(partial)
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise CacheError(f"cannot store the entry in {self.directory}: {why}") from None
        return target

    @staticmethod
    def discard(partial: Path) -> None:
        with contextlib.suppress(OSError):
            partial.unlink()

    def clear(self) -> int:
        """Forget every task; returns how many entries went. Partial files older than
        `STALE_PARTIAL_S` (left by killed runs) go too; a run still going stores its
        entry when it ends, as usual."""
        if not self.directory.is_dir():
            return 0
        gone = 0
        try:
            with self._lock():
                for p in self.directory.glob("*.jsonl"):
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()
                        gone += 1
                old = time.time() - STALE_PARTIAL_S
                for p in self.directory.glob(".partial/*.jsonl"):
                    with contextlib.suppress(OSError):
                        if p.stat().st_mtime < old:
                            p.unlink()
        except Timeout:
            raise CacheError(f"the action cache {self.directory} stayed locked") from None
        return gone


def as_cache(value: ActionCache | str | os.PathLike[str] | None) -> ActionCache | None:
    """`Agent(cache=...)`: a directory or an `ActionCache`."""
    if value is None or isinstance(value, ActionCache):
        return value
    if isinstance(value, str) and not value.strip():
        raise CacheError("the action cache directory is empty")
    return ActionCache(value)
