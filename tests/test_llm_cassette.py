"""Cassettes resolve labels against the observation, pick steps statelessly, load from files."""

from __future__ import annotations

import json

import httpx
import pytest
from llm_support import OBS, SHOP, messages, server  # noqa: F401

from browser_agent.exceptions import ConfigurationError
from browser_agent.testing import Cassette, CassetteError, CassetteStep, LocalModelServer, ToolCall
from browser_agent.testing.cassette import ObservationText, parse_command


def call(command: str, obs: str = OBS) -> tuple[str, dict]:
    c = parse_command(command, ObservationText(obs))
    return c.name, c.arguments


def test_every_command() -> None:
    assert call('click button "Add to cart"') == ("click", {"ref": 13})
    assert call('click "Blue Kettle"') == ("click", {"ref": 12})
    assert call("click [20]") == call("click 20") == ("click", {"ref": 20})
    assert call('type searchbox "search products" "kettle"') == (
        "type",
        {"ref": 3, "text": "kettle"},
    )
    assert call('type searchbox "Search products" "a \\"b\\"" submit')[1]["submit"] is True
    assert call('type searchbox "Search products" "a \\"b\\"" submit')[1]["text"] == 'a "b"'
    assert call('select combobox "Country" "Germany"') == (
        "select",
        {"ref": 21, "option": "Germany"},
    )
    assert call('check checkbox "I agree"') == ("check", {"ref": 20, "on": True})
    assert call('check checkbox "I agree" off') == ("check", {"ref": 20, "on": False})
    assert call("scroll down") == ("scroll", {"direction": "down"})
    assert call('scroll up link "Blue Kettle"') == ("scroll", {"direction": "up", "ref": 12})
    assert call('goto "https://shop.test/"') == ("goto", {"url": "https://shop.test/"})
    assert call("back") == ("back", {})
    assert call('press "Enter"') == call("press Enter") == ("press", {"key": "Enter"})
    assert call('wait_for "Added"') == ("wait_for", {"text": "Added"})
    assert call("extract text") == ("extract", {"format": "text"})
    assert call('done "it\'s done"') == ("done", {"result": "it's done", "success": True})
    assert call('done "no such item" fail') == (
        "done",
        {"result": "no such item", "success": False},
    )
    assert call('{"name": "click", "arguments": {"ref": 4}}') == ("click", {"ref": 4})


def test_labels_survive_ref_changes_and_escaped_names() -> None:
    moved = OBS.replace("[13]", "[113]") + '\n[50] button "Say \\"hi\\""'
    assert call('click button "Add to cart"', moved) == ("click", {"ref": 113})
    assert call('click button "Say \\"hi\\""', moved) == ("click", {"ref": 50})


def test_unresolvable_steps_say_why() -> None:
    with pytest.raises(CassetteError, match='no button "Checkout"'):
        call('click button "Checkout"')
    with pytest.raises(CassetteError, match="unknown command"):
        call("fly away")
    with pytest.raises(CassetteError, match="incomplete"):
        call('type searchbox "Search products"')


def test_steps_by_turn_and_by_match() -> None:
    c = Cassette.of(
        'click button "Search"',
        CassetteStep(actions=['done "thanks"'], match="Thank you"),
        ['click button "Add to cart"', "scroll down"],
    )
    assert c.reply(messages())[0] == 0
    after_one = messages([{"role": "assistant", "content": "x"}])
    # Turn 1 is the `match` step's position, but its guard does not hold: it still answers.
    assert c.reply(after_one)[0] == 1
    two = [{"role": "assistant", "content": "x"}] * 2
    index, _, calls = c.reply(messages(two))
    assert index == 2 and [x.name for x in calls] == ["click", "scroll"]
    # The match wins whatever the turn.
    index, _, calls = c.reply(messages(obs="Thank you for your order"))
    assert index == 1 and calls == [ToolCall("done", {"result": "thanks", "success": True})]
    # Past the end.
    index, _, calls = c.reply(messages([{"role": "assistant", "content": "x"}] * 3))
    assert index is None and calls[0].arguments["success"] is False


def test_load_json_and_jsonl(tmp_path) -> None:
    steps = ['click button "Add to cart"', ["scroll down", 'done "ok"']]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(s) for s in steps) + "\n")
    (tmp_path / "b.json").write_text(json.dumps({"steps": steps, "name": "shop"}))
    (tmp_path / "c.json").write_text(json.dumps(steps))
    a, b, c = (Cassette.load(tmp_path / n) for n in ("a.jsonl", "b.json", "c.json"))
    assert a.steps == b.steps == c.steps
    assert (a.name, b.name) == ("a", "shop")
    assert Cassette.loads(b.dumps()) == b
    (tmp_path / "bad.json").write_text('{"steps": [{"actions": 3}]}')
    with pytest.raises(ConfigurationError, match="malformed cassette"):
        Cassette.load(tmp_path / "bad.json")


def test_sync_server_and_unresolved_step_is_a_422(server: LocalModelServer) -> None:  # noqa: F811
    server.cassette = Cassette.of('click button "Checkout"')
    body = {"model": "m", "messages": messages(), "stream": True}
    with httpx.Client() as client:
        r = client.post(server.base_url + "/chat/completions", json=body)
        assert r.status_code == 422 and "Checkout" in r.json()["error"]["message"]
        server.cassette = SHOP
        r = client.post(server.base_url + "/chat/completions", json={**body, "stream": False})
        assert r.status_code == 200
        call = r.json()["choices"][0]["message"]["tool_calls"][0]
        assert call["function"]["name"] == "type"
        assert client.get(server.base_url + "/models").json()["data"]
    assert server.connections == 1
