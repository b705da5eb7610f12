"""Running the operator inside someone else's event loop (the sandbox, tests, an embedding app)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests import scenario
from tests.conftest import operator_settings
from tests.scenario import eventually, is_ready
from tokensync.clock import LoopClock
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.kube.config import load_connection_settings
from tokensync.runtime.operator import Operator, running_operator


async def test_stopping_the_operator_leaves_the_callers_tasks_alone(
    kube: KubernetesEmulator, cloud: CloudEmulator, kubeconfig: Path, clock: LoopClock
) -> None:
    """kopf cancels every task created after it started; tokensync tells it which are its own."""
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token())
    connection = load_connection_settings(str(kubeconfig))
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        mine = asyncio.create_task(asyncio.sleep(3600), name="the caller's own task")
        await eventually(is_ready(kube, "billing-api"), timeout=30)
    await asyncio.sleep(0)
    assert not mine.done(), "stopping the operator cancelled a task that was not its own"
    mine.cancel()
    # And the operator can be started again in the same loop.
    async with running_operator(Operator(connection, clock=clock), settings=operator_settings()):
        await eventually(is_ready(kube, "billing-api"), timeout=30)
