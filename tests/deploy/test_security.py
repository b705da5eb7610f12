"""The pod runs locked down, and RBAC grants only what tokensync uses (least privilege)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy.rendering import (
    RELEASE_NAMESPACE,
    REPO_ROOT,
    VALUE_SETS,
    find,
    only,
    operator_container,
    render_objects,
)
from tokensync.kube import resources

ALL_RBAC_KINDS = ("ClusterRole", "Role")


def _rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for kind in ALL_RBAC_KINDS for role in find(objects, kind) for rule in role["rules"]]


def _grants(rules: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) -> verbs."""
    grants: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


# Everything tokensync does in a watched namespace, and why (templates/_helpers.tpl says it per rule).
EXPECTED_NAMESPACED_GRANTS = {
    # patch: the finalizer of a rotating ApplicationToken (its deletion retires the tokens it made).
    ("tokensync.dev", "applicationtokens"): {"get", "list", "watch", "patch"},
    ("tokensync.dev", "ramapplications"): {"get", "list", "watch"},
    ("tokensync.dev", "cloudaccesses"): {"get", "list", "watch"},
    ("tokensync.dev", "applicationtokens/status"): {"get", "patch"},
    ("tokensync.dev", "ramapplications/status"): {"get", "patch"},
    ("tokensync.dev", "cloudaccesses/status"): {"get", "patch"},
    # No delete: owned Secrets and ConfigMaps go with their owner through the garbage collector.
    ("", "secrets"): {"get", "list", "watch", "create", "patch"},
    ("", "configmaps"): {"get", "list", "watch", "create", "patch"},
    ("", "events"): {"create", "patch"},
}
# Opt-in (rbac.rolloutRestart.enabled): rolloutRestartTargets patch a workload's pod template.
ROLLOUT_RESTART_GRANTS = {
    ("apps", "deployments"): {"get", "patch"},
    ("apps", "statefulsets"): {"get", "patch"},
    ("apps", "daemonsets"): {"get", "patch"},
}
EXPECTED_CLUSTER_GRANTS = {
    ("tokensync.dev", "clustercloudaccesses"): {"get", "list", "watch"},
    ("tokensync.dev", "clustercloudaccesses/status"): {"get", "patch"},
    ("", "namespaces"): {"get", "list", "watch"},
}


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_pod_and_container_security_context_are_locked_down(value_set: str) -> None:
    objects = render_objects(VALUE_SETS[value_set])
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    container = operator_container(objects)
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context.get("privileged", False) is False
    # A writable /tmp on the read-only root filesystem.
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert any(volume["name"] == "tmp" and "emptyDir" in volume for volume in pod["volumes"])
    assert "hostNetwork" not in pod and "hostPID" not in pod


def test_the_pod_runs_as_the_images_user() -> None:
    # runAsNonRoot needs a numeric user; it must be the one the image was built for.
    match = re.search(r"^USER\s+(\d+)(?::(\d+))?\s*$", (REPO_ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile sets no numeric USER"
    pod = only(render_objects(), "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(match.group(1))
    if match.group(2):
        assert pod["securityContext"]["runAsGroup"] == int(match.group(2))


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_rbac_has_no_wildcards_and_no_access_beyond_what_tokensync_uses(value_set: str) -> None:
    objects = render_objects(VALUE_SETS[value_set])
    rules = _rules(objects)
    for rule in rules:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"] and "*" not in rule["apiGroups"], rule
        assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(rule["verbs"]), rule
    grants = _grants(rules)
    allowed = {**EXPECTED_NAMESPACED_GRANTS, **EXPECTED_CLUSTER_GRANTS, **ROLLOUT_RESTART_GRANTS,
               ("coordination.k8s.io", "leases"): {"get", "create", "patch"}}
    for key, verbs in grants.items():
        assert key in allowed, f"unexpected grant on {key}"
        assert verbs <= allowed[key], f"{key}: {sorted(verbs - allowed[key])} not needed"
    # Not needed: kopf's CRD scanning is optional, and tokensync never reads Pods or Nodes.
    assert ("apiextensions.k8s.io", "customresourcedefinitions") not in grants


def test_every_resource_the_operator_code_addresses_is_granted() -> None:
    # A kind added to tokensync.kube.resources or to crds/ without RBAC would fail in a cluster only.
    grants = _grants(_rules(render_objects({"rbac": {"rolloutRestart": {"enabled": True}}})))
    used = {(value.group, value.plural) for value in vars(resources).values() if isinstance(value, resources.Resource)}
    for path in sorted((REPO_ROOT / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        plural = crd["spec"]["names"]["plural"]
        used |= {(crd["spec"]["group"], plural), (crd["spec"]["group"], f"{plural}/status")}
    missing = sorted(used - grants.keys())
    assert not missing, f"no RBAC rule for {missing}"


def test_all_namespaces_mode_grants_everything_in_one_cluster_role() -> None:
    objects = render_objects()
    cluster_role = only(objects, "ClusterRole", "tokensync")
    assert _grants(cluster_role["rules"]) == {**EXPECTED_NAMESPACED_GRANTS, **EXPECTED_CLUSTER_GRANTS}
    binding = only(objects, "ClusterRoleBinding", "tokensync")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "tokensync"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "tokensync", "namespace": RELEASE_NAMESPACE}]


def test_watch_namespaces_mode_keeps_secrets_out_of_the_cluster_role() -> None:
    objects = render_objects(VALUE_SETS["watch-namespaces"])
    assert _grants(only(objects, "ClusterRole")["rules"]) == EXPECTED_CLUSTER_GRANTS
    for namespace in ("team-a", "team-b"):
        role = next(role for role in find(objects, "Role", "tokensync") if role["metadata"]["namespace"] == namespace)
        assert _grants(role["rules"]) == EXPECTED_NAMESPACED_GRANTS


def test_watch_namespaces_mode_reads_access_key_secrets_only_where_told() -> None:
    objects = render_objects({"watchNamespaces": ["team-a"],
                              "rbac": {"accessKeySecretNamespaces": [RELEASE_NAMESPACE, "team-a"]}})
    readers = find(objects, "Role", "tokensync-accesskey-reader")
    # team-a is watched: its Role already covers Secrets there.
    assert [role["metadata"]["namespace"] for role in readers] == [RELEASE_NAMESPACE]
    assert readers[0]["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]
    binding = only(objects, "RoleBinding", "tokensync-accesskey-reader")
    assert binding["metadata"]["namespace"] == RELEASE_NAMESPACE
    assert binding["roleRef"]["name"] == "tokensync-accesskey-reader"
    # With every namespace watched the ClusterRole already reads them: no extra Role.
    assert not find(render_objects({"rbac": {"accessKeySecretNamespaces": [RELEASE_NAMESPACE]}}), "Role",
                    "tokensync-accesskey-reader")


def test_events_about_cluster_scoped_objects_may_be_recorded_in_the_default_namespace() -> None:
    objects = render_objects(VALUE_SETS["watch-namespaces"])
    role = only(objects, "Role", "tokensync-cluster-events")
    assert role["metadata"]["namespace"] == "default"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]}]
    assert only(objects, "RoleBinding", "tokensync-cluster-events")["metadata"]["namespace"] == "default"
    # Not needed when "default" is watched (its Role covers Events) or every namespace is.
    assert not find(render_objects({"watchNamespaces": ["default"]}), "Role", "tokensync-cluster-events")
    assert not find(render_objects(), "Role", "tokensync-cluster-events")


def test_leader_election_may_only_touch_its_own_lease_in_the_release_namespace() -> None:
    for value_set in ("default", "watch-namespaces"):
        objects = render_objects(VALUE_SETS[value_set])
        lease_rules = [rule for rule in _rules(objects) if "coordination.k8s.io" in rule["apiGroups"]]
        role = only(objects, "Role", "tokensync-leader-election")
        assert role["metadata"]["namespace"] == RELEASE_NAMESPACE
        assert lease_rules == role["rules"]
        named = [rule for rule in lease_rules if rule.get("resourceNames")]
        assert named == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                          "resourceNames": ["tokensync-leader"], "verbs": ["get", "patch"]}]
        # create cannot be limited by name; it is the only verb granted on other Leases.
        assert [rule["verbs"] for rule in lease_rules if not rule.get("resourceNames")] == [["create"]]


def test_rbac_can_be_left_to_the_cluster_admin() -> None:
    objects = render_objects({"rbac": {"create": False}})
    assert not [obj for obj in objects if obj["apiVersion"].startswith("rbac.authorization.k8s.io/")]


def test_rollout_restarts_are_granted_only_on_request_and_then_where_asked() -> None:
    assert not set(ROLLOUT_RESTART_GRANTS) & set(_grants(_rules(render_objects())))  # off by default
    everywhere = render_objects({"rbac": {"rolloutRestart": {"enabled": True}}})
    assert _grants(only(everywhere, "ClusterRole", "tokensync")["rules"]) == {
        **EXPECTED_NAMESPACED_GRANTS, **EXPECTED_CLUSTER_GRANTS, **ROLLOUT_RESTART_GRANTS}
    scoped = render_objects({"rbac": {"rolloutRestart": {"enabled": True, "namespaces": ["team-a"]}}})
    assert not set(ROLLOUT_RESTART_GRANTS) & set(_grants(only(scoped, "ClusterRole", "tokensync")["rules"]))
    roles = [r for r in find(scoped, "Role") if r["metadata"]["name"] == "tokensync-rollout-restart"]
    assert [r["metadata"]["namespace"] for r in roles] == ["team-a"]
    assert _grants(roles[0]["rules"]) == ROLLOUT_RESTART_GRANTS
    binding = next(b for b in find(scoped, "RoleBinding") if b["metadata"]["name"] == "tokensync-rollout-restart")
    assert binding["roleRef"]["name"] == "tokensync-rollout-restart" and binding["metadata"]["namespace"] == "team-a"
