"""Garbage collection by ownerReferences ("Garbage Collection", kubernetes.io docs)."""

from __future__ import annotations

from .conftest import WIDGETS, KubeApi, widget

SECRETS = "/api/v1/namespaces/default/secrets"


def _owned(name: str, owner: dict[str, object]) -> dict[str, object]:
    return {"metadata": {"name": name, "ownerReferences": [{
        "apiVersion": "example.com/v1", "kind": "Widget", "name": owner["metadata"]["name"],  # type: ignore[index]
        "uid": owner["metadata"]["uid"], "controller": True}]}}  # type: ignore[index]


async def test_deleting_the_owner_deletes_dependents(kube_api: KubeApi) -> None:
    owner = (await kube_api.post(WIDGETS, widget("w1"))).body
    await kube_api.post(SECRETS, _owned("owned", owner))
    await kube_api.post(SECRETS, {"metadata": {"name": "free"}})
    await kube_api.delete(f"{WIDGETS}/w1")
    assert (await kube_api.get(f"{SECRETS}/owned")).status == 404
    assert (await kube_api.get(f"{SECRETS}/free")).status == 200


async def test_dependents_go_when_the_owners_finalizers_clear(kube_api: KubeApi) -> None:
    owner = (await kube_api.post(WIDGETS, {**widget("w1"), "metadata": {"name": "w1", "finalizers": ["x/y"]}})).body
    await kube_api.post(SECRETS, _owned("owned", owner))
    await kube_api.delete(f"{WIDGETS}/w1")
    assert (await kube_api.get(f"{SECRETS}/owned")).status == 200
    await kube_api.patch(f"{WIDGETS}/w1", {"metadata": {"finalizers": []}})
    assert (await kube_api.get(f"{SECRETS}/owned")).status == 404


async def test_orphan_propagation_keeps_dependents_and_removes_the_owner_reference(kube_api: KubeApi) -> None:
    """"Garbage Collection", "Orphaned dependents": with propagationPolicy Orphan the dependents
    stay and "the garbage collector ... removes the ownerReferences" naming the deleted owner.
    Removing it is a write: the dependent gets a new resourceVersion and a MODIFIED event."""
    owner = (await kube_api.post(WIDGETS, widget("w1"))).body
    before = (await kube_api.post(SECRETS, _owned("owned", owner))).body
    await kube_api.delete(f"{WIDGETS}/w1", {"propagationPolicy": "Orphan"})
    assert (await kube_api.get(f"{WIDGETS}/w1")).status == 404
    orphan = await kube_api.get(f"{SECRETS}/owned")
    assert orphan.status == 200
    assert "ownerReferences" not in orphan.body["metadata"]
    assert int(orphan.body["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    events = await kube_api.watch(SECRETS, resourceVersion=before["metadata"]["resourceVersion"],
                                  until=lambda e: len(e) == 1)
    assert events[0]["type"] == "MODIFIED" and "ownerReferences" not in events[0]["object"]["metadata"]


async def test_orphan_propagation_keeps_the_other_owners_references(kube_api: KubeApi) -> None:
    one = (await kube_api.post(WIDGETS, widget("w1"))).body
    two = (await kube_api.post(WIDGETS, widget("w2"))).body
    body = _owned("shared", one)
    body["metadata"]["ownerReferences"] += _owned("x", two)["metadata"]["ownerReferences"]  # type: ignore[index]
    await kube_api.post(SECRETS, body)
    await kube_api.delete(f"{WIDGETS}/w1?propagationPolicy=Orphan")
    shared = (await kube_api.get(f"{SECRETS}/shared")).body
    assert [o["uid"] for o in shared["metadata"]["ownerReferences"]] == [two["metadata"]["uid"]]
    # The remaining owner still collects it.
    await kube_api.delete(f"{WIDGETS}/w2")
    assert (await kube_api.get(f"{SECRETS}/shared")).status == 404


async def test_orphan_propagation_holds_when_the_owners_finalizers_clear_later(kube_api: KubeApi) -> None:
    """An owner with finalizers is only marked; orphaning still applies when it finally goes."""
    owner = (await kube_api.post(WIDGETS, {**widget("w1"), "metadata": {"name": "w1", "finalizers": ["x/y"]}})).body
    await kube_api.post(SECRETS, _owned("owned", owner))
    await kube_api.delete(f"{WIDGETS}/w1", {"propagationPolicy": "Orphan"})
    await kube_api.patch(f"{WIDGETS}/w1", {"metadata": {"finalizers": []}})
    assert (await kube_api.get(f"{WIDGETS}/w1")).status == 404
    orphan = await kube_api.get(f"{SECRETS}/owned")
    assert orphan.status == 200 and "ownerReferences" not in orphan.body["metadata"]


async def test_dependent_with_a_live_second_owner_stays(kube_api: KubeApi) -> None:
    one = (await kube_api.post(WIDGETS, widget("w1"))).body
    two = (await kube_api.post(WIDGETS, widget("w2"))).body
    body = _owned("shared", one)
    body["metadata"]["ownerReferences"] += _owned("x", two)["metadata"]["ownerReferences"]  # type: ignore[index]
    await kube_api.post(SECRETS, body)
    await kube_api.delete(f"{WIDGETS}/w1")
    assert (await kube_api.get(f"{SECRETS}/shared")).status == 200


async def test_a_dependent_whose_owner_is_absent_is_collected(kube_api: KubeApi) -> None:
    """kube-controller-manager deletes an object whose every owner is absent ("dangling"): an
    owner deleted before the dependent was written, or one of that name with another uid."""
    owner = (await kube_api.post(WIDGETS, widget("w1"))).body
    await kube_api.delete(f"{WIDGETS}/w1")
    created = await kube_api.post(SECRETS, _owned("late", owner))
    assert created.status == 201  # the write succeeds; the collector removes it after
    assert (await kube_api.get(f"{SECRETS}/late")).status == 404
    again = (await kube_api.post(WIDGETS, widget("w1"))).body  # same name, another uid
    await kube_api.post(SECRETS, _owned("stale", owner))
    assert (await kube_api.get(f"{SECRETS}/stale")).status == 404
    await kube_api.post(SECRETS, _owned("fresh", again))
    assert (await kube_api.get(f"{SECRETS}/fresh")).status == 200
    # Adding a dangling owner to an object that has a live one keeps it.
    body = _owned("both", again)
    body["metadata"]["ownerReferences"] += _owned("x", owner)["metadata"]["ownerReferences"]  # type: ignore[index]
    await kube_api.post(SECRETS, body)
    assert (await kube_api.get(f"{SECRETS}/both")).status == 200


NAMESPACES = "/api/v1/namespaces"


async def test_a_namespace_terminates_until_what_holds_a_finalizer_is_released(kube_api: KubeApi) -> None:
    """Namespace deletion: the namespace is marked Terminating, its contents are deleted (each
    honouring its finalizers), nothing new may be created in it (403, NamespaceTerminating), and
    it goes once it is empty."""
    await kube_api.post(NAMESPACES, {"metadata": {"name": "team"}})
    await kube_api.post(f"{NAMESPACES}/team/secrets", {"metadata": {"name": "plain"}})
    await kube_api.post(f"{NAMESPACES}/team/secrets", {"metadata": {"name": "held", "finalizers": ["x/y"]}})
    deleted = await kube_api.delete(f"{NAMESPACES}/team")
    assert deleted.status == 200 and deleted.body["status"]["phase"] == "Terminating"
    assert (await kube_api.get(f"{NAMESPACES}/team/secrets/plain")).status == 404
    held = (await kube_api.get(f"{NAMESPACES}/team/secrets/held")).body
    assert held["metadata"].get("deletionTimestamp")
    refused = await kube_api.post(f"{NAMESPACES}/team/secrets", {"metadata": {"name": "late"}})
    assert refused.status == 403 and "being terminated" in refused.body["message"]
    assert refused.body["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    assert (await kube_api.get(f"{NAMESPACES}/team")).body["status"]["phase"] == "Terminating"
    await kube_api.patch(f"{NAMESPACES}/team/secrets/held", {"metadata": {"finalizers": None}})
    assert (await kube_api.get(f"{NAMESPACES}/team/secrets/held")).status == 404
    assert (await kube_api.get(f"{NAMESPACES}/team")).status == 404
