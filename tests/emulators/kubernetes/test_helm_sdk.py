"""Helm 4's own library (the helm-python-sdk package: Helm's Go SDK in-process) installs,
upgrades and uninstalls deploy/helm/tokensync into the emulator. Helm 4 installs with
server-side apply by default (a forced-off ``force`` and its own field manager), stores the
release in a Secret, and its upgrade re-applies every object.

Helm's calls block, so they run in a thread while the emulator serves in this loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator

helm = pytest.importorskip("helm_python")

CHART = Path(__file__).resolve().parents[3] / "deploy" / "helm" / "tokensync"
NAMESPACE = "tokensync-system"
RELEASE = "tokensync"
# The kinds the chart's default values render, besides its CRDs.
INSTALLED = [("v1", "serviceaccounts", "tokensync"), ("rbac.authorization.k8s.io/v1", "clusterroles", "tokensync"),
             ("rbac.authorization.k8s.io/v1", "rolebindings", "tokensync-leader-election"),
             ("v1", "services", "tokensync-metrics"), ("apps/v1", "deployments", "tokensync")]


@pytest.fixture
def helm_config(kube_emulator: KubernetesEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[Any]:
    for variable in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    kubeconfig = kube_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    with helm.Config(kubeconfig_path=kubeconfig, namespace=NAMESPACE) as config:
        yield config


def _appliers(obj: dict[str, Any]) -> list[str]:
    return [entry["manager"] for entry in obj["metadata"]["managedFields"] if entry["operation"] == "Apply"]


async def test_helm_installs_upgrades_and_uninstalls_the_chart(helm_config: Any, kube_emulator: KubernetesEmulator
                                                               ) -> None:
    installed = await asyncio.to_thread(helm_config.install, CHART, RELEASE, {}, create_namespace=True, timeout=60)
    assert (installed["revision"], installed["status"]) == (1, "deployed")
    assert kube_emulator.get("apiextensions.k8s.io/v1", "customresourcedefinitions",
                             None, "applicationtokens.tokensync.dev") is not None
    for api_version, plural, name in INSTALLED:
        obj = kube_emulator.get(api_version, plural, NAMESPACE, name)
        assert obj is not None, (plural, name)
        assert len(_appliers(obj)) == 1, obj["metadata"]["managedFields"]  # applied server-side by Helm
    deployment = kube_emulator.get("apps/v1", "deployments", NAMESPACE, "tokensync")
    assert deployment is not None and deployment["spec"]["replicas"] == 1

    upgraded = await asyncio.to_thread(helm_config.upgrade, CHART, RELEASE, {"replicaCount": 2}, timeout=60)
    assert (upgraded["revision"], upgraded["status"]) == (2, "deployed")
    deployment = kube_emulator.get("apps/v1", "deployments", NAMESPACE, "tokensync")
    assert deployment is not None and deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["generation"] == 2
    history = await asyncio.to_thread(helm_config.history, RELEASE)
    assert [(revision["revision"], revision["status"]) for revision in history] == [
        (1, "superseded"), (2, "deployed")]

    await asyncio.to_thread(helm_config.uninstall, RELEASE, timeout=60)
    for api_version, plural, name in INSTALLED:
        assert kube_emulator.get(api_version, plural, NAMESPACE, name) is None, (plural, name)
    assert kube_emulator.list("v1", "secrets", NAMESPACE) == []  # the release records are gone too
