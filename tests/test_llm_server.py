"""The local model server's own behaviour, and the corked transport under the clients."""

from __future__ import annotations

import random

import msgspec
import pytest

from browser_agent.llm._transport import _CorkedStream
from browser_agent.stats import percentile
from browser_agent.testing import Fault, LatencyProfile

pytestmark = pytest.mark.anyio


def test_heavy_tail_profile_has_p99_about_ten_times_p50() -> None:
    profile = LatencyProfile.heavy_tail(ttft_ms=100, p99_ratio=10)
    rng = random.Random(7)
    samples = [profile.sample_ttft_ms(rng) for _ in range(20_000)]
    ratio = percentile(samples, 99) / percentile(samples, 50)
    assert 8 < ratio < 12


def test_fault_header_parsing() -> None:
    assert Fault.parse("429;retry_after_s=0.5") == Fault("429", retry_after_s=0.5)
    assert Fault.parse("stall; after_events=4") == Fault("stall", after_events=4)
    with pytest.raises(msgspec.ValidationError):
        Fault.parse("explode")


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        self.writes.append(data)

    async def read(self, n: int, timeout: float | None = None) -> bytes:
        return b"HTTP/1.1 200 OK\r\n"

    async def aclose(self) -> None:
        pass

    def get_extra_info(self, info: str) -> None:
        return None


async def test_request_head_and_body_leave_in_one_write() -> None:
    inner = _Recorder()
    stream = _CorkedStream(inner)  # type: ignore[arg-type]
    await stream.write(b"POST / HTTP/1.1\r\n\r\n")
    await stream.write(b'{"a": 1}')
    await stream.write(b"")
    assert inner.writes == []
    assert await stream.read(100)
    assert inner.writes == [b'POST / HTTP/1.1\r\n\r\n{"a": 1}']
