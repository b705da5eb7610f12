"""kopf 1.45 runs against the emulator: discovery, LIST, WATCH, handlers, timers and status patches."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator

from .conftest import KopfRunner, widget


async def _until(condition: Any, *, timeout: float, step: float = 1) -> None:
    """Poll on the event loop's clock (fake under looptime); a coarse step keeps real time low."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(step)


@pytest.mark.looptime
async def test_kopf_handlers_and_hourly_timer_run_against_the_emulator(
        kube_emulator: KubernetesEmulator, kopf_runner: KopfRunner) -> None:
    """Handlers are async: sync ones run in a thread pool, which looptime cannot see into.

    A create handler sees the object and its status patch lands; a 1-hour timer fires 5 times
    in fast-forwarded time; no request of kopf's is answered 422 or 500."""
    registry = kopf.OperatorRegistry()
    seen: list[dict[str, Any]] = []
    ticks: list[float] = []

    @kopf.on.create("example.com", "v1", "widgets", id="created", registry=registry)
    async def created(spec: Any, name: str, **_: Any) -> dict[str, str]:
        seen.append({"name": name, "size": spec["size"]})
        return {"observedSize": spec["size"]}

    @kopf.timer("example.com", "v1", "widgets", interval=3600, registry=registry)
    async def hourly(patch: kopf.Patch, **_: Any) -> None:
        ticks.append(asyncio.get_running_loop().time())
        patch.status["ticks"] = len(ticks)

    kube_emulator.create({**widget("w1"), "metadata": {"name": "w1", "namespace": "default"}})
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with kopf_runner(registry):
        await _until(lambda: len(ticks) >= 5, timeout=6 * 3600, step=60)
        await _until(lambda: (kube_emulator.get("example.com/v1", "widgets", "default", "w1") or {})
                     .get("status", {}).get("ticks") == 5, timeout=60)

    assert seen == [{"name": "w1", "size": "small"}]  # once: LIST and WATCH do not double-deliver
    assert 4 * 3600 <= ticks[-1] - started < 6 * 3600
    stored = kube_emulator.get("example.com/v1", "widgets", "default", "w1")
    assert stored is not None
    assert stored["status"]["created"] == {"observedSize": "small"}
    assert stored["metadata"]["generation"] == 1  # status patches never bump generation
    assert kube_emulator.write_counts[("widgets/status", "patch")] >= 5
    failures = [r for r in kube_emulator.responses if r[2] >= 400]
    assert failures == []  # not one 4xx/5xx: no 422 on kopf's patches, no 404 on its discovery


@pytest.mark.looptime
async def test_kopf_finalizer_and_delete_handler_then_garbage_collection(
        kube_emulator: KubernetesEmulator, kopf_runner: KopfRunner) -> None:
    """kopf adds its finalizer, runs the delete handler when the object is deleted, removes the
    finalizer; the object then goes and so does the Secret it owned (GC)."""
    registry = kopf.OperatorRegistry()
    deleted: list[str] = []

    @kopf.on.create("example.com", "v1", "widgets", id="create", registry=registry)
    async def create(body: Any, name: str, **_: Any) -> None:
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"{name}-token", "namespace": "default"}}
        kopf.adopt(secret, owner=body)
        kube_emulator.create(secret)

    @kopf.on.delete("example.com", "v1", "widgets", id="delete", registry=registry)
    async def delete(name: str, **_: Any) -> None:
        deleted.append(name)

    kube_emulator.create({**widget("w1"), "metadata": {"name": "w1", "namespace": "default"}})
    async with kopf_runner(registry):
        await _until(lambda: kube_emulator.get("v1", "secrets", "default", "w1-token") is not None, timeout=60)
        stored = kube_emulator.get("example.com/v1", "widgets", "default", "w1")
        assert stored is not None and stored["metadata"]["finalizers"]
        assert kube_emulator.delete("example.com/v1", "widgets", "default", "w1") is False  # finalizer holds it
        await _until(lambda: kube_emulator.get("example.com/v1", "widgets", "default", "w1") is None, timeout=60)

    assert deleted == ["w1"]
    assert kube_emulator.get("v1", "secrets", "default", "w1-token") is None
    assert [r for r in kube_emulator.responses if r[2] >= 400] == []
