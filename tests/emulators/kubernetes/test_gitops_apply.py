"""A GitOps loop over the emulator: Flux's kustomize-controller applies tokensync's custom
resources server-side, tokensync reports status through the status subresource, and the next
reconciliation applies the same files again: no diff, no conflict, status untouched.

The applier is the official ``kubernetes`` client (its DynamicClient's server_side_apply, as
Flux's controller-runtime client sends it: force, field manager "kustomize-controller"); the
status writer is tokensync's own KubeClient and ``patch_status``; "no diff" is what
``kubectl diff --server-side`` says. The kubernetes client blocks, so it runs in a thread while
the emulator serves in this loop.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import config as kube_config
from kubernetes.dynamic import DynamicClient

from tokensync.controllers.status_report import patch_status, with_ready
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.kube.client import KubeClient
from tokensync.kube.config import load_connection_settings
from tokensync.kube.resources import Resource

from .conftest import Kubectl

REPO_ROOT = Path(__file__).resolve().parents[3]
APPLICATION_TOKENS = Resource("tokensync.dev", "v1alpha1", "applicationtokens")
FLUX = "kustomize-controller"
TOKENS: list[dict[str, Any]] = [{
    "apiVersion": "tokensync.dev/v1alpha1", "kind": "ApplicationToken",
    "metadata": {"name": name, "namespace": "default", "labels": {"kustomize.toolkit.fluxcd.io/name": "apps"}},
    "spec": {"instanceId": "idaas_demo", "applicationId": "app_demo", "applicationTokenId": f"token_{token}",
             "secret": {"name": f"{name}-token"}, "refresh": {"renewBeforePercentage": 33}},
} for name, token in (("billing-api", "billing"), ("orders-api", "orders"))]


@pytest.fixture
def kubeconfig(kube_emulator: KubernetesEmulator, tmp_path: Path) -> Path:
    kube_emulator.install_crd_files([REPO_ROOT / "crds" / "applicationtokens.tokensync.dev.yaml"])
    return kube_emulator.write_kubeconfig(tmp_path / "kubeconfig")


def _flux_apply(kubeconfig: Path, *, dry_run: bool = False) -> list[dict[str, Any]]:
    """What kustomize-controller does for each object: a forced server-side apply."""
    client = DynamicClient(kube_config.new_client_from_config(config_file=str(kubeconfig)))
    tokens = client.resources.get(api_version="tokensync.dev/v1alpha1", kind="ApplicationToken")
    extra = {"dry_run": "All"} if dry_run else {}
    return [client.server_side_apply(tokens, body=token, name=token["metadata"]["name"], namespace="default",
                                     field_manager=FLUX, force_conflicts=True, **extra).to_dict()
            for token in TOKENS]


async def _report_ready(kubeconfig: Path, body: dict[str, Any]) -> dict[str, Any]:
    client = KubeClient(load_connection_settings(str(kubeconfig)))
    try:
        conditions = with_ready(None, ready=True, reason="TokenSynced", message="the token is in the Secret",
                                generation=body["metadata"]["generation"], now=datetime.now(UTC))
        return await patch_status(client, APPLICATION_TOKENS, body, {"conditions": conditions,
                                                                     "secretName": body["spec"]["secret"]["name"]})
    finally:
        await client.aclose()


def _managers(obj: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"], e.get("subresource", "")): e["fieldsV1"]
            for e in obj["metadata"]["managedFields"]}


async def test_flux_reapplies_over_tokensyncs_status_without_a_diff_or_conflict(
        kubeconfig: Path, kube_emulator: KubernetesEmulator) -> None:
    created = await asyncio.to_thread(_flux_apply, kubeconfig)
    assert [token["metadata"]["generation"] for token in created] == [1, 1]
    reported = [await _report_ready(kubeconfig, token) for token in created]
    assert all(token["status"]["conditions"][0]["type"] == "Ready" for token in reported)

    reapplied = await asyncio.to_thread(_flux_apply, kubeconfig)
    for before, after in zip(reported, reapplied, strict=True):
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert after["status"] == before["status"]
        owners = _managers(after)
        assert set(owners) == {(FLUX, "Apply", ""), ("python-httpx", "Update", "status")}
        assert set(owners[(FLUX, "Apply", "")]) == {"f:metadata", "f:spec"}
        assert set(owners[("python-httpx", "Update", "status")]["f:status"]) >= {"f:conditions", "f:secretName"}

    # Flux detects drift with a dry-run apply: it answers the live object unchanged.
    planned = await asyncio.to_thread(_flux_apply, kubeconfig, dry_run=True)
    assert planned == reapplied


@pytest.mark.skipif(shutil.which("kubectl") is None or shutil.which("diff") is None,
                    reason="kubectl diff needs kubectl and diff")
async def test_kubectl_diff_server_side_sees_no_drift(kubeconfig: Path, kubectl: Kubectl, tmp_path: Path) -> None:
    await asyncio.to_thread(_flux_apply, kubeconfig)
    token = await asyncio.to_thread(
        lambda: DynamicClient(kube_config.new_client_from_config(config_file=str(kubeconfig))).resources.get(
            api_version="tokensync.dev/v1alpha1", kind="ApplicationToken").get(
            name="billing-api", namespace="default").to_dict())
    await _report_ready(kubeconfig, token)
    files = tmp_path / "apps.yaml"
    files.write_text(yaml.safe_dump_all(TOKENS))
    same = await kubectl("diff", "--server-side", f"--field-manager={FLUX}", "--force-conflicts", "-f", str(files))
    assert (same.returncode, same.stdout) == (0, ""), same.stderr
    changed = [dict(t, spec={**t["spec"], "refresh": {"renewBeforePercentage": 50}}) for t in TOKENS]
    files.write_text(yaml.safe_dump_all(changed))
    drift = await kubectl("diff", "--server-side", f"--field-manager={FLUX}", "--force-conflicts", "-f", str(files))
    assert drift.returncode == 1, drift.stderr
    assert "-    renewBeforePercentage: 33" in drift.stdout and "+    renewBeforePercentage: 50" in drift.stdout
