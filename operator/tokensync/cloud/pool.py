"""Connections and rate limits shared by every cloud client in the process.

Many CloudAccess objects point at the same few endpoints; one pooled ``httpx.AsyncClient``
per origin keeps connections warm, and one token bucket per origin keeps the whole
operator under the endpoint's rate limit however many clients use it.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from tokensync.cloud.ratelimit import RateLimiter


class _QueryRedactingFilter(logging.Filter):
    """httpx logs each request's URL at INFO; our query strings can carry an OIDC token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                a.copy_with(query=b"...") if isinstance(a, httpx.URL) and a.query else a for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_QueryRedactingFilter())


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HttpPool:
    """One HTTP client and one rate limiter per endpoint origin; close with ``aclose()``.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``). A limiter is
    made with the rate of the first client that uses its origin.
    """

    def __init__(self, *, transport: httpx.AsyncBaseTransport | None = None, max_connections: int = 100) -> None:
        self._transport = transport
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._limiters: dict[str, RateLimiter] = {}

    def client_for(self, url: str) -> httpx.AsyncClient:
        origin = origin_of(url)
        client = self._clients.get(origin)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                transport=self._transport, limits=self._limits, follow_redirects=False, trust_env=False
            )
            self._clients[origin] = client
        return client

    def limiter_for(self, url: str, *, rate_per_second: float, burst: int) -> RateLimiter:
        origin = origin_of(url)
        limiter = self._limiters.get(origin)
        if limiter is None:
            limiter = self._limiters[origin] = RateLimiter(rate_per_second, burst)
        return limiter

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
