"""Server-side tables (what `kubectl get` prints), as kube-apiserver builds them.

- custom resources: apiextensions-apiserver's tableconvertor.go (the declared additionalPrinterColumns,
  Age only when none are declared; a cell it cannot fill is null or "<invalid>", never an error);
- built-in kinds: pkg/printers/internalversion/printers.go; kinds without a printer (the CRDs
  themselves): apiserver's rest/table.go, NAME and CREATED AT;
- ``includeObject``: endpoints/handlers/response.go (asTable).

"date" columns use k8s.io/apimachinery/pkg/util/duration.HumanDuration.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tokensync.emulators.kubernetes import ApiError, KubernetesEmulator
from tokensync.emulators.kubernetes.resources import BUILTIN_RESOURCES, Resource, resources_from_crd
from tokensync.emulators.kubernetes.tables import human_duration, table

from .conftest import WIDGET_CRD, WIDGETS, KubeApi, widget

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return NOW


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def builtin(group: str, kind: str) -> Resource:
    return next(r for r in BUILTIN_RESOURCES if (r.group, r.kind) == (group, kind))


def widget_resource(columns: list[dict[str, Any]] | None = None) -> Resource:
    crd = copy.deepcopy(WIDGET_CRD)
    if columns is not None:
        crd["spec"]["versions"][0]["additionalPrinterColumns"] = columns
    return resources_from_crd(crd)[0]


def obj(name: str = "w1", created: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": name, "namespace": "default", "uid": "u-1", "resourceVersion": "7",
                         "creationTimestamp": created or ago(300)}, **fields}


def printed(resource: Resource, item: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return table(resource, [item], 42, FixedClock(), **kw)


def names(result: dict[str, Any], priority: int | None = None) -> list[str]:
    return [c["name"] for c in result["columnDefinitions"] if priority is None or c["priority"] == priority]


@pytest.mark.parametrize(("seconds", "expected"), [
    (-120, "<invalid>"),   # a future time: why tokensync's Expires and Next Refresh are strings
    (-2, "<invalid>"),
    (-1, "0s"),            # up to a second ahead counts as now (clock skew)
    (0, "0s"),
    (119, "119s"),
    (190, "3m10s"),
    (600, "10m"),
    (179 * 60, "179m"),
    (3 * 3600 + 5 * 60, "3h5m"),
    (47 * 3600, "47h"),
    (49 * 3600, "2d1h"),
    (8 * 24 * 3600, "8d"),
    (800 * 24 * 3600, "2y70d"),
    (9 * 365 * 24 * 3600, "9y"),
])
def test_date_columns_print_like_kube_apiserver(seconds: int, expected: str) -> None:
    assert human_duration(seconds) == expected


# -- custom resources ------------------------------------------------------------------------------------------

def test_a_crd_with_printer_columns_gets_exactly_those_and_no_age() -> None:
    result = printed(widget_resource(), obj(spec={"size": "small"}, status={"conditions": [
        {"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]}))
    assert names(result) == ["Name", "Size", "Ready"]
    assert result["rows"][0]["cells"] == ["w1", "small", "True"]
    ready = result["columnDefinitions"][2]
    assert ready == {"name": "Ready", "type": "string", "format": "", "priority": 0,
                     "description": 'Custom resource definition column (in JSONPath format): '
                                    '.status.conditions[?(@.type=="Ready")].status'}


def test_a_crd_without_printer_columns_gets_age_alone() -> None:
    result = printed(widget_resource([]), obj(created=ago(300)))
    assert names(result) == ["Name", "Age"]
    age = result["columnDefinitions"][1]
    assert (age["type"], age["description"].split(".")[0]) == (
        "date", "CreationTimestamp is a timestamp representing the server time when this object was created")
    assert result["rows"][0]["cells"] == ["w1", "5m"]


def test_declared_description_format_and_priority_are_kept() -> None:
    result = printed(widget_resource([{"name": "Expires", "type": "string", "format": "date-time", "priority": 1,
                                       "description": "When it expires.", "jsonPath": ".status.expires"}]), obj())
    assert result["columnDefinitions"][1] == {"name": "Expires", "type": "string", "format": "date-time",
                                              "description": "When it expires.", "priority": 1}


@pytest.mark.parametrize(("column_type", "value", "cell"), [
    ("date", "not a date", "<invalid>"),
    ("date", "2026-02-30T00:00:00Z", "<invalid>"),     # no such day
    ("date", "2026-03-01 11:58:00", "<invalid>"),      # RFC 3339 wants the T and a zone
    ("date", "2026-03-01T13:58:00+02:00", "2m"),
    ("date", "2026-03-01T11:57:59,5Z", "2m"),            # Go takes a comma before the fraction too
    ("date", "", "<unknown>"),
    ("date", 1700000000, None),                        # not a string: null, shown blank
    ("date", ago(-3600), "<invalid>"),                 # the future, like HumanDuration
    ("integer", 3.9, 3),
    ("integer", "3", None),
    ("integer", True, None),
    ("number", 2, 2),
    ("number", 2.5, 2.5),
    ("boolean", False, False),
    ("boolean", "true", None),
    ("string", "small", "small"),
    ("string", 7, "7"),
    ("string", True, "true"),
    ("string", None, "<no value>"),                    # a JSON null, printed by Go's text/template
    ("string", 1e6, "1e+06"),                          # fmt's %v of a float64
    ("string", 123456.0, "123456"),
    ("string", 0.00001, "1e-05"),
    ("string", {"b": 1.0, "a": "<x>"}, '{"a":"\\u003cx\\u003e","b":1}'),  # encoding/json
    ("string", [1e21, 1e-7, 0.5], "[1e+21,1e-7,0.5]"),
])
def test_crd_cells_print_like_the_tableconvertor(column_type: str, value: Any, cell: Any) -> None:
    resource = widget_resource([{"name": "X", "type": column_type, "jsonPath": ".status.x"}])
    assert printed(resource, obj(status={"x": value}))["rows"][0]["cells"] == ["w1", cell]


@pytest.mark.parametrize("path", [".status.missing", ".status.x.deeper", ".status.list[5]",
                                  '.status.list[?(@.type=="Nope")].status'])
def test_a_missing_value_is_a_null_cell(path: str) -> None:
    resource = widget_resource([{"name": "X", "type": "string", "jsonPath": path}])
    assert printed(resource, obj(status={"x": "s", "list": [{"type": "A"}]}))["rows"][0]["cells"] == ["w1", None]


def test_a_bad_date_spoils_one_cell_not_the_list() -> None:
    resource = widget_resource([{"name": "Seen", "type": "date", "jsonPath": ".status.seen"}])
    result = table(resource, [obj("bad", status={"seen": "yesterday"}), obj("good", status={"seen": ago(60)})],
                   42, FixedClock())
    assert [row["cells"] for row in result["rows"]] == [["bad", "<invalid>"], ["good", "60s"]]


# -- includeObject ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("include", [None, "", "Metadata"])
def test_rows_carry_partial_object_metadata_by_default(include: str | None) -> None:
    item = obj(spec={"size": "small"})
    row = printed(widget_resource(), item, include_object=include)["rows"][0]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": item["metadata"]}


def test_include_object_object_carries_the_whole_object_for_sorting() -> None:
    item = obj(spec={"size": "small"}, status={"expirationTime": "2030-01-01T00:00:00Z"})
    assert printed(widget_resource(), item, include_object="Object")["rows"][0]["object"] == item


def test_include_object_none_carries_no_object() -> None:
    assert printed(widget_resource(), obj(), include_object="None")["rows"][0]["object"] is None


def test_an_unknown_include_object_is_a_400() -> None:
    with pytest.raises(ApiError) as raised:
        printed(widget_resource(), obj(), include_object="Everything")
    assert (raised.value.code, raised.value.reason) == (400, "BadRequest")
    assert raised.value.message == ('Unable to convert to Table as requested: includeObject: Invalid value: '
                                    '"Everything": must be \'Metadata\', \'Object\', \'None\', or empty')


TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}


async def test_the_server_answers_include_object_for_lists_and_gets(kube_api: KubeApi) -> None:
    await kube_api.post(WIDGETS, widget("w1"))
    listed = await kube_api.get(f"{WIDGETS}?includeObject=Object", headers=TABLE)
    assert listed.body["rows"][0]["object"]["spec"]["size"] == "small"
    got = await kube_api.get(f"{WIDGETS}/w1?includeObject=None", headers=TABLE)
    assert (got.body["kind"], got.body["rows"][0]["object"]) == ("Table", None)
    refused = await kube_api.get(f"{WIDGETS}?includeObject=All", headers=TABLE)
    assert (refused.status, refused.body["reason"]) == (400, "BadRequest")


def test_table_metadata() -> None:
    result = printed(widget_resource(), obj())
    assert (result["kind"], result["apiVersion"], result["metadata"]) == (
        "Table", "meta.k8s.io/v1", {"resourceVersion": "42"})


def test_watch_events_after_the_first_carry_no_column_definitions() -> None:
    result = printed(widget_resource(), obj(spec={"size": "large"}), no_headers=True)
    assert result["columnDefinitions"] is None
    assert result["rows"][0]["cells"] == ["w1", "large", None]


async def test_a_table_for_one_object_carries_the_objects_resource_version(kube_api: KubeApi) -> None:
    """A convertor copies a single object's resourceVersion into the Table (rest/table.go: CommonAccessor)."""
    created = await kube_api.post(WIDGETS, widget("w1"))
    await kube_api.post(WIDGETS, widget("w2"))  # the cluster's resourceVersion moves on
    got = await kube_api.get(f"{WIDGETS}/w1", headers=TABLE)
    assert got.body["metadata"] == {"resourceVersion": created.body["metadata"]["resourceVersion"]}
    listed = await kube_api.get(WIDGETS, headers=TABLE)
    assert int(listed.body["metadata"]["resourceVersion"]) > int(created.body["metadata"]["resourceVersion"])


# -- tables on WATCH (handlers/watch.go; response.go, watchEmbeddedEncoder) -----------------------------------------

async def watch_tables(kube_api: KubeApi, path: str, count: int, **query: str) -> list[dict[str, Any]]:
    """The first ``count`` events of a watch asking for tables, as ``kubectl get -w`` asks."""
    events: list[dict[str, Any]] = []
    async with kube_api.session.get(kube_api.base + path, params={"watch": "true", **query},
                                    headers=TABLE) as response:
        assert response.status == 200
        async for line in response.content:
            if line.strip():
                events.append(json.loads(line))
                if len(events) == count:
                    break
    return events


async def test_a_watch_for_tables_sends_each_object_as_a_table_with_headers_first_only(kube_api: KubeApi) -> None:
    since = (await kube_api.get(WIDGETS)).body["metadata"]["resourceVersion"]
    await kube_api.post(WIDGETS, widget("w1"))
    await kube_api.patch(f"{WIDGETS}/w1", {"spec": {"size": "large"}})
    await kube_api.delete(f"{WIDGETS}/w1")
    events = await watch_tables(kube_api, WIDGETS, 3, resourceVersion=since)
    assert [event["type"] for event in events] == ["ADDED", "MODIFIED", "DELETED"]
    tables = [event["object"] for event in events]
    assert {(t["kind"], t["apiVersion"]) for t in tables} == {("Table", "meta.k8s.io/v1")}
    assert names(tables[0]) == ["Name", "Size", "Ready"]
    assert [t["columnDefinitions"] for t in tables[1:]] == [None, None]
    assert [t["rows"][0]["cells"][:2] for t in tables] == [["w1", "small"], ["w1", "large"], ["w1", "large"]]
    for t in tables:
        (row,) = t["rows"]
        assert row["object"]["kind"] == "PartialObjectMetadata"
        assert t["metadata"] == {"resourceVersion": row["object"]["metadata"]["resourceVersion"]}


async def test_a_watch_for_tables_honours_include_object(kube_api: KubeApi) -> None:
    await kube_api.post(WIDGETS, widget("w1"))
    (whole,) = await watch_tables(kube_api, WIDGETS, 1, includeObject="Object")
    assert whole["object"]["rows"][0]["object"]["spec"]["size"] == "small"
    (bare,) = await watch_tables(kube_api, WIDGETS, 1, includeObject="None")
    assert bare["object"]["rows"][0]["object"] is None


async def test_a_watch_for_tables_refuses_a_bad_include_object_before_streaming(kube_api: KubeApi) -> None:
    refused = await kube_api.get(f"{WIDGETS}?watch=true&includeObject=All", headers=TABLE)
    assert (refused.status, refused.body["reason"]) == (400, "BadRequest")
    assert "includeObject" in refused.body["message"]


async def test_a_watch_for_tables_sends_a_410_as_a_status(kube_api: KubeApi,
                                                          kube_emulator: KubernetesEmulator) -> None:
    since = (await kube_api.get(WIDGETS)).body["metadata"]["resourceVersion"]
    await kube_api.post(WIDGETS, widget("w1"))
    kube_emulator.expire_watch_history()
    (event,) = await watch_tables(kube_api, WIDGETS, 1, resourceVersion=since)
    assert (event["type"], event["object"]["kind"], event["object"]["code"]) == ("ERROR", "Status", 410)


@pytest.mark.looptime
async def test_a_bookmark_on_a_watch_for_tables_is_a_table_too(kube_api: KubeApi) -> None:
    """watchEncoder.Encode sends a BOOKMARK's object through the same transformation (only a Status passes as is)."""
    since = (await kube_api.get(WIDGETS)).body["metadata"]["resourceVersion"]
    (event,) = await watch_tables(kube_api, WIDGETS, 1, resourceVersion=since, allowWatchBookmarks="true",
                                  timeoutSeconds="90")
    assert (event["type"], event["object"]["kind"]) == ("BOOKMARK", "Table")
    assert event["object"]["metadata"] == {"resourceVersion": since}
    assert event["object"]["rows"][0]["object"]["metadata"] == {"resourceVersion": since}


async def test_a_watch_for_tables_of_a_builtin_kind_prints_its_columns(kube_api: KubeApi) -> None:
    since = (await kube_api.get("/api/v1/namespaces/default/configmaps")).body["metadata"]["resourceVersion"]
    for name in ("a", "b"):
        await kube_api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": name}, "data": {"k": "v"}})
    first, second = await watch_tables(kube_api, "/api/v1/namespaces/default/configmaps", 2, resourceVersion=since)
    assert names(first["object"]) == ["Name", "Data", "Age"]
    assert second["object"]["columnDefinitions"] is None
    assert [e["object"]["rows"][0]["cells"][:2] for e in (first, second)] == [["a", 1], ["b", 1]]


# -- built-in kinds (printers.go) ----------------------------------------------------------------------------------

def core(kind: str, name: str = "x", **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "default",
                                                           "creationTimestamp": ago(600)}, **fields}


DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "creationTimestamp": ago(600)},
    "spec": {"selector": {"matchLabels": {"app": "web"},
                          "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                                               {"key": "canary", "operator": "DoesNotExist"}]},
             "template": {"spec": {"containers": [{"name": "app", "image": "app:1"},
                                                  {"name": "proxy", "image": "envoy:2"}]}}},
    "status": {"readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
}


@pytest.mark.parametrize(("group", "kind", "item", "columns", "cells"), [
    ("", "Secret", core("Secret", "creds", type="Opaque", data={"a": "", "b": ""}),
     ["Name", "Type", "Data", "Age"], ["creds", "Opaque", 2, "10m"]),
    ("", "Namespace", core("Namespace", "team", status={"phase": "Active"}),
     ["Name", "Status", "Age"], ["team", "Active", "10m"]),
    ("", "ConfigMap", core("ConfigMap", "settings", data={"a": "1"}, binaryData={"b": "AA=="}),
     ["Name", "Data", "Age"], ["settings", 2, "10m"]),
    ("", "ServiceAccount", core("ServiceAccount", "robot", secrets=[{"name": "t"}]),
     ["Name", "Secrets", "Age"], ["robot", 1, "10m"]),
    ("coordination.k8s.io", "Lease", core("Lease", "leader", spec={"holderIdentity": "pod-1"}),
     ["Name", "Holder", "Age"], ["leader", "pod-1", "10m"]),
    ("apps", "Deployment", DEPLOYMENT,  # no spec.replicas: apps/v1 defaulting makes it 1
     ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
     ["web", "1/1", 1, 1, "10m", "app,proxy", "app:1,envoy:2", "app=web,!canary,tier in (a,b)"]),
    ("apps", "StatefulSet", {**DEPLOYMENT, "kind": "StatefulSet", "spec": {**DEPLOYMENT["spec"], "replicas": 3}},
     ["Name", "Ready", "Age", "Containers", "Images"], ["web", "1/3", "10m", "app,proxy", "app:1,envoy:2"]),
    ("apps", "DaemonSet",
     {**DEPLOYMENT, "kind": "DaemonSet", "status": {"desiredNumberScheduled": 2, "numberReady": 1}},
     ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age", "Containers",
      "Images", "Selector"],
     ["web", 2, 0, 1, 0, 0, "<none>", "10m", "app,proxy", "app:1,envoy:2", "app=web,!canary,tier in (a,b)"]),
    ("", "Service", core("Service", "api", spec={"clusterIPs": ["10.0.0.7"], "selector": {"app": "api"},
                                                 "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}),
     ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
     ["api", "ClusterIP", "10.0.0.7", "<none>", "80/TCP,53/UDP", "10m", "app=api"]),
    ("", "Pod", core("Pod", "web-1", spec={"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
                     status={"phase": "Running", "podIPs": [{"ip": "10.1.0.4"}], "containerStatuses": [
                         {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}},
                          "lastState": {"terminated": {"finishedAt": ago(120)}}},
                         {"name": "b", "ready": False, "restartCount": 0,
                          "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
     ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"],
     ["web-1", "1/2", "CrashLoopBackOff", "2 (2m ago)", "10m", "10.1.0.4", "n1", "<none>", "<none>"]),
    ("apps", "ReplicaSet", {**DEPLOYMENT, "kind": "ReplicaSet", "status": {"replicas": 2, "readyReplicas": 1}},
     ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"],
     ["web", 1, 2, 1, "10m", "app,proxy", "app:1,envoy:2", "app=web,!canary,tier in (a,b)"]),
    ("batch", "Job", {"metadata": {"name": "sync", "creationTimestamp": ago(600)},
                      "spec": {"parallelism": 3, "template": DEPLOYMENT["spec"]["template"]},
                      "status": {"succeeded": 1, "startTime": ago(300), "conditions": [
                          {"type": "Complete", "status": "False"}, {"type": "Complete", "status": "True"}]}},
     ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"],
     ["sync", "Running", "1/1 of 3", "5m", "10m", "app,proxy", "app:1,envoy:2", "<none>"]),
    ("batch", "CronJob", {"metadata": {"name": "nightly", "creationTimestamp": ago(600)},
                          "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {
                              "template": DEPLOYMENT["spec"]["template"]}}},
                          "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(120)}},
     ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "Containers", "Images", "Selector"],
     ["nightly", "0 3 * * *", "<none>", "False", 1, "2m", "10m", "app,proxy", "app:1,envoy:2", "<none>"]),
    ("rbac.authorization.k8s.io", "RoleBinding",
     core("RoleBinding", "readers", roleRef={"kind": "ClusterRole", "name": "view"}, subjects=[
         {"kind": "User", "name": "ann"}, {"kind": "ServiceAccount", "name": "op", "namespace": "ops"},
         {"kind": "User", "name": "bob"}]),
     ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
     ["readers", "ClusterRole/view", "10m", "ann, bob", "", "ops/op"]),
    ("apiextensions.k8s.io", "CustomResourceDefinition",  # no printer: rest/table.go's default convertor
     {"metadata": {"name": "widgets.example.com", "creationTimestamp": "2026-03-01T13:00:00+02:00"}},
     ["Name", "Created At"], ["widgets.example.com", "2026-03-01T11:00:00Z"]),
])
def test_builtin_kinds_print_like_kube_apiserver(group: str, kind: str, item: dict[str, Any], columns: list[str],
                                                 cells: list[Any]) -> None:
    result = printed(builtin(group, kind), item)
    assert names(result) == columns
    assert result["rows"][0]["cells"] == cells


def test_wide_columns_are_priority_one_and_types_are_the_printers() -> None:
    deployment = printed(builtin("apps", "Deployment"), DEPLOYMENT)
    assert names(deployment, priority=1) == ["Containers", "Images", "Selector"]
    assert {c["name"]: (c["type"], c["format"]) for c in deployment["columnDefinitions"][:2]} == {
        "Name": ("string", "name"), "Ready": ("string", "")}
    secret = printed(builtin("", "Secret"), core("Secret", data={}))["columnDefinitions"]
    assert [c["type"] for c in secret] == ["string"] * 4  # Age too: printers send it ready-made
    assert secret[2]["description"].startswith("Data contains the secret data.")
    crd = printed(builtin("apiextensions.k8s.io", "CustomResourceDefinition"), core("X"))["columnDefinitions"]
    assert crd[1]["type"] == "date"


EVENT = core("Event", "web.17", involvedObject={"kind": "Deployment", "name": "web", "fieldPath": "spec"},
             type="Warning", reason="Failed", message=" boom \n", source={"component": "ctrl"},
             firstTimestamp=ago(600), lastTimestamp=ago(60), count=3)
EVENTS_V1 = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
             "metadata": {"name": "web.18", "creationTimestamp": ago(600)},
             "regarding": {"kind": "Pod", "name": "web-1"}, "type": "Normal", "reason": "Started", "note": "ok",
             "eventTime": ago(300), "reportingController": "kubelet", "reportingInstance": "node-1",
             "series": {"count": 4, "lastObservedTime": ago(30)}}


@pytest.mark.parametrize(("group", "item", "cells"), [
    ("", EVENT, ["60s", "Warning", "Failed", "deployment/web", "spec", "ctrl", "boom", "10m", 3, "web.17"]),
    ("events.k8s.io", EVENTS_V1,
     ["30s", "Normal", "Started", "pod/web-1", "", "kubelet, node-1", "ok", "5m", 4, "web.18"]),
    ("", core("Event", "e", involvedObject={"kind": "Node"}, eventTime=ago(5)),  # new-API singleton
     ["5s", "", "", "node", "", "", "", "5s", 1, "e"]),
])
def test_events_print_like_kube_apiserver(group: str, item: dict[str, Any], cells: list[Any]) -> None:
    result = printed(builtin(group, "Event"), item)
    assert names(result, priority=0) == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert names(result, priority=1) == ["Subobject", "Source", "First Seen", "Count", "Name"]
    assert result["rows"][0]["cells"] == cells


def test_a_finished_pod_row_is_marked_completed() -> None:
    row = printed(builtin("", "Pod"), core("Pod", status={"phase": "Succeeded"}))["rows"][0]
    assert row["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                  "message": "The pod has completed successfully."}]


def test_a_builtin_kind_without_a_printer_gets_name_and_created_at() -> None:
    roles = Resource("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True)
    result = printed(roles, core("Role", "reader"))
    assert names(result) == ["Name", "Created At"]
    assert result["rows"][0]["cells"] == ["reader", ago(600)]
