"""One RPC-style call to an Alibaba Cloud endpoint, as the official SDK sends it.

``POST /`` with every parameter in the query, an empty body, signature V3 over ``host``,
the ``x-acs-*`` headers; ``x-acs-date`` from the injected clock, a fresh nonce each attempt.
Retryable failures (throttling, 5xx, timeouts, broken bodies) are retried with bounded
exponential backoff and full jitter, never sooner than the server's ``x-acs-retry-after``
(milliseconds; plain HTTP ``Retry-After`` is seconds). A call that is not idempotent
(CreateApplicationToken: a second attempt can make a second token) is sent exactly once.
A retry-after longer than the backoff cap is not waited out inside the call: the error is
raised at once, carrying ``retry_after``, and the caller schedules the next try.
Every wait (rate limiter, backoff, timeout) runs on the event loop's clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from tokensync.clock import Clock
from tokensync.cloud import signing
from tokensync.cloud.errors import CloudError, CloudUnavailableError, MalformedResponseError, classify
from tokensync.cloud.pool import HttpPool

if TYPE_CHECKING:
    from tokensync.cloud.credentials import Credential

logger = logging.getLogger(__name__)

USER_AGENT = "tokensync/0.1 (+https://tokensync.dev)"


@dataclass(frozen=True)
class ClientSettings:
    timeout_seconds: float = 10.0
    max_attempts: int = 3
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 10.0
    rate_limit_per_second: float = 20.0
    rate_limit_burst: int = 20

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.timeout_seconds <= 0 or self.rate_limit_per_second <= 0 or self.rate_limit_burst < 1:
            raise ValueError("timeout_seconds and rate_limit_per_second must be positive, rate_limit_burst >= 1")
        if self.backoff_base_seconds < 0 or self.backoff_cap_seconds < 0:
            raise ValueError("backoff times cannot be negative")


@dataclass(frozen=True)
class RawReply:
    body: dict[str, Any] = field(repr=False)  # holds application tokens and STS secrets as sent
    request_id: str
    server_time: datetime | None


class RpcCaller:
    """Sends signed (or anonymous) RPC calls with retries, limits and timeouts."""

    def __init__(
        self,
        *,
        pool: HttpPool,
        clock: Clock,
        settings: ClientSettings,
        on_request: Callable[[str, str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._settings = settings
        self._on_request = on_request
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    async def call(
        self,
        *,
        endpoint: str,
        action: str,
        version: str,
        query: Mapping[str, str | None],
        credential: Callable[[], Awaitable[Credential]] | None,
        product: str | None = None,
        idempotent: bool = True,
    ) -> RawReply:
        """Call ``action``; ``credential`` is an async callable returning a ``Credential`` (None: anonymous).

        ``product``: the RAM action prefix (eiam, ram, sts), so an error names ``product:action``.
        ``idempotent=False``: exactly one HTTP attempt, whatever the failure (the caller decides
        what a lost answer means; see ``CloudError.outcome_unknown``).
        """
        settings = self._settings
        max_attempts = settings.max_attempts if idempotent else 1
        ram_action = f"{product}:{action}" if product else None
        limiter = self._pool.limiter_for(
            endpoint, rate_per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
        )
        attempt = 0
        while True:
            attempt += 1
            await limiter.acquire()
            cred: Credential | None = await credential() if credential is not None else None
            try:
                reply = await self._attempt(endpoint, action, version, query, cred)
            except CloudError as error:
                error.with_action(action, ram_action)
                self._count(action, error.code)
                logger.debug(
                    "cloud %s attempt %d/%d: %s (HTTP %s, RequestId %s)",
                    action, attempt, max_attempts, error.code, error.http_status, error.request_id,
                )
                if not error.retryable or not error.retry_in_call or attempt >= max_attempts:
                    raise
                if error.retry_after is not None and error.retry_after > settings.backoff_cap_seconds:
                    # Holding the call (and a sync slot) for minutes helps no one: hand the
                    # wait to the caller's scheduler, which honours ``retry_after``.
                    logger.debug("cloud %s: retry-after %.0fs exceeds the %.0fs backoff cap; not retrying now",
                                 action, error.retry_after, settings.backoff_cap_seconds)
                    raise
                delay = self._backoff(attempt, error.retry_after)
                logger.debug("cloud %s: retrying in %.2fs", action, delay)
                await asyncio.sleep(delay)
                continue
            self._count(action, "Success")
            logger.debug("cloud %s attempt %d/%d: Success (RequestId %s)",
                         action, attempt, max_attempts, reply.request_id)
            return reply

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        settings = self._settings
        ceiling = min(settings.backoff_cap_seconds, settings.backoff_base_seconds * 2 ** (attempt - 1))
        jittered = self._rng.uniform(0, ceiling)
        return max(jittered, retry_after or 0.0)

    def _count(self, action: str, code: str) -> None:
        if self._on_request is None:
            return
        try:
            self._on_request(action, code)
        except Exception:  # a metrics hook must never break a call
            logger.exception("on_request hook failed")

    def _request(
        self, endpoint: str, action: str, version: str, query: Mapping[str, str | None], cred: Credential | None
    ) -> tuple[str, dict[str, str]]:
        host = urlsplit(endpoint).netloc
        signed: dict[str, str] = {
            "host": host,
            "x-acs-action": action,
            "x-acs-version": version,
            "x-acs-date": self._clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": uuid.uuid4().hex,
            "x-acs-content-sha256": signing.EMPTY_BODY_SHA256,
        }
        if cred is not None and cred.security_token:
            signed["x-acs-security-token"] = cred.security_token
        headers = {**signed, "accept": "application/json", "user-agent": USER_AGENT}
        if cred is not None:
            headers["Authorization"] = signing.authorization(
                method="POST", pathname="/", query=query, headers=signed, body_sha256=signing.EMPTY_BODY_SHA256,
                access_key_id=cred.access_key_id, access_key_secret=cred.access_key_secret,
            )
        canonical = signing.canonical_query(query)
        url = endpoint.rstrip("/") + "/" + (f"?{canonical}" if canonical else "")
        return url, headers

    async def _attempt(
        self, endpoint: str, action: str, version: str, query: Mapping[str, str | None], cred: Credential | None
    ) -> RawReply:
        url, headers = self._request(endpoint, action, version, query, cred)
        client = self._pool.client_for(endpoint)
        timeout = self._settings.timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                response = await client.post(url, headers=headers, content=b"", timeout=timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise CloudUnavailableError(  # never sent: nothing can have happened
                code="ConnectionError", message=f"cannot reach {_host(endpoint)}: {type(exc).__name__}"
            ) from None
        except (TimeoutError, httpx.TimeoutException):
            raise CloudUnavailableError(
                code="RequestTimeout", message=f"no answer from {_host(endpoint)} within {timeout:g}s",
                outcome_unknown=True,
            ) from None
        except httpx.HTTPError as exc:
            raise CloudUnavailableError(
                code="ConnectionError", message=f"no answer from {_host(endpoint)}: {type(exc).__name__}",
                outcome_unknown=True,
            ) from None
        return _interpret(response)


def _host(endpoint: str) -> str:
    return urlsplit(endpoint).netloc or endpoint


def _retry_after(response: httpx.Response) -> tuple[float | None, bool]:
    """``(seconds to wait or None, whether the gateway's throttling header said so)``.

    ``x-acs-retry-after`` is in milliseconds (the official SDKs read it as a positive integer
    and treat any error carrying it as throttling); HTTP ``Retry-After`` is in seconds.
    """
    value = response.headers.get("x-acs-retry-after")
    if value is not None:
        milliseconds = _number(value)
        if milliseconds is not None and milliseconds > 0:
            return milliseconds / 1000, True
    value = response.headers.get("retry-after")
    if value is not None:
        seconds = _number(value)
        if seconds is not None and seconds >= 0:
            return seconds, False
    return None, False


def _number(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _server_time(response: httpx.Response) -> datetime | None:
    value = response.headers.get("date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else None


def _interpret(response: httpx.Response) -> RawReply:
    header_request_id = response.headers.get("x-acs-request-id")
    try:
        body: Any = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
        if response.status_code < 400:
            raise MalformedResponseError(
                code="MalformedResponse",
                message=f"the HTTP {response.status_code} answer is not JSON (truncated or not an API response)",
                request_id=header_request_id, http_status=response.status_code,
            ) from None
    request_id = (body.get("RequestId") if isinstance(body, dict) else None) or header_request_id
    if response.status_code >= 400:
        fields = body if isinstance(body, dict) else {}
        retry_after, throttled = _retry_after(response)
        if response.status_code == 400 and not _text(fields.get("Code")) and not throttled:
            # A 400 whose body says nothing (empty, truncated, HTML from a proxy): what the cloud
            # objected to is unknown, so it is not taken for a bad spec; retried like a broken answer.
            raise MalformedResponseError(
                code="MalformedResponse", message="an HTTP 400 answer without an error code (a broken body)",
                request_id=_text(request_id), http_status=response.status_code,
            )
        raise classify(
            response.status_code,
            _text(fields.get("Code")),
            _text(fields.get("Message")) or f"HTTP {response.status_code} {response.reason_phrase}",
            _text(request_id),
            retry_after,
            throttled=throttled,
        )
    if not isinstance(body, dict):
        raise MalformedResponseError(
            code="MalformedResponse", message="the answer is not a JSON object",
            request_id=_text(request_id), http_status=response.status_code,
        )
    if not isinstance(request_id, str) or not request_id:
        raise MalformedResponseError(
            code="MalformedResponse", message="the answer has no RequestId", http_status=response.status_code
        )
    return RawReply(body=body, request_id=request_id, server_time=_server_time(response))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
