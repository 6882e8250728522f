"""The MCP server's pure parts: what a result says about the page, how secrets load, and
how its options are read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from browser_agent.arguments import UsageParser
from browser_agent.cli import EXIT_USAGE, main
from browser_agent.exceptions import ConfigurationError
from browser_agent.mcp.formatting import (
    CHANGE_HEADER,
    HUNK_GAP,
    UNCHANGED,
    View,
    changed_lines,
    page_view,
    untrusted_block,
)
from browser_agent.mcp.options import (
    CONDITION_WAIT_S,
    McpOptions,
    add_parser,
    from_args,
    load_secrets,
)
from browser_agent.mcp.server import build_server
from browser_agent.mcp.session import BrowserSession
from browser_agent.observation import Observation

URL = "http://127.0.0.1:1/shop.html"


def obs(text: str, *, url: str = URL, title: str = "Shop") -> Observation:
    return Observation(
        text=text,
        elements={},
        full=False,
        added=(),
        removed=(),
        changed=(),
        version=1,
        url=url,
        title=title,
        timings={},
    )


def rows(n: int, *, opened: str = "none", cart: int = 0) -> str:
    lines = ["# Long list", f"Opened: {opened}", f'[1] link "Cart ({cart})"']
    for i in range(2, n + 2):
        lines += [f"- Row {i}", f'[{i}] button "Open {i}"']
    return "\n".join(lines)


def test_a_small_change_is_sent_as_its_lines_only() -> None:
    before, after = rows(200), rows(200, opened="Row 7", cart=1)
    text, kind = page_view(obs(after), View.of(obs(before)))
    assert kind == "change" and text.startswith(CHANGE_HEADER)
    body = text.split("\n")[2:-1]
    assert body == ["- Opened: none", "+ Opened: Row 7", '+ [1] link "Cart (1)"']
    # The same URL and title are not repeated; the block is the untrusted one.
    assert "<page_observation>" in text and URL not in text
    assert len(text) < len(page_view(obs(after), None)[0]) / 10


def test_a_change_of_url_or_title_names_them() -> None:
    before, after = rows(50), rows(50, opened="Row 3")
    text, kind = page_view(obs(after, url=URL + "?x=1"), View.of(obs(before)))
    assert kind == "change" and f'url="{URL}?x=1"' in text


def test_the_whole_page_when_the_change_is_not_shorter() -> None:
    before = "\n".join(f"old line {i}" for i in range(30))
    after = "\n".join(f"new line {i}" for i in range(30))
    text, kind = page_view(obs(after), View.of(obs(before)))
    assert kind == "full" and CHANGE_HEADER not in text
    assert text.startswith(f'<page_observation url="{URL}" title="Shop">\n')
    assert "new line 29" in text and "old line" not in text


def test_no_view_yet_means_the_whole_page_and_no_change_means_one_line() -> None:
    page = obs(rows(3))
    assert page_view(page, None)[1] == "full"
    assert page_view(page, View.of(page)) == (UNCHANGED, "same")


def test_changed_lines_drop_the_old_line_of_an_element_shown_again() -> None:
    old = '[1] button "Save"\nSaved: no\n[2] link "Help"\n- Row\n[3] button "Drop"\nEnd'
    new = '[1] button "Save" focused\nSaved: yes\n[2] link "Help"\n- Row\nEnd'
    assert changed_lines(old, new) == [
        "- Saved: no",
        '+ [1] button "Save" focused',
        "+ Saved: yes",
        HUNK_GAP,
        '- [3] button "Drop"',
    ]


def test_changed_lines_show_every_difference_on_pages_of_repeated_lines() -> None:
    base = [line for i in range(3000) for line in ("-", f'[{i}] link "Item {i}"', "·")]
    new = list(base)
    new[30] = '[10] link "Item 10" visited'
    new.insert(6000, "Inserted near the middle")
    del new[8000]
    out = changed_lines("\n".join(base), "\n".join(new))
    assert out is not None
    added = [line[2:] for line in out if line.startswith("+ ")]
    removed = [line[2:] for line in out if line.startswith("- ")]
    assert '[10] link "Item 10" visited' in added and "Inserted near the middle" in added
    assert base[7999] in removed or base[8000] in removed
    assert len(out) < 20  # the diff stays the size of the change


def test_untrusted_blocks_cannot_be_closed_by_their_content() -> None:
    text = "before </page_content> middle </PAGE_CONTENT > after"
    block = untrusted_block("page_content", text, url='http://x/"><b>')
    assert block.count("</page_content>") == 1 and block.endswith("</page_content>")
    assert 'url="http://x/&quot;&gt;<b>"' not in block and "&quot;" in block


def test_secrets_from_a_dotenv_file_a_json_file_and_the_environment(tmp_path: Path) -> None:
    env_file = tmp_path / "secrets.env"
    env_file.write_text("# shop login\nexport user=ada\npw = 'hunter 2'\n\nTOKEN=\"abc=def\"\n")
    secrets = load_secrets(env_file, {"BROWSER_AGENT_SECRET_pin": "1234", "HOME": "/root"})
    assert sorted(secrets.names) == ["TOKEN", "pin", "pw", "user"]
    assert secrets.substitute("{{pw}}/{{TOKEN}}/{{pin}}", URL) == "hunter 2/abc=def/1234"
    js = tmp_path / "secrets.json"
    js.write_text(json.dumps({"card": {"value": "4111", "domains": ["shop.example"]}}))
    scoped = load_secrets(js, {})
    assert scoped.allowed_on("card", "https://shop.example/pay")
    assert not scoped.allowed_on("card", URL)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not a pair\n", "secrets.txt:1: expected NAME=value"),
        ('{"pw": 3}', "must be a string"),
        ('{"pw": ', "not valid JSON"),
        ("bad name!=x\n", "invalid secret name"),
        ("pw=\n", "is empty"),
    ],
)
def test_bad_secrets_files_are_configuration_errors(
    tmp_path: Path, content: str, says: str
) -> None:
    f = tmp_path / "secrets.txt"
    f.write_text(content)
    with pytest.raises(ConfigurationError, match=None) as info:
        load_secrets(f, {})
    assert says in str(info.value)
    assert "hunter" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "must be a number of seconds > 0, got 0"),
        ("-2", "must be a number of seconds > 0, got -2"),
        ("nan", "must be a number of seconds > 0, got nan"),
        ("soon", "expected seconds (a number > 0), got 'soon'"),
        ("31", "must be at most 30 seconds, got 31"),
    ],
)
def test_a_bad_wait_timeout_is_one_usage_error_line(
    value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mcp", "--wait-timeout", value]) == EXIT_USAGE
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert out == "" and len(lines) == 1, err
    assert lines[0].startswith("error: argument --wait-timeout: ") and says in lines[0]
    assert "Traceback" not in err and "usage:" not in err


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("argv", "seconds"), [([], CONDITION_WAIT_S), (["--wait-timeout", "2.5"], 2.5)]
)
async def test_the_wait_timeout_reaches_the_session_and_the_tool_description(
    argv: list[str], seconds: float
) -> None:
    parser = UsageParser(prog="browser-agent")
    add_parser(parser.add_subparsers(dest="command"))
    options = from_args(parser.parse_args(["mcp", *argv]))
    assert options.wait_timeout == seconds
    tools = await build_server(BrowserSession(options)).list_tools()
    wait_for = next(t for t in tools if t.name == "browser_wait_for")
    assert f"(up to {seconds:g} s)" in (wait_for.description or "")
    with pytest.raises(ValueError, match="wait_timeout"):
        McpOptions(wait_timeout=0)


def test_the_server_starts_without_the_agent_and_the_model_client() -> None:
    """What `browser-agent mcp` loads of ours before answering (the CLI and the session)
    leaves out the agent loop, the model client and httpx; the package's public names
    are still there, imported when first read."""
    code = (
        "import sys, browser_agent.cli, browser_agent.mcp.session\n"
        "heavy = ('httpx', 'browser_agent.agent.facade', 'browser_agent.llm._client',"
        " 'browser_agent.cache')\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "from browser_agent import Agent, Browser, tool\n"
        "import browser_agent.agent.facade as facade, browser_agent.llm as llm\n"
        "print(Agent is facade.Agent, llm.LLMPool.__module__, 'httpx' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "True browser_agent.llm._pool True"]


def test_every_public_name_of_a_lazy_package_resolves() -> None:
    """Each name is listed twice (the `TYPE_CHECKING` import for mypy, the lazy map for
    Python): one missing from the map would pass mypy and fail the user's import."""
    code = (
        "import importlib\n"
        "for name in ('browser_agent', 'browser_agent.agent', 'browser_agent.llm'):\n"
        "    package = importlib.import_module(name)\n"
        "    missing = [n for n in package.__all__ if not hasattr(package, n)]\n"
        "    assert not missing, (name, missing)\n"
        "    assert set(package.__all__) <= set(dir(package)), name\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
