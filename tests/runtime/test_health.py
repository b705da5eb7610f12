"""/healthz and /readyz over real HTTP, with liveness read from an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tokensync.runtime.health import Health, start_health_server


class ManualClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass
class Probe:
    status: int
    body: str


Get = Callable[[str], Awaitable[Probe]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def health(clock: ManualClock) -> Health:
    return Health(staleness=timedelta(seconds=60), clock=clock)


@pytest.fixture
async def probe(health: Health) -> AsyncIterator[Get]:
    runner = await start_health_server(health, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    async with aiohttp.ClientSession() as session:

        async def get(path: str) -> Probe:
            async with session.get(base + path) as response:
                return Probe(response.status, await response.text())

        try:
            yield get
        finally:
            await runner.cleanup()


async def test_a_starting_operator_is_alive_but_not_ready(probe: Get) -> None:
    assert await probe("/healthz") == Probe(200, "ok\n")
    assert await probe("/readyz") == Probe(503, "starting\n")


async def test_ready_once_marked_and_not_ready_with_the_reason(health: Health, probe: Get) -> None:
    health.mark_ready()
    assert await probe("/readyz") == Probe(200, "ok\n")
    health.mark_not_ready("stopping")
    assert await probe("/readyz") == Probe(503, "stopping\n")


async def test_liveness_goes_stale_without_beats_and_recovers_with_one(
    health: Health, clock: ManualClock, probe: Get
) -> None:
    health.mark_ready()
    clock.advance(59)
    assert (await probe("/healthz")).status == 200
    health.beat()
    clock.advance(60)
    assert (await probe("/healthz")).status == 200
    clock.advance(1.5)
    stale = await probe("/healthz")
    assert stale.status == 500
    assert stale.body == "no heartbeat for 62s\n"
    # Readiness is a separate question: a stuck loop is restarted by liveness, not hidden.
    assert (await probe("/readyz")).status == 200
    health.beat()
    assert (await probe("/healthz")).status == 200


async def test_unknown_paths_are_404(probe: Get) -> None:
    assert (await probe("/metrics")).status == 404


def test_staleness_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Health(staleness=timedelta(0))
