"""Acting from the interactive session, as agent-browser users expect: `/observe`,
`/click 5`, `/type 3 "text" --submit`; a `/goto` that hangs is stopped by Ctrl-C and the
prompt comes back; `/goto` takes a bare host (https:// is tried, and said) and refuses
what is not a URL in one line; lines can be piped in from the shell. No model is used."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pexpect

from browser_agent.testing import FixtureServer

TIMEOUT = 30


def _env() -> dict[str, str]:
    env = {
        **os.environ,
        "OPENAI_BASE_URL": "http://127.0.0.1:1/v1",  # never called: commands only
        "BROWSER_AGENT_MODEL": "none",
        "COLUMNS": "160",
    }
    env.pop("OPENAI_API_KEY", None)
    return env


def spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "browser_agent.cli", *args],
        env=_env(),
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(50, 160),
    )


def test_act_on_refs_from_the_session(site: FixtureServer) -> None:
    child = spawn("--url", site.url("/shop/index.html"))
    try:
        child.expect("task> ")
        child.sendline("/observe")
        child.expect(r'\[(\d+)\] searchbox "Search products"')
        search = child.match.group(1)
        child.expect("task> ")
        child.sendline(f'/type {search} "blue kettle" --submit')
        child.expect(r"ok; navigated to \S+/shop/search\.html\?q=blue\+kettle")
        child.expect(r'\[(\d+)\] link "Blue Kettle"')  # the new page
        kettle = child.match.group(1)
        child.expect("task> ")
        child.sendline(f"/click {kettle}")
        child.expect(r"ok; navigated to \S+/shop/product\.html\?id=1")
        child.expect(r'\[(\d+)\] button "Add to cart"')
        cart = child.match.group(1)
        child.expect("task> ")
        child.sendline(f"/click {cart}")  # no navigation: only what changed
        child.expect(r'\+ \[\d+\] link "Cart \(1\)"')
        child.expect("task> ")
        child.sendline("/click 999")
        child.expect(r"error: .*999")
        child.expect("task> ")
        child.sendline("/click kettle")
        child.expect("error: /click needs a ref first, e.g. /click 5")
        child.expect("task> ")
        child.sendline("/quit")
        child.expect("bye")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before


def test_ctrl_c_stops_a_hanging_goto_and_the_prompt_comes_back(site: FixtureServer) -> None:
    child = spawn()
    try:
        child.expect("task> ")
        child.sendline(f"/goto {site.url('/api/never')}")
        child.expect("opening ")
        child.sendintr()
        child.expect("/goto stopped")
        child.expect("task> ")
        child.sendline(f"/goto {site.url('/index.html')}")
        child.expect(r"at \S+/index\.html")
        child.expect("task> ")
        child.sendline("/goto nowhere")
        child.expect(r"error: 'nowhere' is neither a file nor a URL \(give a full URL")
        child.expect("task> ")
        host = site.origin.removeprefix("http://")  # a bare host: https:// is tried
        child.sendline(f"/goto {host}/index.html")
        child.expect(f"note: {re.escape(host)}/index.html has no scheme: trying https://")
        child.expect("error: goto failed")  # the fixture site speaks http only
        child.expect("task> ")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    assert "Traceback" not in (child.before or "")


def test_commands_piped_from_the_shell(site: FixtureServer) -> None:
    lines = [f"/goto {site.url('/shop/index.html')}", "/observe", "/scroll down", "/press Tab"]
    done = subprocess.run(
        [sys.executable, "-m", "browser_agent.cli"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r'\[\d+\] searchbox "Search products"', out), out
    assert len(re.findall(r"^(?:task> )*ok\b", out, re.MULTILINE)) == 2, out  # scroll, press
    assert out.rstrip().endswith("bye") and "Traceback" not in done.stderr
