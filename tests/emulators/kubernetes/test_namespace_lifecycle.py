"""Namespaces live as on a cluster: Active with the "kubernetes" finalizer once created, a `default`
ServiceAccount inside (the serviceaccount controller's), and Terminating with the namespace
controller's conditions while finalizers hold some of its content."""

from __future__ import annotations

from .conftest import KubeApi, Kubectl

NAMESPACES = "/api/v1/namespaces"


async def test_kubectl_create_namespace_is_active_with_the_kubernetes_finalizer(kubectl: Kubectl) -> None:
    created = await kubectl("create", "namespace", "team")
    assert created.returncode == 0, created.stderr
    shown = await kubectl("get", "namespace", "team", "--no-headers")
    assert shown.stdout.split()[:2] == ["team", "Active"], shown.stdout
    namespace = (await kubectl("get", "namespace", "team", "-o", "json")).json()
    assert namespace["spec"] == {"finalizers": ["kubernetes"]}
    assert namespace["status"] == {"phase": "Active"}


async def test_finalizers_are_kept_on_create_and_not_changed_by_an_update(kube_api: KubeApi) -> None:
    created = await kube_api.post(NAMESPACES, {"metadata": {"name": "team"}, "spec": {"finalizers": ["example.com/x"]},
                                               "status": {"phase": "Terminating"}})
    assert created.body["spec"]["finalizers"] == ["example.com/x", "kubernetes"]
    assert created.body["status"] == {"phase": "Active"}
    updated = await kube_api.patch(f"{NAMESPACES}/team", {"spec": {"finalizers": []}})
    assert updated.body["spec"]["finalizers"] == ["example.com/x", "kubernetes"]  # only /finalize changes them


async def test_every_namespace_has_a_default_service_account(kubectl: Kubectl) -> None:
    await kubectl("create", "namespace", "team")
    for namespace in ("team", "default", "kube-system"):
        accounts = await kubectl("get", "serviceaccounts", "-n", namespace, "-o", "name")
        assert accounts.stdout.split() == ["serviceaccount/default"], (namespace, accounts.stdout)
    deleted = await kubectl("delete", "serviceaccount", "default", "-n", "team")
    assert deleted.returncode == 0, deleted.stderr
    again = await kubectl("get", "serviceaccount", "default", "-n", "team", "-o", "name")
    assert again.stdout.strip() == "serviceaccount/default"  # the controller makes it again


async def test_a_terminating_namespace_reports_what_holds_it(kube_api: KubeApi, kubectl: Kubectl) -> None:
    await kube_api.post(NAMESPACES, {"metadata": {"name": "team"}})
    held = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    await kube_api.post(f"{NAMESPACES}/team/secrets", held)
    await kube_api.delete(f"{NAMESPACES}/team")
    shown = await kubectl("get", "namespace", "team", "--no-headers")
    assert shown.stdout.split()[:2] == ["team", "Terminating"], shown.stdout
    status = (await kube_api.get(f"{NAMESPACES}/team")).body["status"]
    conditions = {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}
    assert conditions == {
        "NamespaceDeletionDiscoveryFailure": ("False", "ResourcesDiscovered", "All resources successfully discovered"),
        "NamespaceDeletionGroupVersionParsingFailure": ("False", "ParsedGroupVersions",
                                                        "All legacy kube types successfully parsed"),
        "NamespaceDeletionContentFailure": ("False", "ContentDeleted",
                                            "All content successfully deleted, may be waiting on finalization"),
        "NamespaceContentRemaining": ("True", "SomeResourcesRemain",
                                      "Some resources are remaining: secrets has 1 resource instances"),
        "NamespaceFinalizersRemaining": ("True", "SomeFinalizersRemain", "Some content in the namespace has "
                                         "finalizers remaining: example.com/hold in 1 resource instances"),
    }
    await kube_api.patch(f"{NAMESPACES}/team/secrets/held", {"metadata": {"finalizers": None}})
    assert (await kube_api.get(f"{NAMESPACES}/team")).status == 404
