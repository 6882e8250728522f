"""The package type-checks: mypy (configured in pyproject.toml) reports no error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_reports_no_error() -> None:
    exe = Path(sys.executable).with_name("mypy")
    found = str(exe) if exe.exists() else shutil.which("mypy")
    if not found:
        pytest.skip("mypy is not installed")
    done = subprocess.run([found], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr


def test_observation_get_raises_where_find_gives_none() -> None:
    from browser_agent import Element, ElementNotFoundError, Observation, PageError

    button = Element(4, "button", "button", "Search", None, (), (0, 0, 80, 20))
    obs = Observation(
        '[4] button "Search"', {4: button}, True, (4,), (), (), 1, "https://a.test/", "", {}
    )
    assert obs.get("button", "Search") is button
    assert obs.find("link") is None
    with pytest.raises(ElementNotFoundError, match=r'no link "Home" in the observation') as exc:
        obs.get("link", "Home")
    assert isinstance(exc.value, PageError)
