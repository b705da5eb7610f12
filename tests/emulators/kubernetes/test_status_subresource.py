"""The /status subresource (API conventions, "Spec and Status"): spec and status written apart."""

from __future__ import annotations

from .conftest import WIDGETS, KubeApi, widget


async def test_main_resource_writes_ignore_status(kube_api: KubeApi) -> None:
    created = await kube_api.post(WIDGETS, {**widget("w1"), "status": {"phase": "Forged"}})
    assert "status" not in created.body
    patched = await kube_api.patch(f"{WIDGETS}/w1", {"status": {"phase": "Forged"}, "spec": {"size": "large"}})
    assert "status" not in patched.body and patched.body["spec"]["size"] == "large"


async def test_status_writes_ignore_everything_but_status(kube_api: KubeApi) -> None:
    """A status write changes only status and keeps generation (it is not a spec change)."""
    await kube_api.post(WIDGETS, widget("w1"))
    reply = await kube_api.patch(f"{WIDGETS}/w1/status",
                                 {"status": {"phase": "Ready"}, "spec": {"size": "large"},
                                  "metadata": {"labels": {"x": "y"}}})
    assert reply.status == 200
    assert reply.body["status"] == {"phase": "Ready"}
    assert reply.body["spec"]["size"] == "small"
    assert "labels" not in reply.body["metadata"]
    assert reply.body["metadata"]["generation"] == 1


async def test_status_put_with_stale_resource_version_is_409(kube_api: KubeApi) -> None:
    created = (await kube_api.post(WIDGETS, widget("w1"))).body
    await kube_api.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "A"}})
    reply = await kube_api.put(f"{WIDGETS}/w1/status", {**created, "status": {"phase": "B"}})
    assert reply.status == 409


async def test_kinds_without_status_subresource_do_not_serve_it(kube_api: KubeApi) -> None:
    await kube_api.post("/api/v1/namespaces/default/secrets", {"metadata": {"name": "a"}})
    assert (await kube_api.get("/api/v1/namespaces/default/secrets/a/status")).status == 404
