"""Find a Chromium to drive: explicit setting, Playwright's managed build, then the system's."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .exceptions import BrowserNotFoundError

ENV_VAR = "BROWSER_AGENT_CHROMIUM"
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

INSTALL_HINT = (
    "No Chromium found. Install one of: Debian/Ubuntu `apt-get install -y chromium`, "
    "`playwright install chromium` (where downloads work), or point "
    f"{ENV_VAR}=/path/to/chrome at an existing binary."
)


def _playwright_managed() -> str | None:
    """Playwright's own Chromium, if `playwright install` was ever run on this machine."""
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    bases = [Path(root)] if root and root != "0" else []
    bases.append(Path.home() / ".cache" / "ms-playwright")
    for base in bases:
        if not base.is_dir():
            continue
        for build in sorted(base.glob("chromium-*"), reverse=True):
            for rel in ("chrome-linux/chrome", "chrome-linux64/chrome", "chrome-mac/Chromium.app"):
                candidate = build / rel
                if candidate.exists():
                    return str(candidate)
    return None


def find_chromium(explicit: str | os.PathLike[str] | None = None) -> str:
    """Return the path of a Chromium executable, or raise BrowserNotFoundError."""
    chosen = explicit or os.environ.get(ENV_VAR)
    if chosen:
        path = shutil.which(str(chosen)) or (str(chosen) if Path(chosen).is_file() else None)
        if path is None:
            raise BrowserNotFoundError(f"{chosen!s} (from argument or {ENV_VAR}) does not exist")
        return path
    managed = _playwright_managed()
    if managed:
        return managed
    for name in SYSTEM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserNotFoundError(INSTALL_HINT)


LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
)
