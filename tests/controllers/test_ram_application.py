"""RamApplication end to end: the RAM OAuth application mirrored into status and a ConfigMap."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests import scenario
from tests.conftest import FAST_FORWARD
from tests.scenario import DEMO_RAM_APP, NS, condition, eventually, has_reason, is_ready, status
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
    assert [s["name"] for s in app["predefinedScopes"]] == [
        s["Name"] for s in live["DelegatedScope"]["PredefinedScopes"]["PredefinedScope"]]
    data = config_map(kube, "portal-oauth")
    assert data is not None
    assert data["appName"] == app["appName"] and data["accessTokenValidity"] == str(app["accessTokenValidity"])
    assert data["secretRequired"] in ("true", "false")
    assert data["redirectUris"].split("\n") == app["redirectUris"]
    assert json.loads(data["application.json"]) == app
    stored = kube.get("v1", "configmaps", NS, "portal-oauth")
    assert stored is not None and stored["metadata"]["ownerReferences"][0]["name"] == "portal"
    assert condition(kube, "portal", PLURAL, condition_type="InSync") == {}  # no expect: no InSync


async def test_expect_reports_drift_both_ways_and_follows_a_force_sync(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator
) -> None:
    live = cloud.ram_application(DEMO_RAM_APP)
    uris = list(live["RedirectUris"]["RedirectUri"])
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.ram_application(expect={"redirectUris": uris,
                                                 "accessTokenValidity": live["AccessTokenValidity"]}))
    await eventually(lambda: condition(kube, "portal", PLURAL, condition_type="InSync").get("status") == "True")

    cloud.update_ram_application(DEMO_RAM_APP, RedirectUris={"RedirectUri": ["https://evil.example.com/cb"]})
    force_sync(kube, "portal", "1")
    await eventually(lambda: condition(kube, "portal", PLURAL, condition_type="InSync").get("status") == "False",
                     timeout=5)
    message = condition(kube, "portal", PLURAL, condition_type="InSync")["message"]
    assert "redirectUris" in message and "https://evil.example.com/cb" in message and uris[0] in message
    assert condition(kube, "portal", PLURAL)["status"] == "True"  # Ready is about the read, not the drift
    assert (config_map(kube) or {})["redirectUris"] == "https://evil.example.com/cb"
    assert scenario.event_reasons(kube, "portal").count("Drifted") == 1

    cloud.update_ram_application(DEMO_RAM_APP, RedirectUris={"RedirectUri": uris})
    force_sync(kube, "portal", "2")
    await eventually(lambda: condition(kube, "portal", PLURAL, condition_type="InSync").get("status") == "True",
                     timeout=5)
    assert (config_map(kube) or {})["redirectUris"].split("\n") == uris


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
