"""Where "now" comes from.

Every deadline in tokensync (refresh plans, STS expiry, the emulators' token lifetimes and
signature windows) reads a ``Clock`` instead of the wall clock, so tests can fast-forward
hours of schedule with looptime: a ``LoopClock`` follows the event loop's (fake) time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's wall clock: what runs in production."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class LoopClock:
    """Wall time anchored once, then advanced by the event loop's clock.

    Under looptime the loop's clock is fake and jumps ahead when the loop is idle, so a
    ``LoopClock`` lets an hour of refresh schedule pass in milliseconds of real time.
    """

    def __init__(self, start: datetime | None = None, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or asyncio.get_running_loop()
        self._start = start or datetime.now(UTC)
        self._loop_start = self._loop.time()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._loop.time() - self._loop_start)


SYSTEM_CLOCK = SystemClock()
