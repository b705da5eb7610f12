"""Fault injection and write counting, for tests and benchmarks of the operator."""

from __future__ import annotations

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import KubeApi

SECRETS = "/api/v1/namespaces/default/secrets"


async def test_injected_fault_fails_the_next_matching_requests(kube_api: KubeApi,
                                                               kube_emulator: KubernetesEmulator) -> None:
    kube_emulator.inject_fault("POST", r"/secrets$", status=500, times=2)
    assert (await kube_api.get(SECRETS)).status == 200  # other methods pass
    first = await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    assert first.status == 500 and first.body["reason"] == "InternalError"
    assert (await kube_api.post(SECRETS, {"metadata": {"name": "a"}})).status == 500
    assert (await kube_api.post(SECRETS, {"metadata": {"name": "a"}})).status == 201


async def test_injected_conflict(kube_api: KubeApi, kube_emulator: KubernetesEmulator) -> None:
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    kube_emulator.inject_fault("PATCH", "/secrets/a", status=409)
    reply = await kube_api.patch(f"{SECRETS}/a", {"data": {}})
    assert reply.status == 409 and reply.body["reason"] == "Conflict"


async def test_write_counts_by_resource_and_verb(kube_api: KubeApi, kube_emulator: KubernetesEmulator) -> None:
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})
    await kube_api.patch(f"{SECRETS}/a", {"stringData": {"k": "v"}})
    await kube_api.patch(f"{SECRETS}/a", {"stringData": {"k": "w"}})
    await kube_api.post(SECRETS, {"metadata": {"name": "a"}})  # 409: not a write
    await kube_api.get(f"{SECRETS}/a")
    assert kube_emulator.write_counts[("secrets", "create")] == 1
    assert kube_emulator.write_counts[("secrets", "patch")] == 2
