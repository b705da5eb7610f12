"""A token bucket: at most ``burst`` calls at once, then ``rate`` calls per second.

It reads the event loop's clock, so looptime fast-forwards its waits in tests. A caller
that finds the bucket empty reserves the next token (the level may go negative) and
sleeps until it is due: waiters are served in arrival order and never busy-loop.
"""

from __future__ import annotations

import asyncio


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: int) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self._level = float(burst)
        self._updated: float | None = None

    def _refill(self, now: float) -> None:
        if self._updated is not None:
            self._level = min(float(self.burst), self._level + (now - self._updated) * self.rate_per_second)
        self._updated = now

    def reserve(self, now: float) -> float:
        """Take one token at loop time ``now``; return how long to wait before using it."""
        self._refill(now)
        self._level -= 1.0
        return 0.0 if self._level >= 0 else -self._level / self.rate_per_second

    async def acquire(self) -> float:
        """Wait for a token; return the seconds waited (for logs)."""
        delay = self.reserve(asyncio.get_running_loop().time())
        if delay > 0:
            await asyncio.sleep(delay)
        return delay
