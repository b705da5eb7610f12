"""``kubectl apply --server-side`` (kubectl v1.32) against the emulator, as against a cluster:
the install manifest applies, re-applying is a no-op, conflicts and ``--force-conflicts`` read
as kube-apiserver writes them, dropping a field from the file removes it, and an object that
client-side ``kubectl apply`` created moves to server-side apply without a conflict.

No looptime: kubectl keeps its own wall-clock timeouts.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import Kubectl

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")

MANIFEST = Path(__file__).resolve().parents[3] / "deploy" / "manifests" / "tokensync.yaml"
NAMESPACE = "tokensync-system"
# The env entry and field the "drop a field" test removes from the manifest's Deployment.
POD_NAMESPACE_ENV = """            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
"""
REVISION_HISTORY_LIMIT = "  revisionHistoryLimit: 5\n"

SETTINGS = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {team: payments, tier: web}
data: {region: cn-hangzhou, level: debug}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: small, secretName: creds, tags: [a, b]}
"""


async def _resource_versions(kubectl: Kubectl, manifest: Path) -> dict[str, str]:
    listed = await kubectl("get", "-f", str(manifest), "-o", "json")
    assert listed.returncode == 0, listed.stderr
    return {f'{item["kind"]}/{item["metadata"]["name"]}': item["metadata"]["resourceVersion"]
            for item in listed.json()["items"]}


def _managers(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(entry["manager"], entry["operation"]) for entry in obj["metadata"].get("managedFields", [])]


async def test_install_manifest_applies_server_side_and_reapplying_changes_nothing(kubectl: Kubectl) -> None:
    applied = await kubectl("apply", "--server-side", "-f", str(MANIFEST))
    assert applied.returncode == 0, applied.stderr
    lines = applied.stdout.splitlines()
    assert "deployment.apps/tokensync serverside-applied" in lines
    assert "customresourcedefinition.apiextensions.k8s.io/applicationtokens.tokensync.dev serverside-applied" in lines
    assert all(line.endswith(" serverside-applied") for line in lines), applied.stdout
    first = await _resource_versions(kubectl, MANIFEST)
    assert len(first) == len(lines)

    again = await kubectl("apply", "--server-side", "-f", str(MANIFEST))
    assert again.returncode == 0, again.stderr
    second = await _resource_versions(kubectl, MANIFEST)
    # The Namespace applies only its name, which no manager owns (stripmeta.go), so it is left
    # untracked; the next apply first gives its server-set fields to "before-first-apply"
    # (skipnonapplied.go), a one-time write. Everything else is unchanged from the start.
    namespace = f"Namespace/{NAMESPACE}"
    assert {k: v for k, v in second.items() if k != namespace} == {k: v for k, v in first.items() if k != namespace}
    third = await kubectl("apply", "--server-side", "-f", str(MANIFEST))
    assert third.returncode == 0, third.stderr
    assert await _resource_versions(kubectl, MANIFEST) == second

    # kubectl hides managedFields unless asked; the server always sends them.
    plain = await kubectl("get", "deployment", "tokensync", "-n", NAMESPACE, "-o", "yaml")
    assert "managedFields" not in plain.stdout
    shown = (await kubectl("get", "deployment", "tokensync", "-n", NAMESPACE, "-o", "json",
                           "--show-managed-fields")).json()
    [entry] = [e for e in shown["metadata"]["managedFields"] if e["manager"] == "kubectl"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == ("kubectl", "Apply", "apps/v1")
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert 'k:{"containerPort":8080,"protocol":"TCP"}' in containers['k:{"name":"tokensync"}']["f:ports"]


async def test_a_conflict_names_the_other_manager_and_field_and_force_conflicts_wins(kubectl: Kubectl) -> None:
    assert (await kubectl("apply", "--server-side", "-f", str(MANIFEST))).returncode == 0
    scaled = await kubectl("patch", "deployment", "tokensync", "-n", NAMESPACE, "--type=merge",
                           "-p", '{"spec": {"replicas": 3}}')
    assert scaled.returncode == 0, scaled.stderr

    refused = await kubectl("apply", "--server-side", "-f", str(MANIFEST))
    assert refused.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas'
            in refused.stderr), refused.stderr
    assert "--force-conflicts" in refused.stderr  # kubectl's advice, shown for a 409 Conflict

    forced = await kubectl("apply", "--server-side", "--force-conflicts", "-f", str(MANIFEST))
    assert forced.returncode == 0, forced.stderr
    deployment = (await kubectl("get", "deployment", "tokensync", "-n", NAMESPACE, "-o", "json",
                                "--show-managed-fields")).json()
    assert deployment["spec"]["replicas"] == 1
    # kubectl-patch owned nothing else (kube-controller-manager owns the status it writes)
    assert [m for m in _managers(deployment) if m[0] != "kube-controller-manager"] == [("kubectl", "Apply")]


async def test_dropping_fields_from_the_applied_file_removes_them(kubectl: Kubectl, tmp_path: Path) -> None:
    assert (await kubectl("apply", "--server-side", "-f", str(MANIFEST))).returncode == 0
    text = MANIFEST.read_text()
    assert POD_NAMESPACE_ENV in text and REVISION_HISTORY_LIMIT in text
    trimmed = tmp_path / "tokensync.yaml"
    trimmed.write_text(text.replace(POD_NAMESPACE_ENV, "").replace(REVISION_HISTORY_LIMIT, ""))

    applied = await kubectl("apply", "--server-side", "-f", str(trimmed))
    assert applied.returncode == 0, applied.stderr
    deployment = (await kubectl("get", "deployment", "tokensync", "-n", NAMESPACE, "-o", "json")).json()
    assert deployment["spec"]["revisionHistoryLimit"] == 10  # no longer applied: kube-apiserver's default
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert [env["name"] for env in container["env"]] == ["POD_NAME"]


async def test_client_side_apply_moves_to_server_side_apply(kubectl: Kubectl) -> None:
    """kubectl 1.32 applies, keeps the last-applied annotation (manager kubectl-last-applied) and
    hands the kubectl-client-side-apply manager's fields to its own (a JSON patch of
    managedFields); no conflict, and later removals from the file take effect."""
    created = await kubectl("apply", "-f", "-", stdin=SETTINGS)
    assert created.returncode == 0, created.stderr
    moved = await kubectl("apply", "--server-side", "-f", "-", stdin=SETTINGS)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.split() == ["configmap/settings", "serverside-applied", "widget.example.com/w1",
                                    "serverside-applied"]
    for kind, name in (("configmap", "settings"), ("widget", "w1")):
        obj = (await kubectl("get", kind, name, "-o", "json", "--show-managed-fields")).json()
        assert ("kubectl", "Apply") in _managers(obj)
        assert ("kubectl-client-side-apply", "Update") not in _managers(obj)

    trimmed = SETTINGS.replace(", tier: web", "").replace(", level: debug", "").replace(", tags: [a, b]", "")
    applied = await kubectl("apply", "--server-side", "-f", "-", stdin=trimmed)
    assert applied.returncode == 0, applied.stderr
    settings = (await kubectl("get", "configmap", "settings", "-o", "json")).json()
    assert settings["metadata"]["labels"] == {"team": "payments"}
    assert settings["data"] == {"region": "cn-hangzhou"}
    widget = (await kubectl("get", "widget", "w1", "-o", "json")).json()
    assert "tags" not in widget["spec"]


async def test_removing_a_finalizer_from_a_client_side_applied_manifest_removes_it(kubectl: Kubectl) -> None:
    """kubectl sends ``$deleteFromPrimitiveList/finalizers`` for a built-in kind (strategic merge)."""
    manifest = """
apiVersion: v1
kind: ConfigMap
metadata: {name: guarded, finalizers: [example.com/a, example.com/b]}
data: {k: v}
"""
    assert (await kubectl("apply", "-f", "-", stdin=manifest)).returncode == 0
    applied = await kubectl("apply", "-f", "-", stdin=manifest.replace(", example.com/b", ""))
    assert applied.returncode == 0, applied.stderr
    finalizers = await kubectl("get", "configmap", "guarded", "-o", "jsonpath={.metadata.finalizers}")
    assert finalizers.stdout == '["example.com/a"]'


async def test_server_side_dry_run_changes_nothing(kubectl: Kubectl) -> None:
    dry = await kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", stdin=SETTINGS)
    assert dry.returncode == 0, dry.stderr
    assert "configmap/settings serverside-applied (server dry run)" in dry.stdout
    missing = await kubectl("get", "configmap", "settings")
    assert missing.returncode != 0 and "NotFound" in missing.stderr


async def test_the_install_manifest_also_applies_client_side_twice_without_changes(kubectl: Kubectl) -> None:
    """The README's install with plain `kubectl apply` (client-side): every kind in the manifest is
    served (the RBAC group included), and applying it again changes nothing."""
    first = await kubectl("apply", "-f", str(MANIFEST))
    assert first.returncode == 0, first.stderr
    again = await kubectl("apply", "-f", str(MANIFEST))
    assert again.returncode == 0, again.stderr
    lines = [line for line in again.stdout.splitlines() if line.strip()]
    assert lines and all(line.endswith(" unchanged") for line in lines), again.stdout
