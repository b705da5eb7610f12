"""The operator against a real cluster (kind, k3s, ACK...): ``KUBECONFIG=... pytest -m e2e``.

Deselected unless ``-m e2e`` is given and ``KUBECONFIG`` is set (tests/conftest.py), so that
``pytest -q`` never touches a cluster a developer happens to be pointed at. Real time, no
fast-forwarding. The cloud is the local emulator: the operator runs in this process, so it
reaches it on 127.0.0.1. The test installs the CRDs (create or replace), works in a namespace
of its own and deletes it at the end; nothing else in the cluster is touched.

Token values never change by themselves (in IDaaS and in the emulator): a new value in a Secret
comes from tokensync's own renewal (Rotate) or from the spec naming another token.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import scenario
from tokensync.api.crds import crd_manifests
from tokensync.emulators.cloud import CloudEmulator, demo_state, running_cloud_emulator
from tokensync.kube.client import KubeClient
from tokensync.kube.config import load_connection_settings
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import DEPLOYMENTS, EVENTS, NAMESPACES, SECRETS, Resource
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


async def test_a_token_reaches_a_secret_is_extended_rotated_and_repaired(cluster: KubeClient, namespace: str) -> None:
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

            await _extend(cluster, namespace, cloud)
            await _rotate(cluster, namespace, cloud)

            # A spec edit to another token: the Secret follows at once (a spec change is read now).
            await cluster.patch(TOKENS, namespace, "billing-api", {"spec": {"applicationTokenId": "token_demo_short"}})

            async def secret_holds_the_other_token() -> bool:
                data = await _secret_data(cluster, namespace)
                return data.get("token") == cloud.token_value("token_demo_short")

            await until(secret_holds_the_other_token)
            assert cloud.token("token_demo").status == "enabled"  # a token the user named is never retired

            # Drift: a deleted Secret comes back from the watch, not at the next refresh.
            await cluster.delete(SECRETS, namespace, "billing-api")
            await until(secret_holds_the_other_token, timeout=30)

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


async def _extend(cluster: KubeClient, namespace: str, cloud: CloudEmulator) -> None:
    """Extend: a 10-minute token with renewal.lifetime 1h is due at once (a third of an hour before
    expiry has passed): the same value stays in the Secret, with the expiry an hour out."""
    token = cloud.add_token("token_e2e_extend", lifetime=timedelta(minutes=10))
    await cluster.create(TOKENS, namespace, scenario.application_token(
        "extended", token_id="token_e2e_extend", namespace=namespace,
        cloudAccessRef={"kind": "CloudAccess", "name": "idaas"}, renewal={"strategy": "Extend", "lifetime": "1h"}))

    async def extended() -> bool:
        body = await cluster.get(TOKENS, namespace, "extended") or {}
        return bool((body.get("status") or {}).get("lastRenewalTime")) and "Extended" in await _reasons(
            cluster, namespace, "extended")

    await until(extended)
    live = cloud.token("token_e2e_extend")
    assert live.value == token.value and live.expiration_time is not None
    assert timedelta(minutes=55) < live.expiration_time - datetime.now(UTC) <= timedelta(hours=1)
    data = await _secret_data(cluster, namespace, "extended")
    assert data["token"] == token.value  # the same value: nothing to restart
    assert data["expiresAt"] == live.expiration_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = await cluster.get(TOKENS, namespace, "extended") or {}
    assert body["status"]["applicationTokenId"] == "token_e2e_extend"
    assert body["status"]["expirationTime"] == data["expiresAt"]


async def _rotate(cluster: KubeClient, namespace: str, cloud: CloudEmulator) -> None:
    """Rotate, switched on for a token already in its Secret: a 10-minute token with renewal.lifetime
    1h is due at once, so a new token's value replaces the old one in the Secret, the Deployment is
    restarted, and 2 s later the replaced token is disabled and deleted."""
    old = cloud.add_token("token_e2e_rotate", lifetime=timedelta(minutes=10))
    workload = scenario.deployment("rotated-app", namespace=namespace)
    workload["spec"]["replicas"] = 0  # a template to restart, no pods to pull an image for
    await cluster.create(DEPLOYMENTS, namespace, workload)
    await cluster.create(TOKENS, namespace, scenario.application_token(
        "rotated", token_id="token_e2e_rotate", namespace=namespace,
        cloudAccessRef={"kind": "CloudAccess", "name": "idaas"}, renewal={"strategy": "None"},
        rolloutRestartTargets=[{"kind": "Deployment", "name": "rotated-app"}]))

    async def holds_the_first_token() -> bool:
        return (await _secret_data(cluster, namespace, "rotated")).get("token") == old.value

    await until(holds_the_first_token)
    await cluster.patch(TOKENS, namespace, "rotated", {"spec": {"renewal": {
        "strategy": "Rotate", "lifetime": "1h", "retireAfter": "2s"}}})

    async def retired() -> bool:
        body = await cluster.get(TOKENS, namespace, "rotated") or {}
        status = body.get("status") or {}
        return (status.get("applicationTokenId") not in (None, "token_e2e_rotate") and not status.get("retiringTokens")
                and "Retired" in await _reasons(cluster, namespace, "rotated"))

    await until(retired)
    body = await cluster.get(TOKENS, namespace, "rotated") or {}
    current = body["status"]["applicationTokenId"]
    assert body["spec"]["applicationTokenId"] == "token_e2e_rotate"  # the spec stays as written
    data = await _secret_data(cluster, namespace, "rotated")
    assert data["token"] == cloud.token_value(current) != old.value
    assert cloud.token(current).status == "enabled"
    assert "token_e2e_rotate" not in cloud.state.tokens  # disabled, then deleted
    assert cloud.answers("DisableApplicationToken") >= 1 and cloud.answers("DeleteApplicationToken") >= 1
    assert {"Rotated", "RolloutRestarted", "Retired"} <= set(await _reasons(cluster, namespace, "rotated"))
    deployment = await cluster.get(DEPLOYMENTS, namespace, "rotated-app") or {}
    annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    assert "tokensync.dev/restartedAt" in annotations, deployment
    ready = next(c for c in body["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Synced")


async def _reasons(cluster: KubeClient, namespace: str, name: str) -> list[str]:
    return [str(e.get("reason")) for e in await cluster.list(EVENTS, namespace)
            if (e.get("involvedObject") or {}).get("name") == name]


async def _apply(cluster: KubeClient, namespace: str, cloud: CloudEmulator) -> None:
    await cluster.create(SECRETS, namespace, scenario.access_key_secret(namespace=namespace))
    access = scenario.cloud_access(cloud, namespace=namespace)
    await cluster.create(ACCESSES, namespace, access)
    token = scenario.application_token(namespace=namespace, cloudAccessRef={"kind": "CloudAccess", "name": "idaas"})
    await cluster.create(TOKENS, namespace, token)


async def _secret_data(cluster: KubeClient, namespace: str, name: str = "billing-api") -> dict[str, str]:
    try:
        secret: dict[str, Any] = await cluster.get(SECRETS, namespace, name) or {}
    except KubeApiError:
        return {}
    return {key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()}
