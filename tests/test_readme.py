"""The README's examples run as written: every Python block is run against the fixture
site, with only its URLs pointed at the loopback fixture server and its model at a local
cassette model; its sample observation is real output; its Playwright server recipe
starts a server that `Browser.connect` can use."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from test_remote import _stop

from browser_agent import Browser, ConfigurationError
from browser_agent.cli import main
from browser_agent.discovery import find_chromium
from browser_agent.testing import Cassette, FixtureServer, LocalModelServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
PRESET = re.compile(r'ProviderConfig\.from_preset\("(\w+)", model="[^"]+"\)')
SHOP_TASK = Cassette.of(
    'type searchbox "Search products" "kettle" submit',
    'click link "Blue Kettle"',
    'click button "Add to cart"',
    'done "Added the Blue Kettle to the cart"',
)


def rewrite(block: str, site: FixtureServer, model: LocalModelServer) -> str:
    """Only the URLs (to the fixture site) and the models (to the local one) change."""
    block = block.replace("https://shop.example/", site.url("/shop/"))
    block = block.replace("https://example.com", site.url("/shop/index.html"))
    local = f'ProviderConfig(name="\\1", base_url="{model.base_url}", model="local-model")'
    return PRESET.sub(local, block)


def test_the_readme_has_the_examples_it_should() -> None:
    assert len(PYTHON_BLOCKS) == 6
    assert all("anyio.run(main)" in b for b in PYTHON_BLOCKS)  # whole programs, as written


@pytest.mark.parametrize(
    "n", range(6), ids=["observe", "act", "agent", "cache", "hedging", "testing"]
)
def test_python_blocks_run_as_written(
    n: int, site: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = PYTHON_BLOCKS[n]
    with LocalModelServer(SHOP_TASK) as model:
        script = tmp_path / f"block{n}.py"
        script.write_text(rewrite(block, site, model))
        assert "shop.example" not in script.read_text()
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env["GROQ_API_KEY"] = env["CEREBRAS_API_KEY"] = "sk-unused-local-0123456789"
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        out = done.stdout
        if n == 0:
            assert '[5] searchbox "Search products"' in out and "False" in out
        elif n == 1:
            assert "True True" in out  # navigated, settled
            assert "role='link', name='Cart (1)'" in out
            assert "# Checkout" in out
        elif n == 2:
            assert "True Added the Blue Kettle to the cart" in out
            assert "timing report" in out and "<rich.table" not in out
            assert model.stats().requests == 4
        elif n == 3:
            first, second = out.splitlines()[0:4:2]
            assert first == "True miss" and second == "True hit", out
            assert model.stats().requests == 4  # all of them on the first run
        elif n == 4:
            assert out.count("{") == 3 and "'groq'" in out and "'vllm'" in out
        else:
            assert out.strip() == "click Add to cart"
            assert model.stats().requests == 0  # the scripted model answered in process


def test_the_sample_observation_is_real_output(capsys: pytest.CaptureFixture[str]) -> None:
    command = "browser-agent observe fixtures/site/shop/checkout.html"
    assert command in README
    sample = README.split(command, 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert main(["observe", str(ROOT / "fixtures" / "site" / "shop" / "checkout.html")]) == 0
    assert capsys.readouterr().out == sample


def test_the_playwright_server_recipe_works(tmp_path: Path) -> None:
    """The README's `launch-server` recipe on an installed Chromium, on a free port."""
    recipe = re.search(r"echo '(\{.*?\})' > pw-server\.json", README, re.DOTALL)
    assert recipe is not None
    config = json.loads(recipe.group(1))
    assert config["executablePath"] == "/usr/bin/chromium"
    config.update(executablePath=find_chromium(), port=0)
    (tmp_path / "pw-server.json").write_text(json.dumps(config))
    assert "playwright launch-server --browser chromium --config pw-server.json" in README
    command = ["launch-server", "--browser", "chromium", "--config", "pw-server.json"]
    server = subprocess.Popen(
        [sys.executable, "-m", "playwright", *command],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        endpoint = server.stdout.readline().strip()
        assert endpoint.startswith("ws://127.0.0.1:") and endpoint.endswith("/browser")

        async def connect() -> str:
            async with Browser.connect(endpoint) as browser:
                return browser.version

        assert anyio.run(connect)
    finally:
        _stop(server, [])  # the group: `terminate()` would stop only the Python wrapper


def test_a_playwright_server_without_a_browser_is_explained(tmp_path: Path) -> None:
    """`run-server` without --unsafe ignores executablePath and has no browser of its
    own here: the error says so and what to do."""
    server = subprocess.Popen(
        [sys.executable, "-m", "playwright", "run-server", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path)},  # nothing installed
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        endpoint = line.split("Listening on ", 1)[1].strip()

        async def connect() -> None:
            async with Browser.connect(endpoint, timeout=20):
                pass

        with pytest.raises(ConfigurationError) as caught:
            anyio.run(connect)
        message = str(caught.value)
        assert "has no browser to launch" in message and "executablePath" in message
        assert "\n" not in message and "╔" not in message
    finally:
        _stop(server, [])
