"""RamApplication end to end: the RAM OAuth application mirrored into status and a ConfigMap."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD
from tests.scenario import DEMO_RAM_APP, NS, condition, eventually, has_reason, is_ready, status
from tokensync.cloud.rpc import ClientSettings
from tokensync.controllers.status_report import parse_rfc3339
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.runtime.operator import Operator

pytestmark = FAST_FORWARD

API = scenario.API
PLURAL = "ramapplications"


def config_map(kube: KubernetesEmulator, name: str = "portal") -> dict[str, str] | None:
    found = kube.get("v1", "configmaps", NS, name)
    return None if found is None else dict(found.get("data") or {})


def force_sync(kube: KubernetesEmulator, name: str, value: str) -> None:
    kube.patch(API, PLURAL, NS, name, {"metadata": {"annotations": {"tokensync.dev/force-sync": value}}})


async def test_the_application_is_mirrored_into_status_and_a_config_map(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application(configMap={"name": "portal-oauth"}))
    await eventually(is_ready(kube, "portal", PLURAL))
    app = status(kube, "portal", PLURAL)["application"]
    live = cloud.ram_application(DEMO_RAM_APP)
    assert app["appId"] == DEMO_RAM_APP
    assert set(app) == {"appId", "appName", "displayName", "appType", "accountId", "accessTokenValidity",
                        "refreshTokenValidity", "secretRequired", "isMultiTenant", "protocolVersion",
                        "redirectUris", "predefinedScopes", "createDate", "updateDate"}
    assert app["redirectUris"] == live["RedirectUris"]["RedirectUri"]
    assert app["predefinedScopes"] == [
        {"name": s["Name"], "description": s["Description"], "required": s["Required"]}
        for s in live["DelegatedScope"]["PredefinedScopes"]["PredefinedScope"]]

    data = config_map(kube, "portal-oauth")
    assert data is not None
    # PRODUCT.md: the scalar fields, redirectUris and scopes as newline-separated lists, and
    # application.json; values are the demo application's (docs/cloud-emulator.md), which has
    # three predefined scopes, as a pod mounting the ConfigMap would read them.
    assert {k: v for k, v in data.items() if k != "application.json"} == {
        "appId": DEMO_RAM_APP,
        "appName": "demo-portal",
        "displayName": "Demo Portal",
        "appType": "WebApp",
        "accountId": "1234567890123456",
        "accessTokenValidity": "3600",
        "refreshTokenValidity": "2592000",
        "secretRequired": "true",
        "isMultiTenant": "false",
        "protocolVersion": "2.0",
        "createDate": live["CreateDate"],
        "updateDate": live["UpdateDate"],
        "redirectUris": "https://portal.example.com/oauth/callback\nhttp://localhost:8080/callback",
        "scopes": "openid\naliuid\nprofile",
    }
    assert json.loads(data["application.json"]) == app
    stored = kube.get("v1", "configmaps", NS, "portal-oauth")
    assert stored is not None and stored["metadata"]["ownerReferences"][0]["name"] == "portal"
    assert condition(kube, "portal", PLURAL, condition_type="InSync") == {}  # no expect: no InSync


async def change_in_the_cloud(cloud: CloudEmulator, app_id: str, fields: dict[str, Any]) -> None:
    """Change the application as an admin's script would: through the emulator's HTTP admin API."""
    async with httpx.AsyncClient() as http:
        response = await http.patch(f"{cloud.url}/_emulator/ram-applications/{app_id}", json=fields)
    assert response.status_code == 200, response.text


def in_sync(kube: KubernetesEmulator) -> str | None:
    found = condition(kube, "portal", PLURAL, condition_type="InSync").get("status")
    return None if found is None else str(found)


def drifted_warnings(kube: KubernetesEmulator) -> list[dict[str, Any]]:
    return [e for e in scenario.events(kube, "portal") if e["reason"] == "Drifted" and e["type"] == "Warning"]


async def test_a_changed_redirect_uri_reaches_status_config_map_and_in_sync_both_ways(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """Issue 5: the application's redirect URIs are edited in the cloud; after a force-sync,
    status, the ConfigMap and InSync all say so (with one Drifted warning), and follow again
    when the URIs are put back."""
    live = cloud.ram_application(DEMO_RAM_APP)
    uris = list(live["RedirectUris"]["RedirectUri"])
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application(expect={"redirectUris": uris,
                                                 "accessTokenValidity": live["AccessTokenValidity"]}))
    await eventually(lambda: in_sync(kube) == "True")
    assert drifted_warnings(kube) == []

    evil = ["https://evil.example.com/cb"]
    await change_in_the_cloud(cloud, DEMO_RAM_APP, {"RedirectUris": {"RedirectUri": evil}})
    force_sync(kube, "portal", "1")
    await eventually(lambda: in_sync(kube) == "False", timeout=5)
    assert status(kube, "portal", PLURAL)["application"]["redirectUris"] == evil
    assert (config_map(kube) or {})["redirectUris"] == evil[0]
    message = condition(kube, "portal", PLURAL, condition_type="InSync")["message"]
    assert "redirectUris" in message and evil[0] in message and uris[0] in message
    assert "accessTokenValidity" not in message  # only what drifted is listed
    assert condition(kube, "portal", PLURAL)["status"] == "True"  # Ready is about the read, not the drift
    warnings = drifted_warnings(kube)
    assert len(warnings) == 1 and evil[0] in warnings[0]["message"]

    await change_in_the_cloud(cloud, DEMO_RAM_APP, {"RedirectUris": {"RedirectUri": uris}})
    force_sync(kube, "portal", "2")
    await eventually(lambda: in_sync(kube) == "True", timeout=5)
    assert status(kube, "portal", PLURAL)["application"]["redirectUris"] == uris
    assert (config_map(kube) or {})["redirectUris"].split("\n") == uris
    assert len(drifted_warnings(kube)) == 1  # back in sync is not a warning


async def test_a_drifted_scalar_is_listed_with_expected_and_actual(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    live = cloud.ram_application(DEMO_RAM_APP)
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application(expect={"accessTokenValidity": 3600,
                                                 "redirectUris": live["RedirectUris"]["RedirectUri"]}))
    await eventually(lambda: in_sync(kube) == "True")

    await change_in_the_cloud(cloud, DEMO_RAM_APP, {"AccessTokenValidity": 7200})
    force_sync(kube, "portal", "1")
    await eventually(lambda: in_sync(kube) == "False", timeout=5)
    message = condition(kube, "portal", PLURAL, condition_type="InSync")["message"]
    assert re.search(r"accessTokenValidity\W.*expected\D*3600\b.*actual\D*7200\b", message), message
    assert "redirectUris" not in message
    assert (config_map(kube) or {})["accessTokenValidity"] == "7200"
    assert status(kube, "portal", PLURAL)["application"]["accessTokenValidity"] == 7200


def syncs_within(seconds: float, share: float) -> int:
    """Retries that fit in ``seconds`` after a first failure if every wait is ``share`` of its
    ceiling, the ceiling being refresh_plan's: 5 s doubling per failure, capped at 30 min."""
    count, elapsed, ceiling = 0, 0.0, 5.0
    while elapsed + ceiling * share <= seconds:
        elapsed += ceiling * share
        count += 1
        ceiling = min(ceiling * 2, 1800.0)
    return count


async def test_a_failing_cloud_is_retried_on_the_shared_backoff(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    """An outage (503) is retried on refresh_plan's backoff: base 5 s doubling, ceiling capped
    at max_backoff (30 min; the 1 h default refreshInterval does not lower it), each wait in
    (ceiling/2, ceiling] (equal jitter for transient errors)."""
    cloud.inject_fault(action="GetApplication", status=503, code="ServiceUnavailable")
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application())
    await eventually(has_reason(kube, "portal", "CloudUnavailable", PLURAL), timeout=30)
    start = cloud.calls("GetApplication")
    hours = 6
    await asyncio.sleep(hours * 3600)

    # Every sync is one call and the client's own quick retries of a 503 (seconds apart).
    syncs = (cloud.calls("GetApplication") - start) / ClientSettings().max_attempts
    # Full waits: 9 doublings (43 min) then every 30 min, 19 retries in 6 h (a minute is left for
    # the client retries' seconds); half waits: 21 min then every 15 min, 31. A retry every
    # few seconds would be thousands; a wait of the 1 h refreshInterval, six.
    fewest, most = syncs_within(hours * 3600 - 60, 1.0), syncs_within(hours * 3600, 0.5)
    assert (fewest, most) == (19, 31)
    assert fewest <= syncs <= most, syncs
    planned = parse_rfc3339(status(kube, "portal", PLURAL)["nextRefreshTime"])
    assert planned is not None and planned - cloud.clock.now() <= timedelta(minutes=30)
    assert condition(kube, "portal", PLURAL)["reason"] == "CloudUnavailable"


async def test_a_deleted_or_edited_config_map_comes_back(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application())
    await eventually(is_ready(kube, "portal", PLURAL))
    good = config_map(kube)
    reads = cloud.calls("GetApplication")
    kube.delete("v1", "configmaps", NS, "portal")
    await eventually(lambda: config_map(kube) == good, timeout=5)
    kube.patch("v1", "configmaps", NS, "portal", {"data": {"appName": "edited"}})
    await eventually(lambda: config_map(kube) == good, timeout=5)
    # The label that marks it as tokensync's (what selectors and GitOps tools go by).
    kube.patch("v1", "configmaps", NS, "portal", {"metadata": {"labels": {"app.kubernetes.io/managed-by": None}}})
    await eventually(lambda: ((kube.get("v1", "configmaps", NS, "portal") or {}).get("metadata", {})
                              .get("labels") or {}).get("app.kubernetes.io/managed-by") == "tokensync", timeout=5)
    assert cloud.calls("GetApplication") <= reads + 2


async def test_refresh_interval_is_honoured_and_unchanged_data_is_not_rewritten(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application(refreshInterval="10m"))
    await eventually(is_ready(kube, "portal", PLURAL))
    reads = cloud.calls("GetApplication")
    writes = {k: v for k, v in kube.write_counts.items() if k[0] == "configmaps"}
    await asyncio.sleep(3600)
    assert 5 <= cloud.calls("GetApplication") - reads <= 7
    assert {k: v for k, v in kube.write_counts.items() if k[0] == "configmaps"} == writes


@pytest.mark.parametrize("app_type", ["WebApp", "NativeApp", "ServerApp"])
async def test_every_app_type_and_empty_lists(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, app_type: str
) -> None:
    cloud.add_ram_application({
        **cloud.ram_application(DEMO_RAM_APP), "AppId": "1000000000000000001", "AppType": app_type,
        "RedirectUris": {"RedirectUri": []}, "DelegatedScope": {"PredefinedScopes": {"PredefinedScope": []}},
    })
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application(app_id="1000000000000000001"))
    await eventually(is_ready(kube, "portal", PLURAL))
    app: dict[str, Any] = status(kube, "portal", PLURAL)["application"]
    assert app["appType"] == app_type and app["redirectUris"] == [] and app["predefinedScopes"] == []
    data = config_map(kube)
    assert data is not None and data["redirectUris"] == "" and data["scopes"] == ""


@pytest.mark.parametrize(("break_it", "reason"), [
    ("missing", "NotFound"),
    ("forbid", "AccessDenied"),
    ("throttle", "Throttled"),
    ("outage", "CloudUnavailable"),
    ("wrong-secret", "InvalidCredentials"),
    ("foreign-access", "CloudAccessForbidden"),
])
async def test_each_failure_has_its_reason_and_keeps_the_config_map(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, break_it: str, reason: str
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application())
    await eventually(is_ready(kube, "portal", PLURAL))
    good = config_map(kube)
    if break_it == "missing":
        cloud.delete_ram_application(DEMO_RAM_APP)
    elif break_it == "forbid":
        cloud.inject_fault(action="GetApplication", status=403, code="NoPermission")
    elif break_it == "throttle":
        cloud.inject_fault(action="GetApplication", status=429, code="Throttling.User")
    elif break_it == "outage":
        cloud.inject_fault(action="GetApplication", status=500, code="InternalError")
    elif break_it == "wrong-secret":
        kube.apply(scenario.access_key_secret(secret="not-the-secret"))
    elif break_it == "foreign-access":
        kube.apply(scenario.cluster_cloud_access(cloud, selector={"matchLabels": {"team": "someone-else"}}))
    force_sync(kube, "portal", break_it)
    await eventually(has_reason(kube, "portal", reason, PLURAL), timeout=30)
    assert config_map(kube) == good
    assert "SyncFailed" in scenario.event_reasons(kube, "portal")


async def test_invalid_refresh_interval_is_invalid_spec(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application())
    await eventually(is_ready(kube, "portal", PLURAL))
    # Past the schema's pattern (which a real server checks), a too-short interval is refused by the operator.
    kube.patch(API, PLURAL, NS, "portal", {"spec": {"refreshInterval": "1s"}})
    await eventually(has_reason(kube, "portal", "InvalidSpec", PLURAL), timeout=5)
    assert "refreshInterval" in condition(kube, "portal", PLURAL)["message"]
