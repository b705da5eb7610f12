"""The machine's kubectl (v1.32) against the emulator: what `tokensync sandbox` users will run.

kubectl runs as a subprocess via asyncio so the emulator, in this test's loop, keeps serving.
No looptime here: kubectl has its own real-time clock.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import WIDGETS, KubeApi, Kubectl

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")

MANIFESTS = """
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {token: abc}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: small, secretName: creds}
"""


async def test_get_namespaces(kubectl: Kubectl) -> None:
    result = await kubectl("get", "namespaces")
    assert result.returncode == 0, result.stderr
    assert "default" in result.stdout and "kube-system" in result.stdout
    assert "Warning" not in result.stderr  # no short-name ambiguity with subresources


async def test_apply_and_get_back_with_server_metadata(kubectl: Kubectl) -> None:
    applied = await kubectl("apply", "-f", "-", stdin=MANIFESTS)
    assert applied.returncode == 0, applied.stderr
    assert "secret/creds created" in applied.stdout and "widget.example.com/w1 created" in applied.stdout
    secret = (await kubectl("get", "secret", "creds", "-o", "json")).json()
    assert secret["data"] == {"token": "YWJj"}
    assert secret["metadata"]["uid"] and secret["metadata"]["resourceVersion"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in secret["metadata"]["annotations"]
    widget = (await kubectl("get", "wd", "w1", "-o", "json")).json()
    assert widget["spec"]["replicas"] == 1  # defaulted by the CRD schema
    assert widget["metadata"]["generation"] == 1 and widget["metadata"]["namespace"] == "default"
    again = await kubectl("apply", "-f", "-", stdin=MANIFESTS.replace("size: small", "size: large"))
    assert "widget.example.com/w1 configured" in again.stdout, again.stderr
    widget = (await kubectl("get", "widget", "w1", "-o", "json")).json()
    assert widget["spec"]["size"] == "large" and widget["metadata"]["generation"] == 2


async def test_apply_invalid_custom_resource_shows_the_servers_422(kubectl: Kubectl) -> None:
    result = await kubectl("apply", "-f", "-", stdin=MANIFESTS.replace("size: small", "size: medium"))
    assert result.returncode != 0
    assert 'Unsupported value: "medium"' in result.stderr


async def test_get_by_category_lists_custom_resources_with_printer_columns(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", "-", stdin=MANIFESTS)
    result = await kubectl("get", "gadgets")
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "SIZE", "READY"]  # a CRD with columns gets no AGE
    assert row.split()[:2] == ["w1", "small"]


async def test_wait_for_condition_patched_while_waiting(kubectl: Kubectl, kube_api: KubeApi,
                                                        kube_emulator: KubernetesEmulator) -> None:
    await kubectl("apply", "-f", "-", stdin=MANIFESTS)
    waiting = asyncio.create_task(kubectl("wait", "--for=condition=Ready", "widget/w1", "--timeout=20s"))
    while not any("widgets" in path and "watch=" in path for _, path in kube_emulator.requests):
        assert not waiting.done(), (await waiting).stderr
        await asyncio.sleep(0.01)  # kubectl is now watching: the status patch arrives mid-wait
    reply = await kube_api.patch(f"{WIDGETS}/w1/status",
                                 {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    assert reply.status == 200
    result = await waiting
    assert result.returncode == 0, result.stderr
    assert "condition met" in result.stdout


async def test_delete_owner_garbage_collects_owned_secret(kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    await kubectl("apply", "-f", "-", stdin=MANIFESTS)
    owner = kube_emulator.get("example.com/v1", "widgets", "default", "w1")
    assert owner is not None
    kube_emulator.create({"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "owned", "namespace": "default", "ownerReferences": [{
            "apiVersion": "example.com/v1", "kind": "Widget", "name": "w1", "uid": owner["metadata"]["uid"]}]}})
    deleted = await kubectl("delete", "widget", "w1")
    assert deleted.returncode == 0, deleted.stderr
    missing = await kubectl("get", "secret", "owned")
    assert missing.returncode != 0 and "NotFound" in missing.stderr


async def test_apply_with_unknown_field_is_refused_like_strict_field_validation(kubectl: Kubectl) -> None:
    """kubectl sends fieldValidation=Strict by default; the server answers unknown fields with 400."""
    result = await kubectl("apply", "-f", "-", stdin=MANIFESTS.replace("size: small", "size: small, colour: red"))
    assert result.returncode != 0
    assert 'strict decoding error: unknown field "spec.colour"' in result.stderr
    lenient = await kubectl("apply", "--validate=false", "-f", "-",
                            stdin=MANIFESTS.replace("size: small", "size: small, colour: red"))
    assert lenient.returncode == 0, lenient.stderr


async def test_server_side_dry_run_apply_of_new_objects_leaves_nothing_behind(
        kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    """``kubectl apply --dry-run=server`` (API concepts, "Dry-run") sends dryRun=All: the server
    checks and answers, kubectl reports "(server dry run)", and nothing is created."""
    result = await kubectl("apply", "--dry-run=server", "-f", "-", stdin=MANIFESTS)
    assert result.returncode == 0, result.stderr
    assert "secret/creds created (server dry run)" in result.stdout
    assert "widget.example.com/w1 created (server dry run)" in result.stdout
    assert kube_emulator.get("v1", "secrets", "default", "creds") is None
    assert kube_emulator.get("example.com/v1", "widgets", "default", "w1") is None
    missing = await kubectl("get", "secret", "creds")
    assert missing.returncode != 0 and "NotFound" in missing.stderr


async def test_server_side_dry_run_apply_of_an_invalid_custom_resource_reports_the_422(
        kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    """A dry run validates like the real request: kubectl shows the 422 Invalid (it words a Status
    with reason Invalid as "The <Kind> ... is invalid") and the valid Secret beside it is not kept."""
    result = await kubectl("apply", "--dry-run=server", "-f", "-",
                           stdin=MANIFESTS.replace("size: small", "size: medium"))
    assert result.returncode != 0
    assert 'The Widget "w1" is invalid: spec.size: Unsupported value: "medium"' in result.stderr
    assert "secret/creds created (server dry run)" in result.stdout
    assert kube_emulator.get("v1", "secrets", "default", "creds") is None


async def test_server_side_dry_run_delete_keeps_the_object(kubectl: Kubectl,
                                                           kube_emulator: KubernetesEmulator) -> None:
    await kubectl("apply", "-f", "-", stdin=MANIFESTS)
    result = await kubectl("delete", "--dry-run=server", "secret", "creds")
    assert result.returncode == 0, result.stderr
    assert "(server dry run)" in result.stdout
    assert kube_emulator.get("v1", "secrets", "default", "creds") is not None


async def test_unsupported_field_selector_is_the_servers_400(kubectl: Kubectl) -> None:
    """"Field Selectors": an unsupported field is an error from the server, shown by kubectl."""
    supported = await kubectl("get", "secrets", "--field-selector", "type=Opaque")
    assert supported.returncode == 0, supported.stderr
    refused = await kubectl("get", "secrets", "--field-selector", "data.token=x")
    assert refused.returncode != 0
    assert "field label not supported: data.token" in refused.stderr


async def test_rollout_restart_of_statefulset_and_daemonset(kubectl: Kubectl,
                                                            kube_emulator: KubernetesEmulator) -> None:
    """``kubectl rollout restart`` patches spec.template.metadata.annotations (strategic merge)."""
    for kind in ("StatefulSet", "DaemonSet"):
        kube_emulator.create({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "w", "namespace": "default"},
                              "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": {
                                  "metadata": {"labels": {"app": "w"}},
                                  "spec": {"containers": [{"name": "app", "image": "a:1"}]}}}})
    result = await kubectl("rollout", "restart", "statefulset/w", "daemonset/w")
    assert result.returncode == 0, result.stderr
    assert "statefulset.apps/w restarted" in result.stdout and "daemonset.apps/w restarted" in result.stdout
    for kind in ("StatefulSet", "DaemonSet"):
        restarted = kube_emulator.get("apps/v1", kind, "default", "w")
        assert restarted is not None and restarted["metadata"]["generation"] == 2
        assert "kubectl.kubernetes.io/restartedAt" in restarted["spec"]["template"]["metadata"]["annotations"]
