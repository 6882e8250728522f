"""The action vocabulary is written once: the registry, checked against what the model
is offered, what the loop runs and what cassettes say."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_agent.agent import ACTIONS, PAGE_ACTIONS, RunContext, run_action
from browser_agent.agent.registry import tools_json
from browser_agent.exceptions import ConfigurationError, PageError
from browser_agent.interactive import ACTIONS as SESSION_COMMANDS
from browser_agent.llm import load_tools
from browser_agent.recording import ActionLine, Fingerprint
from browser_agent.testing.cassette import ObservationText, _command, parse_command

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.anyio

OBS = '[3] searchbox "Search"\n[7] checkbox "I agree"\n[9] combobox "Country"'


def test_tools_json_is_generated_from_the_registry() -> None:
    # Regenerate with `python -m browser_agent.agent.registry > prompts/tools.json`.
    assert (ROOT / "prompts" / "tools.json").read_text("utf-8") == tools_json()
    assert [t["function"]["name"] for t in load_tools()] == list(ACTIONS)


def test_every_action_but_done_runs_on_the_page() -> None:
    assert set(ACTIONS) - {"done"} == PAGE_ACTIONS
    assert all(ACTIONS[n].run is not None for n in PAGE_ACTIONS)


# What the model may send, the cassette command for it, and whether it can navigate.
CASES = [
    ("click", {"ref": 3}, 'click searchbox "Search"', True),
    ("type", {"ref": 3, "text": "kettle"}, 'type searchbox "Search" "kettle"', False),
    ("type", {"ref": 3, "text": "k", "submit": True}, 'type searchbox "Search" "k" submit', True),
    ("select", {"ref": 9, "option": "France"}, 'select combobox "Country" "France"', False),
    ("check", {"ref": 7, "on": False}, 'check checkbox "I agree" off', False),
    ("scroll", {"direction": "up", "ref": 9}, 'scroll up combobox "Country"', False),
    ("goto", {"url": "https://a.test/"}, 'goto "https://a.test/"', True),
    ("back", {}, "back", True),
    ("press", {"key": "Enter"}, 'press "Enter"', True),
    ("wait_for", {"text": "Done"}, 'wait_for "Done"', True),
    ("extract", {"format": "text"}, "extract text", True),
    ("done", {"result": "ok", "success": False}, 'done "ok" fail', True),
]


@pytest.mark.parametrize(("name", "args", "command", "navigates"), CASES)
def test_each_action_round_trips_through_its_cassette_form(
    name: str, args: dict, command: str, navigates: bool
) -> None:
    spec = ACTIONS[name]
    call = parse_command(command, ObservationText(OBS))
    assert (call.name, call.arguments) == (name, args)
    el = {3: ("searchbox", "Search"), 7: ("checkbox", "I agree"), 9: ("combobox", "Country")}
    ref = args.get("ref")
    fp = Fingerprint(ref=ref, role=el[ref][0], name=el[ref][1]) if ref else None
    assert _command(ActionLine(name=name, args=args, target=fp)) == command
    assert spec.may_navigate(args) is navigates


def test_a_command_the_cassette_form_cannot_say_is_kept_as_a_raw_tool_call() -> None:
    line = ActionLine(name="press", args={"key": "Enter", "ref": 3})
    assert _command(line).name == "press"  # a ToolCall, not a command string


async def test_an_unknown_page_action_is_a_typed_error() -> None:
    with pytest.raises(PageError, match="unknown page action 'teleport'"):
        await run_action(None, "teleport", {}, RunContext())  # type: ignore[arg-type]
    with pytest.raises(PageError, match="unknown page action 'done'"):
        await run_action(None, "done", {}, RunContext())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "words", "args"),
    [
        ("click", ["[5]"], {"ref": 5}),
        (
            "type",
            ["3", "blue", "kettle", "--submit"],
            {"ref": 3, "submit": True, "text": "blue kettle"},
        ),
        ("select", ["4", "New", "Zealand"], {"ref": 4, "option": "New Zealand"}),
        ("check", ["7", "off"], {"ref": 7, "on": False}),
        ("scroll", [], {"direction": "down"}),
        ("press", ["Enter"], {"key": "Enter"}),
        ("back", [], {}),
    ],
)
def test_session_commands_are_read_by_the_registry(name: str, words: list[str], args: dict) -> None:
    """`/click 5` and the rest: the interactive session's verbs are the registry's, and
    what they parse to is arguments of the action's own tool schema."""
    spec = ACTIONS[name]
    assert SESSION_COMMANDS[f"/{name}"] == name and spec.session is not None
    got = spec.session(list(words))
    assert got == args
    assert set(got) <= set(spec.parameters["properties"])


@pytest.mark.parametrize(
    ("name", "words", "message"),
    [
        ("click", [], "/click needs a ref first, e.g. /click 5"),
        ("type", ["kettle"], "/type needs a ref first, e.g. /type 5"),
        ("select", ["4"], "/select needs an option: /select 4 France"),
        ("press", [], "/press needs a key: /press Enter"),
        ("scroll", ["left"], "/scroll goes up or down: /scroll down"),
    ],
)
def test_a_bad_session_command_is_a_typed_error(name: str, words: list[str], message: str) -> None:
    spec = ACTIONS[name]
    assert spec.session is not None
    with pytest.raises(ConfigurationError) as exc:
        spec.session(list(words))
    assert str(exc.value) == message
