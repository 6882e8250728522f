"""Shared pieces of the model-layer tests: a page observation, servers, configs."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser_agent.llm import ProviderConfig, build_messages
from browser_agent.testing import Cassette, LatencyProfile, LocalModelServer, StreamShape

OBS = """# Shop
[3] searchbox "Search products"
[4] button "Search"
Blue Kettle  $25.00
  [12] link "Blue Kettle"
  [13] button "Add to cart"
[20] checkbox "I agree" checked
[21] combobox "Country" value="France" options=["France","Germany"]"""

REFS = {3, 4, 12, 13, 20, 21}

SHOP = Cassette.of(
    'type searchbox "Search products" "kettle" submit',
    [
        'click button "Add to cart"',
        'check checkbox "I agree"',
        'select combobox "Country" "Germany"',
    ],
    'done "Added the Blue Kettle to the cart"',
)

KEY = "sk-test-SECRETSECRET-0123456789"


def messages(history: list[dict[str, Any]] | None = None, obs: str = OBS) -> list[dict[str, Any]]:
    return build_messages("Add the blue kettle to the cart.", obs, history or [])


def config(server: LocalModelServer, name: str = "local", **kw: Any) -> ProviderConfig:
    kw.setdefault("stall_ms", 300)
    kw.setdefault("first_token_timeout_s", 5.0)
    return ProviderConfig(name=name, base_url=server.base_url, model="test-model", **kw)


def tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    """A server context for 127.0.0.1 and the CA file that trusts it."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ctx, str(path)


def serve(**kw: Any) -> LocalModelServer:
    kw.setdefault("cassette", SHOP)
    return LocalModelServer(**kw)


@pytest.fixture
def server() -> Iterator[LocalModelServer]:
    with serve() as s:
        yield s


@pytest.fixture
def server_b() -> Iterator[LocalModelServer]:
    with serve() as s:
        yield s


__all__ = [
    "KEY",
    "OBS",
    "REFS",
    "SHOP",
    "LatencyProfile",
    "StreamShape",
    "config",
    "messages",
    "serve",
    "server",
    "server_b",
    "tls",
]
