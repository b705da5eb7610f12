"""Fixtures for every test that runs the operator: both emulators and the operator itself,
all in the test's event loop on one clock (fast-forwarded where a test is marked looptime).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import kopf
import pytest

from tokensync.api.crds import crd_manifests
from tokensync.clock import LoopClock
from tokensync.emulators.cloud import CloudEmulator, demo_state, running_cloud_emulator
from tokensync.emulators.kubernetes import KubernetesEmulator, running_kubernetes_emulator
from tokensync.kube.config import load_connection_settings
from tokensync.runtime.operator import Operator, kopf_settings, running_operator

# A fixed start keeps planned times readable in failure messages.
EPOCH = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)

# Fast-forwarded time that continues from the real loop time the fixtures started in. Without
# ``start``, looptime resets the loop's clock to 0 when the test body begins, so everything the
# fixtures scheduled (the operator's timers, the emulators' clocks) would jump backwards.
FAST_FORWARD = pytest.mark.looptime(start=time.monotonic)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked e2e run against the cluster in KUBECONFIG, only when asked for with -m e2e."""
    asked = "e2e" in (config.getoption("-m") or "") and bool(os.environ.get("KUBECONFIG"))
    skip = pytest.mark.skip(reason="against a real cluster: KUBECONFIG=... pytest -m e2e")
    for item in items:
        if "e2e" in item.keywords and not asked:
            item.add_marker(skip)


def operator_settings() -> kopf.OperatorSettings:
    """kopf settings for fast-forwarded tests. Watches that end every 10 minutes cost a real
    reconnect each; over the months some tests cover that adds up, so test watches last a day."""
    return kopf_settings(inactivity_timeout=10**6, watch_timeout=24 * 3600)


@pytest.fixture
async def clock() -> LoopClock:
    return LoopClock(EPOCH)


@pytest.fixture
async def cloud(clock: LoopClock) -> AsyncIterator[CloudEmulator]:
    async with running_cloud_emulator(demo_state(clock.now()), clock=clock) as emulator:
        yield emulator


@pytest.fixture
async def kube(clock: LoopClock) -> AsyncIterator[KubernetesEmulator]:
    # Bookmarks every minute on every watch are most of the real time a fast-forwarded month
    # costs; an hour keeps them in play (kopf asks for them) at a sixtieth of the cost.
    async with running_kubernetes_emulator(crds=list(crd_manifests().values()), clock=clock,
                                           bookmark_interval=3600) as emulator:
        yield emulator


@pytest.fixture
async def kubeconfig(kube: KubernetesEmulator, tmp_path: Path) -> Path:
    return kube.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
async def operator(kubeconfig: Path, clock: LoopClock) -> AsyncIterator[Operator]:
    instance = Operator(load_connection_settings(str(kubeconfig)), clock=clock)
    async with running_operator(instance, settings=operator_settings()):
        yield instance
