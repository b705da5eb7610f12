"""The /metrics endpoint: every metric PRODUCT.md names, with the labels users query by."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tokensync.runtime import metrics

CANARY = "LTAI-canary-secret-9f8e7d6c5b4a"


def samples() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample /metrics would show, keyed by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
    }


def value(metric: str, /, **labels: str) -> float | None:
    return samples().get((metric, frozenset(labels.items())))


def bound_port(runner: web.AppRunner) -> int:
    return int(runner.addresses[0][1])


@pytest.fixture
async def metrics_url() -> AsyncIterator[str]:
    runner = await metrics.start_metrics_server("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}/metrics"
    finally:
        await runner.cleanup()


async def test_endpoint_serves_every_product_metric_after_the_controllers_record(metrics_url: str) -> None:
    metrics.record_sync("ApplicationToken", "success", 0.2)
    metrics.record_sync("ApplicationToken", "CloudUnavailable", 0.1)
    metrics.record_cloud_request("ObtainApplicationToken", "Success")
    metrics.set_token_expiration("web", "portal-token", datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    metrics.set_resource_ready("ApplicationToken", "web", "portal-token", True)
    metrics.record_rollout_restart()

    async with aiohttp.ClientSession() as session, session.get(metrics_url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()

    for line in (
        'tokensync_sync_total{kind="ApplicationToken",result="success"}',
        'tokensync_sync_total{kind="ApplicationToken",result="CloudUnavailable"}',
        'tokensync_sync_duration_seconds_bucket{kind="ApplicationToken",le="0.25"}',
        'tokensync_sync_duration_seconds_count{kind="ApplicationToken"}',
        'tokensync_cloud_requests_total{action="ObtainApplicationToken",code="Success"}',
        'tokensync_token_expiration_timestamp_seconds{name="portal-token",namespace="web"} 1.7953956e+09',
        'tokensync_resource_ready{kind="ApplicationToken",name="portal-token",namespace="web"} 1.0',
        "tokensync_rollout_restarts_total ",
        "process_resident_memory_bytes ",
        "python_info{",
    ):
        assert line in text, line
    # 2026-11-23T01:00:00Z
    assert value("tokensync_token_expiration_timestamp_seconds", namespace="web", name="portal-token") == 1795395600
    # Counters come without *_created twins: they would double the series for nothing.
    assert "_created" not in text


async def test_endpoint_speaks_openmetrics_when_prometheus_asks(metrics_url: str) -> None:
    metrics.record_rollout_restart()
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
    async with aiohttp.ClientSession() as session, session.get(metrics_url, headers=headers) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        text = await response.text()
    assert "tokensync_rollout_restarts_total " in text
    assert text.rstrip().endswith("# EOF")


def test_counters_count_each_call() -> None:
    before_sync = value("tokensync_sync_total", kind="RamApplication", result="success") or 0.0
    before_requests = value("tokensync_cloud_requests_total", action="GetApplication", code="Throttling.User") or 0.0
    before_restarts = value("tokensync_rollout_restarts_total") or 0.0
    for _ in range(3):
        metrics.record_sync("RamApplication", "success", 0.05)
        metrics.record_cloud_request("GetApplication", "Throttling.User")
    metrics.record_rollout_restart()
    assert value("tokensync_sync_total", kind="RamApplication", result="success") == before_sync + 3
    assert value("tokensync_cloud_requests_total", action="GetApplication", code="Throttling.User") == (
        before_requests + 3
    )
    assert value("tokensync_rollout_restarts_total") == before_restarts + 1


def test_readiness_flips_between_one_and_zero() -> None:
    metrics.set_resource_ready("RamApplication", "web", "portal", True)
    assert value("tokensync_resource_ready", kind="RamApplication", namespace="web", name="portal") == 1.0
    metrics.set_resource_ready("RamApplication", "web", "portal", False)
    assert value("tokensync_resource_ready", kind="RamApplication", namespace="web", name="portal") == 0.0


def test_naive_expiration_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        metrics.set_token_expiration("web", "t", datetime(2026, 11, 23, 1, 0))


def test_forget_resource_removes_its_series_and_only_its_own() -> None:
    expires = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    for name in ("gone", "kept"):
        metrics.set_token_expiration("churn", name, expires)
        metrics.set_resource_ready("ApplicationToken", "churn", name, True)
    # A RamApplication with the same name must keep its series when the token goes.
    metrics.set_resource_ready("RamApplication", "churn", "gone", True)

    metrics.forget_resource("ApplicationToken", "churn", "gone")

    assert value("tokensync_token_expiration_timestamp_seconds", namespace="churn", name="gone") is None
    assert value("tokensync_resource_ready", kind="ApplicationToken", namespace="churn", name="gone") is None
    assert value("tokensync_token_expiration_timestamp_seconds", namespace="churn", name="kept") is not None
    assert value("tokensync_resource_ready", kind="ApplicationToken", namespace="churn", name="kept") == 1.0
    assert value("tokensync_resource_ready", kind="RamApplication", namespace="churn", name="gone") == 1.0
    assert b'kind="ApplicationToken",name="gone",namespace="churn"' not in metrics.render()

    metrics.forget_resource("ApplicationToken", "churn", "gone")  # deleting twice (or never seen) is fine
    metrics.forget_resource("CloudAccess", "nowhere", "never-seen")


def test_a_secret_passed_where_an_identifier_belongs_never_reaches_the_exposition() -> None:
    # Ready reasons, cloud error codes and actions come from outside; a bug that passes a
    # message or a value instead must not publish it.
    metrics.record_sync("ApplicationToken", f"token {CANARY} rejected", 0.1)
    metrics.record_cloud_request("ObtainApplicationToken", f"InvalidToken: {CANARY}")
    metrics.record_cloud_request(f"Action {CANARY}", "Success")
    text = metrics.render().decode()
    assert CANARY not in text
    assert 'tokensync_sync_total{kind="ApplicationToken",result="Other"}' in text
    assert 'tokensync_cloud_requests_total{action="ObtainApplicationToken",code="Other"}' in text


def test_metrics_live_in_tokensyncs_own_registry() -> None:
    from prometheus_client import REGISTRY as GLOBAL_REGISTRY

    assert GLOBAL_REGISTRY.get_sample_value("tokensync_rollout_restarts_total") is None
    assert metrics.REGISTRY.get_sample_value("tokensync_rollout_restarts_total") is not None


async def test_a_taken_port_is_reported_and_leaves_nothing_running() -> None:
    runner = await metrics.start_metrics_server("127.0.0.1", 0)
    try:
        with pytest.raises(OSError):
            await metrics.start_metrics_server("127.0.0.1", bound_port(runner))
    finally:
        await runner.cleanup()
