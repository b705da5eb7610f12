"""A cloud emulator on a clock the test moves, and tokensync's client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import StaticCredentials
from tokensync.emulators.cloud import CloudEmulator, demo_state, running_cloud_emulator

AK_ID, AK_SECRET = "demo-access-key-id", "demo-access-key-secret"
DEMO = {"instance_id": "idaas_demo", "application_id": "app_demo", "application_token_id": "token_demo"}
RAM_APP = "4724570903440410000"
START = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    current: datetime = START

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass
class Cloud:
    emu: CloudEmulator
    clock: FakeClock
    pool: HttpPool
    clients: list[CloudClient] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.emu.url

    def client(self, ak_id: str = AK_ID, secret: str = AK_SECRET, security_token: str | None = None, *,
               clock: FakeClock | None = None, **settings: Any) -> CloudClient:
        """tokensync's client, one attempt per call unless told otherwise, signing on the emulator's clock."""
        settings.setdefault("max_attempts", 1)
        settings.setdefault("backoff_base_seconds", 0.0)
        url = self.emu.url
        return CloudClient(
            credentials=StaticCredentials(ak_id, secret, security_token),
            endpoints=Endpoints.for_region("cn-hangzhou", {"eiam": url, "ims": url, "sts": url}),
            pool=self.pool, settings=ClientSettings(**settings), clock=clock or self.clock,
        )


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    clock = FakeClock()
    async with running_cloud_emulator(demo_state(clock.now()), clock=clock) as emu:
        pool = HttpPool()
        try:
            yield Cloud(emu, clock, pool)
        finally:
            await pool.aclose()
