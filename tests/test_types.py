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


def test_every_error_the_package_raises_is_a_browser_agent_error() -> None:
    """One tree: public exception classes anywhere in the package derive from
    BrowserAgentError (Playwright's and CDP's are mapped into it, not subclassed)."""
    import importlib
    import inspect
    import pkgutil

    import browser_agent
    from browser_agent import BrowserAgentError

    outside = []
    for info in pkgutil.walk_packages(browser_agent.__path__, "browser_agent."):
        if ".bench" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
                and not name.startswith("_")
                and not issubclass(obj, BrowserAgentError)
            ):
                outside.append(f"{module.__name__}.{name}")
    assert outside == []
