"""Liveness and readiness, and the /healthz and /readyz endpoints the kubelet probes.

Liveness means "the operator's main loop still turns": it calls ``beat()`` regularly, and
the process counts as alive while the last beat is recent. The probe server runs in the same
event loop, so a loop blocked for good does not answer at all, which the kubelet also counts
as a failure. Readiness is set explicitly by the operator (``mark_ready`` once it runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from tokensync.clock import SYSTEM_CLOCK, Clock
from tokensync.runtime.http_server import serve

DEFAULT_STALENESS = timedelta(seconds=60)


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str


class Health:
    def __init__(self, *, staleness: timedelta = DEFAULT_STALENESS, clock: Clock = SYSTEM_CLOCK) -> None:
        if staleness <= timedelta(0):
            raise ValueError("staleness must be positive")
        self._staleness = staleness
        self._clock = clock
        # Starting counts as a beat: the operator is alive while it connects for the first time.
        self._last_beat = clock.now()
        self._ready = False
        self._not_ready_reason = "starting"

    def beat(self) -> None:
        """The main loop is turning."""
        self._last_beat = self._clock.now()

    def mark_ready(self) -> None:
        self._ready = True
        self._not_ready_reason = ""

    def mark_not_ready(self, reason: str) -> None:
        self._ready = False
        self._not_ready_reason = reason

    def liveness(self) -> ProbeResult:
        silence = self._clock.now() - self._last_beat
        if silence > self._staleness:
            return ProbeResult(False, f"no heartbeat for {silence.total_seconds():.0f}s")
        return ProbeResult(True, "ok")

    def readiness(self) -> ProbeResult:
        if not self._ready:
            return ProbeResult(False, self._not_ready_reason or "not ready")
        return ProbeResult(True, "ok")


def _reply(result: ProbeResult, failure_status: int) -> web.Response:
    return web.Response(status=200 if result.ok else failure_status, text=result.reason + "\n")


def health_app(health: Health) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return _reply(health.liveness(), 500)

    async def readyz(_request: web.Request) -> web.Response:
        return _reply(health.readiness(), 503)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def start_health_server(health: Health, host: str, port: int) -> web.AppRunner:
    """Serve GET /healthz (200, or 500 with the reason) and /readyz (200, or 503 with the reason).

    Port 0 picks any free port (see ``runner.addresses``); stop with ``await runner.cleanup()``.
    """
    return await serve(health_app(health), host, port)
