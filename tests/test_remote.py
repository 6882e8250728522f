"""Remote browsers: the same scripted task over CDP (http and ws) and a Playwright server.

The CDP Chromium and the Playwright server run once for the whole test session (other
modules use them too): each starts in a process session of its own on 127.0.0.1 and,
when the test session ends, that whole process group is stopped and checked to have
left nothing running.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit

import pytest
from input_support import assert_user_clicks, clicks_seen

from browser_agent import Browser, ConfigurationError, NavigationError
from browser_agent.discovery import LAUNCH_ARGS, find_chromium
from browser_agent.testing import FixtureServer, Submission

pytestmark = pytest.mark.anyio

LOOPBACK = ["127.0.0.1"]
START_TIMEOUT = 30.0


def submitted(site: FixtureServer, mark: int) -> Submission:
    """The first form submission made after `mark` (len(site.submissions) beforehand):
    the site is shared by the whole session, so earlier tests may have left some."""
    while True:
        sub = site.wait_submission(timeout=5.0)
        if any(s is sub for s in site.submissions[mark:]):
            return sub


def _read_until(stream: IO[bytes], pattern: re.Pattern[bytes], timeout: float) -> bytes:
    """Read a child's output until `pattern` matches; bounded by `timeout`."""
    buf = b""
    deadline = time.monotonic() + timeout
    fd = stream.fileno()
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        if m := pattern.search(buf):
            return m.group(1)
    raise RuntimeError(f"child did not print {pattern.pattern!r} in {timeout} s:\n{buf[-2000:]!r}")


def _drain(stream: IO[bytes]) -> threading.Thread:
    """Keep reading a pipe so the child never blocks on a full one; ends at EOF."""

    def run() -> None:
        while os.read(stream.fileno(), 65536):
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _procs() -> dict[int, tuple[int, int]]:
    """Live processes: pid -> (parent pid, process group), from Linux /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            out[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return out


def _group(pgid: int) -> list[int]:
    return [pid for pid, (_, group) in _procs().items() if group == pgid]


def _descendants(root: int) -> set[int]:
    procs = _procs()
    found = {root}
    grew = True
    while grew:
        new = {pid for pid, (ppid, _) in procs.items() if ppid in found} - found
        found |= new
        grew = bool(new)
    return found - {root}


def _wait_gone(pids: list[int], timeout: float) -> None:
    """Block until these processes exit (pidfd readiness, no polling), or `timeout`."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            select.select([fd], [], [], max(deadline - time.monotonic(), 0.0))
        finally:
            os.close(fd)


def _stop(proc: subprocess.Popen[Any], drains: list[threading.Thread]) -> None:
    """Stop the child's whole process group (TERM, then KILL after a bound), and any
    descendant that left the group (Playwright starts browsers in groups of their own)."""
    children = _descendants(proc.pid)
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # A Playwright server closes the browsers it launched on TERM but keeps
        # listening: wait for those (bounded), give the group a moment, then KILL it.
        group = _group(proc.pid)
        _wait_gone([pid for pid in children if pid not in group], wait)
        _wait_gone(group, wait if sig == signal.SIGKILL else 0.5)
        if not _group(proc.pid):
            break
    strays = children & set(_procs())
    for pid in strays:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _wait_gone(list(strays), 5.0)
    for t in drains:
        t.join(timeout=5)
    assert not _group(proc.pid), "processes left behind"
    assert not strays, f"descendants outlived their server: {sorted(strays)}"


_SHARED: dict[str, str] = {}
"""What `shared` started: its name -> the URL it yielded."""


def shared(request: pytest.FixtureRequest, name: str, start: Callable[[], Iterator[str]]) -> str:
    """One process for the whole session, whichever module asks first, stopped (and
    checked to leave nothing behind) when the session ends: starting one costs 1-3 s on
    two cores, and what it serves (a fresh context, a browser per connection) is each
    test's own either way."""
    if name not in _SHARED:
        running = start()
        _SHARED[name] = next(running)

        def stop() -> None:
            del _SHARED[name]
            running.close()  # runs the generator's `finally`: `_stop`, and its checks

        request.session.addfinalizer(stop)
    return _SHARED[name]


def _chromium(profile: Path) -> Iterator[str]:
    """A headless Chromium with a DevTools port on 127.0.0.1: yields its
    ws://…/devtools/browser/… URL. Without Local Network Access checks and the popup
    blocker, as test_faults_policy needs (its probes open popups to loopback hosts
    standing in for foreign ones); the other tests stay on 127.0.0.1."""
    cmd = [
        find_chromium(), "--headless", "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0", f"--user-data-dir={profile}", *LAUNCH_ARGS,
        "--disable-features=LocalNetworkAccessChecks", "--disable-popup-blocking",
        "about:blank",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stderr is not None
    drains: list[threading.Thread] = []
    try:
        listening = re.compile(rb"DevTools listening on (ws://\S+)")
        ws = _read_until(proc.stderr, listening, START_TIMEOUT)
        drains.append(_drain(proc.stderr))
        yield ws.decode()
    finally:
        _stop(proc, drains)


def _playwright_server() -> Iterator[str]:
    """`playwright run-server` on a free loopback port: yields its ws:// URL. A client
    adds ?launch-options= pointing the server at our Chromium (hence `--unsafe`, which
    allows that); the server launches a browser per connection."""
    cmd = [
        sys.executable, "-m", "playwright", "run-server",
        "--host", "127.0.0.1", "--port", "0", "--unsafe",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    drains: list[threading.Thread] = []
    try:
        base = _read_until(proc.stdout, re.compile(rb"Listening on (ws://\S+)"), START_TIMEOUT)
        drains.append(_drain(proc.stdout))
        yield base.decode()
    finally:
        _stop(proc, drains)


def launching(server: str, *args: str) -> str:
    """A Playwright server's URL whose connections launch our headless Chromium."""
    options = {"executablePath": find_chromium(), "args": [*LAUNCH_ARGS, *args], "headless": True}
    return f"{server}?launch-options={quote(json.dumps(options))}"


@pytest.fixture(scope="module")
def cdp_endpoint(request: pytest.FixtureRequest) -> str:
    """The session's CDP Chromium (see `_chromium`): its ws://…/devtools/browser/… URL."""
    factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    return shared(request, "cdp", lambda: _chromium(factory.mktemp("cdp-profile")))


@pytest.fixture(scope="module")
def playwright_server(request: pytest.FixtureRequest) -> str:
    """The session's Playwright server (see `_playwright_server`), launching our Chromium."""
    return launching(shared(request, "playwright-server", _playwright_server))


@pytest.fixture(scope="module")
async def server_browser(playwright_server: str) -> AsyncIterator[Browser]:
    """One connection to the Playwright server for this module's tests: each connection
    launches a browser there (1-3 s); each test works in a context of its own."""
    async with Browser.connect(playwright_server, allowed_domains=LOOPBACK) as browser:
        yield browser


async def scripted_task(browser: Browser, site: FixtureServer, tmp_path: Path) -> None:
    """Clicks, form, checkbox, select, upload and a single-page app: the same for every
    transport (a Playwright server has no direct socket: its clicks go through Playwright)."""
    mark = len(site.submissions)
    page = await browser.new_page()
    assert_user_clicks(await clicks_seen(page, site))
    await page.goto(site.url("/spa.html"))
    obs = await page.observe()
    r = await page.click(obs.get(name="Clicked 0 times").ref)
    assert r.settled and r.observation.find(name="Clicked 1 times")  # type: ignore[union-attr]

    doc = tmp_path / "remote.txt"
    doc.write_bytes(b"sent from afar\n")
    await page.goto(site.url("/form.html"))
    obs = await page.observe()
    await page.type(obs.get(name="Full name").ref, "Remote Ada")
    await page.check(obs.get(name="Fresh basil").ref)
    await page.select(obs.get(name="Country").ref, "France")
    await page.upload(obs.get(name="Attachment").ref, doc)
    r = await page.click(obs.get(name="Submit order").ref)
    assert r.navigated and "Received" in r.observation.text  # type: ignore[union-attr]
    sub = submitted(site, mark)
    assert sub.first("full_name") == "Remote Ada" and sub.first("country") == "fr"
    assert sub.fields["topping"] == ["olives", "basil"]
    assert sub.files["attachment"] == ("remote.txt", b"sent from afar\n")
    # The domain policy holds remotely too.
    with pytest.raises(NavigationError):
        await page.goto("http://example.invalid/")
    await page.close()


async def test_cdp_http_endpoint(cdp_endpoint: str, site: FixtureServer, tmp_path: Path) -> None:
    port = urlsplit(cdp_endpoint).port
    async with Browser.connect(f"http://127.0.0.1:{port}", allowed_domains=LOOPBACK) as browser:
        assert browser.version
        await scripted_task(browser, site, tmp_path)


async def test_cdp_ws_endpoint(cdp_endpoint: str, site: FixtureServer, tmp_path: Path) -> None:
    async with Browser.connect(cdp_endpoint, allowed_domains=LOOPBACK) as browser:
        await scripted_task(browser, site, tmp_path)


async def test_playwright_server(
    server_browser: Browser, site: FixtureServer, tmp_path: Path
) -> None:
    await scripted_task(server_browser, site, tmp_path)


async def test_remote_upload_ships_bytes(
    server_browser: Browser, site: FixtureServer, tmp_path: Path
) -> None:
    """A browser on another machine cannot read our paths: the bytes go over the wire."""
    browser = await server_browser.new_context()
    try:
        browser.is_local = False
        mark = len(site.submissions)
        page = await browser.new_page()
        await page.goto(site.url("/upload.html"))
        obs = await page.observe()
        doc = tmp_path / "far.bin"
        doc.write_bytes(bytes(range(256)))
        r = await page.upload(obs.get(name="Document to upload").ref, doc)
        assert "far.bin (256 bytes)" in r.observation.text  # type: ignore[union-attr]
        await page.click(obs.get(name="Upload file").ref)
        assert submitted(site, mark).files["document"] == ("far.bin", bytes(range(256)))
    finally:
        await browser.close()


async def test_bad_endpoints_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        await Browser.connect("ftp://127.0.0.1:1/")
    with pytest.raises(ConfigurationError):
        await Browser.connect("http://127.0.0.1:1", timeout=5)
