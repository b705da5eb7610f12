"""Server-set metadata, status codes and Status bodies, over HTTP.

References are to the Kubernetes API conventions
(https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md).
"""

from __future__ import annotations

import base64

import pytest

from .conftest import WIDGETS, KubeApi, widget

SECRETS = "/api/v1/namespaces/default/secrets"


async def test_create_sets_server_metadata_and_answers_201(kube_api: KubeApi) -> None:
    """Conventions, "Metadata": uid, resourceVersion, creationTimestamp, generation are set by the
    server; namespace defaults from the URL; apiVersion/kind are filled in. POST answers 201 Created."""
    reply = await kube_api.post(WIDGETS, {"spec": {"size": "small", "secretName": "s"}, "metadata": {"name": "w1"}})
    assert reply.status == 201
    metadata = reply.body["metadata"]
    assert metadata["namespace"] == "default"
    assert metadata["generation"] == 1
    assert len(metadata["uid"]) == 36
    assert metadata["creationTimestamp"].endswith("Z")
    assert int(metadata["resourceVersion"]) > 0
    assert (reply.body["apiVersion"], reply.body["kind"]) == ("example.com/v1", "Widget")


async def test_resource_version_increases_across_the_cluster(kube_api: KubeApi) -> None:
    """Conventions, "Concurrency Control and Consistency": every write gets a new, larger
    resourceVersion, shared by all kinds; LIST reports the current one."""
    first = (await kube_api.post(SECRETS, {"metadata": {"name": "a"}})).body
    second = (await kube_api.post(WIDGETS, widget("w1"))).body
    third = (await kube_api.patch(f"{SECRETS}/a", {"metadata": {"labels": {"x": "y"}}})).body
    versions = [int(o["metadata"]["resourceVersion"]) for o in (first, second, third)]
    assert versions == sorted(versions) and len(set(versions)) == 3
    listing = (await kube_api.get(SECRETS)).body
    assert int(listing["metadata"]["resourceVersion"]) == versions[-1]


async def test_noop_patch_keeps_resource_version(kube_api: KubeApi) -> None:
    """A write that changes nothing stores nothing: same resourceVersion, no watch event."""
    created = (await kube_api.post(SECRETS, {"metadata": {"name": "a", "labels": {"x": "1"}}})).body
    patched = (await kube_api.patch(f"{SECRETS}/a", {"metadata": {"labels": {"x": "1"}}})).body
    assert patched["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_generation_bumps_on_spec_changes_only(kube_api: KubeApi) -> None:
    """Conventions, "Metadata": generation is incremented on changes to the desired state (spec),
    not on metadata or status changes."""
    await kube_api.post(WIDGETS, widget("w1"))
    labelled = (await kube_api.patch(f"{WIDGETS}/w1", {"metadata": {"labels": {"a": "b"}}})).body
    assert labelled["metadata"]["generation"] == 1
    status = (await kube_api.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "Ready"}})).body
    assert status["metadata"]["generation"] == 1
    changed = (await kube_api.patch(f"{WIDGETS}/w1", {"spec": {"replicas": 3}})).body
    assert changed["metadata"]["generation"] == 2


@pytest.mark.parametrize(("plural", "kind"), [("deployments", "Deployment"), ("statefulsets", "StatefulSet"),
                                              ("daemonsets", "DaemonSet")])
async def test_apps_kinds_bump_generation_on_spec_changes_only(kube_api: KubeApi, plural: str, kind: str) -> None:
    """apps/v1 workloads carry generation as their controllers expect (conventions, "Metadata":
    generation changes with the desired state only): created at 1, unchanged by label and
    /status writes, bumped by a spec change."""
    path = f"/apis/apps/v1/namespaces/default/{plural}"
    body = {"metadata": {"name": "w"}, "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": {
        "metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "app", "image": "a:1"}]}}}}
    created = await kube_api.post(path, body)
    assert created.status == 201
    assert (created.body["apiVersion"], created.body["kind"]) == ("apps/v1", kind)
    assert created.body["metadata"]["generation"] == 1
    labelled = (await kube_api.patch(f"{path}/w", {"metadata": {"labels": {"team": "a"}}})).body
    assert labelled["metadata"]["generation"] == 1
    status = (await kube_api.patch(f"{path}/w/status", {"status": {"observedGeneration": 1}})).body
    assert status["metadata"]["generation"] == 1 and status["status"]["observedGeneration"] == 1
    changed = (await kube_api.patch(f"{path}/w", {"spec": {"minReadySeconds": 5}})).body
    assert changed["metadata"]["generation"] == 2
    # A spec write keeps status; the controller's status write for generation 2 comes after it.
    assert changed["status"]["observedGeneration"] == 1


async def test_duplicate_create_is_409_already_exists(kube_api: KubeApi) -> None:
    """Conventions, "HTTP Status codes": 409 Conflict with reason AlreadyExists."""
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    assert reply.status == 409
    assert reply.body["kind"] == "Status" and reply.body["apiVersion"] == "v1"
    assert reply.body["status"] == "Failure"
    assert reply.body["reason"] == "AlreadyExists"
    assert reply.body["details"]["name"] == "a"
    assert reply.body["code"] == 409


async def test_put_with_stale_resource_version_is_409_conflict(kube_api: KubeApi) -> None:
    """Conventions, "Concurrency Control and Consistency": an update whose resourceVersion is not
    the current one fails with 409 Conflict."""
    created = (await kube_api.post(WIDGETS, widget("w1"))).body
    await kube_api.patch(f"{WIDGETS}/w1", {"spec": {"replicas": 2}})
    reply = await kube_api.put(f"{WIDGETS}/w1", created)
    assert reply.status == 409
    assert reply.body["reason"] == "Conflict"


async def test_put_replaces_and_answers_200(kube_api: KubeApi) -> None:
    """PUT replaces the object (fields not sent are gone) and answers 200 OK."""
    created = (await kube_api.post(WIDGETS, widget("w1", tags=["a"]))).body
    created["spec"].pop("tags")
    reply = await kube_api.put(f"{WIDGETS}/w1", created)
    assert reply.status == 200
    assert "tags" not in reply.body["spec"]


async def test_merge_patch_with_stale_resource_version_is_409(kube_api: KubeApi) -> None:
    """A patch carrying metadata.resourceVersion is a precondition: stale -> 409 Conflict."""
    created = (await kube_api.post(SECRETS, {"metadata": {"name": "a"}})).body
    await kube_api.patch(f"{SECRETS}/a", {"metadata": {"labels": {"x": "1"}}})
    reply = await kube_api.patch(f"{SECRETS}/a", {"metadata": {"resourceVersion": created["metadata"][
        "resourceVersion"], "labels": {"x": "2"}}})
    assert reply.status == 409 and reply.body["reason"] == "Conflict"


async def test_missing_object_is_404_not_found(kube_api: KubeApi) -> None:
    """Conventions, "HTTP Status codes": 404 with reason NotFound for GET, PATCH and DELETE."""
    for reply in (await kube_api.get(f"{SECRETS}/nope"), await kube_api.patch(f"{SECRETS}/nope", {}),
                  await kube_api.delete(f"{SECRETS}/nope")):
        assert reply.status == 404
        assert reply.body["reason"] == "NotFound"
        assert reply.body["message"] == 'secrets "nope" not found'


async def test_unknown_resource_is_404(kube_api: KubeApi) -> None:
    assert (await kube_api.get("/apis/example.com/v1/namespaces/default/gizmos")).status == 404


async def test_malformed_body_is_400(kube_api: KubeApi) -> None:
    """Conventions, "HTTP Status codes": 400 BadRequest for a body that cannot be parsed."""
    reply = await kube_api.post(SECRETS, b"{not json")
    assert reply.status == 400 and reply.body["reason"] == "BadRequest"


async def test_unserved_verb_is_405(kube_api: KubeApi) -> None:
    """POST to an item path is not served: 405 MethodNotAllowed (DELETE on a collection is
    deletecollection, answered with the list of what it deleted)."""
    assert (await kube_api.delete(SECRETS)).body["kind"] == "SecretList"
    assert (await kube_api.post(f"{SECRETS}/a", {})).status == 405


async def test_secret_string_data_is_encoded_into_data(kube_api: KubeApi) -> None:
    """Secret stringData is write-only: the server merges it into base64 data and defaults the type."""
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "a"}, "stringData": {"token": "abc"}})
    assert reply.body["data"] == {"token": "YWJj"}
    assert "stringData" not in reply.body
    assert reply.body["type"] == "Opaque"


async def test_invalid_name_is_422(kube_api: KubeApi) -> None:
    """Object names are DNS subdomains; others are refused with 422 Invalid naming metadata.name."""
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "Not_Valid"}})
    assert reply.status == 422
    assert reply.body["details"]["causes"][0]["field"] == "metadata.name"


async def test_generate_name_creates_a_unique_name(kube_api: KubeApi) -> None:
    """Conventions, "Idempotency": generateName gets a random suffix from the server."""
    one = (await kube_api.post(SECRETS, {"metadata": {"generateName": "tok-"}})).body["metadata"]["name"]
    two = (await kube_api.post(SECRETS, {"metadata": {"generateName": "tok-"}})).body["metadata"]["name"]
    assert one.startswith("tok-") and two.startswith("tok-") and one != two


async def test_namespace_mismatch_between_body_and_url_is_400(kube_api: KubeApi) -> None:
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "a", "namespace": "kube-system"}})
    assert reply.status == 400


async def test_secret_data_over_1_mib_is_422_too_long_and_up_to_1_mib_is_accepted(kube_api: KubeApi) -> None:
    """Secrets and ConfigMaps hold at most 1 MiB of data (core/v1 validation, MaxSecretSize); the
    request itself may be larger (base64 and JSON), up to the API server's 3 MiB body limit."""
    almost = base64.b64encode(b"x" * (1024 * 1024 - 10)).decode()
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "big"}, "data": {"token": almost}})
    assert reply.status == 201
    over = base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "bigger"}, "data": {"token": over}})
    assert reply.status == 422
    assert "Too long: must have at most 1048576 bytes" in reply.body["message"]
    reply = await kube_api.post("/api/v1/namespaces/default/configmaps",
                                {"metadata": {"name": "cm"}, "data": {"k": "x" * (1024 * 1024 + 1)}})
    assert reply.status == 422


async def test_invalid_data_keys_and_labels_are_422(kube_api: KubeApi) -> None:
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "k"}, "stringData": {"bad key": "v"}})
    assert reply.status == 422 and "data[bad key]" in reply.body["message"]
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "l", "labels": {"team": "a b"}}})
    assert reply.status == 422 and "metadata.labels[team]" in reply.body["message"]
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "m", "labels": {"-bad": "x"}}})
    assert reply.status == 422 and "metadata.labels" in reply.body["message"]
    reply = await kube_api.post(SECRETS, {"metadata": {"name": "n", "labels": {"example.com/team": "a-b_c.d"}}})
    assert reply.status == 201


# -- ObjectMeta's omitempty maps and lists ---------------------------------------------------------------
# kube-apiserver stores and serves ObjectMeta through its Go type, whose labels, annotations,
# finalizers and ownerReferences are ``omitempty`` (apimachinery pkg/apis/meta/v1/types.go): null
# or emptied, they are not there at all.

EMPTY_METADATA = {"labels": {}, "annotations": {}, "finalizers": [], "ownerReferences": []}


async def test_empty_metadata_maps_and_lists_are_not_stored(kube_api: KubeApi) -> None:
    created = await kube_api.post(SECRETS, {"metadata": {"name": "a", **EMPTY_METADATA}})
    assert created.status == 201, created.body
    assert not set(EMPTY_METADATA) & set(created.body["metadata"])
    assert not set(EMPTY_METADATA) & set((await kube_api.get(f"{SECRETS}/a")).body["metadata"])
    crd = await kube_api.post(WIDGETS, {**widget("w1"), "metadata": {"name": "w1", "labels": None, **EMPTY_METADATA}})
    assert crd.status == 201 and not set(EMPTY_METADATA) & set(crd.body["metadata"])


async def test_removing_the_last_annotation_drops_the_map(kube_api: KubeApi) -> None:
    await kube_api.post(SECRETS, {"metadata": {"name": "a", "annotations": {"note": "x"}, "labels": {"app": "web"}}})
    emptied = await kube_api.patch(f"{SECRETS}/a", {"metadata": {"annotations": {"note": None},
                                                                 "labels": {"app": None}}})
    assert emptied.status == 200
    assert "annotations" not in emptied.body["metadata"] and "labels" not in emptied.body["metadata"]
    stored = (await kube_api.get(f"{SECRETS}/a")).body
    assert "annotations" not in stored["metadata"] and "labels" not in stored["metadata"]


async def test_writing_an_empty_map_onto_none_is_a_no_op(kube_api: KubeApi) -> None:
    """``{}`` and absent are the same stored object: no new resourceVersion."""
    created = (await kube_api.post(SECRETS, {"metadata": {"name": "a"}})).body
    patched = await kube_api.patch(f"{SECRETS}/a", {"metadata": {"annotations": {}, "finalizers": []}})
    assert patched.body["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    put = await kube_api.put(f"{SECRETS}/a", {**created, "metadata": {**created["metadata"], "labels": {}}})
    assert put.body["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert "labels" not in put.body["metadata"]


async def test_an_emptied_map_is_dropped_by_strategic_merge_and_apply(kube_api: KubeApi) -> None:
    await kube_api.post(SECRETS, {"metadata": {"name": "a", "labels": {"app": "web"}}})
    replaced = await kube_api.patch(f"{SECRETS}/a", {"metadata": {"labels": {"$patch": "replace"}}},
                                    content_type="application/strategic-merge-patch+json")
    assert replaced.status == 200 and "labels" not in replaced.body["metadata"]
    path = f"{WIDGETS}/w1?fieldManager=ops"
    labelled = {**widget("w1"), "metadata": {"name": "w1", "annotations": {"a": "1"}}}
    for body in (labelled, widget("w1")):
        reply = await kube_api.request("PATCH", path, body, content_type="application/apply-patch+yaml")
        assert reply.status in (200, 201), reply.body
    applied = (await kube_api.get(f"{WIDGETS}/w1")).body
    assert "annotations" not in applied["metadata"]
    [entry] = applied["metadata"]["managedFields"]
    assert "f:metadata" not in entry["fieldsV1"]
