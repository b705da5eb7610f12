"""What every synced kind shares (ApplicationToken, RamApplication): the watch intake,
the work queue, forced reads, and how a failure is reported and retried.

A kind's controller subclasses ``SyncedResourceController`` and implements ``sync``;
the refresh policy (refresh_plan), the access rules (access_resolver), the target writes
(target_writer) and the status shape (status_report) are the same modules for every kind.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from datetime import datetime, timedelta
from typing import Any, ClassVar

from tokensync.clock import Clock
from tokensync.controllers.access_resolver import AccessResolver
from tokensync.controllers.refresh_plan import RefreshPolicy, plan_after_failure, read_due
from tokensync.controllers.relist import find_gone, uid_of
from tokensync.controllers.status_report import READY, parse_rfc3339, patch_status, rfc3339, with_ready
from tokensync.controllers.target_writer import WriterAlive, source_of
from tokensync.controllers.work_queue import WorkQueue
from tokensync.kube.client import KubeClient
from tokensync.kube.errors import KubeApiError
from tokensync.kube.events import EventRecorder
from tokensync.kube.resources import Resource
from tokensync.runtime import metrics

logger = logging.getLogger(__name__)

FORCE_SYNC_ANNOTATION = "tokensync.dev/force-sync"
Key = tuple[str, str]  # (namespace, name)


def key_of(body: dict[str, Any]) -> Key:
    meta = body.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name")))


def _namespace_of(key: Key) -> str:
    return key[0]


def force_sync_value(body: dict[str, Any]) -> str | None:
    value = ((body.get("metadata") or {}).get("annotations") or {}).get(FORCE_SYNC_ANNOTATION)
    return str(value) if value is not None else None


def jitter_key(body: dict[str, Any]) -> str:
    meta = body.get("metadata") or {}
    return str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")


class ResourceReplaced(Exception):
    """The resource a sync works for was deleted (or replaced by one of the same name) meanwhile."""


class SyncedResourceController(ABC):
    kind: ClassVar[str]
    resource: ClassVar[Resource]

    def __init__(
        self,
        *,
        kube: KubeClient,
        events: EventRecorder,
        access: AccessResolver,
        clock: Clock,
        policy_defaults: RefreshPolicy | None = None,
        concurrency: int = 32,
    ) -> None:
        self.kube = kube
        self.events = events
        self.access = access
        self.clock = clock
        self.defaults = policy_defaults or RefreshPolicy()
        self.objects: dict[Key, dict[str, Any]] = {}
        self.forced: dict[Key, str] = {}
        # Fair across namespaces: one whose syncs hang cannot take every slot (work_queue).
        self.queue: WorkQueue[Key] = WorkQueue(self.reconcile, concurrency=concurrency, group=_namespace_of)

    # ---- what triggers a reconcile (fed by kopf's watch) -------------------------------------

    def observe(self, event_type: str | None, body: dict[str, Any]) -> None:
        key = key_of(body)
        if event_type == "DELETED":
            self.objects.pop(key, None)
            self.forced.pop(key, None)
            self.queue.forget(key)
            self.access.forget_dependent((self.kind, key))
            self.forget(key)
            metrics.forget_resource(self.kind, key[0], key[1])
            return
        previous = self.objects.get(key)
        if previous is not None and _newer(previous, body) is False:
            return  # an older copy than one we already hold (our own status write came back first)
        self.objects[key] = body
        if previous is None or _spec_or_trigger_changed(previous, body):
            self.queue.schedule(key, 0.0)

    def observe_target(self, event_type: str | None, target: dict[str, Any], drifted: bool) -> None:
        """The Secret/ConfigMap a resource writes changed or vanished: repair it now."""
        meta = target.get("metadata") or {}
        kind, name = source_of(target) or ("", "")
        key: Key = (str(meta.get("namespace") or ""), name)
        if kind == self.kind and key in self.objects and (event_type == "DELETED" or drifted):
            self.queue.schedule(key, 0.0)

    def wake(self, key: Key, reason: str, *, only_failing: bool = False) -> None:
        """Read now, whatever the plan said (e.g. the cloud access it uses changed); with
        ``only_failing``, only if its last sync failed."""
        if only_failing and ready_status(self.objects.get(key) or {}) != "False":
            return
        if key in self.objects:
            self.forced[key] = reason
            self.queue.schedule(key, 0.0)

    def forget(self, key: Key) -> None:
        """Drop per-resource memory when the resource is deleted (subclasses extend)."""
        self.forced.pop(key, None)

    # ---- one reconcile ------------------------------------------------------------------------

    async def reconcile(self, key: Key) -> None:
        body = self.objects.get(key)
        if body is None:
            return
        started = time.perf_counter()
        try:
            if body["metadata"].get("deletionTimestamp"):
                await self.finalize(key, body)
            else:
                await self.sync(key, body, started)
        except ResourceReplaced:
            logger.info("%s %s/%s: deleted while a sync ran; that sync stops here", self.kind, *key)
            return
        except KubeApiError as exc:
            if (exc.not_found or exc.status == 422) and await self._vanished(key, body):
                return
            # The API server failed us (conflict, 5xx): nothing was lost; try again shortly.
            logger.warning("%s %s/%s: Kubernetes API error, retrying in 5s: %s", self.kind, *key, exc)
            metrics.record_sync(self.kind, "KubernetesError", time.perf_counter() - started)
            self.queue.schedule(key, 5.0)
            return
        latest = self.objects.get(key)
        if latest is not None and _spec_or_trigger_changed(body, latest):
            # The spec (or force-sync) changed while this sync ran. Its watch event may have been
            # taken for old news: our own status write's answer already carried the new object.
            self.queue.schedule(key, 0.0)

    def writer_alive(self, namespace: str) -> WriterAlive:
        """Whether the resource that wrote a target (by kind, name and uid) still exists: from the
        watch, else from the API server (at start-up the watch may not have delivered it yet)."""
        async def alive(kind: str, name: str, uid: str | None) -> bool:
            if kind != self.kind:
                return True  # not a kind this controller knows: assume it is there
            known = self.objects.get((namespace, name))
            if known is not None and (uid is None or uid_of(known) == uid):
                return True
            current = await self.kube.get(self.resource, namespace, name)
            return current is not None and (uid is None or uid_of(current) == uid)
        return alive

    async def _vanished(self, key: Key, body: dict[str, Any]) -> bool:
        """A 404 during a sync: if it was the resource itself, it is gone (its deletion may have
        fallen into a watch's re-list): forget it, and touch nothing more for it."""
        meta = body["metadata"]
        current = await self.kube.get(self.resource, meta.get("namespace"), meta["name"])
        if current is not None and uid_of(current) == uid_of(body):
            return False
        logger.info("%s %s/%s: gone (its deletion was not seen on the watch)", self.kind, *key)
        self._replaced(key, body, current)
        return True

    def _replaced(self, key: Key, body: dict[str, Any], current: dict[str, Any] | None) -> None:
        self.observe("DELETED", body)
        if current is not None:
            self.observe(None, current)  # deleted and created again under the same name

    async def relist(self) -> None:
        """Forget what was deleted while no watch could tell (see relist.py)."""
        known = dict(self.objects)
        for key, current in (await find_gone(self.kube, self.resource, known)).items():
            if uid_of(self.objects.get(key) or {}) == uid_of(known[key]):  # not already seen go meanwhile
                logger.info("%s %s/%s: gone (its deletion was not seen on the watch)", self.kind, *key)
                self._replaced(key, known[key], current)

    @abstractmethod
    async def sync(self, key: Key, body: dict[str, Any], started: float) -> None:
        """Bring one resource up to date; report success or call ``fail``."""

    async def finalize(self, key: Key, body: dict[str, Any]) -> None:
        """The resource is being deleted: finish what its finalizer stands for (subclasses)."""
        return None

    @abstractmethod
    def policy_for(self, body: dict[str, Any]) -> RefreshPolicy:
        """The refresh policy of this resource (defaults when its spec is unreadable)."""

    def read_due(self, body: dict[str, Any], *, now: datetime, target_missing: bool) -> str | None:
        """Why a cloud read is due now (refresh_plan.read_due over the resource and its status)."""
        status = body.get("status") or {}
        return read_due(
            now=now,
            generation=body["metadata"].get("generation"),
            observed_generation=status.get("observedGeneration"),
            force_sync=force_sync_value(body),
            last_force_sync=status.get("lastForceSync"),
            next_refresh_time=parse_rfc3339(status.get("nextRefreshTime")),
            has_synced=bool(status.get("lastSyncTime")),
            target_missing=target_missing,
        )

    def ensure_current(self, key: Key, body: dict[str, Any]) -> None:
        """Before a write: the resource this sync works for is still the one the watch knows. One
        deleted (and perhaps created again under its name) meanwhile is not written for."""
        known = self.objects.get(key)
        if known is None or uid_of(known) != uid_of(body):
            raise ResourceReplaced(key)

    async def write_status(self, key: Key, body: dict[str, Any], status: dict[str, Any]) -> None:
        """Patch status and keep the patched object, so the next reconcile sees its own write."""
        self.ensure_current(key, body)
        updated = await patch_status(self.kube, self.resource, body, status)
        if updated and key in self.objects:
            self.objects[key] = updated

    async def fail(
        self,
        key: Key,
        body: dict[str, Any],
        *,
        reason: str,
        message: str,
        retryable: bool,
        transient: bool,
        started: float,
        event_reason: str = "SyncFailed",
        retry_after: timedelta | None = None,
        expiration_time: datetime | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Report a failed sync (Ready=False, an Event, a metric) and plan the retry.

        Nothing is written to the target: the last good Secret or ConfigMap stays.
        """
        meta = body["metadata"]
        status: dict[str, Any] = dict(body.get("status") or {})
        now = self.clock.now()
        attempts = int(status.get("failedAttempts") or 0) + 1
        plan = plan_after_failure(
            failed_attempts=attempts, transient=transient, retryable=retryable, retry_after=retry_after,
            expiration_time=expiration_time or self.known_expiry(key, status),
            policy=self.policy_for(body), now=now, jitter_key=jitter_key(body),
        )
        next_text = f"; next attempt {rfc3339(plan.next_read)}" if plan.next_read else "; fix the spec to retry"
        new_status: dict[str, Any] = {
            **(extra or {}),
            "observedGeneration": meta.get("generation"),
            "failedAttempts": attempts,
            "nextRefreshTime": rfc3339(plan.next_read),
            "lastForceSync": force_sync_value(body),
            "conditions": with_ready(
                status.get("conditions"), ready=False, reason=reason, clears_by_itself=transient,
                message=message + next_text, generation=meta.get("generation"), now=now,
            ),
        }
        logger.warning("%s %s/%s: %s: %s%s", self.kind, key[0], key[1], reason, message, next_text)
        await self.write_status(key, body, new_status)
        await self.events.post(body, "Warning", event_reason, f"{reason}: {message}{next_text}")
        metrics.record_sync(self.kind, reason, time.perf_counter() - started)
        self.publish_metrics(key, self.objects.get(key) or body)
        self.schedule_at(key, plan.next_read)

    def known_expiry(self, key: Key, status: dict[str, Any]) -> datetime | None:
        """When what the target holds expires, on the operator's clock (None: it does not)."""
        return None

    def publish_metrics(self, key: Key, body: dict[str, Any]) -> None:
        """Set this resource's gauges from its status: after a sync, and when a sync finds
        nothing due (an operator restart or a failover must not leave a resource without its
        series, or the alerts that read them would stay silent). Not for a resource deleted
        while its sync ran: its series are gone and must stay gone."""
        if key not in self.objects:
            return
        metrics.set_resource_ready(self.kind, key[0], key[1], ready_status(body) == "True")

    def schedule_at(self, key: Key, when: datetime | None) -> None:
        if when is None:
            self.queue.forget(key)
            return
        delay = (when - self.clock.now()).total_seconds()
        self.queue.schedule(key, max(0.0, delay), replace=True)


def ready_status(body: dict[str, Any]) -> str | None:
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition.get("type") == READY:
            return str(condition.get("status"))
    return None


def _newer(previous: dict[str, Any], current: dict[str, Any]) -> bool | None:
    """Compare resourceVersions when both are integers (they are opaque, so only as a hint)."""
    try:
        before = int(str((previous.get("metadata") or {}).get("resourceVersion")))
        after = int(str((current.get("metadata") or {}).get("resourceVersion")))
    except ValueError:
        return None
    if (previous.get("metadata") or {}).get("uid") != (current.get("metadata") or {}).get("uid"):
        return None
    return after >= before


def _spec_or_trigger_changed(previous: dict[str, Any], current: dict[str, Any]) -> bool:
    """A change worth a reconcile now: a new object, a new spec, a deletion, or a new force-sync value."""
    before, after = previous.get("metadata") or {}, current.get("metadata") or {}
    if before.get("uid") != after.get("uid") or before.get("generation") != after.get("generation"):
        return True
    if bool(before.get("deletionTimestamp")) != bool(after.get("deletionTimestamp")):
        return True  # (kube-apiserver bumps generation then too; a deletion must not wait on that)
    return force_sync_value(previous) != force_sync_value(current)
