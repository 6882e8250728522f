"""The launch's `--disable-features` keeps Playwright's list and adds ours and the caller's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from browser_agent import Browser
from browser_agent.launch_flags import (
    SPEED_DISABLED_FEATURES,
    playwright_disabled_features,
    with_features,
)

pytestmark = pytest.mark.anyio


def test_playwrights_list_is_read_and_merged_with_ours_and_the_callers() -> None:
    base = playwright_disabled_features()
    assert base is not None and "MediaRouter" in base  # one Playwright always disables
    out = with_features(["--x", "--disable-features=Foo,MediaRouter", "--disable-features=Bar"])
    flags = [a for a in out if a.startswith("--disable-features=")]
    assert out[0] == "--x" and len(flags) == 1
    names = flags[0].removeprefix("--disable-features=").split(",")
    assert names[: len(base)] == list(base)
    assert set(SPEED_DISABLED_FEATURES) | {"Foo", "Bar"} <= set(names)
    assert len(names) == len(set(names))


def _renderer_flags(port: str) -> list[str]:
    """The --disable-features of renderers under the browser serving debug `port`."""
    procs: dict[int, tuple[int, list[str]]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            # Zygote children retitle themselves: one space-joined string, not argv.
            argv = (d / "cmdline").read_bytes().decode(errors="replace").replace("\0", " ").split()
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        procs[int(d.name)] = (ppid, argv)
    found = []
    for ppid, argv in procs.values():
        if "--type=renderer" not in argv:
            continue
        up = ppid
        for _ in range(4):  # renderer -> zygote(s) -> browser
            if up not in procs:
                break
            if f"--remote-debugging-port={port}" in procs[up][1]:
                found += [a for a in argv if a.startswith("--disable-features=")]
                break
            up = procs[up][0]
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_the_browser_runs_with_both_lists() -> None:
    async with Browser.launch(args=["--disable-features=Foo"]) as browser:
        page = await browser.new_page()
        await page.goto("data:text/html,<p>hello")
        assert browser.debug_endpoint is not None
        flags = _renderer_flags(browser.debug_endpoint.rsplit(":", 1)[1])
    assert flags, "no renderer of this browser found"
    names = set(flags[0].removeprefix("--disable-features=").split(","))
    assert {"MediaRouter", "Foo", *SPEED_DISABLED_FEATURES} <= names


async def test_no_browser_ui_renders_beside_the_pages() -> None:
    """A headless window would otherwise load the omnibox popups' WebUI in a renderer of
    its own, which competes with the first page load of every new tab for the CPU."""
    async with Browser.launch() as browser:
        page = await browser.new_page()
        await page.goto("data:text/html,<p>hello")
        session = await browser._browser.new_browser_cdp_session()
        targets = (await session.send("Target.getTargets", {"filter": [{}]}))["targetInfos"]
    assert any(t["type"] == "page" for t in targets)
    ui = [t["url"] for t in targets if t["type"] == "browser_ui"]
    assert ui == [], f"browser UI rendering next to the pages: {ui}"
