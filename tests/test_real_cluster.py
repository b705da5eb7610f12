"""The operator against a real cluster (kind, k3s, ACK...): ``KUBECONFIG=... pytest -m e2e``.

Deselected unless ``-m e2e`` is given and ``KUBECONFIG`` is set (tests/conftest.py), so that
``pytest -q`` never touches a cluster a developer happens to be pointed at. Real time, no
fast-forwarding. The cloud is the local emulator: the operator runs in this process, so it
reaches it on 127.0.0.1. The test installs the CRDs (create or replace), works in a namespace
of its own and deletes it at the end; nothing else in the cluster is touched.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests import scenario
from tokensync.api.crds import crd_manifests
from tokensync.emulators.cloud import CloudEmulator, demo_state, running_cloud_emulator
from tokensync.kube.client import KubeClient
from tokensync.kube.config import load_connection_settings
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import NAMESPACES, SECRETS, Resource
from tokensync.runtime.operator import Operator, kopf_settings, running_operator

pytestmark = pytest.mark.e2e

CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", namespaced=False)
TOKENS = Resource("tokensync.dev", "v1alpha1", "applicationtokens")
ACCESSES = Resource("tokensync.dev", "v1alpha1", "cloudaccesses")


@pytest.fixture
async def cluster() -> AsyncIterator[KubeClient]:
    client = KubeClient(load_connection_settings(os.environ["KUBECONFIG"]))
    try:
        for manifest in crd_manifests().values():
            current = await client.get(CRDS, None, manifest["metadata"]["name"])
            if current is None:
                await client.create(CRDS, None, dict(manifest))
            else:
                await client.patch(CRDS, None, manifest["metadata"]["name"], {"spec": manifest["spec"]})
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def namespace(cluster: KubeClient) -> AsyncIterator[str]:
    name = f"tokensync-e2e-{uuid.uuid4().hex[:8]}"
    await cluster.create(NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    try:
        yield name
    finally:
        await cluster.delete(NAMESPACES, None, name)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true after {timeout}s: {check.__name__}")
        await asyncio.sleep(0.5)


async def test_a_token_reaches_a_secret_and_follows_a_rotation(cluster: KubeClient, namespace: str) -> None:
    async with running_cloud_emulator(demo_state()) as cloud:
        await _apply(cluster, namespace, cloud)
        operator = Operator(load_connection_settings(os.environ["KUBECONFIG"]))
        async with running_operator(operator, namespaces=[namespace], settings=kopf_settings()):

            async def secret_holds_the_token() -> bool:
                data = await _secret_data(cluster, namespace)
                return data.get("token") == cloud.token_value("token_demo")

            await until(secret_holds_the_token)
            resource = await cluster.get(TOKENS, namespace, "billing-api") or {}
            ready = next(c for c in resource["status"]["conditions"] if c["type"] == "Ready")
            assert (ready["status"], ready["reason"]) == ("True", "Synced")

            cloud.rotate_token("token_demo")
            await cluster.patch(TOKENS, namespace, "billing-api",
                                {"metadata": {"annotations": {"tokensync.dev/force-sync": "e2e-1"}}})
            await until(secret_holds_the_token)

            # Drift: a deleted Secret comes back from the watch, not at the next refresh (an hour).
            await cluster.delete(SECRETS, namespace, "billing-api")
            await until(secret_holds_the_token, timeout=30)

            # A failure is a reason on Ready, and Stalled for kstatus (Flux) since a person must act.
            missing = scenario.application_token("missing", token_id="token_missing", namespace=namespace,
                                                 cloudAccessRef={"kind": "CloudAccess", "name": "idaas"})
            await cluster.create(TOKENS, namespace, missing)

            async def missing_is_stalled() -> bool:
                body = await cluster.get(TOKENS, namespace, "missing") or {}
                conditions = {c["type"]: c for c in (body.get("status") or {}).get("conditions") or []}
                return (conditions.get("Ready", {}).get("reason") == "NotFound"
                        and conditions.get("Stalled", {}).get("status") == "True")

            await until(missing_is_stalled)

            # Deleting the resource deletes its Secret (ownerReference; the cluster's garbage collector).
            await cluster.delete(TOKENS, namespace, "billing-api")

            async def secret_is_gone() -> bool:
                return await cluster.get(SECRETS, namespace, "billing-api") is None

            await until(secret_is_gone)


async def _apply(cluster: KubeClient, namespace: str, cloud: CloudEmulator) -> None:
    await cluster.create(SECRETS, namespace, scenario.access_key_secret(namespace=namespace))
    access = scenario.cloud_access(cloud, namespace=namespace)
    await cluster.create(ACCESSES, namespace, access)
    token = scenario.application_token(namespace=namespace, cloudAccessRef={"kind": "CloudAccess", "name": "idaas"})
    await cluster.create(TOKENS, namespace, token)


async def _secret_data(cluster: KubeClient, namespace: str) -> dict[str, str]:
    try:
        secret: dict[str, Any] = await cluster.get(SECRETS, namespace, "billing-api") or {}
    except KubeApiError:
        return {}
    return {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
