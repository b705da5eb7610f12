"""Server-side apply and managedFields over HTTP, as kube-apiserver 1.32 answers them.

PATCH with ``Content-Type: application/apply-patch+yaml``: options, creation (201), ownership in
``metadata.managedFields`` (FieldsV1), conflicts (409 with FieldManagerConflict causes), force,
pruning of fields an applier stops applying, list semantics from the schema (keyed lists, sets,
atomic lists and maps), the status subresource, dry runs; and the Update operations every other
write records.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import WIDGETS, KubeApi, Reply, widget

APPLY = "application/apply-patch+yaml"
GADGETS = "/apis/example.com/v1/namespaces/default/gadgets"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"

# A CRD whose schema declares each kind of list and map server-side apply tells apart.
GADGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "properties": {
                                   "replicas": {"type": "integer", "default": 1},
                                   "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                             "x-kubernetes-list-map-keys": ["name"],
                                             "items": {"type": "object", "required": ["name"], "properties": {
                                                 "name": {"type": "string"}, "port": {"type": "integer"}}}},
                                   "tags": {"type": "array", "x-kubernetes-list-type": "set",
                                            "items": {"type": "string"}},
                                   "args": {"type": "array", "items": {"type": "string"}},
                                   "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                                                "additionalProperties": {"type": "string"}},
                                   "settings": {"type": "object", "additionalProperties": {"type": "string"}},
                               }},
                               "status": {"type": "object", "properties": {
                                   "phase": {"type": "string"},
                                   "conditions": {"type": "array", "x-kubernetes-list-type": "map",
                                                  "x-kubernetes-list-map-keys": ["type"],
                                                  "items": {"type": "object", "properties": {
                                                      "type": {"type": "string"}, "status": {"type": "string"}}}},
                               }},
                           }}}}]},
}


@pytest.fixture(autouse=True)
def gadgets(kube_emulator: KubernetesEmulator) -> None:
    kube_emulator.install_crds([GADGET_CRD])


def gadget(name: str = "g1", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": name}, "spec": spec}


async def apply(kube_api: KubeApi, path: str, body: Any, manager: str | None = "ops", *, force: bool = False,
                query: str = "") -> Reply:
    params = [f"fieldManager={manager}"] if manager is not None else []
    params += ["force=true"] if force else []
    params += [query] if query else []
    text = body if isinstance(body, str) else json.dumps(body)
    return await kube_api.request("PATCH", f"{path}?{'&'.join(params)}", text.encode(), content_type=APPLY)


def entries(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """managedFields by (manager, operation)."""
    return {(e["manager"], e["operation"]): e for e in obj["metadata"].get("managedFields", [])}


def owned(obj: dict[str, Any], manager: str, operation: str = "Apply") -> dict[str, Any]:
    return entries(obj)[(manager, operation)]["fieldsV1"]  # type: ignore[no-any-return]


# -- creating, re-applying, options -------------------------------------------------------------------


async def test_apply_creates_a_missing_object_with_201_and_records_the_applier(kube_api: KubeApi) -> None:
    reply = await apply(kube_api, f"{WIDGETS}/w1", widget("w1", tags=["a"]), "flux")
    assert reply.status == 201, reply.body
    [entry] = reply.body["metadata"]["managedFields"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["time"])
    assert {k: v for k, v in entry.items() if k != "time"} == {
        "manager": "flux", "operation": "Apply", "apiVersion": "example.com/v1", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:secretName": {}, "f:size": {}, "f:tags": {}}}}
    assert reply.body["spec"]["replicas"] == 1  # defaulted by the schema, owned by no one
    got = await kube_api.get(f"{WIDGETS}/w1")
    assert got.body["metadata"]["managedFields"] == [entry]


async def test_reapplying_the_same_configuration_is_a_no_op(kube_api: KubeApi) -> None:
    first = await apply(kube_api, f"{WIDGETS}/w1", widget("w1"))
    again = await apply(kube_api, f"{WIDGETS}/w1", widget("w1"))
    assert again.status == 200
    assert again.body == first.body  # same resourceVersion, same managedFields time


async def test_apply_needs_a_field_manager_and_force_is_for_apply_only(kube_api: KubeApi) -> None:
    missing = await apply(kube_api, f"{WIDGETS}/w1", widget("w1"), manager=None)
    assert missing.status == 422
    assert missing.body["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                       "is required for apply patch")
    assert missing.body["details"]["causes"] == [{"reason": "FieldValueRequired", "field": "fieldManager",
                                                  "message": "Required value: is required for apply patch"}]
    await apply(kube_api, f"{WIDGETS}/w1", widget("w1"))
    merge = await kube_api.request("PATCH", f"{WIDGETS}/w1?force=true", {"spec": {"size": "large"}},
                                   content_type="application/merge-patch+json")
    assert merge.status == 422
    assert "force: Forbidden: may not be specified for non-apply patch" in merge.body["message"]


async def test_a_configuration_of_another_kind_or_with_managed_fields_is_refused(kube_api: KubeApi) -> None:
    wrong = await apply(kube_api, f"{WIDGETS}/w1", {**widget("w1"), "apiVersion": "example.com/v2"})
    assert (wrong.status, wrong.body["message"]) == (400, "invalid object type: example.com/v2, Kind=Widget")
    with_fields = widget("w1")
    with_fields["metadata"]["managedFields"] = [{"manager": "x", "operation": "Apply"}]
    refused = await apply(kube_api, f"{WIDGETS}/w1", with_fields)
    assert (refused.status, refused.body["message"]) == (400, "metadata.managedFields must be nil")


async def test_an_unknown_field_is_the_typed_converters_error(kube_api: KubeApi) -> None:
    reply = await apply(kube_api, f"{GADGETS}/g1", gadget(colour="red"))
    assert reply.status == 500
    assert reply.body["message"] == ("failed to create typed patch object (default/g1; example.com/v1, "
                                     "Kind=Gadget): .spec.colour: field not declared in schema")


async def test_the_body_is_yaml_and_strict_validation_refuses_duplicate_keys(kube_api: KubeApi) -> None:
    text = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec:\n  replicas: 2\n"
    created = await apply(kube_api, f"{GADGETS}/g1", text)
    assert (created.status, created.body["spec"]["replicas"]) == (201, 2)
    duplicated = text + "  replicas: 3\n"
    strict = await apply(kube_api, f"{GADGETS}/g1", duplicated, query="fieldValidation=Strict")
    assert strict.status == 400 and strict.body["message"].startswith("error strict decoding YAML:")
    lax = await apply(kube_api, f"{GADGETS}/g1", duplicated)
    assert (lax.status, lax.body["spec"]["replicas"]) == (200, 3)


async def test_a_dry_run_apply_answers_and_stores_nothing(kube_api: KubeApi) -> None:
    reply = await apply(kube_api, f"{WIDGETS}/w1", widget("w1"), query="dryRun=All")
    assert reply.status == 201 and "resourceVersion" not in reply.body["metadata"]
    assert reply.body["metadata"]["managedFields"][0]["manager"] == "ops"
    assert (await kube_api.get(f"{WIDGETS}/w1")).status == 404


# -- conflicts and ownership ------------------------------------------------------------------------


async def test_a_conflict_with_an_updater_is_409_and_force_takes_the_field(kube_api: KubeApi) -> None:
    await apply(kube_api, f"{WIDGETS}/w1", widget("w1"))
    patched = await kube_api.request("PATCH", f"{WIDGETS}/w1", {"spec": {"size": "large"}},
                                     content_type="application/merge-patch+json", headers={"User-Agent": "kopf/1.45"})
    assert patched.status == 200
    # An Update takes what it changes, from the applier too, without a conflict.
    assert owned(patched.body, "kopf", "Update") == {"f:spec": {"f:size": {}}}
    assert owned(patched.body, "ops") == {"f:spec": {"f:secretName": {}}}

    refused = await apply(kube_api, f"{WIDGETS}/w1", widget("w1"))
    assert refused.status == 409
    assert refused.body["reason"] == "Conflict"
    assert refused.body["message"] == ('Apply failed with 1 conflict: conflict with "kopf" using example.com/v1: '
                                       ".spec.size")
    assert refused.body["details"] == {"causes": [{"reason": "FieldManagerConflict",
                                                   "message": 'conflict with "kopf" using example.com/v1',
                                                   "field": ".spec.size"}]}

    forced = await apply(kube_api, f"{WIDGETS}/w1", widget("w1"), force=True)
    assert forced.status == 200 and forced.body["spec"]["size"] == "small"
    assert list(entries(forced.body)) == [("ops", "Apply")]  # kopf's entry owned nothing more: gone


async def test_conflicts_with_appliers_are_listed_per_manager(kube_api: KubeApi) -> None:
    await apply(kube_api, f"{GADGETS}/g1", gadget(replicas=2, args=["a"]), "team-a")
    reply = await apply(kube_api, f"{GADGETS}/g1", gadget(replicas=3, args=["b"]), "team-b")
    assert reply.status == 409
    assert reply.body["message"] == ('Apply failed with 2 conflicts: conflicts with "team-a":\n'
                                     "- .spec.args\n- .spec.replicas")
    same_values = await apply(kube_api, f"{GADGETS}/g1", gadget(replicas=2), "team-b")
    assert same_values.status == 200  # applying an owned field's current value shares it
    assert owned(same_values.body, "team-b") == {"f:spec": {"f:replicas": {}}}


async def test_a_dropped_field_goes_unless_another_manager_owns_it(kube_api: KubeApi) -> None:
    await apply(kube_api, f"{GADGETS}/g1", gadget(replicas=3, settings={"a": "1", "b": "2"}), "team-a")
    await apply(kube_api, f"{GADGETS}/g1", gadget(settings={"a": "1"}), "team-b")
    dropped = await apply(kube_api, f"{GADGETS}/g1", gadget(), "team-a")
    assert dropped.body["spec"]["settings"] == {"a": "1"}  # team-b still applies settings.a
    assert dropped.body["spec"]["replicas"] == 1  # removed, then defaulted again
    gone = await apply(kube_api, f"{GADGETS}/g1", gadget(), "team-b")
    assert "settings" not in gone.body["spec"]


async def test_lists_merge_by_key_by_value_or_as_a_whole(kube_api: KubeApi) -> None:
    await apply(kube_api, f"{GADGETS}/g1", gadget(ports=[{"name": "http", "port": 80}], tags=["a"],
                                                  selector={"app": "x"}), "team-a")
    reply = await apply(kube_api, f"{GADGETS}/g1", gadget(ports=[{"name": "metrics", "port": 9090}], tags=["b"]),
                        "team-b")
    assert reply.body["spec"]["ports"] == [{"name": "http", "port": 80}, {"name": "metrics", "port": 9090}]
    assert reply.body["spec"]["tags"] == ["a", "b"]
    assert owned(reply.body, "team-b") == {"f:spec": {
        "f:ports": {'k:{"name":"metrics"}': {".": {}, "f:name": {}, "f:port": {}}}, "f:tags": {'v:"b"': {}}}}
    # An atomic map is one field: another value for any key is a conflict on the whole map.
    atomic = await apply(kube_api, f"{GADGETS}/g1", gadget(selector={"app": "x", "tier": "web"}), "team-b")
    assert atomic.status == 409 and atomic.body["details"]["causes"][0]["field"] == ".spec.selector"
    pruned = await apply(kube_api, f"{GADGETS}/g1", gadget(ports=[{"name": "http", "port": 80}]), "team-a")
    assert pruned.body["spec"]["tags"] == ["b"] and "selector" not in pruned.body["spec"]
    assert [p["name"] for p in pruned.body["spec"]["ports"]] == ["http", "metrics"]


async def test_built_in_lists_follow_kubernetes_merge_keys(kube_api: KubeApi) -> None:
    deployment: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
            "name": "app", "image": "app:1", "ports": [{"containerPort": 8080}],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]}}}}
    created = await apply(kube_api, f"{DEPLOYMENTS}/web", deployment, "ci")
    container = owned(created.body, "ci")["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert set(container["f:env"]) == {'k:{"name":"A"}', 'k:{"name":"B"}'}
    assert list(container["f:ports"]) == ['k:{"containerPort":8080,"protocol":"TCP"}']  # the key's default
    sidecar = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {
        "spec": {"containers": [{"name": "proxy", "image": "proxy:1"}]}}}}
    both = await apply(kube_api, f"{DEPLOYMENTS}/web", sidecar, "mesh")
    assert [c["name"] for c in both.body["spec"]["template"]["spec"]["containers"]] == ["app", "proxy"]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    del env[1]
    trimmed = await apply(kube_api, f"{DEPLOYMENTS}/web", deployment, "ci")
    containers = trimmed.body["spec"]["template"]["spec"]["containers"]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}] and containers[1]["name"] == "proxy"


# -- the status subresource -------------------------------------------------------------------------


async def test_status_is_applied_through_its_subresource_only(kube_api: KubeApi) -> None:
    missing = await apply(kube_api, f"{GADGETS}/g1/status", {**gadget(), "status": {"phase": "Ready"}})
    assert missing.status == 404  # the status subresource never creates
    await apply(kube_api, f"{GADGETS}/g1", {**gadget(replicas=2), "status": {"phase": "ignored"}}, "flux")
    status = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g1"},
              "status": {"phase": "Ready", "conditions": [{"type": "Ready", "status": "True"}]}}
    reply = await apply(kube_api, f"{GADGETS}/g1/status", status, "controller")
    assert reply.status == 200 and reply.body["status"]["phase"] == "Ready"
    entry = next(e for e in reply.body["metadata"]["managedFields"] if e["manager"] == "controller")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:conditions": {'k:{"type":"Ready"}': {
        ".": {}, "f:status": {}, "f:type": {}}}, "f:phase": {}}}
    assert owned(reply.body, "flux") == {"f:spec": {"f:replicas": {}}}
    again = await apply(kube_api, f"{GADGETS}/g1", gadget(replicas=2), "flux")
    assert again.body["status"] == reply.body["status"]
    assert again.body["metadata"]["resourceVersion"] == reply.body["metadata"]["resourceVersion"]


# -- Update operations ------------------------------------------------------------------------------


async def test_every_write_records_its_manager_from_field_manager_or_user_agent(kube_api: KubeApi) -> None:
    created = await kube_api.post(WIDGETS, widget("w1"), headers={"User-Agent": "kopf/1.45.2 (linux)"})
    assert created.status == 201
    # An Update owns what it added, a new map or list item included ("." marks it).
    assert owned(created.body, "kopf", "Update") == {"f:spec": {".": {}, "f:replicas": {}, "f:secretName": {},
                                                                "f:size": {}}}
    put = dict(created.body)
    put["metadata"] = {**put["metadata"], "labels": {"team": "a"}}
    replaced = await kube_api.put(f"{WIDGETS}/w1?fieldManager=tokensync", put)
    assert owned(replaced.body, "tokensync", "Update") == {"f:metadata": {"f:labels": {".": {}, "f:team": {}}}}
    status = await kube_api.request("PATCH", f"{WIDGETS}/w1/status", {"status": {"phase": "Ready"}},
                                    content_type="application/merge-patch+json",
                                    headers={"User-Agent": "python-httpx/0.28"})
    entry = entries(status.body)[("python-httpx", "Update")]
    assert entry["subresource"] == "status" and entry["fieldsV1"] == {"f:status": {".": {}, "f:phase": {}}}
    unchanged = await kube_api.request("PATCH", f"{WIDGETS}/w1?fieldManager=other", {"spec": {"size": "small"}},
                                       content_type="application/merge-patch+json")
    assert ("other", "Update") not in entries(unchanged.body)  # it changed nothing, so it owns nothing
    assert unchanged.body["metadata"]["resourceVersion"] == status.body["metadata"]["resourceVersion"]


async def test_an_update_may_replace_or_reset_managed_fields(kube_api: KubeApi) -> None:
    await apply(kube_api, f"{WIDGETS}/w1", widget("w1"), "flux")
    reset = await kube_api.request("PATCH", f"{WIDGETS}/w1", {"metadata": {"managedFields": []}},
                                   content_type="application/merge-patch+json")
    assert "managedFields" not in reset.body["metadata"]
    untracked = await kube_api.request("PATCH", f"{WIDGETS}/w1", {"spec": {"size": "large"}},
                                       content_type="application/merge-patch+json")
    assert "managedFields" not in untracked.body["metadata"]  # untracked until the next apply
    applied = await apply(kube_api, f"{WIDGETS}/w1", widget("w1", size="large"), "flux")
    assert owned(applied.body, "before-first-apply", "Update")["f:spec"]["f:replicas"] == {}
    moved = [{**entry, "manager": "renamed"} for entry in applied.body["metadata"]["managedFields"]
             if entry["manager"] == "flux"]
    patch = [{"op": "replace", "path": "/metadata/managedFields", "value": moved}]
    replaced = await kube_api.request("PATCH", f"{WIDGETS}/w1", patch, content_type="application/json-patch+json")
    assert [e["manager"] for e in replaced.body["metadata"]["managedFields"]] == ["renamed"]


async def test_more_than_ten_updaters_are_merged_into_ancient_changes(kube_api: KubeApi) -> None:
    # The creator must own something: an object created without tracked fields stays untracked
    # by updates until it is applied (skipnonapplied.go).
    await kube_api.post(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                     "data": {"created": "yes"}})
    for index in range(12):
        reply = await kube_api.request("PATCH", f"{CONFIGMAPS}/c?fieldManager=writer-{index:02}",
                                       {"data": {f"k{index}": "v"}}, content_type="application/merge-patch+json")
    managers = [entry["manager"] for entry in reply.body["metadata"]["managedFields"]]
    assert len(managers) == 10 and "ancient-changes" in managers and "writer-11" in managers
