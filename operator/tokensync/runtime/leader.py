"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.

With several replicas only the holder of the Lease runs the controllers; the others wait.
The rules are client-go's, so the Lease reads the same in ``kubectl get lease`` and the
safety argument is the same:

- A candidate takes the Lease when it has no holder, or when its record has not changed for
  ``leaseDurationSeconds`` *as measured on the candidate's own clock* since it first saw that
  record (the holder's renewTime is never compared with the local clock, so clock skew
  between nodes does not matter).
- Every write carries the ``metadata.resourceVersion`` it read, so of two candidates racing
  for the same record the API server accepts one and answers 409 Conflict to the other.
- The leader renews every ``retry_period``; when it could not renew within ``renew_deadline``
  of its last successful renewal it stops leading. ``renew_deadline < lease_duration``, so it
  stops before anyone else may start.
- On a graceful stop the leader clears the holder, and a standby takes over at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tokensync.clock import SYSTEM_CLOCK, Clock
from tokensync.kube.client import KubeClient
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import LEASES

logger = logging.getLogger(__name__)

# client-go's JitterFactor: waits between acquire attempts last retry_period * [1, 1.2).
JITTER_FACTOR = 1.2


class LeadershipLost(Exception):
    """The Lease could not be renewed in time, or another replica holds it now."""


def _micro_time(moment: datetime) -> str:
    """A Kubernetes MicroTime: RFC 3339 in UTC with microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        kube: KubeClient,
        *,
        namespace: str,
        name: str = "tokensync-leader",
        identity: str,
        lease_duration: timedelta = timedelta(seconds=15),
        renew_deadline: timedelta = timedelta(seconds=10),
        retry_period: timedelta = timedelta(seconds=2),
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        if not identity:
            raise ValueError("identity must not be empty")
        if retry_period <= timedelta(0):
            raise ValueError("retry_period must be positive")
        if renew_deadline <= retry_period * JITTER_FACTOR:
            raise ValueError("renew_deadline must be longer than retry_period * 1.2")
        if lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be longer than renew_deadline")
        if lease_duration.total_seconds() != int(lease_duration.total_seconds()):
            raise ValueError("lease_duration must be whole seconds (leaseDurationSeconds)")
        self._kube = kube
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self._lease_duration = lease_duration
        self._renew_deadline = renew_deadline
        self._retry_period = retry_period
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        # The last Lease record seen, its resourceVersion, and when (on our clock) it last changed.
        self._observed_spec: dict[str, Any] | None = None
        self._observed_version = ""
        self._observed_time = datetime.min.replace(tzinfo=UTC)
        self._last_renewal: datetime | None = None
        self._is_leader = False

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    @property
    def leader(self) -> str:
        """The holder last seen in the Lease ("" when it has none or it was not read yet)."""
        return str((self._observed_spec or {}).get("holderIdentity") or "")

    async def acquire(self) -> None:
        """Wait until this replica holds the Lease."""
        waiting_for = None
        while not await self._try_acquire_or_renew():
            if self.leader != waiting_for:
                waiting_for = self.leader
                logger.info("waiting for leadership: Lease %s/%s is held by %r", self.namespace, self.name,
                            waiting_for)
            await asyncio.sleep(self._retry_period.total_seconds() * self._rng.uniform(1.0, JITTER_FACTOR))
        self._is_leader = True
        logger.info("leading as %r (Lease %s/%s)", self.identity, self.namespace, self.name)

    async def hold(self) -> None:
        """Renew the Lease every retry_period while leading; never returns normally.

        Raises ``LeadershipLost`` when no renewal succeeded within renew_deadline of the last
        one, or when another replica holds the Lease. The caller must then stop acting.
        """
        if not self._is_leader or self._last_renewal is None:
            raise LeadershipLost("hold() called without leadership: acquire() first")
        try:
            while True:
                await asyncio.sleep(self._retry_period.total_seconds())
                await self._renew_before_deadline()
        except LeadershipLost as lost:
            self._is_leader = False
            logger.warning("lost leadership of Lease %s/%s: %s", self.namespace, self.name, lost)
            raise

    async def release(self) -> None:
        """Give the Lease up (graceful stop) so that a standby takes over without waiting.

        Does nothing when not leading; failures are logged, since the Lease expires anyway.
        Cancel ``hold()`` before calling this.
        """
        # Also when acquire() was interrupted after the server applied its write: the Lease
        # names us even though we never acted, and a standby would wait out the lease.
        if not self._is_leader and self.leader != self.identity:
            return
        self._is_leader = False
        now = self._clock.now()
        spec = {
            "holderIdentity": "",
            "leaseDurationSeconds": 1,
            "acquireTime": _micro_time(now),
            "renewTime": _micro_time(now),
            "leaseTransitions": int((self._observed_spec or {}).get("leaseTransitions") or 0),
        }
        try:
            await self._write(spec, now)
        except KubeApiError as exc:
            logger.warning("could not release Lease %s/%s: %s", self.namespace, self.name, exc)
            return
        logger.info("released Lease %s/%s", self.namespace, self.name)

    async def _renew_before_deadline(self) -> None:
        assert self._last_renewal is not None
        deadline = self._last_renewal + self._renew_deadline
        while True:
            remaining = (deadline - self._clock.now()).total_seconds()
            if remaining <= 0:
                raise LeadershipLost(f"no renewal within {self._renew_deadline.total_seconds():g}s")
            try:
                if await asyncio.wait_for(self._try_acquire_or_renew(), timeout=remaining):
                    return
            except TimeoutError:
                continue  # the deadline check above ends it
            if self.leader and self.leader != self.identity:
                raise LeadershipLost(f"the Lease is held by {self.leader!r} now")
            await asyncio.sleep(min(self._retry_period.total_seconds(), remaining))

    async def _try_acquire_or_renew(self) -> bool:
        """One attempt: True when this replica holds the Lease afterwards."""
        now = self._clock.now()
        try:
            lease = await self._kube.get(LEASES, self.namespace, self.name)
            if lease is None:
                return await self._create(now)
            self._observe(lease, now)
            holder = self.leader
            if holder and holder != self.identity and self._observed_lease_valid(now):
                return False
            previous = self._observed_spec or {}
            transitions = int(previous.get("leaseTransitions") or 0)
            renewing = holder == self.identity
            spec = {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self._lease_duration.total_seconds()),
                "acquireTime": previous.get("acquireTime") if renewing else _micro_time(now),
                "renewTime": _micro_time(now),
                "leaseTransitions": transitions if renewing else transitions + 1,
            }
            await self._write(spec, now)
        except KubeApiError as exc:
            # 409: another replica wrote first; anything else: try again on the next round.
            log = logger.debug if exc.conflict else logger.warning
            log("Lease %s/%s: %s", self.namespace, self.name, exc)
            return False
        return True

    async def _create(self, now: datetime) -> bool:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": int(self._lease_duration.total_seconds()),
                "acquireTime": _micro_time(now),
                "renewTime": _micro_time(now),
                "leaseTransitions": 0,
            },
        }
        created = await self._kube.create(LEASES, self.namespace, body)  # 409 AlreadyExists: lost the race
        self._observe(created, now)
        self._last_renewal = now
        return True

    async def _write(self, spec: dict[str, Any], now: datetime) -> None:
        """Merge-patch the spec, conditional on the resourceVersion last read (409 when stale)."""
        patch = {"metadata": {"resourceVersion": self._observed_version}, "spec": spec}
        written = await self._kube.patch(LEASES, self.namespace, self.name, patch)
        self._observe(written, now)
        self._last_renewal = now

    def _observe(self, lease: dict[str, Any], now: datetime) -> None:
        spec = dict(lease.get("spec") or {})
        self._observed_version = str((lease.get("metadata") or {}).get("resourceVersion") or "")
        if spec != self._observed_spec:
            self._observed_spec = spec
            self._observed_time = now

    def _observed_lease_valid(self, now: datetime) -> bool:
        seconds = (self._observed_spec or {}).get("leaseDurationSeconds")
        duration = timedelta(seconds=int(seconds)) if seconds else self._lease_duration
        return now < self._observed_time + duration
