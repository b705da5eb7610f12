"""Lease-based leader election against the Kubernetes API emulator, on fast-forwarded time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tokensync.clock import LoopClock
from tokensync.emulators.kubernetes import KubernetesEmulator, running_kubernetes_emulator
from tokensync.kube.client import KubeClient
from tokensync.kube.config import load_connection_settings
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import LEASES
from tokensync.runtime.leader import LeaderElector, LeadershipLost

pytestmark = pytest.mark.looptime

NAMESPACE = "kube-system"
LEASE = "tokensync-leader"
LEASE_DURATION = 15.0
RETRY = 2.0


@pytest.fixture
async def clock() -> LoopClock:
    return LoopClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))


@pytest.fixture
async def kube(clock: LoopClock) -> AsyncIterator[KubernetesEmulator]:
    async with running_kubernetes_emulator(clock=clock) as emulator:
        yield emulator


ClientFactory = Callable[[], KubeClient]
Spawn = Callable[[Awaitable[Any]], "asyncio.Task[Any]"]


@pytest.fixture
async def new_client(kube: KubernetesEmulator, tmp_path: Path) -> AsyncIterator[ClientFactory]:
    """Each replica gets its own client, as separate pods would."""
    settings = load_connection_settings(str(kube.write_kubeconfig(tmp_path / "kubeconfig")))
    clients: list[KubeClient] = []

    def make() -> KubeClient:
        clients.append(KubeClient(settings))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def elector(new_client: ClientFactory, clock: LoopClock) -> Callable[..., LeaderElector]:
    def make(identity: str, client: KubeClient | None = None) -> LeaderElector:
        return LeaderElector(client or new_client(), namespace=NAMESPACE, identity=identity, clock=clock)

    return make


@pytest.fixture
def tasks() -> Iterator[Spawn]:
    """Start background tasks that are cancelled when the test ends."""
    started: list[asyncio.Task[Any]] = []

    def start(coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        started.append(asyncio.ensure_future(coroutine))
        return started[-1]

    yield start
    for task in started:
        task.cancel()


def lease(kube: KubernetesEmulator) -> dict[str, Any]:
    found = kube.get("coordination.k8s.io/v1", "leases", NAMESPACE, LEASE)
    assert found is not None
    spec: dict[str, Any] = found["spec"]
    return spec


def now() -> float:
    return asyncio.get_running_loop().time()


async def test_of_two_candidates_only_one_leads_and_keeps_the_lease_fresh(
    kube: KubernetesEmulator, elector: Callable[..., LeaderElector], tasks: Spawn, clock: LoopClock
) -> None:
    a, b = elector("replica-a"), elector("replica-b")
    await a.acquire()
    assert a.is_leader
    acquired_at = lease(kube)["acquireTime"]
    tasks(a.hold())
    b_acquired = tasks(b.acquire())

    await asyncio.sleep(120)

    assert not b_acquired.done()
    assert not b.is_leader
    assert b.leader == "replica-a"
    spec = lease(kube)
    assert spec["holderIdentity"] == "replica-a"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0
    assert spec["acquireTime"] == acquired_at  # renewals keep it
    renewed = datetime.fromisoformat(spec["renewTime"])
    assert renewed >= clock.now() - timedelta(seconds=RETRY + 1)


async def test_a_standby_takes_over_at_once_when_the_leader_releases(
    kube: KubernetesEmulator, elector: Callable[..., LeaderElector], tasks: Spawn
) -> None:
    a, b = elector("replica-a"), elector("replica-b")
    await a.acquire()
    holding = tasks(a.hold())
    b_acquired = tasks(b.acquire())
    await asyncio.sleep(30)

    holding.cancel()
    await a.release()
    assert not a.is_leader
    released_at = now()
    await asyncio.wait_for(b_acquired, timeout=RETRY * 1.2 + 0.5)  # one retry, not a lease duration

    assert b.is_leader
    assert now() - released_at < LEASE_DURATION
    spec = lease(kube)
    assert spec["holderIdentity"] == "replica-b"
    assert spec["leaseTransitions"] == 1
    await a.release()  # releasing again, without leading, changes nothing
    assert lease(kube)["holderIdentity"] == "replica-b"


async def test_a_standby_takes_over_only_after_the_leader_stops_renewing_for_a_lease_duration(
    kube: KubernetesEmulator, elector: Callable[..., LeaderElector], tasks: Spawn
) -> None:
    a, b = elector("replica-a"), elector("replica-b")
    await a.acquire()  # and then a "crashes": it never renews
    started = now()
    b_acquired = tasks(b.acquire())

    done, _ = await asyncio.wait({b_acquired}, timeout=LEASE_DURATION - 1)
    assert not done, "took over a lease that had not expired"
    await asyncio.wait_for(b_acquired, timeout=RETRY * 1.2 + 2)

    assert now() - started >= LEASE_DURATION
    spec = lease(kube)
    assert spec["holderIdentity"] == "replica-b"
    assert spec["leaseTransitions"] == 1


async def test_a_leader_that_cannot_renew_steps_down_before_its_lease_expires(
    kube: KubernetesEmulator, elector: Callable[..., LeaderElector]
) -> None:
    a = elector("replica-a")
    await a.acquire()
    kube.inject_fault("PATCH", r"/leases/", status=500, times=1000)

    with pytest.raises(LeadershipLost, match="no renewal within 10s"):
        await a.hold()

    assert not a.is_leader
    last_renewal = datetime.fromisoformat(lease(kube)["renewTime"])
    stepped_down = kube.clock.now()
    assert stepped_down < last_renewal + timedelta(seconds=LEASE_DURATION)


async def test_a_leader_that_finds_another_holder_steps_down_at_once(
    kube: KubernetesEmulator, elector: Callable[..., LeaderElector], new_client: ClientFactory
) -> None:
    a = elector("replica-a")
    await a.acquire()
    # Another replica took the Lease (say a was paused for longer than a lease duration).
    await new_client().patch(LEASES, NAMESPACE, LEASE, {"spec": {"holderIdentity": "replica-c"}})
    started = now()

    with pytest.raises(LeadershipLost, match="held by 'replica-c'"):
        await a.hold()

    assert now() - started <= RETRY + 0.5
    assert lease(kube)["holderIdentity"] == "replica-c"


class InterleavingClient(KubeClient):
    """Runs ``between`` after a Lease was read and before the reader can write."""

    between: Callable[[], Awaitable[None]] | None = None

    async def get(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        found = await super().get(*args, **kwargs)
        if self.between is not None:
            between, self.between = self.between, None
            await between()
        return found


async def test_of_two_candidates_racing_for_a_free_lease_only_one_wins(
    kube: KubernetesEmulator, elector: Callable[..., LeaderElector], new_client: ClientFactory, tmp_path: Path,
    tasks: Spawn,
) -> None:
    a = elector("replica-a")
    await a.acquire()
    await a.release()  # the Lease exists, with no holder
    slow_client = InterleavingClient(load_connection_settings(str(kube.write_kubeconfig(tmp_path / "kc"))))
    b = elector("replica-b", slow_client)
    c = elector("replica-c")
    c_acquire = asyncio.ensure_future(c.acquire())
    slow_client.between = lambda: asyncio.wait_for(asyncio.shield(c_acquire), 5)  # c writes after b read
    try:
        b_acquired = tasks(b.acquire())
        await c_acquire
        tasks(c.hold())
        await asyncio.sleep(60)

        assert c.is_leader
        assert not b.is_leader
        assert not b_acquired.done()
        spec = lease(kube)
        assert spec["holderIdentity"] == "replica-c"
        assert spec["leaseTransitions"] == 1
    finally:
        await slow_client.aclose()


async def test_the_api_refuses_a_write_based_on_a_stale_read(
    kube: KubernetesEmulator, elector: Callable[..., LeaderElector], new_client: ClientFactory
) -> None:
    """What the election's safety rests on: a conditional merge patch with an old resourceVersion is 409."""
    a = elector("replica-a")
    await a.acquire()
    client = new_client()
    stale = await client.get(LEASES, NAMESPACE, LEASE)
    assert stale is not None
    await client.patch(LEASES, NAMESPACE, LEASE, {"spec": {"holderIdentity": "replica-b"}})
    with pytest.raises(KubeApiError) as refused:
        await client.patch(LEASES, NAMESPACE, LEASE, {
            "metadata": {"resourceVersion": stale["metadata"]["resourceVersion"]},
            "spec": {"holderIdentity": "replica-c"},
        })
    assert refused.value.conflict


@pytest.mark.parametrize(("lease_duration", "renew_deadline", "retry_period", "message"), [
    (15, 15, 2, "lease_duration must be longer than renew_deadline"),
    (15, 10, 9, r"renew_deadline must be longer than retry_period \* 1.2"),
    (15.5, 10, 2, "whole seconds"),
    (15, 10, 0, "retry_period must be positive"),
])
async def test_unsafe_timings_are_refused(
    new_client: ClientFactory, lease_duration: float, renew_deadline: float, retry_period: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        LeaderElector(new_client(), namespace=NAMESPACE, identity="x",
                      lease_duration=timedelta(seconds=lease_duration),
                      renew_deadline=timedelta(seconds=renew_deadline),
                      retry_period=timedelta(seconds=retry_period))
