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
    assert header.split() == ["NAME", "SIZE", "READY", "AGE"]
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
