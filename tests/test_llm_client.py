"""One provider against the local server: shapes, warm-up and reuse, redaction, config."""

from __future__ import annotations

import json
import logging

import pytest
from llm_support import KEY, OBS, SHOP, config, messages, serve, server  # noqa: F401
from pydantic import SecretStr

from browser_agent.exceptions import ConfigurationError, ProviderError
from browser_agent.llm import (
    ChatRequest,
    Completed,
    LLMClient,
    LLMPool,
    ProviderConfig,
    load_tools,
    presets,
    redact,
    step_messages,
)
from browser_agent.testing import LatencyProfile, LocalModelServer, ScriptedModel, StreamShape

pytestmark = pytest.mark.anyio

TOOLS = load_tools()
SHAPES = [
    StreamShape(),
    StreamShape(fragments="chars", interleave=True),
    StreamShape(fragments="whole", empty_first_chunk=False, usage=False),
    StreamShape(fragments="tokens", interleave=True, split_bytes=5),
]


def request(history: list | None = None) -> ChatRequest:
    return ChatRequest(messages=messages(history), tools=TOOLS)


@pytest.mark.parametrize("shape", SHAPES, ids=["tokens", "chars-interleaved", "whole", "split"])
async def test_every_stream_shape_gives_the_same_actions(shape: StreamShape) -> None:
    # In process: the script behind the client's transport, no socket needed.
    model = ScriptedModel(SHOP, shape=shape)
    cfg = ProviderConfig(name="scripted", base_url="http://model.test/v1", model="m")
    async with LLMClient(cfg, transport=model.transport) as client:
        first = await client.complete(request())
        assert [(a.name, a.arguments) for a in first.actions] == [
            ("type", {"ref": 3, "text": "kettle", "submit": True})
        ]
        second = await client.complete(request(step_messages(first, ["typed"])))
        assert [(a.name, a.arguments) for a in second.actions] == [
            ("click", {"ref": 13}),
            ("check", {"ref": 20, "on": True}),
            ("select", {"ref": 21, "option": "Germany"}),
        ]
        t = second.timings
        assert t.ttfb is not None and t.ttft is not None and t.first_action is not None
        assert t.ttfb <= t.ttft <= t.first_action <= t.total
        assert t.tokens_out > 0
    assert [len(r["messages"]) for r in model.requests] == [3, 5]  # + the reply, its result


async def test_a_step_that_does_not_resolve_is_an_error_of_the_provider() -> None:
    model = ScriptedModel(['click button "Not on this page"'])
    cfg = ProviderConfig(name="scripted", base_url="http://model.test/v1", model="m")
    async with LLMClient(cfg, transport=model.transport) as client:
        with pytest.raises(ProviderError, match="no button"):
            await client.complete(request())


async def test_events_stream_and_first_action_arrives_before_the_end() -> None:
    latency = LatencyProfile(ttft_ms=10, tokens_per_s=400)
    async with serve(latency=latency) as srv, LLMClient(config(srv)) as client:
        history = step_messages(await client.complete(request()), ["typed"])
        seen: list[str] = []
        async with client.stream(request(history)) as events:
            async for ev in events:
                seen.append(type(ev).__name__)
                if isinstance(ev, Completed):
                    reply = ev.reply
        assert seen[-1] == "Completed"
        assert seen.index("ActionReady") < len(seen) - 2
        # Three actions at 400 tokens/s: the first is usable long before the end.
        assert reply.timings.first_action is not None
        assert reply.timings.total - reply.timings.first_action > 20


async def test_on_action_runs_in_order_while_streaming() -> None:
    order: list[str] = []

    async def on_action(action) -> None:  # an async callback, e.g. executing the click
        order.append(action.name)

    async with (
        serve(latency=LatencyProfile(tokens_per_s=2000)) as srv,
        LLMClient(config(srv)) as client,
    ):
        first = await client.complete(request())
        reply = await client.complete(request(step_messages(first, ["ok"])), on_action=on_action)
    assert order == ["click", "check", "select"] == [a.name for a in reply.actions]


async def test_callback_error_stops_the_call_and_propagates() -> None:
    def boom(action) -> None:
        raise RuntimeError("executor failed")

    async with serve() as srv, LLMClient(config(srv)) as client:
        with pytest.raises(RuntimeError, match="executor failed"):
            await client.complete(request(), on_action=boom)


def test_warm_up_opens_one_connection_that_later_calls_reuse(server: LocalModelServer) -> None:  # noqa: F811
    import anyio

    async def main() -> None:
        async with LLMPool([config(server)]) as pool:
            assert server.connections == 0
            assert await pool.warm_up() == {"local": True}
            assert server.connections == 1
            history: list = []
            for _ in range(3):
                reply = await pool.complete(messages(history))
                history += step_messages(reply)
            assert server.connections == 1
            assert [r.connection for r in server.log] == [1, 1, 1, 1]
            assert server.log[0].path == "/v1/models"

    anyio.run(main)


async def test_warm_up_failure_is_reported_not_raised() -> None:
    cfg = ProviderConfig(name="down", base_url="http://127.0.0.1:9/v1", model="m")
    async with LLMClient(cfg) as client:
        assert await client.warm_up(timeout_s=2) is False


async def test_tls_warm_up_and_reuse(tmp_path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    import ssl

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    async with serve(ssl_context=server_ctx) as srv:
        assert srv.base_url.startswith("https://")
        async with LLMClient(config(srv, verify=str(ca_path))) as client:
            assert await client.warm_up()
            await client.complete(request())
            await client.complete(request())
        assert srv.connections == 1


async def test_json_schema_mode_for_servers_without_tools() -> None:
    async with serve() as srv, LLMClient(config(srv, action_mode="json_schema")) as client:
        reply = await client.complete(request())
        assert [a.name for a in reply.actions] == ["type"]
        assert reply.actions[0].arguments["text"] == "kettle"
        assert "tool_calls" not in reply.raw


async def test_server_that_ignores_stream_true() -> None:
    async with serve() as srv, LLMClient(config(srv)) as client:
        req = request()
        req.extra_body = {"stream": False}
        reply = await client.complete(req)
        assert [a.name for a in reply.actions] == ["type"]


async def test_prompt_prefix_is_cached_by_the_provider() -> None:
    async with serve() as srv, LLMClient(config(srv)) as client:
        first = await client.complete(request())
        second = await client.complete(request(step_messages(first, ["typed"])))
        assert first.usage.cached_tokens == 0
        assert second.usage.cached_tokens > 0.8 * first.usage.prompt_tokens


# ------------------------------------------------------------------- keys


async def test_key_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "sk-wrong-KEYKEYKEYKEY-987654321"
    async with serve(api_key=KEY) as srv:
        cfg = config(srv, api_key=wrong)
        assert wrong not in repr(cfg) and wrong not in str(cfg)
        assert wrong not in cfg.model_dump_json()
        async with LLMClient(cfg) as client:
            assert wrong not in repr(client)
            with pytest.raises(ProviderError) as info:
                await client.complete(request())
        # The server echoed the key back in its error body; it was masked.
        assert "Incorrect API key" in str(info.value)
        assert info.value.status == 401 and not info.value.retryable
        for text in (str(info.value), repr(info.value), caplog.text):
            assert wrong not in text
        async with LLMPool([cfg]) as pool:
            with pytest.raises(Exception) as info2:
                await pool.complete(messages(), budget_s=5)
            assert wrong not in str(info2.value) and wrong not in repr(pool)
        assert wrong not in caplog.text
        async with LLMClient(config(srv, api_key=KEY)) as ok:
            assert (await ok.complete(request())).actions


def test_redact_patterns() -> None:
    text = "Bearer abc.def-123 sk-proj-ABCDEFGH12345 https://u:p@h.test/v1?api_key=zzz secret42"
    out = redact(text, ["secret42"])
    for s in ("abc.def-123", "sk-proj-ABCDEFGH12345", "u:p@", "zzz", "secret42"):
        assert s not in out


def test_redacting_a_json_line_keeps_it_json() -> None:
    """Recordings are redacted line by line: a masked URL must not eat the closing quote."""
    line = json.dumps(
        {
            "url": "https://shop.test/cart?token=abc123",
            "next": "http://u:pw@h.test/x",
            "text": 'host","x":"y@z',
        }
    )
    out = json.loads(redact(line))
    assert out["url"] == "https://shop.test/cart?token=***"
    assert out["next"] == "http://***@h.test/x"
    assert out["text"] == 'host","x":"y@z'


# ------------------------------------------------------------------ config


def test_presets_cover_the_ecosystem() -> None:
    names = {"openai", "groq", "cerebras", "fireworks", "openrouter", "together", "vllm"}
    assert names | {"ollama", "llamacpp"} <= set(presets)
    assert presets["groq"].key_env == "GROQ_API_KEY"
    assert presets["ollama"].needs_key is False


def test_from_env_follows_the_ecosystem() -> None:
    env = {
        "OPENAI_BASE_URL": "http://127.0.0.1:1234/v1/",
        "OPENAI_API_KEY": "sk-env-1234567890",
        "BROWSER_AGENT_MODEL": "m1",
    }
    c = ProviderConfig.from_env(env=env)
    assert (c.base_url, c.model, c.secret()) == (
        "http://127.0.0.1:1234/v1",
        "m1",
        env["OPENAI_API_KEY"],
    )
    c = ProviderConfig.from_env(env=env, model="flag-model", base_url="http://127.0.0.1:9/v1")
    assert (c.model, c.base_url) == ("flag-model", "http://127.0.0.1:9/v1")
    # A preset uses its own key variable and never another provider's key.
    g = ProviderConfig.from_env(env={**env, "GROQ_API_KEY": "gsk_groqkey12345"}, preset="groq")
    assert g.base_url == presets["groq"].base_url and g.secret() == "gsk_groqkey12345"
    with pytest.raises(ConfigurationError, match="GROQ_API_KEY"):
        ProviderConfig.from_env(env=env, preset="groq")
    local = ProviderConfig.from_env(env={"BROWSER_AGENT_MODEL": "llama3"}, preset="ollama")
    assert local.api_key is None and local.name == "ollama"
    with pytest.raises(ConfigurationError, match="model"):
        ProviderConfig.from_env(env={})
    with pytest.raises(ConfigurationError, match="unknown preset"):
        ProviderConfig.from_preset("nope", model="m")


def test_config_rejects_bad_urls_and_hides_key() -> None:
    with pytest.raises(ValueError):
        ProviderConfig(base_url="ftp://x", model="m")
    c = ProviderConfig(base_url="http://127.0.0.1/v1", model="m", api_key=SecretStr(KEY))
    assert KEY not in repr(c) and c.name == "127.0.0.1"
    azure = ProviderConfig(base_url="http://127.0.0.1/v1", model="m", headers={"api-key": KEY})
    assert KEY not in repr(azure) and KEY in azure.secrets()
    assert KEY not in repr(LLMClient(azure)) and "***" in LLMClient(azure).redact(f"bad {KEY}")


_ = (OBS, SHOP)
