"""Prometheus metrics: what the controllers record, and the /metrics endpoint that serves them.

tokensync keeps its own ``REGISTRY`` (not prometheus-client's global one) so that importing
a library that registers metrics globally cannot change what /metrics shows, and tests can
read exactly what the operator exposes.

Labels carry only kind, namespace, name, action, code and result: never a token, AccessKey
secret or STS token. Free-form label values from outside (cloud error codes, Ready reasons)
are checked against a short identifier pattern, so neither a secret nor an unbounded number
of series can get in through them.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder, generate_latest

from tokensync.runtime.http_server import serve

# *_created series double the count of series and no dashboard or alert of ours reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# A sync is a few API calls: milliseconds when all is well, up to the client timeouts when not.
_SYNC_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

SYNC_TOTAL = Counter(
    "tokensync_sync_total",
    "Syncs of a resource, by kind and result (success, or the Ready condition's reason).",
    ["kind", "result"],
    registry=REGISTRY,
)
SYNC_DURATION = Histogram(
    "tokensync_sync_duration_seconds",
    "How long one sync of a resource took.",
    ["kind"],
    buckets=_SYNC_BUCKETS,
    registry=REGISTRY,
)
CLOUD_REQUESTS_TOTAL = Counter(
    "tokensync_cloud_requests_total",
    "Alibaba Cloud API requests, by action and result code (Success or the error code).",
    ["action", "code"],
    registry=REGISTRY,
)
TOKEN_EXPIRATION = Gauge(
    "tokensync_token_expiration_timestamp_seconds",
    "When the token currently in an ApplicationToken's Secret expires (Unix time).",
    ["namespace", "name"],
    registry=REGISTRY,
)
TOKEN_RENEWAL_DEADLINE = Gauge(
    "tokensync_token_renewal_deadline_timestamp_seconds",
    "When an ApplicationToken's token should have been renewed by: its expiry minus its renewBefore "
    "(Unix time). Past it and still the same token: the renewal is late (alert: time() > this).",
    ["namespace", "name"],
    registry=REGISTRY,
)
RESOURCE_READY = Gauge(
    "tokensync_resource_ready",
    "1 when the resource's Ready condition is True, 0 otherwise.",
    ["kind", "namespace", "name"],
    registry=REGISTRY,
)
ROLLOUT_RESTARTS_TOTAL = Counter(
    "tokensync_rollout_restarts_total",
    "Workloads restarted because a Secret they use was rotated.",
    registry=REGISTRY,
)
TOKEN_RENEWALS_TOTAL = Counter(
    "tokensync_token_renewals_total",
    "Renewals of ApplicationTokens (Extend: a later expiry; Rotate: a new token), by strategy and result "
    "(success, or the reason it failed).",
    ["strategy", "result"],
    registry=REGISTRY,
)

# The only kind whose resources have a token expiration series.
_TOKEN_KIND = "ApplicationToken"
# Reasons, cloud error codes and action names are identifiers ("Throttling.User",
# "ObtainApplicationToken"); anything else is reported as "Other".
_LABEL_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
OTHER = "Other"


def _identifier(value: str) -> str:
    return value if _LABEL_VALUE.fullmatch(value) else OTHER


def record_sync(kind: str, result: str, seconds: float) -> None:
    """One sync finished: ``result`` is "success" or the Ready condition's reason."""
    SYNC_TOTAL.labels(kind=kind, result=_identifier(result)).inc()
    SYNC_DURATION.labels(kind=kind).observe(max(seconds, 0.0))


def record_cloud_request(action: str, code: str) -> None:
    CLOUD_REQUESTS_TOTAL.labels(action=_identifier(action), code=_identifier(code)).inc()


def set_token_expiration(namespace: str, name: str, expiration_time: datetime) -> None:
    if expiration_time.tzinfo is None:
        raise ValueError("expiration_time must be timezone-aware")
    TOKEN_EXPIRATION.labels(namespace=namespace, name=name).set(expiration_time.timestamp())


def set_token_renewal_deadline(namespace: str, name: str, renew_by: datetime) -> None:
    if renew_by.tzinfo is None:
        raise ValueError("renew_by must be timezone-aware")
    TOKEN_RENEWAL_DEADLINE.labels(namespace=namespace, name=name).set(renew_by.timestamp())


def set_resource_ready(kind: str, namespace: str, name: str, ready: bool) -> None:
    RESOURCE_READY.labels(kind=kind, namespace=namespace, name=name).set(1.0 if ready else 0.0)


def record_renewal(strategy: str, result: str) -> None:
    """One Extend or Rotate finished: ``result`` is "success" or the reason it failed."""
    TOKEN_RENEWALS_TOTAL.labels(strategy=_identifier(strategy), result=_identifier(result)).inc()


def record_rollout_restart() -> None:
    ROLLOUT_RESTARTS_TOTAL.inc()


def forget_resource(kind: str, namespace: str, name: str) -> None:
    """Drop a deleted resource's own series, so that churn does not grow /metrics forever."""
    with contextlib.suppress(KeyError):
        RESOURCE_READY.remove(kind, namespace, name)
    if kind == _TOKEN_KIND:
        for gauge in (TOKEN_EXPIRATION, TOKEN_RENEWAL_DEADLINE):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name)


def render() -> bytes:
    """The registry in the Prometheus text format, as /metrics serves it by default."""
    return generate_latest(REGISTRY)


async def _metrics(request: web.Request) -> web.Response:
    # Prometheus asks for OpenMetrics when it can take it; anything else gets the text format.
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(body=encoder(REGISTRY), headers={"Content-Type": content_type})


def metrics_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/metrics", _metrics)
    return app


async def start_metrics_server(host: str, port: int) -> web.AppRunner:
    """Serve GET /metrics on host:port (port 0: any free port, see ``runner.addresses``).

    The caller stops it with ``await runner.cleanup()``.
    """
    return await serve(metrics_app(), host, port)
