"""ApplicationToken end to end: both emulators, the real operator, fast-forwarded time.

Each test is something a user would see: a Secret appearing, staying fresh, surviving edits
and outages, and a resource status that says what happened and what happens next.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD, operator_settings
from tests.scenario import NS, condition, eventually, has_reason, is_ready, secret_data, status
from tokensync.clock import LoopClock
from tokensync.controllers.application_token import APPLICATION_TOKENS
from tokensync.controllers.status_report import parse_rfc3339, patch_status
from tokensync.emulators.cloud import CloudEmulator, demo_state, running_cloud_emulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.kube.client import KubeClient
from tokensync.kube.config import load_connection_settings
from tokensync.kube.errors import KubeApiError
from tokensync.runtime.operator import Operator, running_operator

pytestmark = FAST_FORWARD

API = scenario.API


def obtain_calls(cloud: CloudEmulator) -> int:
    return cloud.calls("ObtainApplicationToken")


def seconds_text(moment: datetime | None) -> str:
    """A cloud time as status shows it: RFC 3339, UTC, whole seconds."""
    assert moment is not None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_token_appears_in_a_secret_with_status(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    # LastUsedTime is when a SCIM client last used the token (reads do not move it).
    cloud.token("token_demo").last_used_time = cloud.token("token_demo").create_time
    kube.create(scenario.application_token())
    await eventually(is_ready(kube, "billing-api"))
    secret = kube.get("v1", "secrets", NS, "billing-api")
    assert secret is not None
    data = secret_data(kube, "billing-api")
    assert data is not None and set(data) == {"token", "tokenType", "expiresAt"}
    assert data["tokenType"] == "bearer_token"
    assert data["token"] == cloud.token_value("token_demo")
    meta = secret["metadata"]
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "tokensync"
    assert meta["annotations"]["tokensync.dev/source"] == "ApplicationToken/billing-api"
    assert meta["annotations"]["tokensync.dev/expires-at"] == data["expiresAt"]
    resource = kube.get(API, "applicationtokens", NS, "billing-api")
    assert resource is not None
    owner = meta["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "ApplicationToken", "billing-api", resource["metadata"]["uid"], True)
    st = resource["status"]
    for field in ("observedGeneration", "secretName", "tokenType", "tokenStatus", "createTime", "expirationTime",
                  "lastUsedTime", "lastSyncTime", "nextRefreshTime", "lastRotationTime"):
        assert st.get(field) is not None, field
    assert st["failedAttempts"] == 0
    assert st["tokenStatus"] == "enabled"
    assert st["applicationTokenId"] == "token_demo" and "retiringTokens" not in st
    assert st["expirationTime"] == data["expiresAt"]
    live = cloud.token("token_demo")
    assert (st["createTime"], st["expirationTime"], st["lastUsedTime"]) == (
        seconds_text(live.create_time), seconds_text(live.expiration_time), seconds_text(live.last_used_time))
    ready = condition(kube, "billing-api")
    assert ready["reason"] == "Synced" and ready["observedGeneration"] == resource["metadata"]["generation"]
    assert "Synced" in scenario.event_reasons(kube, "billing-api")


@pytest.mark.parametrize(("lifetime", "hours", "recheck"), [
    (timedelta(minutes=2), 0.5, timedelta(hours=1)),
    (timedelta(hours=1), 6, timedelta(hours=1)),
    (timedelta(days=30), 24 * 70, timedelta(days=1)),
], ids=["2m", "1h", "30d"])
async def test_the_secret_never_holds_an_expired_token_with_one_update_per_renewal(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    lifetime: timedelta, hours: float, recheck: timedelta,
) -> None:
    """The default strategy (Extend): a third of the lifetime before expiry, tokensync moves the
    expiry to now + lifetime. The value never changes; the Secret's expiresAt follows; each
    renewal costs one UpdateApplicationTokenExpirationTime, and reads stay at the planned ones."""
    cloud.add_token("token_test", lifetime=lifetime)
    value = cloud.token_value("token_test")
    scenario.standard_cluster(kube, cloud)
    recheck_text = f"{int(recheck.total_seconds())}s"
    kube.create(scenario.application_token("svc", token_id="token_test", refresh={"recheckInterval": recheck_text}))
    await eventually(is_ready(kube, "svc"))
    reads_at_start, updates_at_start = obtain_calls(cloud), cloud.calls("UpdateApplicationTokenExpirationTime")

    end = clock.now() + timedelta(hours=hours)
    step = min(lifetime / 10, timedelta(hours=2)).total_seconds()
    late: list[str] = []
    expiries: set[str] = set()
    while clock.now() < end:
        await asyncio.sleep(step)
        data = secret_data(kube, "svc")
        assert data is not None and data["token"] == value
        expires = parse_rfc3339(data["expiresAt"])
        assert expires is not None
        expiries.add(data["expiresAt"])
        if expires <= clock.now() or cloud.token("token_test").expiration_time <= clock.now():  # type: ignore[operator]
            late.append(f"{clock.now()}: the token expired at {expires}")
    assert late == []
    duration = timedelta(hours=hours)
    # One renewal every two thirds of the lifetime (a little more often: the jitter moves each earlier).
    renewals = duration / (lifetime * 2 / 3)
    updates = cloud.calls("UpdateApplicationTokenExpirationTime") - updates_at_start
    assert renewals - 1 <= updates <= renewals * 1.15 + 1, (updates, renewals)
    reads = obtain_calls(cloud) - reads_at_start
    shortest_recheck = recheck - min(recheck / 10, timedelta(minutes=5))
    # A read at each renewal, and the recheckInterval's reads between renewals if it is shorter.
    most = max(renewals * 1.15 + 1, duration / shortest_recheck + 1)
    assert updates <= reads <= most + updates, (reads, most)
    assert len(expiries) >= updates  # the Secret's expiresAt followed each extension
    assert condition(kube, "svc")["status"] == "True"


async def test_a_token_nobody_renews_is_read_a_few_times_toward_its_expiry(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    """renewal.strategy None: after the renewal moment the reads double their spacing (someone
    may still extend the token in the console), one lands just before expiry, the next after it."""
    cloud.add_token("token_ro", lifetime=timedelta(hours=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_ro", renewal={"strategy": "None"}))
    await eventually(is_ready(kube, "svc"))
    reads_at_start = obtain_calls(cloud)
    await asyncio.sleep(timedelta(minutes=59, seconds=50).total_seconds())
    assert 2 <= obtain_calls(cloud) - reads_at_start <= 15
    assert condition(kube, "svc")["status"] == "True"
    # A person extends it in the console: the next read sees it and the warning is not repeated.
    cloud.set_token_expiration("token_ro", clock.now() + timedelta(hours=1))
    await asyncio.sleep(60)
    assert condition(kube, "svc")["status"] == "True"
    assert parse_rfc3339(status(kube, "svc")["expirationTime"]) > clock.now() + timedelta(minutes=50)  # type: ignore[operator]


async def test_steady_state_makes_no_secret_writes(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    cloud.add_token("token_long", lifetime=timedelta(days=365))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_long"))
    await eventually(is_ready(kube, "svc"))
    secret_writes = {k: v for k, v in kube.write_counts.items() if k[0] == "secrets"}
    reads = obtain_calls(cloud)
    await asyncio.sleep(6 * 3600)
    assert {k: v for k, v in kube.write_counts.items() if k[0] == "secrets"} == secret_writes
    assert 5 <= obtain_calls(cloud) - reads <= 7  # the hourly recheck, nothing more


async def test_force_sync_reads_now(kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token())
    await eventually(is_ready(kube, "billing-api"))
    reads = obtain_calls(cloud)
    # Someone extends the token in the console: a forced read shows the new expiry at once.
    extended = datetime(2027, 6, 1, tzinfo=UTC)
    cloud.set_token_expiration("token_demo", extended)
    kube.patch(API, "applicationtokens", NS, "billing-api",
               {"metadata": {"annotations": {"tokensync.dev/force-sync": "1"}}})
    await eventually(lambda: (secret_data(kube, "billing-api") or {}).get("expiresAt") == "2027-06-01T00:00:00Z",
                     timeout=5)
    assert obtain_calls(cloud) == reads + 1
    assert status(kube, "billing-api")["lastForceSync"] == "1"
    assert status(kube, "billing-api")["expirationTime"] == "2027-06-01T00:00:00Z"


async def test_rotation_restarts_the_named_workloads_once(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.deployment("billing-api"))
    kube.create(scenario.application_token(rolloutRestartTargets=[{"kind": "Deployment", "name": "billing-api"}]))
    await eventually(is_ready(kube, "billing-api"))

    def restarted_at() -> str | None:
        found = kube.get("apps/v1", "deployments", NS, "billing-api") or {}
        annotations = found["spec"]["template"].get("metadata", {}).get("annotations") or {}
        return annotations.get("tokensync.dev/restartedAt")

    assert restarted_at() is None  # the first write is not a rotation
    switch_token(kube, cloud)
    await eventually(restarted_at, timeout=5)
    assert scenario.event_reasons(kube, "billing-api").count("RolloutRestarted") == 1
    first = restarted_at()
    kube.patch(API, "applicationtokens", NS, "billing-api",
               {"metadata": {"annotations": {"tokensync.dev/force-sync": "again"}}})
    await eventually(lambda: status(kube, "billing-api").get("lastForceSync") == "again", timeout=5)
    assert restarted_at() == first  # same value: no second restart


def switch_token(kube: KubernetesEmulator, cloud: CloudEmulator, name: str = "billing-api") -> str:
    """Point the resource at another token (a new value for the Secret); returns that value."""
    cloud.add_token("token_next", lifetime=timedelta(days=30))
    kube.patch(API, "applicationtokens", NS, name, {"spec": {"applicationTokenId": "token_next"}})
    return cloud.token_value("token_next")


def pod_template_annotation(kube: KubernetesEmulator, name: str) -> str | None:
    found = kube.get("apps/v1", "deployments", NS, name) or {}
    annotations = found["spec"]["template"].get("metadata", {}).get("annotations") or {}
    value = annotations.get("tokensync.dev/restartedAt")
    return str(value) if value is not None else None


async def test_a_failed_restart_is_listed_in_status_and_retried_without_a_cloud_read(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.deployment("billing-api"))
    kube.create(scenario.deployment("worker"))
    targets = [{"kind": "Deployment", "name": "billing-api"}, {"kind": "Deployment", "name": "worker"}]
    kube.create(scenario.application_token(rolloutRestartTargets=targets))
    await eventually(is_ready(kube, "billing-api"))
    kube.inject_fault("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/worker$", status=503, times=1)
    switch_token(kube, cloud)
    await eventually(lambda: status(kube, "billing-api").get("applicationTokenId") == "token_next", timeout=5)
    await eventually(lambda: pod_template_annotation(kube, "billing-api") is not None, timeout=5)
    assert status(kube, "billing-api")["pendingRolloutRestarts"] == [{"kind": "Deployment", "name": "worker"}]
    assert pod_template_annotation(kube, "worker") is None
    assert condition(kube, "billing-api")["status"] == "True"  # the Secret is fresh; only a restart is owed
    reads = obtain_calls(cloud)
    first = pod_template_annotation(kube, "billing-api")

    await asyncio.sleep(31)
    assert pod_template_annotation(kube, "worker") is not None
    assert "pendingRolloutRestarts" not in status(kube, "billing-api")
    assert pod_template_annotation(kube, "billing-api") == first  # restarted once, not again
    assert scenario.event_reasons(kube, "billing-api").count("RolloutRestarted") == 2  # one per workload
    assert obtain_calls(cloud) == reads


async def test_a_missing_restart_target_is_reported_and_not_retried(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token(rolloutRestartTargets=[{"kind": "StatefulSet", "name": "gone"}]))
    await eventually(is_ready(kube, "billing-api"))
    switch_token(kube, cloud)
    await eventually(lambda: status(kube, "billing-api").get("applicationTokenId") == "token_next", timeout=5)
    warnings = [e["message"] for e in scenario.events(kube, "billing-api") if e["type"] == "Warning"]
    assert any("could not restart StatefulSet gone: not found (not retried)" in m for m in warnings), warnings
    assert "pendingRolloutRestarts" not in status(kube, "billing-api")
    assert condition(kube, "billing-api")["status"] == "True"


async def test_a_restart_the_chart_does_not_allow_says_how_to_allow_it_and_is_retried(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """Rollout restarts are opt-in in the chart (rbac.rolloutRestart): without them the API server
    answers 403, and the resource says what to change; once granted, the restart is made."""
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.deployment("billing-api"))
    kube.create(scenario.application_token(rolloutRestartTargets=[{"kind": "Deployment", "name": "billing-api"}]))
    await eventually(is_ready(kube, "billing-api"))
    kube.inject_fault("GET", f"/apis/apps/v1/namespaces/{NS}/deployments/billing-api$", status=403, times=10**6)
    switch_token(kube, cloud)
    await eventually(lambda: status(kube, "billing-api").get("applicationTokenId") == "token_next", timeout=5)
    warnings = [e["message"] for e in scenario.events(kube, "billing-api") if e["type"] == "Warning"]
    assert any("403" in m and "rbac.rolloutRestart.enabled=true" in m for m in warnings), warnings
    assert status(kube, "billing-api")["pendingRolloutRestarts"] == [{"kind": "Deployment", "name": "billing-api"}]
    kube.clear_faults()
    await asyncio.sleep(31)
    assert pod_template_annotation(kube, "billing-api") is not None
    assert "pendingRolloutRestarts" not in status(kube, "billing-api")


async def test_a_deleted_or_edited_secret_is_restored_without_a_cloud_read(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token())
    await eventually(is_ready(kube, "billing-api"))
    good = secret_data(kube, "billing-api")
    reads = obtain_calls(cloud)

    kube.delete("v1", "secrets", NS, "billing-api")
    await eventually(lambda: secret_data(kube, "billing-api") == good, timeout=5)

    kube.patch("v1", "secrets", NS, "billing-api", {"data": {"token": "ZWRpdGVk"}})
    await eventually(lambda: secret_data(kube, "billing-api") == good, timeout=5)
    assert obtain_calls(cloud) == reads  # repaired from what was last read

    # The marks that say whose Secret this is (selectors, GitOps tools, policies rely on them).
    kube.patch("v1", "secrets", NS, "billing-api", {"metadata": {
        "labels": {"app.kubernetes.io/managed-by": None},
        "annotations": {"tokensync.dev/source": None}}})

    def marked() -> bool:
        meta = (kube.get("v1", "secrets", NS, "billing-api") or {}).get("metadata") or {}
        return ((meta.get("labels") or {}).get("app.kubernetes.io/managed-by") == "tokensync"
                and (meta.get("annotations") or {}).get("tokensync.dev/source") == "ApplicationToken/billing-api")

    await eventually(marked, timeout=5)
    assert condition(kube, "billing-api")["status"] == "True"  # still its own Secret, not a conflict
    assert obtain_calls(cloud) == reads


async def test_a_secret_type_change_is_refused_and_the_secret_kept(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token())
    await eventually(is_ready(kube, "billing-api"))
    good = secret_data(kube, "billing-api")
    kube.patch(scenario.API, "applicationtokens", NS, "billing-api",
               {"spec": {"secret": {"type": "kubernetes.io/basic-auth",
                                    "template": {"username": "svc", "password": "{{ token }}"}}}})
    await eventually(has_reason(kube, "billing-api", "InvalidSpec"))
    assert "type cannot change" in condition(kube, "billing-api")["message"]
    assert secret_data(kube, "billing-api") == good
    assert (kube.get("v1", "secrets", NS, "billing-api") or {}).get("type") == "Opaque"


async def test_an_existing_secret_is_never_taken_over(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "billing-api", "namespace": NS},
                 "stringData": {"password": "hunter2"}})
    kube.create(scenario.application_token())
    await eventually(has_reason(kube, "billing-api", "SecretConflict"))
    assert secret_data(kube, "billing-api") == {"password": "hunter2"}
    assert "SecretConflict" in scenario.event_reasons(kube, "billing-api")
    assert "Merge" in condition(kube, "billing-api")["message"]  # says how to resolve it


def users_secret() -> dict[str, object]:
    """A Secret someone else made, that Merge resources write into."""
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shared", "namespace": NS},
            "stringData": {"password": "hunter2"}}


async def test_merge_adds_only_our_keys_and_orphan_survives_deletion(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(users_secret())
    kube.create(scenario.application_token("merged", secret={"name": "shared", "creationPolicy": "Merge"}))
    kube.create(scenario.application_token("orphaned", secret={"creationPolicy": "Orphan"}))
    await eventually(is_ready(kube, "merged"))
    await eventually(is_ready(kube, "orphaned"))
    merged = secret_data(kube, "shared")
    assert merged is not None and merged["password"] == "hunter2" and "token" in merged
    orphan = kube.get("v1", "secrets", NS, "orphaned")
    assert orphan is not None and not orphan["metadata"].get("ownerReferences")

    kube.delete(API, "applicationtokens", NS, "orphaned")
    kube.delete(API, "applicationtokens", NS, "merged")
    await eventually(lambda: kube.get(API, "applicationtokens", NS, "merged") is None)
    assert kube.get("v1", "secrets", NS, "orphaned") is not None
    # The Merge resource's keys, label and annotations went with it; the owner's key stayed.
    assert secret_data(kube, "shared") == {"password": "hunter2"}
    shared = kube.get("v1", "secrets", NS, "shared") or {}
    assert not [k for k in shared["metadata"].get("annotations") or {} if k.startswith("tokensync.dev/")]
    assert "app.kubernetes.io/managed-by" not in (shared["metadata"].get("labels") or {})


async def test_a_retained_merge_leaves_its_keys(kube: KubernetesEmulator, cloud: CloudEmulator,
                                                operator: Operator) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(users_secret())
    kube.create(scenario.application_token(
        "merged", secret={"name": "shared", "creationPolicy": "Merge", "deletionPolicy": "Retain"}))
    await eventually(is_ready(kube, "merged"))
    assert not (kube.get(API, "applicationtokens", NS, "merged") or {})["metadata"].get("finalizers")
    kube.delete(API, "applicationtokens", NS, "merged")
    assert set(secret_data(kube, "shared") or {}) == {"password", "token", "tokenType", "expiresAt"}


async def test_a_new_resource_under_a_deleted_ones_name_does_not_take_over_a_users_secret(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """Issue 14: a Merge resource is deleted (Retain: its keys stay in the user's Secret); a new
    resource of the same name, creationPolicy Owner, naming that Secret, must not take it over."""
    scenario.standard_cluster(kube, cloud)
    kube.create(users_secret())
    kube.create(scenario.application_token(
        "svc", secret={"name": "shared", "creationPolicy": "Merge", "deletionPolicy": "Retain"}))
    await eventually(is_ready(kube, "svc"))
    kube.delete(API, "applicationtokens", NS, "svc")
    await asyncio.sleep(1)
    kube.create(scenario.application_token("svc", secret={"name": "shared"}))
    await eventually(scenario.has_reason(kube, "svc", "SecretConflict"))
    shared = kube.get("v1", "secrets", NS, "shared") or {}
    assert (secret_data(kube, "shared") or {}).get("password") == "hunter2"
    assert not shared["metadata"].get("ownerReferences"), "the user's Secret was given an owner"


async def test_two_resources_merging_into_one_secret_do_not_flip_it(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    cloud.add_token("token_other", lifetime=timedelta(days=30))
    scenario.standard_cluster(kube, cloud)
    kube.create(users_secret())
    merge = {"name": "shared", "creationPolicy": "Merge"}
    kube.create(scenario.application_token("first", secret=merge))
    await eventually(is_ready(kube, "first"))
    kube.create(scenario.application_token("second", token_id="token_other", secret=merge))
    await eventually(scenario.has_reason(kube, "second", "SecretConflict"))
    assert "ApplicationToken demo/first" in condition(kube, "second")["message"]
    for _ in range(24):  # 4 hours: the Secret holds the first's token at every look, never the second's
        await asyncio.sleep(600)
        assert (secret_data(kube, "shared") or {}).get("token") == cloud.token_value("token_demo")
        assert has_reason(kube, "second", "SecretConflict")()
    # Deleting the first (its keys go) lets the second merge.
    kube.delete(API, "applicationtokens", NS, "first")
    await eventually(is_ready(kube, "second"), timeout=3600, step=5)
    assert (secret_data(kube, "shared") or {}).get("token") == cloud.token_value("token_other")


async def test_a_secret_a_deleted_resource_left_behind_is_taken_over_by_the_next(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """deletionPolicy Retain keeps a Secret tokensync wrote whole; a resource created later under
    that name (a GitOps re-apply) takes it over: nothing in it was anyone else's."""
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", secret={"deletionPolicy": "Retain"}))
    await eventually(is_ready(kube, "svc"))
    kube.delete(API, "applicationtokens", NS, "svc")
    kube.create(scenario.application_token("svc"))
    await eventually(is_ready(kube, "svc"))
    secret = kube.get("v1", "secrets", NS, "svc") or {}
    resource = kube.get(API, "applicationtokens", NS, "svc") or {}
    assert [r["uid"] for r in secret["metadata"].get("ownerReferences") or []] == [resource["metadata"]["uid"]]


async def test_owned_secret_goes_with_the_resource_unless_retained(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("gone"))
    kube.create(scenario.application_token("kept", secret={"deletionPolicy": "Retain"}))
    await eventually(is_ready(kube, "gone"))
    await eventually(is_ready(kube, "kept"))
    kube.delete(API, "applicationtokens", NS, "gone")
    kube.delete(API, "applicationtokens", NS, "kept")
    await eventually(lambda: kube.get("v1", "secrets", NS, "gone") is None)
    assert kube.get("v1", "secrets", NS, "kept") is not None


@pytest.mark.parametrize("switch", [{"deletionPolicy": "Retain"}, {"creationPolicy": "Orphan"}])
async def test_switching_to_retain_or_orphan_drops_the_owner_reference_so_the_secret_survives(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, switch: dict[str, str]
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc"))
    await eventually(is_ready(kube, "svc"))
    assert kube.get("v1", "secrets", NS, "svc")["metadata"].get("ownerReferences")  # type: ignore[index]
    kube.patch(API, "applicationtokens", NS, "svc", {"spec": {"secret": switch}})
    await eventually(lambda: not (kube.get("v1", "secrets", NS, "svc") or {})["metadata"].get("ownerReferences"))
    await eventually(lambda: status(kube, "svc").get("observedGeneration") == 2)
    kube.delete(API, "applicationtokens", NS, "svc")
    await asyncio.sleep(60)
    assert kube.get(API, "applicationtokens", NS, "svc") is None
    assert secret_data(kube, "svc") is not None  # the garbage collector had nothing to follow


async def test_a_broken_template_is_invalid_spec_and_keeps_the_secret(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token(secret={"template": {"Authorization": "Bearer {{ token }}"}}))
    await eventually(is_ready(kube, "billing-api"))
    before = secret_data(kube, "billing-api")
    assert before is not None and before == {"Authorization": f"Bearer {cloud.token_value('token_demo')}"}
    reads = obtain_calls(cloud)
    kube.patch(API, "applicationtokens", NS, "billing-api",
               {"spec": {"secret": {"template": {"Authorization": "Bearer {{ token.__class__ }}"}}}})
    await eventually(has_reason(kube, "billing-api", "InvalidSpec"))
    assert "template" in condition(kube, "billing-api")["message"]
    assert secret_data(kube, "billing-api") == before
    await asyncio.sleep(3 * 3600)
    assert obtain_calls(cloud) <= reads + 1  # an invalid spec is not retried in a loop
    assert condition(kube, "billing-api")["reason"] == "InvalidSpec"


@pytest.mark.parametrize(("break_it", "reason"), [
    ("disable", "TokenDisabled"),
    ("expire", "TokenExpired"),
    ("delete", "NotFound"),
    ("forbid", "AccessDenied"),
    ("throttle", "Throttled"),
    ("outage", "CloudUnavailable"),
    ("wrong-secret", "InvalidCredentials"),
])
async def test_each_failure_has_its_reason_keeps_the_secret_and_recovers(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, break_it: str, reason: str
) -> None:
    scenario.standard_cluster(kube, cloud)
    # Read only: with Extend an expired token would be extended (test_token_renewal covers that).
    kube.create(scenario.application_token(renewal={"strategy": "None"}))
    await eventually(is_ready(kube, "billing-api"))
    good = secret_data(kube, "billing-api")

    if break_it == "disable":
        cloud.set_token_status("token_demo", "disabled")
    elif break_it == "expire":
        cloud.expire_token("token_demo")
    elif break_it == "delete":
        cloud.delete_token("token_demo")
    elif break_it == "forbid":
        cloud.inject_fault(action="ObtainApplicationToken", status=403, code="Forbidden.NoPermission")
    elif break_it == "throttle":
        cloud.inject_fault(action="ObtainApplicationToken", status=429, code="Throttling.User")
    elif break_it == "outage":
        cloud.inject_fault(action="ObtainApplicationToken", status=503, code="ServiceUnavailable")
    elif break_it == "wrong-secret":
        kube.apply(scenario.access_key_secret(secret="not-the-secret"))
    kube.patch(API, "applicationtokens", NS, "billing-api",
               {"metadata": {"annotations": {"tokensync.dev/force-sync": break_it}}})
    await eventually(has_reason(kube, "billing-api", reason), timeout=30)

    ready = condition(kube, "billing-api")
    assert ready["status"] == "False"
    assert "next attempt" in ready["message"]
    assert secret_data(kube, "billing-api") == good  # the last good Secret stays
    assert status(kube, "billing-api")["failedAttempts"] >= 1
    warnings = [e for e in scenario.events(kube, "billing-api") if e["type"] == "Warning"]
    assert warnings and reason in warnings[-1]["message"]

    # The cloud recovers; the resource keeps being rechecked on its own and turns Ready again.
    if break_it == "disable":
        cloud.set_token_status("token_demo", "enabled")
    elif break_it == "expire":
        cloud.set_token_expiration("token_demo", datetime(2027, 1, 1, tzinfo=UTC))  # extended in the console
    elif break_it == "delete":
        cloud.add_token("token_demo", lifetime=timedelta(hours=1))
    elif break_it == "wrong-secret":
        kube.apply(scenario.access_key_secret())
    else:
        cloud.clear_faults()
    await eventually(is_ready(kube, "billing-api"), timeout=3600)
    assert status(kube, "billing-api")["failedAttempts"] == 0


async def test_a_failure_names_the_clouds_code_and_request_id(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, caplog: pytest.LogCaptureFixture
) -> None:
    """What a user quotes in a support ticket: the Ready message and the Event carry the error
    Code and the RequestId of the failed answer (read back from the emulator's per-call log line)."""
    caplog.set_level(logging.DEBUG, logger="tokensync.emulators.cloud.app")
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token())
    await eventually(is_ready(kube, "billing-api"))
    # Not retryable, so exactly one call answers with it.
    cloud.inject_fault(action="ObtainApplicationToken", status=403, code="Forbidden.RAM")
    kube.patch(API, "applicationtokens", NS, "billing-api",
               {"metadata": {"annotations": {"tokensync.dev/force-sync": "forbid"}}})
    await eventually(has_reason(kube, "billing-api", "AccessDenied"), timeout=30)
    answered = [m.group(1) for r in caplog.records
                if (m := re.search(r"ObtainApplicationToken .* 403 Forbidden\.RAM \(RequestId ([0-9A-F-]+)\)",
                                   r.getMessage()))]
    assert len(answered) == 1, answered
    request_id = answered[0]
    message = condition(kube, "billing-api")["message"]
    assert "Forbidden.RAM" in message and request_id in message, message
    failed = [e["message"] for e in scenario.events(kube, "billing-api") if e["reason"] == "SyncFailed"]
    assert failed and "Forbidden.RAM" in failed[-1] and request_id in failed[-1], failed


async def test_token_expiring_is_warned_once_when_nobody_renews_the_token(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    """renewal.strategy None: once the renewal moment has passed, one TokenExpiring warning says
    so, however many times tokensync looks again before the expiry."""
    cloud.add_token("token_at_expiry", lifetime=timedelta(hours=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_at_expiry", renewal={"strategy": "None"}))
    await eventually(is_ready(kube, "svc"))
    expires = parse_rfc3339(status(kube, "svc")["expirationTime"])
    assert expires is not None

    def expiring() -> list[dict[str, object]]:
        return [e for e in scenario.events(kube, "svc") if e["reason"] == "TokenExpiring"]

    # Renewal is due a third of the lifetime before expiry (20 min, less at most 2 min of jitter).
    await asyncio.sleep((expires - timedelta(minutes=23) - clock.now()).total_seconds())
    assert expiring() == []
    reads = obtain_calls(cloud)
    await asyncio.sleep((expires - timedelta(seconds=3) - clock.now()).total_seconds())
    assert obtain_calls(cloud) - reads >= 2  # looked again more than once after the renewal moment
    warnings = expiring()
    assert [(e["type"], e.get("count", 1)) for e in warnings] == [("Warning", 1)], [
        (e.get("count"), e["message"]) for e in warnings]
    assert seconds_text(expires) in str(warnings[0]["message"])


async def test_failures_back_off_instead_of_burning_quota(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token(token_id="token_missing"))
    await eventually(has_reason(kube, "billing-api", "NotFound"))
    start = obtain_calls(cloud)
    await asyncio.sleep(3600)
    # base 5 s doubling to the 30 min cap: well under 20 reads in the hour, not one per few seconds.
    assert obtain_calls(cloud) - start <= 12
    planned = parse_rfc3339(status(kube, "billing-api")["nextRefreshTime"])
    assert planned is not None and planned - clock.now() <= timedelta(minutes=30)


async def test_a_restarted_operator_resumes_without_a_burst_or_restarts(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: object, clock: LoopClock
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.deployment("billing-api"))
    for index in range(5):
        kube.create(scenario.application_token(
            f"svc-{index}", rolloutRestartTargets=[{"kind": "Deployment", "name": "billing-api"}]))
    connection = load_connection_settings(str(kubeconfig))
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        for index in range(5):
            await eventually(is_ready(kube, f"svc-{index}"))
    reads = obtain_calls(cloud)
    writes = dict(kube.write_counts)
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await asyncio.sleep(60)
    assert obtain_calls(cloud) == reads  # every token was fresh: nothing to read
    secret_or_workload_writes = {k: v for k, v in kube.write_counts.items()
                                 if k[0] in ("secrets", "deployments") and writes.get(k) != v}
    assert secret_or_workload_writes == {}


@pytest.mark.looptime(False)  # real time: fast-forwarding would finish the slow answer early
async def test_a_stop_finishes_the_sync_in_progress(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: object, clock: LoopClock
) -> None:
    """SIGTERM (the end of the block) while the cloud is answering: the sync completes, so the
    Secret and status are written before the operator is gone (kopf must not cancel it)."""
    scenario.standard_cluster(kube, cloud)
    cloud.inject_fault(action="ObtainApplicationToken", latency_ms=1500)
    kube.create(scenario.application_token())
    connection = load_connection_settings(str(kubeconfig))
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await eventually(lambda: obtain_calls(cloud) == 1)
    assert secret_data(kube, "billing-api") is not None
    assert condition(kube, "billing-api")["reason"] == "Synced"


async def test_tenancy_refusals_are_cloud_access_forbidden(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    # The cluster-wide access only serves namespaces labelled for it; `demo` is not.
    scenario.standard_cluster(kube, cloud, selector={"matchLabels": {"tokensync.dev/cloud-access": "default"}})
    kube.create(scenario.namespace("other"))
    kube.create(scenario.access_key_secret(namespace="other", name="ak"))
    kube.create(scenario.cloud_access(cloud, name="theirs", namespace="other", secret_name="ak"))
    kube.create(scenario.application_token("by-selector"))
    kube.create(scenario.application_token(
        "cross-namespace", cloudAccessRef={"kind": "CloudAccess", "name": "theirs"}))
    await eventually(has_reason(kube, "by-selector", "CloudAccessForbidden"))
    await eventually(has_reason(kube, "cross-namespace", "CloudAccessNotFound"))
    assert kube.get("v1", "secrets", NS, "by-selector") is None
    assert kube.get("v1", "secrets", NS, "cross-namespace") is None
    assert "namespaceSelector" in condition(kube, "by-selector")["message"]

    # Labelling the namespace admits it: the waiting resource is re-evaluated without a restart.
    kube.patch("v1", "namespaces", None, NS, {"metadata": {"labels": {"tokensync.dev/cloud-access": "default"}}})
    await eventually(is_ready(kube, "by-selector"), timeout=600)


async def test_the_token_never_reaches_logs_events_or_status(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token())
    kube.create(scenario.application_token("broken", secret={"template": {"x": "{{ token | nosuchfilter }}"}}))
    await eventually(is_ready(kube, "billing-api"))
    await eventually(has_reason(kube, "broken", "InvalidSpec"))
    token = cloud.token_value("token_demo")
    cloud.inject_fault(action="ObtainApplicationToken", status=500, code="InternalError")
    kube.patch(API, "applicationtokens", NS, "billing-api",
               {"metadata": {"annotations": {"tokensync.dev/force-sync": "1"}}})
    await eventually(has_reason(kube, "billing-api", "CloudUnavailable"))
    everything = "\n".join([
        caplog.text,
        repr(kube.list("v1", "events")),
        repr(kube.list(API, "applicationtokens")),
    ])
    assert token not in everything
    assert scenario.AK_SECRET not in everything


async def test_many_tokens_read_their_shared_access_once_and_still_see_it_change(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """The ClusterCloudAccess, its AccessKey Secret and the namespace are read once for twenty
    tokens (then kept until a watch event says they changed), not once per sync."""
    scenario.standard_cluster(kube, cloud)
    names = [f"app-{i}" for i in range(20)]
    for name in names:
        kube.create(scenario.application_token(name))
    await eventually(lambda: all(is_ready(kube, name)() for name in names), timeout=30)

    def gets(path_end: str) -> int:
        return sum(1 for method, path, _ in kube.responses if method == "GET" and path.endswith(path_end))

    # Read again only after a watch event for it: its own status write is one (and may race a read).
    assert gets("/clustercloudaccesses/default") <= 3
    assert gets(f"/namespaces/{scenario.SYSTEM_NS}/secrets/tokensync-ak") <= 3
    assert gets(f"/api/v1/namespaces/{NS}") <= 1

    # A change is seen at once: the namespace's labels no longer match the selector.
    kube.patch(API, "clustercloudaccesses", None, "default",
               {"spec": {"namespaceSelector": {"matchLabels": {"team": "other"}}}})
    await eventually(lambda: all(has_reason(kube, name, "CloudAccessForbidden")() for name in names), timeout=30)


class AheadClock:
    """The cloud's clock, ten minutes ahead of the operator's."""

    def __init__(self, base: LoopClock, offset: timedelta) -> None:
        self.base, self.offset = base, offset

    def now(self) -> datetime:
        return self.base.now() + self.offset


@pytest.mark.parametrize("offset_minutes", [10, -10])
async def test_a_short_token_stays_fresh_when_the_clouds_clock_is_off_by_minutes(
    kube: KubernetesEmulator, operator: Operator, clock: LoopClock, offset_minutes: int
) -> None:
    # A 1-minute token and a cloud 10 minutes off (within the 15 minutes the gateway accepts):
    # judged by the operator's clock alone, its expiry would look 10 minutes away (or long past),
    # and an extension to "now + lifetime" on the operator's clock would be refused or too short.
    cloud_clock = AheadClock(clock, timedelta(minutes=offset_minutes))
    async with running_cloud_emulator(demo_state(cloud_clock.now()), clock=cloud_clock) as cloud:
        cloud.add_token("token_short", lifetime=timedelta(minutes=1))
        scenario.standard_cluster(kube, cloud)
        kube.create(scenario.application_token("svc", token_id="token_short"))
        await eventually(is_ready(kube, "svc"))
        expired_looks = total = 0
        for _ in range(120):  # 10 minutes, a look every 5 s
            await asyncio.sleep(5)
            total += 1
            expired_looks += cloud.token("token_short").expiration_time <= cloud_clock.now()  # type: ignore[operator]
        assert expired_looks == 0, f"the token had expired at {expired_looks} of {total} looks"
        assert 10 <= cloud.calls("UpdateApplicationTokenExpirationTime") <= 20
        assert condition(kube, "svc")["status"] == "True"


# Found by review (issue 14): a resource deleted and created again under its name while a sync of
# the old one waited on the cloud. That sync's status and Secret landed on the new resource, and
# its cached token was kept under the name: the new spec (another token) was never read.
async def test_a_resource_recreated_under_its_name_during_a_sync_gets_its_own_token(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator,
) -> None:
    cloud.add_token("token_old", lifetime=timedelta(days=30))
    cloud.add_token("token_new", lifetime=timedelta(days=30))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_old"))
    await eventually(is_ready(kube, "svc"))
    slow = cloud.inject_fault(action="ObtainApplicationToken", latency_ms=5000, times=1)
    kube.patch(API, "applicationtokens", NS, "svc", {"metadata": {"annotations": {"tokensync.dev/force-sync": "1"}}})
    await eventually(lambda: slow.hits >= 1, timeout=30, step=0.01)
    kube.delete(API, "applicationtokens", NS, "svc")
    kube.create(scenario.application_token("svc", token_id="token_new"))
    new_uid = kube.get(API, "applicationtokens", NS, "svc")["metadata"]["uid"]

    await asyncio.sleep(120)
    assert kube.get(API, "applicationtokens", NS, "svc")["metadata"]["uid"] == new_uid
    assert (secret_data(kube, "svc") or {}).get("token") == cloud.token_value("token_new")
    assert status(kube, "svc").get("applicationTokenId") == "token_new"
    owners = [o["uid"] for o in kube.get("v1", "secrets", NS, "svc")["metadata"].get("ownerReferences") or []]
    assert owners == [new_uid], owners


async def test_a_status_patch_carrying_another_uid_is_refused(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path,
) -> None:
    """The emulator as kube-apiserver: a patch's uid must be the object's (immutable metadata)."""
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token("svc", token_id="token_old"))
    body = kube.get(API, "applicationtokens", NS, "svc")
    kube.delete(API, "applicationtokens", NS, "svc")
    kube.create(scenario.application_token("svc", token_id="token_new"))
    client = KubeClient(load_connection_settings(str(kubeconfig)))
    try:
        with pytest.raises(KubeApiError) as refused:
            await patch_status(client, APPLICATION_TOKENS, body, {"applicationTokenId": "token_old"})
        assert refused.value.status == 422
    finally:
        await client.aclose()
    assert "applicationTokenId" not in (kube.get(API, "applicationtokens", NS, "svc").get("status") or {})


# Found by review (issue 14): the skew measured at a read was never kept, so a failure near expiry
# planned its retries on the cloud's clock as if it were ours (ten minutes too late here).
async def test_a_failure_near_expiry_is_planned_on_the_operators_clock(
    kube: KubernetesEmulator, operator: Operator, clock: LoopClock,
) -> None:
    cloud_clock = AheadClock(clock, timedelta(minutes=10))
    async with running_cloud_emulator(demo_state(cloud_clock.now()), clock=cloud_clock) as cloud:
        cloud.add_token("token_x", lifetime=timedelta(hours=1))
        scenario.standard_cluster(kube, cloud)
        kube.create(scenario.application_token("svc", token_id="token_x"))
        await eventually(is_ready(kube, "svc"))
        expiry_on_our_clock = cloud.token("token_x").expiration_time - timedelta(minutes=10)  # type: ignore[operator]
        known = operator.application_tokens.known_expiry((NS, "svc"), status(kube, "svc"))
        assert known is not None and abs(known - expiry_on_our_clock) < timedelta(seconds=2), (known,
                                                                                             expiry_on_our_clock)


async def test_a_resource_replaced_while_the_watch_was_down_starts_with_no_memory_of_the_old_one(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock
) -> None:
    """Deleted and created again under its name while the watch re-lists (410 Gone): the operator
    sees only a new uid, never the deletion. What it remembered for the old resource (here: that
    TokenExpiring was posted) must not apply to the new one, whose Events are its own."""
    cloud.add_token("token_at_expiry", lifetime=timedelta(hours=1))
    scenario.standard_cluster(kube, cloud)
    spec = scenario.application_token("svc", token_id="token_at_expiry", renewal={"strategy": "None"})
    kube.create(spec)
    await eventually(is_ready(kube, "svc"))
    expires = parse_rfc3339(status(kube, "svc")["expirationTime"])
    assert expires is not None
    await asyncio.sleep((expires - timedelta(minutes=5) - clock.now()).total_seconds())

    def warned_uids() -> set[str]:
        return {str(e["involvedObject"]["uid"]) for e in scenario.events(kube, "svc") if e["reason"] == "TokenExpiring"}

    assert len(warned_uids()) == 1
    kube.expire_watch_history()
    kube.close_watches()
    kube.delete(API, "applicationtokens", NS, "svc")
    kube.create(spec)  # in the same moment: the re-list shows only the new object
    new_uid = kube.get(API, "applicationtokens", NS, "svc")["metadata"]["uid"]
    await eventually(lambda: new_uid in warned_uids(), timeout=10)  # at its first sync, not a re-list later
