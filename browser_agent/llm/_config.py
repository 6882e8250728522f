"""User-facing configuration: providers, presets, retry and hedging policies (pydantic)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ..exceptions import ConfigurationError


class Preset(BaseModel):
    """Where a known provider lives and which environment variable holds its key."""

    model_config = ConfigDict(frozen=True)

    name: str
    base_url: str
    key_env: str | None
    default_model: str | None = None
    needs_key: bool = True


presets: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(name="openai", base_url="https://api.openai.com/v1", key_env="OPENAI_API_KEY"),
        Preset(name="groq", base_url="https://api.groq.com/openai/v1", key_env="GROQ_API_KEY"),
        Preset(name="cerebras", base_url="https://api.cerebras.ai/v1", key_env="CEREBRAS_API_KEY"),
        Preset(
            name="fireworks",
            base_url="https://api.fireworks.ai/inference/v1",
            key_env="FIREWORKS_API_KEY",
        ),
        Preset(
            name="openrouter", base_url="https://openrouter.ai/api/v1", key_env="OPENROUTER_API_KEY"
        ),
        Preset(name="together", base_url="https://api.together.xyz/v1", key_env="TOGETHER_API_KEY"),
        Preset(
            name="vllm",
            base_url="http://127.0.0.1:8000/v1",
            key_env="VLLM_API_KEY",
            needs_key=False,
        ),
        Preset(
            name="ollama",
            base_url="http://127.0.0.1:11434/v1",
            key_env="OLLAMA_API_KEY",
            needs_key=False,
        ),
        Preset(
            name="llamacpp",
            base_url="http://127.0.0.1:8080/v1",
            key_env="LLAMA_API_KEY",
            default_model="default",
            needs_key=False,
        ),
    )
}
"""Named providers: base URL and key variable. Models change too often to default them."""


class ProviderConfig(BaseModel):
    """One provider endpoint and model. Build it directly, from a preset, or from the environment.

    Timeouts bound every wait: connecting, the first token, and any silence on the
    socket (before the headers or mid-stream) longer than `stall_ms`. `verify` is True,
    False, or the path of a CA bundle.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    base_url: str
    api_key: SecretStr | None = None
    model: str
    preset: str | None = None
    tier: str = "fast"
    http2: bool = True
    action_mode: Literal["tools", "json_schema"] = "tools"
    connect_timeout_s: float = Field(default=5.0, gt=0)
    first_token_timeout_s: float = Field(default=30.0, gt=0)
    stall_ms: float = Field(default=10_000.0, gt=0)
    max_connections: int = Field(default=32, ge=1)
    max_keepalive: int = Field(default=16, ge=1)
    keepalive_expiry_s: float = Field(default=120.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    verify: bool | str = True
    stream_usage: bool = True

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an http(s) URL")
        return v.rstrip("/")

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("name") and data.get("base_url"):
            host = urlsplit(str(data["base_url"])).hostname or ""
            data = {**data, "name": data.get("preset") or host}
        return data

    @classmethod
    def from_preset(
        cls,
        preset: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> ProviderConfig:
        """A known provider; the key comes from its variable (e.g. GROQ_API_KEY) unless given."""
        p = presets.get(preset.lower())
        if p is None:
            raise ConfigurationError(f"unknown preset {preset!r}; known: {', '.join(presets)}")
        env = os.environ if env is None else env
        key = api_key or (env.get(p.key_env) if p.key_env else None)
        model = model or env.get("BROWSER_AGENT_MODEL") or p.default_model
        if not model:
            raise ConfigurationError(
                f"no model for {p.name}: pass --model or set BROWSER_AGENT_MODEL"
            )
        if p.needs_key and not key:
            raise ConfigurationError(f"{p.name} needs an API key: set {p.key_env}")
        return cls(
            name=overrides.pop("name", p.name),
            base_url=overrides.pop("base_url", p.base_url),
            api_key=SecretStr(key) if key else None,
            model=model,
            preset=p.name,
            **overrides,
        )

    @classmethod
    def from_env(
        cls,
        *,
        preset: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> ProviderConfig:
        """What the ecosystem expects: explicit arguments (CLI flags) first, then a preset
        (argument or BROWSER_AGENT_PRESET), then OPENAI_BASE_URL / OPENAI_API_KEY /
        BROWSER_AGENT_MODEL, then OpenAI's own endpoint."""
        env = os.environ if env is None else env
        preset = preset or env.get("BROWSER_AGENT_PRESET")
        model = model or env.get("BROWSER_AGENT_MODEL")
        if preset:
            # A preset's key comes from its own variable only: never send one provider's key
            # to another.
            kw: dict[str, Any] = {"base_url": base_url} if base_url else {}
            return cls.from_preset(preset, model=model, api_key=api_key, env=env, **kw, **overrides)
        url = base_url or env.get("OPENAI_BASE_URL") or presets["openai"].base_url
        key = api_key or env.get("OPENAI_API_KEY")
        if not model:
            raise ConfigurationError("no model: pass --model or set BROWSER_AGENT_MODEL")
        return cls(
            base_url=url,
            api_key=SecretStr(key) if key else None,
            model=model,
            **overrides,
        )

    def secret(self) -> str | None:
        """The key in clear, for the Authorization header only."""
        return self.api_key.get_secret_value() if self.api_key else None

    def secrets(self) -> tuple[str, ...]:
        """Everything to mask wherever text is shown: the key and credential-like headers."""
        found = [self.secret()] + [
            v
            for k, v in self.headers.items()
            if any(w in k.lower() for w in ("key", "token", "auth", "secret", "cookie"))
        ]
        return tuple(s for s in found if s)


class RetryPolicy(BaseModel):
    """Retries on 429/5xx/connect errors/stalls/malformed replies, within the call's budget.

    A failed provider cools down for max(Retry-After, jittered exponential backoff);
    meanwhile the next provider of the tier is tried (fallback).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=4, ge=1)
    backoff_base_s: float = Field(default=0.1, ge=0)
    backoff_max_s: float = Field(default=4.0, ge=0)
    max_retry_after_s: float = Field(default=30.0, ge=0)


class HedgePolicy(BaseModel):
    """When a call whose first token is late gets a second request, and where it goes.

    The threshold is `after_ms` when set; otherwise the `quantile` (p95) of the
    provider's recent times to first token once `min_samples` are known, and before
    that `initial_ms` (or three warm-up round trips, if longer); never below `min_ms`.
    The second request goes to another provider of the same tier, or, with
    `same_provider` (it costs tokens), to the same provider on a connection pool of its
    own. Budgets: at most `max_hedges` extra request per call, and hedges limited to
    `max_share` of calls (a token bucket, so a slow provider cannot double the bill).
    With `learn_routes` a tier's calls go to the provider with the best recent p95 of
    time to first action, each provider being tried once first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    after_ms: float | None = None
    quantile: float = Field(default=95.0, gt=0, lt=100)
    min_samples: int = Field(default=8, ge=1)
    initial_ms: float = Field(default=1_000.0, gt=0)
    min_ms: float = Field(default=250.0, ge=0)
    max_hedges: int = Field(default=1, ge=0, le=1)
    max_share: float = Field(default=0.1, ge=0, le=1)
    same_provider: bool = False
    learn_routes: bool = True
