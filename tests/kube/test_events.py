"""Events as `kubectl describe` and `kubectl get events` show them: repeats folded into one
Event with a count (volatile RequestIds and times aside), and no object flooding the namespace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD
from tests.scenario import NS, eventually, has_reason
from tokensync.clock import LoopClock
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.kube.client import KubeClient
from tokensync.kube.config import load_connection_settings
from tokensync.kube.events import BURST, EventRecorder, correlation_key
from tokensync.runtime.operator import Operator

pytestmark = FAST_FORWARD

INVOLVED = {"apiVersion": "tokensync.dev/v1alpha1", "kind": "ApplicationToken",
            "metadata": {"name": "svc", "namespace": NS, "uid": "uid-1"}}


@pytest.fixture
async def recorder(kubeconfig: Path, clock: LoopClock) -> AsyncIterator[EventRecorder]:
    client = KubeClient(load_connection_settings(str(kubeconfig)))
    try:
        yield EventRecorder(client, clock)
    finally:
        await client.aclose()


def stored(kube: KubernetesEmulator) -> list[dict[str, object]]:
    return [e for e in kube.list("v1", "events", NS) if e["involvedObject"]["name"] == "svc"]


def test_requestids_and_times_do_not_tell_events_apart() -> None:
    first = "SyncFailed: NotFound: x (Code: EntityNotExist, RequestId: 1A-2B); next attempt 2026-12-03T08:00:00Z"
    again = "SyncFailed: NotFound: x (Code: EntityNotExist, RequestId: 9F-00); next attempt 2026-12-03T09:30:05Z"
    assert correlation_key(first) == correlation_key(again)
    assert correlation_key(first) != correlation_key(first.replace("NotFound", "AccessDenied"))


async def test_a_repeat_with_a_new_requestid_bumps_the_count_and_shows_the_newest(
    kube: KubernetesEmulator, recorder: EventRecorder
) -> None:
    kube.create(scenario.namespace(NS))
    for request_id in ("A1", "B2", "C3"):
        await recorder.post(INVOLVED, "Warning", "SyncFailed", f"failed (RequestId: {request_id})")
    events = stored(kube)
    assert len(events) == 1
    assert events[0]["count"] == 3 and events[0]["message"] == "failed (RequestId: C3)"


async def test_one_object_creates_at_most_a_burst_then_one_event_per_five_minutes(
    kube: KubernetesEmulator, recorder: EventRecorder
) -> None:
    kube.create(scenario.namespace(NS))
    for index in range(BURST + 10):
        await recorder.post(INVOLVED, "Normal", "Something", f"distinct message {index}")
    assert len(stored(kube)) == BURST
    await asyncio.sleep(timedelta(minutes=5).total_seconds())
    for index in range(3):
        await recorder.post(INVOLVED, "Normal", "Something", f"later message {index}")
    assert len(stored(kube)) == BURST + 1
    # Another object has its own allowance.
    other = {**INVOLVED, "metadata": {**INVOLVED["metadata"], "name": "other", "uid": "uid-2"}}  # type: ignore[dict-item]
    await recorder.post(other, "Normal", "Something", "first")
    assert any(e["involvedObject"]["name"] == "other" for e in kube.list("v1", "events", NS))


async def test_a_token_failing_all_day_makes_one_event_with_its_count(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """A NotFound token retried with backoff for a day once made dozens of Event objects, each
    with count 1, because each message carried its RequestId and next attempt time."""
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_missing"))
    await eventually(has_reason(kube, "svc", "NotFound"))
    await asyncio.sleep(timedelta(days=1).total_seconds())
    failures = [e for e in stored(kube) if e["reason"] == "SyncFailed"]
    attempts = cloud.calls("ObtainApplicationToken")
    assert len(failures) == 1, [e["message"] for e in failures]
    assert failures[0]["count"] == attempts >= 40
