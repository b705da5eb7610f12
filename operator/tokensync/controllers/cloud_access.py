"""The CloudAccess and ClusterCloudAccess controller: are these credentials usable, and whose?

Status shows ``Ready`` and the identity (STS GetCallerIdentity). When an access object or
the Secret holding its AccessKey changes, every resource that used it is re-evaluated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tokensync.clock import Clock
from tokensync.cloud.errors import CloudError
from tokensync.controllers.access_resolver import (
    CLOUD_ACCESSES,
    CLUSTER_CLOUD_ACCESSES,
    AccessKey,
    AccessProblem,
    AccessResolver,
)
from tokensync.controllers.registration import Watch
from tokensync.controllers.relist import find_gone, uid_of
from tokensync.controllers.status_report import READY, condition_of, patch_status, status_unchanged, with_ready
from tokensync.controllers.work_queue import WorkQueue
from tokensync.kube.client import KubeClient
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import SECRETS, Resource
from tokensync.runtime import metrics

logger = logging.getLogger(__name__)


def _key_of(body: dict[str, Any]) -> AccessKey:
    meta = body.get("metadata") or {}
    kind = str(body.get("kind") or "ClusterCloudAccess")
    return (kind, str(meta.get("namespace") or "") if kind == "CloudAccess" else "", str(meta.get("name")))


class CloudAccessController:
    def __init__(
        self,
        *,
        kube: KubeClient,
        access: AccessResolver,
        clock: Clock,
        wake_dependent: Callable[[Any, str, bool], None],
        recheck_seconds: float = 3600.0,
    ) -> None:
        self._kube = kube
        self._access = access
        self._clock = clock
        self._wake_dependent = wake_dependent
        self._recheck_seconds = recheck_seconds
        self._objects: dict[AccessKey, dict[str, Any]] = {}
        self._written: dict[AccessKey, dict[str, Any]] = {}  # the status this operator last wrote
        self._secret_versions: dict[tuple[str, str], str] = {}  # AccessKey Secrets: last resourceVersion seen
        self.queue: WorkQueue[AccessKey] = WorkQueue(self.reconcile, concurrency=4, group=_namespace_of)

    def watches(self) -> list[Watch]:
        """For CloudAccesses and ClusterCloudAccesses; reads the Secrets holding their AccessKeys."""
        return [Watch(CLOUD_ACCESSES, self.observe), Watch(CLUSTER_CLOUD_ACCESSES, self.observe),
                Watch(SECRETS, self.observe_secret)]

    def observe(self, event_type: str | None, body: dict[str, Any]) -> None:
        key = _key_of(body)
        previous = self._objects.get(key)
        if event_type == "DELETED":
            self._objects.pop(key, None)
            self._written.pop(key, None)
            self.queue.forget(key)
            metrics.forget_resource(key[0], key[1], key[2])
            self._changed(key, "its cloud access was deleted")
            return
        self._objects[key] = body
        if previous is None:
            self.queue.schedule(key, 0.0)
            # Created after resources that name it: those failed (CloudAccessNotFound) and are
            # backing off, up to half an hour; they try again now. (At start-up nothing depends
            # on anything yet, so the initial listing wakes nobody.)
            self._changed(key, "its cloud access was created", only_failing=True)
        elif (previous.get("metadata") or {}).get("generation") != (body.get("metadata") or {}).get("generation"):
            self.queue.schedule(key, 0.0)
            self._changed(key, "its cloud access changed")

    def observe_secret(self, event_type: str | None, secret: dict[str, Any]) -> None:
        """An AccessKey Secret changed: new credentials for every resource using them.

        Only a real change counts: a watch that lists again after a reconnect replays every
        Secret, and waking every token of a healthy access for that would read them all again.
        """
        meta = secret.get("metadata") or {}
        where = (str(meta.get("namespace") or ""), str(meta.get("name")))
        version = str(meta.get("resourceVersion") or "")
        previous = self._secret_versions.get(where)
        if event_type == "DELETED":
            self._secret_versions.pop(where, None)
        else:
            self._secret_versions[where] = version
        for key, body in self._objects.items():
            if where not in _secret_refs(key, body):
                continue
            if event_type != "DELETED" and (previous == version or self._access.uses_secret_version(key, version)):
                continue  # seen before, or what the access's client was already made from
            working = (condition_of(body, READY) or {}).get("status") == "True"
            if event_type != "DELETED" and previous is None and working:
                continue  # first sight (the initial listing) of the Secret of a working access
            self.queue.schedule(key, 0.0)
            # First sight of a Secret: only resources that failed need a new try; one whose
            # first sync is under way reads this very Secret.
            self._changed(key, "the Secret with its AccessKey changed", only_failing=previous is None)

    def _changed(self, key: AccessKey, reason: str, *, only_failing: bool = False) -> None:
        self._access.invalidate(key)
        for dependent in list(self._access.dependents.get(key, ())):
            self._wake_dependent(dependent, reason, only_failing)

    async def reconcile(self, key: AccessKey) -> None:
        body = self._objects.get(key)
        if body is None:
            return
        kind = key[0]
        resource = CLOUD_ACCESSES if kind == "CloudAccess" else CLUSTER_CLOUD_ACCESSES
        meta = body["metadata"]
        now = self._clock.now()
        identity: dict[str, str] | None = None
        eiam_problem: str | None = None
        try:
            try:
                resolved = await self._access.access_client(key)
            except KubeApiError as exc:
                # Reading its Secret or namespace failed (an API server hiccup): try again shortly.
                logger.warning("%s %s: could not read what it needs: %s; retrying in 5s", kind, key[2], exc)
                self.queue.schedule(key, 5.0)
                return
            eiam_problem = resolved.eiam_problem
            reply = await resolved.client.get_caller_identity()
            identity = {"accountId": reply.value.account_id, "arn": reply.value.arn}
            ready, reason, message = True, "Verified", f"credentials work: {reply.value.arn}"
            clears_by_itself = False
        except AccessProblem as problem:
            ready, reason, message = False, problem.reason, problem.message
            clears_by_itself = False
        except CloudError as error:
            ready, reason, message = False, error.reason, str(error)
            clears_by_itself = error.retryable
        if eiam_problem is not None:
            # A spec problem no retry fixes: say it first; what the identity check found follows.
            found = message if ready else f"besides, {message}"
            ready, reason, message = False, "InvalidSpec", f"{eiam_problem}. {found[0].upper()}{found[1:]}"
            clears_by_itself = False
        status: dict[str, Any] = {
            "observedGeneration": meta.get("generation"),
            "identity": identity,
            "conditions": with_ready(
                (body.get("status") or {}).get("conditions"), ready=ready, reason=reason, message=message,
                generation=meta.get("generation"), now=now, clears_by_itself=clears_by_itself,
            ),
        }
        try:
            # An hourly check that finds nothing new writes nothing: no resourceVersion churn
            # and no watch events for every client of this object.
            # The cached body can lag our own last write, so both must agree before skipping.
            last_written = self._written.get(key)
            if not status_unchanged(body, status) or (last_written is not None and last_written != status):
                await patch_status(self._kube, resource, body, status)
                self._written[key] = status
        except KubeApiError as exc:
            if exc.not_found and await self._vanished(resource, key, body):
                return
            logger.warning("%s %s: could not write status: %s", kind, key[2], exc)
            self.queue.schedule(key, 5.0)
            return
        if key not in self._objects:
            return  # deleted while this check ran: no metric series, no reschedule
        metrics.set_resource_ready(kind, key[1], key[2], ready)
        # Working credentials in a region without EIAM: only a spec change (which schedules at once) fixes that.
        settled = ready or (eiam_problem is not None and identity is not None)
        self.queue.schedule(key, self._recheck_seconds if settled else min(300.0, self._recheck_seconds), replace=True)


    async def _vanished(self, resource: Resource, key: AccessKey, body: dict[str, Any]) -> bool:
        """A 404 writing its status: if the object itself is gone, forget it (nobody may use it now)."""
        current = await self._kube.get(resource, key[1] or None, key[2])
        if current is not None and uid_of(current) == uid_of(body):
            return False
        self._gone(resource, key, body, current)
        return True

    def _gone(self, resource: Resource, key: AccessKey, body: dict[str, Any], current: dict[str, Any] | None) -> None:
        logger.info("%s %s: gone (its deletion was not seen on the watch)", key[0], key[2])
        self._access.forget_object(resource, key[1] or None, key[2])
        self.observe("DELETED", body)
        if current is not None:
            self.observe(None, current)

    async def relist(self) -> None:
        """Forget the accesses deleted while no watch could tell (see relist.py): a deleted
        CloudAccess must stop serving the resources that name it."""
        for kind, resource in (("CloudAccess", CLOUD_ACCESSES), ("ClusterCloudAccess", CLUSTER_CLOUD_ACCESSES)):
            known = {key: body for key, body in self._objects.items() if key[0] == kind}
            for key, current in (await find_gone(self._kube, resource, known)).items():
                if uid_of(self._objects.get(key) or {}) == uid_of(known[key]):
                    self._gone(resource, key, known[key], current)


def _namespace_of(key: AccessKey) -> str:
    return key[1]


def _secret_refs(key: AccessKey, body: dict[str, Any]) -> set[tuple[str, str]]:
    auth = ((body.get("spec") or {}).get("auth") or {}).get("accessKey") or {}
    ref = auth.get("secretRef") or {}
    if not ref.get("name"):
        return set()
    namespace = key[1] if key[0] == "CloudAccess" else str(ref.get("namespace") or "")
    return {(namespace, str(ref["name"]))}
