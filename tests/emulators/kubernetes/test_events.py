"""core/v1 and events.k8s.io/v1 Events are two resources over one storage: kube-apiserver
keeps both in the core Event storage (pkg/kubeapiserver/default_storage_factory_builder.go,
AddCohabitatingResources) and converts at the edges (pkg/apis/events/v1/conversion.go). What is
written through one group is read, listed, watched, updated and deleted through the other, in
that group's shape, with the same uid and resourceVersion.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import KubeApi, Kubectl

CORE = "/api/v1/namespaces/default/events"
EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
APPLY = "application/apply-patch+yaml"
CORE_FIELDS = {"involvedObject": {"kind": "Secret", "name": "creds", "namespace": "default"},
               "reason": "Synced", "message": "token is current", "type": "Normal",
               "source": {"component": "tokensync", "host": "node-1"},
               "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:05:00Z", "count": 3}
EVENTS_FIELDS = {"regarding": {"kind": "Secret", "name": "creds", "namespace": "default"},
                 "reason": "Synced", "note": "token is current", "type": "Normal", "action": "Sync",
                 "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "tokensync.dev/operator",
                 "reportingInstance": "tokensync-0", "series": {"count": 2,
                                                                "lastObservedTime": "2026-01-01T00:05:00.000000Z"},
                 "related": {"kind": "Pod", "name": "p"}}


def core_event(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name}, **CORE_FIELDS, **fields}


def events_event(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": name}, **EVENTS_FIELDS, **fields}


def _without_metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "metadata"}


async def _names(kube_api: KubeApi, path: str, selector: str = "") -> list[str]:
    reply = await kube_api.get(f"{path}?fieldSelector={selector}" if selector else path)
    assert reply.status == 200, reply.body
    return [item["metadata"]["name"] for item in reply.body["items"]]


async def test_a_core_event_is_served_by_events_k8s_io_in_its_shape(kube_api: KubeApi) -> None:
    created = (await kube_api.post(CORE, core_event("e1"))).body
    reply = await kube_api.get(f"{EVENTS}/e1")
    assert reply.status == 200, reply.body
    assert _without_metadata(reply.body) == {
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "regarding": {"kind": "Secret", "name": "creds", "namespace": "default"}, "reason": "Synced",
        "note": "token is current", "type": "Normal", "deprecatedSource": {"component": "tokensync", "host": "node-1"},
        "deprecatedFirstTimestamp": "2026-01-01T00:00:00Z", "deprecatedLastTimestamp": "2026-01-01T00:05:00Z",
        "deprecatedCount": 3}
    for key in ("uid", "resourceVersion", "creationTimestamp", "name", "namespace"):
        assert reply.body["metadata"][key] == created["metadata"][key]


async def test_an_events_k8s_io_event_is_served_by_core_in_its_shape(kube_api: KubeApi) -> None:
    created = await kube_api.post(EVENTS, events_event("e1"))
    assert created.status == 201, created.body
    assert created.body["apiVersion"] == "events.k8s.io/v1" and created.body["note"] == "token is current"
    reply = await kube_api.get(f"{CORE}/e1")
    assert reply.status == 200, reply.body
    assert _without_metadata(reply.body) == {
        "apiVersion": "v1", "kind": "Event",
        "involvedObject": {"kind": "Secret", "name": "creds", "namespace": "default"}, "reason": "Synced",
        "message": "token is current", "type": "Normal", "action": "Sync", "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingComponent": "tokensync.dev/operator", "reportingInstance": "tokensync-0",
        "series": {"count": 2, "lastObservedTime": "2026-01-01T00:05:00.000000Z"},
        "related": {"kind": "Pod", "name": "p"}}
    assert reply.body["metadata"]["uid"] == created.body["metadata"]["uid"]
    assert reply.body["metadata"]["resourceVersion"] == created.body["metadata"]["resourceVersion"]


async def test_one_name_in_both_groups_is_one_event(kube_api: KubeApi) -> None:
    """The same storage key: the second create is 409, whichever group it goes through."""
    assert (await kube_api.post(CORE, core_event("e1"))).status == 201
    again = await kube_api.post(EVENTS, events_event("e1"))
    assert again.status == 409 and again.body["reason"] == "AlreadyExists"
    assert again.body["message"] == 'events.events.k8s.io "e1" already exists'


async def test_both_groups_list_the_same_events(kube_api: KubeApi) -> None:
    await kube_api.post(CORE, core_event("a"))
    await kube_api.post(EVENTS, events_event("b"))
    core = (await kube_api.get(CORE)).body
    events = (await kube_api.get(EVENTS)).body
    assert (core["kind"], core["apiVersion"]) == ("EventList", "v1")
    assert (events["kind"], events["apiVersion"]) == ("EventList", "events.k8s.io/v1")
    assert [i["metadata"]["name"] for i in core["items"]] == [i["metadata"]["name"] for i in events["items"]] == [
        "a", "b"]
    assert [i["message"] for i in core["items"]] == [i["note"] for i in events["items"]]
    assert all(i["apiVersion"] == "events.k8s.io/v1" and "regarding" in i for i in events["items"])
    everywhere = (await kube_api.get("/apis/events.k8s.io/v1/events")).body
    assert [i["metadata"]["name"] for i in everywhere["items"]] == ["a", "b"]


async def test_updates_through_either_group_are_seen_by_the_other(kube_api: KubeApi) -> None:
    await kube_api.post(EVENTS, events_event("e1"))
    patched = await kube_api.patch(f"{CORE}/e1", {"message": "changed", "count": 4})
    assert patched.status == 200, patched.body
    seen = (await kube_api.get(f"{EVENTS}/e1")).body
    assert (seen["note"], seen["deprecatedCount"]) == ("changed", 4)
    assert seen["metadata"]["resourceVersion"] == patched.body["metadata"]["resourceVersion"]
    # PUT through events.k8s.io, with the resourceVersion read there.
    seen["series"]["count"] = 3
    put = await kube_api.put(f"{EVENTS}/e1", seen)
    assert put.status == 200, put.body
    assert (await kube_api.get(f"{CORE}/e1")).body["series"]["count"] == 3
    # Strategic merge and JSON patch through events.k8s.io, in its field names.
    strategic = await kube_api.patch(f"{EVENTS}/e1", {"regarding": {"kind": "Secret", "name": "other"}},
                                     content_type="application/strategic-merge-patch+json")
    assert strategic.status == 200, strategic.body
    json_patch = await kube_api.patch(f"{EVENTS}/e1", [{"op": "replace", "path": "/note", "value": "third"}],
                                      content_type="application/json-patch+json")
    assert json_patch.status == 200, json_patch.body
    core = (await kube_api.get(f"{CORE}/e1")).body
    assert (core["involvedObject"]["name"], core["message"]) == ("other", "third")
    assert "note" not in core and "regarding" not in core


async def test_a_no_op_write_through_the_other_group_changes_nothing(kube_api: KubeApi) -> None:
    created = (await kube_api.post(CORE, core_event("e1"))).body
    read = (await kube_api.get(f"{EVENTS}/e1")).body
    put = await kube_api.put(f"{EVENTS}/e1", read)
    assert put.status == 200 and put.body["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_delete_through_either_group_removes_it_from_both(kube_api: KubeApi) -> None:
    await kube_api.post(CORE, core_event("a"))
    await kube_api.post(EVENTS, events_event("b"))
    gone = await kube_api.delete(f"{EVENTS}/a")
    assert gone.status == 200 and gone.body["details"] == {
        "name": "a", "group": "events.k8s.io", "kind": "events", "uid": gone.body["details"]["uid"]}
    assert (await kube_api.get(f"{CORE}/a")).status == 404
    assert (await kube_api.delete(f"{CORE}/b")).status == 200
    assert (await kube_api.get(f"{EVENTS}/b")).status == 404


async def test_deletecollection_through_events_k8s_io_takes_core_events(kube_api: KubeApi) -> None:
    await kube_api.post(CORE, core_event("a"))
    await kube_api.post(CORE, core_event("b", involvedObject={"kind": "Secret", "name": "kept"}))
    reply = await kube_api.delete(f"{EVENTS}?fieldSelector=regarding.name=creds")
    assert reply.status == 200, reply.body
    assert reply.body["kind"] == "EventList" and reply.body["apiVersion"] == "events.k8s.io/v1"
    assert [(i["metadata"]["name"], i["regarding"]["name"]) for i in reply.body["items"]] == [("a", "creds")]
    assert await _names(kube_api, CORE) == ["b"]


async def test_field_selectors_of_each_group_select_events_written_through_the_other(kube_api: KubeApi) -> None:
    """events.k8s.io field labels are core labels under other names (AddFieldLabelConversionsForEvent)."""
    await kube_api.post(CORE, core_event("core"))
    await kube_api.post(EVENTS, events_event("new", regarding={"kind": "Pod", "name": "p1"}, type="Warning"))
    assert await _names(kube_api, EVENTS, "regarding.name=creds") == ["core"]
    assert await _names(kube_api, EVENTS, "regarding.kind=Pod,type=Warning") == ["new"]
    assert await _names(kube_api, EVENTS, "source=tokensync") == ["core"]  # deprecatedSource.component
    assert await _names(kube_api, EVENTS, "reportingController=tokensync.dev/operator") == ["new"]
    assert await _names(kube_api, EVENTS, "source=tokensync.dev/operator") == ["new"]  # else reportingController
    assert await _names(kube_api, CORE, "involvedObject.name=p1") == ["new"]
    assert await _names(kube_api, CORE, "reportingComponent=tokensync.dev/operator") == ["new"]
    assert await _names(kube_api, CORE, "reason=Synced,metadata.name!=new") == ["core"]


async def _watch(kube_api: KubeApi, path: str, count: int, **query: str) -> asyncio.Task[list[dict[str, Any]]]:
    rv = (await kube_api.get(path)).body["metadata"]["resourceVersion"]
    task = asyncio.create_task(kube_api.watch(path, resourceVersion=rv, until=lambda e: len(e) == count, **query))
    await asyncio.sleep(0.05)
    return task


async def test_an_events_k8s_io_watch_receives_core_writes(kube_api: KubeApi) -> None:
    watching = await _watch(kube_api, EVENTS, 3)
    await kube_api.post(CORE, core_event("e1"))
    await kube_api.patch(f"{CORE}/e1", {"count": 4})
    await kube_api.delete(f"{CORE}/e1")
    events = await asyncio.wait_for(watching, 10)
    assert [(e["type"], e["object"]["apiVersion"], e["object"]["deprecatedCount"]) for e in events] == [
        ("ADDED", "events.k8s.io/v1", 3), ("MODIFIED", "events.k8s.io/v1", 4), ("DELETED", "events.k8s.io/v1", 4)]
    assert all("count" not in e["object"] and e["object"]["regarding"]["name"] == "creds" for e in events)


async def test_a_core_watch_receives_events_k8s_io_writes(kube_api: KubeApi) -> None:
    watching = await _watch(kube_api, CORE, 2)
    await kube_api.post(EVENTS, events_event("e1"))
    await kube_api.delete(f"{EVENTS}/e1")
    events = await asyncio.wait_for(watching, 10)
    assert [(e["type"], e["object"]["apiVersion"], e["object"]["message"]) for e in events] == [
        ("ADDED", "v1", "token is current"), ("DELETED", "v1", "token is current")]


async def test_a_selected_events_k8s_io_watch_filters_core_writes(kube_api: KubeApi) -> None:
    watching = await _watch(kube_api, EVENTS, 2, fieldSelector="regarding.name=creds")
    await kube_api.post(CORE, core_event("other", involvedObject={"kind": "Secret", "name": "other"}))
    await kube_api.post(CORE, core_event("mine"))
    await kube_api.patch(f"{CORE}/other", {"involvedObject": {"kind": "Secret", "name": "creds"}})
    events = await asyncio.wait_for(watching, 10)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "mine"), ("ADDED", "other")]


async def test_a_replayed_watch_serves_the_requested_group(kube_api: KubeApi) -> None:
    await kube_api.post(CORE, core_event("e1"))
    events = await kube_api.watch(EVENTS, until=lambda e: len(e) == 1, fieldSelector="regarding.kind=Secret")
    assert events[0]["type"] == "ADDED" and events[0]["object"]["note"] == "token is current"


async def test_managed_fields_keep_their_group_and_lose_what_the_other_group_changes(kube_api: KubeApi) -> None:
    """Each managedFields entry keeps its apiVersion; a change through the other group takes the
    field (in that entry's own names) from it, as the field manager compares per version."""
    await kube_api.post(f"{EVENTS}?fieldManager=recorder", events_event("e1"))
    await kube_api.request("PATCH", f"{CORE}/e1?fieldManager=editor", {"message": "changed"},
                           content_type="application/merge-patch+json")
    entries = {e["manager"]: e for e in (await kube_api.get(f"{CORE}/e1")).body["metadata"]["managedFields"]}
    assert entries["recorder"]["apiVersion"] == "events.k8s.io/v1"
    assert "f:regarding" in entries["recorder"]["fieldsV1"] and "f:note" not in entries["recorder"]["fieldsV1"]
    assert entries["editor"]["apiVersion"] == "v1" and entries["editor"]["fieldsV1"] == {"f:message": {}}


async def test_server_side_apply_through_events_k8s_io_on_a_core_event(kube_api: KubeApi) -> None:
    await kube_api.request("PATCH", f"{CORE}/e1?fieldManager=recorder", core_event("e1"), content_type=APPLY)
    applied = await kube_api.request(
        "PATCH", f"{EVENTS}/e1?fieldManager=recorder&force=true",
        {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"}, "note": "applied",
         "reason": "Synced"}, content_type=APPLY)
    assert applied.status == 200, applied.body
    core = (await kube_api.get(f"{CORE}/e1")).body
    assert core["message"] == "applied" and "involvedObject" not in core and "count" not in core
    assert [(e["manager"], e["operation"], e["apiVersion"]) for e in core["metadata"]["managedFields"]] == [
        ("recorder", "Apply", "events.k8s.io/v1")]


def test_the_python_accessors_share_the_events_too(kube_emulator: KubernetesEmulator) -> None:
    kube_emulator.create({**events_event("e1"), "metadata": {"name": "e1", "namespace": "default"}})
    assert [e["message"] for e in kube_emulator.list("v1", "events", "default")] == ["token is current"]
    kube_emulator.delete("v1", "Event", "default", "e1")
    assert kube_emulator.get("events.k8s.io/v1", "Event", "default", "e1") is None


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
async def test_kubectl_gets_events_of_both_groups(kube_api: KubeApi, kubectl: Kubectl) -> None:
    await kube_api.post(EVENTS, events_event("from-events-api", note="written as events.k8s.io"))
    await kube_api.post(CORE, core_event("from-core-api", message="written as core"))
    core = await kubectl("get", "events", "-o", "json")
    assert core.returncode == 0, core.stderr
    assert [(i["apiVersion"], i["metadata"]["name"], i["message"]) for i in core.json()["items"]] == [
        ("v1", "from-core-api", "written as core"), ("v1", "from-events-api", "written as events.k8s.io")]
    events = await kubectl("get", "events.v1.events.k8s.io", "-o", "json")
    assert events.returncode == 0, events.stderr
    assert [(i["apiVersion"], i["metadata"]["name"], i["note"]) for i in events.json()["items"]] == [
        ("events.k8s.io/v1", "from-core-api", "written as core"),
        ("events.k8s.io/v1", "from-events-api", "written as events.k8s.io")]
    table = await kubectl("get", "events.v1.events.k8s.io", "--field-selector", "regarding.name=creds")
    assert table.returncode == 0, table.stderr
    assert "written as core" in table.stdout and "written as events.k8s.io" in table.stdout


async def test_events_k8s_io_requires_event_time_on_create_only(kube_api: KubeApi) -> None:
    """ValidateEventCreate (pkg/apis/core/validation/events.go) requires eventTime of a create through
    events.k8s.io; an update runs the legacy checks only, so a core Event without it can be written there."""
    refused = await kube_api.post(EVENTS, {**events_event("new"), "eventTime": None})
    assert refused.status == 422 and refused.body["details"]["causes"] == [
        {"reason": "FieldValueRequired", "field": "eventTime", "message": "Required value"}]
    await kube_api.post(CORE, core_event("old"))
    labelled = await kube_api.patch(f"{EVENTS}/old", {"metadata": {"labels": {"seen": "yes"}}})
    assert labelled.status == 200, labelled.body
    assert labelled.body["metadata"]["labels"] == {"seen": "yes"} and "eventTime" not in labelled.body


async def test_no_event_needs_an_involved_object(kube_api: KubeApi) -> None:
    """involvedObject is listed as required only because its Go field has no omitempty: a core Event
    (in default) may leave it out, and an events.k8s.io one without ``regarding`` is written through core."""
    assert (await kube_api.post(CORE, {"metadata": {"name": "bare"}, "reason": "Started"})).status == 201
    bare = {k: v for k, v in events_event("new").items() if k != "regarding"}
    assert (await kube_api.post(EVENTS, bare)).status == 201
    patched = await kube_api.patch(f"{CORE}/new", {"message": "changed"})
    assert patched.status == 200, patched.body
