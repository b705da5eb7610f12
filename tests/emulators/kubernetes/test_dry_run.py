"""``dryRun=All`` on POST, PUT, PATCH and DELETE: the request is checked and answered as it would
be, and nothing is persisted.

API concepts, "Dry-run" (https://kubernetes.io/docs/reference/using-api/api-concepts/#dry-run):
"the request is processed as usual (admission, validation, defaulting) but the final step of
persisting to storage is skipped"; "All" is the only valid value, anything else is refused by the
request options' validation (apimachinery ValidateDryRun).
"""

from __future__ import annotations

from typing import Any

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import WIDGETS, KubeApi, widget

SECRETS = "/api/v1/namespaces/default/secrets"
DRY = "?dryRun=All"


async def _current_rv(kube_api: KubeApi) -> str:
    rv: str = (await kube_api.get(SECRETS)).body["metadata"]["resourceVersion"]
    return rv


async def _first_event_after(kube_api: KubeApi, path: str, rv: str, marker: dict[str, Any]) -> dict[str, Any]:
    """The first watch event after ``rv`` once ``marker`` has really been created at ``path``: a
    dry run that leaked an event would show up before the marker's ADDED."""
    await kube_api.post(path, marker)
    events = await kube_api.watch(path, resourceVersion=rv, until=lambda e: len(e) == 1)
    return events[0]


async def test_dry_run_create_returns_the_defaulted_object_and_stores_nothing(kube_api: KubeApi) -> None:
    """Dry-run create answers 201 with the object as it would be stored (CRD defaults, server
    metadata, no resourceVersion) and stores nothing: a GET is 404, the cluster's resourceVersion
    is unchanged and no watch event is sent."""
    rv = await _current_rv(kube_api)
    reply = await kube_api.post(WIDGETS + DRY, widget("w1"))
    assert reply.status == 201
    assert reply.body["spec"]["replicas"] == 1  # the CRD schema's default
    assert reply.body["metadata"]["uid"] and reply.body["metadata"]["generation"] == 1
    assert "resourceVersion" not in reply.body["metadata"]
    assert (await kube_api.get(f"{WIDGETS}/w1")).status == 404
    assert await _current_rv(kube_api) == rv
    first = await _first_event_after(kube_api, WIDGETS, rv, widget("marker"))
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "marker")


async def test_dry_run_create_still_validates(kube_api: KubeApi) -> None:
    """Validation runs in a dry run: an invalid custom resource is 422, a duplicate name 409."""
    reply = await kube_api.post(WIDGETS + DRY, widget("w1", size="medium"))
    assert reply.status == 422 and 'Unsupported value: "medium"' in reply.body["message"]
    await kube_api.post(WIDGETS, widget("w1"))
    assert (await kube_api.post(WIDGETS + DRY, widget("w1"))).status == 409


async def test_dry_run_of_a_crd_registers_nothing(kube_api: KubeApi) -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "gizmos.tools.example.org"},
           "spec": {"group": "tools.example.org", "scope": "Namespaced",
                    "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    reply = await kube_api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions" + DRY, crd)
    assert reply.status == 201
    assert (await kube_api.get("/apis/tools.example.org/v1")).status == 404


async def test_dry_run_patch_and_put_return_the_result_and_change_nothing(
        kube_api: KubeApi, kube_emulator: KubernetesEmulator) -> None:
    """A dry-run update answers 200 with the would-be object (generation bumped for a spec change,
    resourceVersion still the current one); the stored object, the resourceVersion and the watch
    stream are untouched, and no write is counted."""
    created = (await kube_api.post(WIDGETS, widget("w1"))).body
    rv = created["metadata"]["resourceVersion"]
    patched = await kube_api.patch(f"{WIDGETS}/w1{DRY}", {"spec": {"size": "large"}})
    assert patched.status == 200
    assert patched.body["spec"]["size"] == "large" and patched.body["metadata"]["generation"] == 2
    assert patched.body["metadata"]["resourceVersion"] == rv
    replaced = await kube_api.put(f"{WIDGETS}/w1{DRY}", {**created, "spec": {"size": "large", "configMapName": "c"}})
    assert replaced.status == 200 and replaced.body["spec"]["configMapName"] == "c"
    status = await kube_api.patch(f"{WIDGETS}/w1/status{DRY}", {"status": {"phase": "Ready"}})
    assert status.status == 200 and status.body["status"] == {"phase": "Ready"}
    stored = (await kube_api.get(f"{WIDGETS}/w1")).body
    assert stored == created
    assert kube_emulator.write_counts[("widgets", "patch")] == 0
    assert kube_emulator.write_counts[("widgets", "update")] == 0
    assert kube_emulator.write_counts[("widgets/status", "patch")] == 0
    first = await _first_event_after(kube_api, WIDGETS, rv, widget("marker"))
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "marker")


async def test_dry_run_patch_still_refuses_an_invalid_result(kube_api: KubeApi) -> None:
    await kube_api.post(WIDGETS, widget("w1"))
    reply = await kube_api.patch(f"{WIDGETS}/w1{DRY}", {"spec": {"replicas": 9}})
    assert reply.status == 422


async def test_dry_run_delete_answers_like_delete_and_deletes_nothing(kube_api: KubeApi) -> None:
    """A dry-run DELETE answers as the deletion would (200), and the object, its dependents
    (no garbage collection) and the resourceVersion stay as they were. dryRun comes in the
    DeleteOptions body (client-go) or in the query."""
    owner = (await kube_api.post(WIDGETS, widget("w1"))).body
    await kube_api.post(SECRETS, {"metadata": {"name": "owned", "ownerReferences": [{
        "apiVersion": "example.com/v1", "kind": "Widget", "name": "w1", "uid": owner["metadata"]["uid"]}]}})
    rv = await _current_rv(kube_api)
    in_body = await kube_api.delete(f"{WIDGETS}/w1", {"kind": "DeleteOptions", "apiVersion": "v1",
                                                      "dryRun": ["All"]})
    assert in_body.status == 200 and in_body.body["details"]["uid"] == owner["metadata"]["uid"]
    in_query = await kube_api.delete(f"{WIDGETS}/w1{DRY}")
    assert in_query.status == 200
    assert (await kube_api.get(f"{WIDGETS}/w1")).status == 200
    assert (await kube_api.get(f"{SECRETS}/owned")).status == 200
    assert await _current_rv(kube_api) == rv
    first = await _first_event_after(kube_api, WIDGETS, rv, widget("marker"))
    assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "marker")


async def test_dry_run_delete_of_an_object_with_finalizers_shows_the_mark_without_setting_it(
        kube_api: KubeApi) -> None:
    await kube_api.post(WIDGETS, {**widget("w1"), "metadata": {"name": "w1", "finalizers": ["example.com/x"]}})
    reply = await kube_api.delete(f"{WIDGETS}/w1{DRY}")
    assert reply.status == 200 and reply.body["metadata"]["deletionTimestamp"]
    assert "deletionTimestamp" not in (await kube_api.get(f"{WIDGETS}/w1")).body["metadata"]


async def test_other_dry_run_values_are_refused(kube_api: KubeApi) -> None:
    """Only "All" is a valid dryRun value; kube-apiserver refuses others in the request options'
    validation with 422 Invalid naming the options kind and the dryRun field, and does nothing."""
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    cases = [
        ("CreateOptions", kube_api.post(f"{SECRETS}?dryRun=true", {"metadata": {"name": "b"}})),
        ("UpdateOptions", kube_api.put(f"{SECRETS}/a?dryRun=Some", {"metadata": {"name": "a"}})),
        ("PatchOptions", kube_api.patch(f"{SECRETS}/a?dryRun=1", {"metadata": {"labels": {"x": "y"}}})),
        ("DeleteOptions", kube_api.delete(f"{SECRETS}/a", {"dryRun": ["Server"]})),
    ]
    for options_kind, request in cases:
        reply = await request
        assert reply.status == 422, (options_kind, reply.body)
        assert reply.body["reason"] == "Invalid"
        assert reply.body["message"].startswith(f'{options_kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value')
        assert reply.body["details"]["causes"][0]["field"] == "dryRun"
    assert (await kube_api.get(f"{SECRETS}/b")).status == 404
    stored = (await kube_api.get(f"{SECRETS}/a")).body
    assert "labels" not in stored["metadata"]

