"""The wheel: one import package, and a CLI that a user's own `prompts/` or
`fixtures/` folder cannot shadow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("hatchling")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    done = subprocess.run([*cmd, "-w", str(out), str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return next(out.glob("browser_agent-*.whl"))


def test_the_wheel_installs_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"browser_agent"}
    # What the runtime reads at run time comes along, mapped into the package.
    for needed in (
        "browser_agent/extractors/js/serializer/walk.js",
        "browser_agent/extractors/js/actions/prepare.js",
        "browser_agent/extractors/js/vocabulary.json",
        "browser_agent/prompts/tools.json",
        "browser_agent/prompts/system.md",
        "browser_agent/testing/fixtures/site/index.html",
        "browser_agent/testing/fixtures/cassettes/shop_price.json",
    ):
        assert needed in names


def _shadowing_folder(path: Path) -> Path:
    """A project folder of a user's, with packages named like our data folders."""
    for name in ("prompts", "fixtures", "extractors"):
        (path / name).mkdir(parents=True)
        (path / name / "__init__.py").write_text(f"raise ImportError('the user\\'s {name}')\n")
    (path / "prompts" / "tools.json").write_text("not json")
    (path / "prompts" / "system.md").write_text("the user's prompt")
    return path


def test_the_installed_cli_runs_from_a_folder_with_its_own_prompts_and_fixtures(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site-packages"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
    done = subprocess.run([*pip, str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    home = _shadowing_folder(tmp_path / "project")
    env = {**os.environ, "PYTHONPATH": str(target)}
    # The user's folder first on sys.path, as for their own scripts and `python -m`.
    where = subprocess.run(
        [sys.executable, "-c", "import browser_agent; print(browser_agent.__file__)"],
        cwd=home, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(target), where.stderr
    clis = (
        [str(target / "bin" / "browser-agent")],
        [sys.executable, "-c", "import sys; from browser_agent.cli import main; sys.exit(main())"],
    )
    # Both at once: each is a process of its own with its own browser.
    pipe = subprocess.PIPE
    runs = [
        subprocess.Popen([*cli, "demo", "--json"], cwd=home, env=env, stdout=pipe, stderr=pipe)
        for cli in clis
    ]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, (out + err).decode(errors="replace")
        result = json.loads(out)
        assert result["success"] is True, result
