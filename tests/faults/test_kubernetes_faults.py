"""The Kubernetes fault matrix: the API server failing tokensync's reads and writes, watches
dropped or expired (410 Gone), and the operator stopped part-way through a sync and started again.

What a user must never see: a lost update (the Secret not holding the resource's current token),
a duplicated one (two rollout restarts for one token change, a rollout restart without a token
change, or two tokens created for one rotation), or a Secret written again when nothing changed.

A token's value never changes by itself: a new value comes from tokensync's own rotation
(``renewal.strategy: Rotate``, here a 1 h token rotated at about 40 min of fast-forwarded time, or
at once when a person expires it in the console), or from the user pointing the resource at
another token. Test-side hooks (``when_request``) fail a request only once an earlier one arrived,
to hit a step after the Secret write. Precise crash points of a rotation are in
``test_rotation_crashes.py``.

The Kubernetes emulator injects HTTP errors per method and path (any status: 409, 500, 503...),
ends watch streams (``close_watches``) and forgets watch history so a resumed watch gets 410
Gone (``expire_watch_history``). "Killed at a point of a sync" is done by failing every request
of the step after that point, stopping the operator (it finishes the sync it is in, as on
SIGTERM), and starting a new one with the faults gone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD, operator_settings
from tests.scenario import NS, condition, event_reasons, eventually, is_ready, secret_data, status
from tokensync.clock import LoopClock
from tokensync.controllers.status_report import parse_rfc3339
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.errors import ApiError
from tokensync.kube.config import load_connection_settings
from tokensync.runtime import metrics
from tokensync.runtime.operator import Operator, running_operator

pytestmark = FAST_FORWARD

API = scenario.API
OBTAIN, CREATE = "ObtainApplicationToken", "CreateApplicationToken"
TOKEN_PATH = f"/apis/{API}/namespaces/{NS}/applicationtokens/svc"
STATUS_PATH = f"{TOKEN_PATH}/status$"
SECRET_PATH = f"/api/v1/namespaces/{NS}/secrets"
DEPLOYMENT_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/svc-app"


def secret_writes(kube: KubernetesEmulator) -> int:
    return sum(count for (plural, _verb), count in kube.write_counts.items() if plural == "secrets")


def restarted_at(kube: KubernetesEmulator) -> str | None:
    found = kube.get("apps/v1", "deployments", NS, "svc-app") or {}
    annotations = ((found.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations") or {}
    value = annotations.get("tokensync.dev/restartedAt")
    return str(value) if value is not None else None


def force_sync(kube: KubernetesEmulator, value: str) -> None:
    kube.patch(API, "applicationtokens", NS, "svc", {"metadata": {"annotations": {"tokensync.dev/force-sync": value}}})


def holds_the_cloud_token(kube: KubernetesEmulator, cloud: CloudEmulator,
                          token_id: str = "token_day") -> Callable[[], bool]:
    def check() -> bool:
        return (secret_data(kube, "svc") or {}).get("token") == cloud.token_value(token_id)
    return check


def holds_a_rotated_token(kube: KubernetesEmulator, cloud: CloudEmulator) -> Callable[[], bool]:
    """The Secret holds the resource's current token, one tokensync made to replace token_day."""
    def check() -> bool:
        current = status(kube, "svc").get("applicationTokenId")
        if current in (None, "token_day") or current not in cloud.state.tokens:
            return False
        return (secret_data(kube, "svc") or {}).get("token") == cloud.token_value(str(current))
    return check


def setup(kube: KubernetesEmulator, cloud: CloudEmulator, *, restart_target: bool = False,
          rotate: bool = False) -> None:
    """``rotate``: a 1 h token that tokensync rotates at about 40 min (else a day-long one, extended)."""
    cloud.add_token("token_day", lifetime=timedelta(hours=1) if rotate else timedelta(days=1))
    scenario.standard_cluster(kube, cloud)
    spec: dict[str, Any] = {}
    if restart_target:
        kube.create(scenario.deployment("svc-app"))
        spec["rolloutRestartTargets"] = [{"kind": "Deployment", "name": "svc-app"}]
    if rotate:
        spec["renewal"] = {"strategy": "Rotate", "retireAfter": "5m"}
    kube.create(scenario.application_token("svc", token_id="token_day", **spec))


async def rotation_made(cloud: CloudEmulator) -> None:
    """Fast-forward until tokensync has created the replacing token (its renewal moment)."""
    await eventually(lambda: cloud.calls(CREATE) >= 1, timeout=2 * 3600, step=5)


def when_request(kube: KubernetesEmulator, monkeypatch: pytest.MonkeyPatch, method: str, path: str,
                 then: Callable[[], object]) -> None:
    """Call ``then`` once, as the first request matching ``method`` and ``path`` arrives (before it is
    handled, so faults ``then`` injects apply to later requests only)."""
    take = kube.faults.take
    armed = [True]

    def take_and_watch(request_method: str, request_path: str) -> ApiError | None:
        error = take(request_method, request_path)
        if armed[0] and request_method == method and re.search(path, request_path):
            armed[0] = False
            then()
        return error

    monkeypatch.setattr(kube.faults, "take", take_and_watch)


FIRST_SYNC_FAULTS = {
    # id: (method, path regex, status)
    "status-409": ("PATCH", STATUS_PATH, 409),
    "status-500": ("PATCH", STATUS_PATH, 500),
    "status-503": ("PATCH", STATUS_PATH, 503),
    "secret-create-409": ("POST", f"{SECRET_PATH}$", 409),
    "secret-create-500": ("POST", f"{SECRET_PATH}$", 500),
    "secret-read-503": ("GET", f"{SECRET_PATH}/svc$", 503),
    "token-read-429": ("GET", f"{SECRET_PATH}/tokensync-ak$", 429),
}


@pytest.mark.parametrize("fault_id", list(FIRST_SYNC_FAULTS))
async def test_api_errors_during_the_first_sync_are_retried_without_duplicate_writes(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, fault_id: str,
) -> None:
    method, path, code = FIRST_SYNC_FAULTS[fault_id]
    kube.inject_fault(method, path, status=code, times=3)
    setup(kube, cloud)
    await eventually(is_ready(kube, "svc"), timeout=120)
    assert holds_the_cloud_token(kube, cloud)()
    assert kube.write_counts.get(("secrets", "create"), 0) == 1
    assert kube.write_counts.get(("secrets", "patch"), 0) == 0
    # Each failed attempt may read the cloud once more (the status did not say it was read), no more.
    assert cloud.calls(OBTAIN) <= 1 + 3
    assert status(kube, "svc")["failedAttempts"] == 0
    writes, reads = secret_writes(kube), cloud.calls(OBTAIN)
    await asyncio.sleep(1800)
    assert (secret_writes(kube), cloud.calls(OBTAIN)) == (writes, reads)  # and then quiet


@pytest.mark.parametrize("code", [409, 500, 503])
async def test_a_failed_secret_update_is_retried_until_the_new_token_is_written(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, code: int,
) -> None:
    setup(kube, cloud, rotate=True)
    await eventually(is_ready(kube, "svc"))
    # The Secret is patched only when its token changes: the rotation's write fails three times.
    kube.inject_fault("PATCH", f"{SECRET_PATH}/svc$", status=code, times=3)
    await rotation_made(cloud)
    await eventually(holds_a_rotated_token(kube, cloud), timeout=120)
    await eventually(is_ready(kube, "svc"))
    assert kube.write_counts.get(("secrets", "patch"), 0) == 1
    assert event_reasons(kube, "svc").count("Rotated") == 1
    assert cloud.calls(CREATE) == 1  # the failed writes were retried, not the rotation


async def test_a_status_conflict_after_a_rotation_still_restarts_the_workloads_once(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup(kube, cloud, restart_target=True, rotate=True)
    await eventually(is_ready(kube, "svc"))
    # The status write that follows the Secret's new value meets a conflict.
    when_request(kube, monkeypatch, "PATCH", f"{SECRET_PATH}/svc$",
                 lambda: kube.inject_fault("PATCH", STATUS_PATH, status=409, times=1))
    await rotation_made(cloud)
    await eventually(holds_a_rotated_token(kube, cloud), timeout=60)
    await eventually(lambda: not status(kube, "svc").get("pendingRolloutRestarts"), timeout=60)
    await asyncio.sleep(60)
    assert restarted_at(kube) is not None
    assert event_reasons(kube, "svc").count("RolloutRestarted") == 1
    assert cloud.calls(CREATE) == 1


async def test_a_failed_rollout_restart_is_retried(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator,
) -> None:
    setup(kube, cloud, restart_target=True, rotate=True)
    await eventually(is_ready(kube, "svc"))
    kube.inject_fault("PATCH", f"{DEPLOYMENT_PATH}$", status=503, times=1)
    await rotation_made(cloud)
    await eventually(holds_a_rotated_token(kube, cloud), timeout=60)
    await asyncio.sleep(60)
    assert restarted_at(kube) is not None, "the workload still runs with the old token"
    assert event_reasons(kube, "svc").count("RolloutRestarted") == 1
    # The replaced token is retired only after the restart (and retireAfter): still there now.
    assert "token_day" in cloud.state.tokens


@pytest.mark.parametrize("how", ["closed", "410-gone"])
async def test_changes_made_while_the_watch_was_down_are_seen(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, how: str,
) -> None:
    setup(kube, cloud)
    await eventually(is_ready(kube, "svc"))
    reads = cloud.calls(OBTAIN)
    for round_number in range(3):
        if how == "410-gone":
            kube.expire_watch_history()
        kube.close_watches()
        # Made right away, before the operator's watch is back, it must still see them: the user
        # points the resource at another token (one made in the console), asks for a read, and
        # someone deletes the Secret.
        token_id = f"token_next_{round_number}"
        new_value = cloud.add_token(token_id, lifetime=timedelta(days=1)).value
        kube.patch(API, "applicationtokens", NS, "svc", {"spec": {"applicationTokenId": token_id}})
        force_sync(kube, f"{how}-{round_number}")
        kube.delete("v1", "secrets", NS, "svc")
        await eventually(lambda v=new_value: (secret_data(kube, "svc") or {}).get("token") == v, timeout=120)
        await eventually(lambda n=round_number: status(kube, "svc").get("lastForceSync") == f"{how}-{n}", timeout=60)
        assert status(kube, "svc")["applicationTokenId"] == token_id
    assert cloud.calls(OBTAIN) - reads <= 3 * 2  # one read per change (a relist may add one each)
    await asyncio.sleep(300)
    assert condition(kube, "svc")["status"] == "True"
    assert status(kube, "svc")["observedGeneration"] == (kube.get(API, "applicationtokens", NS, "svc") or {})[
        "metadata"]["generation"]


KILL_POINTS = {
    # id: (the request that arms the faults or None: at once, the step whose requests then fail)
    "before-secret-write": (None, ("PATCH", f"{SECRET_PATH}/svc$")),
    "before-rollout-restart": (None, ("PATCH", f"{DEPLOYMENT_PATH}$")),
    "before-status-write": (("PATCH", f"{SECRET_PATH}/svc$"), ("PATCH", STATUS_PATH)),  # after the Secret's
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
async def test_an_operator_stopped_mid_sync_finishes_the_work_once_after_a_restart(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
    monkeypatch: pytest.MonkeyPatch, point: str,
) -> None:
    setup(kube, cloud, restart_target=True, rotate=True)
    connection = load_connection_settings(str(kubeconfig))
    armed_by, (method, path) = KILL_POINTS[point]
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await eventually(is_ready(kube, "svc"))
        assert restarted_at(kube) is None  # the first token is not a rotation
        if armed_by is None:
            kube.inject_fault(method, path, status=500, times=10**6)
        else:
            when_request(kube, monkeypatch, *armed_by, lambda: kube.inject_fault(method, path, status=500,
                                                                                times=10**6))
        await rotation_made(cloud)
        await asyncio.sleep(3)  # the sync fails at that step (and is retried in 5 s)
    kube.clear_faults()
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await eventually(holds_a_rotated_token(kube, cloud), timeout=60)
        await asyncio.sleep(600)
    assert condition(kube, "svc")["status"] == "True"
    assert restarted_at(kube) is not None, "the token changed but the workload was never restarted"
    assert event_reasons(kube, "svc").count("RolloutRestarted") == 1
    assert cloud.calls(CREATE) == 1, "the rotation was made again after the restart"
    assert "token_day" not in cloud.state.tokens  # the replaced token was retired after all


async def test_restarting_the_operator_again_and_again_never_restarts_workloads_without_a_new_token(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
) -> None:
    setup(kube, cloud, restart_target=True, rotate=True)
    connection = load_connection_settings(str(kubeconfig))
    restarts: list[str | None] = []
    for round_number in range(4):
        async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
            await eventually(is_ready(kube, "svc"))
            if round_number == 2:
                # A person expires the token in the console; the forced read rotates it at once.
                cloud.expire_token("token_day")
                force_sync(kube, "rotate")
                await eventually(holds_a_rotated_token(kube, cloud), timeout=60)
            await asyncio.sleep(120 + 37 * round_number)
        restarts.append(restarted_at(kube))
    assert restarts[0] is None and restarts[1] is None  # no token change, no restart
    assert restarts[2] is not None and restarts[3] == restarts[2]  # one change, one restart
    assert event_reasons(kube, "svc").count("RolloutRestarted") == 1
    assert kube.write_counts.get(("secrets", "patch"), 0) == 1  # the rotation, nothing else
    assert cloud.calls(CREATE) == 1


async def test_after_a_restart_every_gauge_is_back_before_any_read(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock,
) -> None:
    # A new operator process (a restart, a failover) starts with empty gauges. A resource that is
    # not due must still get its series, or the expiry and sync-failing alerts stay silent.
    setup(kube, cloud)
    connection = load_connection_settings(str(kubeconfig))
    labels = {"namespace": NS, "name": "svc"}
    ready_labels = {"kind": "ApplicationToken", **labels}

    def gauges() -> tuple[float | None, float | None, float | None]:
        sample = metrics.REGISTRY.get_sample_value
        return (sample("tokensync_token_expiration_timestamp_seconds", labels),
                sample("tokensync_token_renewal_deadline_timestamp_seconds", labels),
                sample("tokensync_resource_ready", ready_labels))

    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await eventually(is_ready(kube, "svc"))
        before = gauges()
    expires = parse_rfc3339(status(kube, "svc")["expirationTime"])
    created = parse_rfc3339(status(kube, "svc")["createTime"])
    assert expires is not None and created is not None
    # The default renewBefore: a third (33%) of the token's lifetime before its expiry.
    assert before[0] == pytest.approx(expires.timestamp(), abs=1)  # status keeps whole seconds
    assert before[1] == pytest.approx((expires - (expires - created) * 0.33).timestamp(), abs=1)
    assert before[2] == 1.0

    metrics.forget_resource("ApplicationToken", NS, "svc")  # what a new process starts with
    assert gauges() == (None, None, None)
    reads = cloud.calls("ObtainApplicationToken")
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await eventually(lambda: None not in gauges(), timeout=10)
        assert gauges() == pytest.approx(before, abs=1)
    assert cloud.calls("ObtainApplicationToken") == reads  # from status, not from a new read


# --- deletions a re-listing watch cannot report ------------------------------------------------------


def token_gauge(name: str = "svc") -> float | None:
    return metrics.REGISTRY.get_sample_value("tokensync_token_expiration_timestamp_seconds",
                                             {"namespace": NS, "name": name})


def cloud_calls(cloud: CloudEmulator) -> int:
    return sum(cloud.calls(action) for action in (OBTAIN, "UpdateApplicationTokenExpirationTime", CREATE))


async def delete_unseen(kube: KubernetesEmulator, api_version: str, plural: str, namespace: str | None,
                        name: str) -> None:
    """Delete while the watches are down, and forget the watch history: the watches come back
    with a 410, list again, and never see a DELETED for it (issue 14: 711 reads an hour)."""
    kube.close_watches()
    kube.delete(api_version, plural, namespace, name)
    kube.expire_watch_history()
    await asyncio.sleep(5)


@pytest.mark.parametrize("strategy", ["Extend", "Rotate"])
async def test_a_resource_deleted_while_the_watch_relisted_is_forgotten(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock, strategy: str,
) -> None:
    """A 15-minute token renewed every few minutes: the deleted resource costs at most the one
    renewal that was due before the operator noticed (a 404 on its status, or the periodic
    re-list), then nothing: no cloud call, no Secret created again, no Warning, no metric series."""
    cloud.add_token("token_short", lifetime=timedelta(minutes=15))
    cloud.add_token("token_month", lifetime=timedelta(days=30))  # not due within the hour
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_short", renewal={"strategy": strategy}))
    kube.create(scenario.application_token("other", token_id="token_month", refresh={"recheckInterval": "24h"}))
    await eventually(is_ready(kube, "svc"))
    await eventually(is_ready(kube, "other"))
    assert token_gauge() is not None
    calls = cloud_calls(cloud) - cloud.calls(OBTAIN)
    reads = cloud.calls(OBTAIN)
    if strategy == "Rotate":  # the finalizer would hold the resource: let it go as a user might
        kube.patch(API, "applicationtokens", NS, "svc", {"metadata": {"finalizers": None}})
    await delete_unseen(kube, API, "applicationtokens", NS, "svc")
    await asyncio.sleep(3600)
    writes = cloud_calls(cloud) - cloud.calls(OBTAIN) - calls
    assert writes <= 1, f"{writes} renewals for a deleted resource in an hour"
    assert cloud.calls(OBTAIN) - reads <= 1, f"{cloud.calls(OBTAIN) - reads} reads in an hour"
    assert secret_data(kube, "svc") is None, "the deleted resource's Secret is back"
    assert not [e for e in scenario.events(kube, "svc") if e["type"] == "Warning"]
    assert token_gauge() is None
    assert token_gauge("other") is not None and is_ready(kube, "other")()


async def test_a_cloud_access_deleted_while_the_watch_relisted_stops_serving(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
) -> None:
    """Deleting a ClusterCloudAccess revokes what it granted, even when the watch missed the deletion."""
    setup(kube, cloud)
    await eventually(is_ready(kube, "svc"))
    await delete_unseen(kube, API, "clustercloudaccesses", None, "default")
    identity_checks = cloud.calls("GetCallerIdentity")
    await asyncio.sleep(15 * 60)
    force_sync(kube, "after-the-access-went")
    await eventually(scenario.has_reason(kube, "svc", "CloudAccessNotFound"), timeout=120)
    requests = len(kube.requests)
    await asyncio.sleep(3600)
    assert cloud.calls("GetCallerIdentity") - identity_checks <= 1
    # (The token that names it retries, with backoff, and reads it each time: that is no ghost.)
    writes = [r for r in kube.requests[requests:] if "/clustercloudaccesses/default" in r[1] and r[0] != "GET"]
    assert len(writes) <= 1, f"{len(writes)} status writes for the deleted ClusterCloudAccess in an hour"


async def test_an_idle_resource_deleted_unseen_is_forgotten_by_the_next_relist_without_a_cloud_call(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
) -> None:
    """Nothing is due for a day: no sync would meet a 404. The periodic re-list (every 10 min)
    finds it gone: its metric series go (no alert for a token nobody holds), nothing is read."""
    setup(kube, cloud)
    await eventually(is_ready(kube, "svc"))
    calls = cloud.calls()
    await delete_unseen(kube, API, "applicationtokens", NS, "svc")
    assert token_gauge() is not None
    await asyncio.sleep(11 * 60)
    assert token_gauge() is None
    assert cloud.calls() == calls
