"""Kubernetes Events on the resources tokensync manages (what `kubectl describe` shows).

kopf 1.44+ no longer turns log lines into Events, so tokensync posts its own, correlated the way
client-go's EventCorrelator does it:

* A repeat on the same object with the same type, reason and message bumps the existing Event's
  count (and takes the newest message) instead of creating a new one. Messages are compared
  without their volatile parts (RequestIds, RFC 3339 times), so a failure that repeats with a new
  RequestId and a new "next attempt" time is one Event with a growing count.
* Each object may create at most ``BURST`` new Event objects, then one more per ``REFILL``
  (client-go's spam filter: 25, then one per 5 minutes); count bumps are not limited.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any, Literal

from tokensync.clock import Clock
from tokensync.kube.client import KubeClient
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import EVENTS

logger = logging.getLogger(__name__)

EventType = Literal["Normal", "Warning"]
_COMPONENT = "tokensync"
_REMEMBERED = 10_000
BURST = 25
REFILL = timedelta(minutes=5)
_VOLATILE = re.compile(r"RequestId: [^,;)\s]+|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def correlation_key(message: str) -> str:
    """The message as events are told apart: RequestIds and times left out."""
    return _VOLATILE.sub("…", message)


class _Bucket:
    """client-go's per-object token bucket: ``BURST`` at first, one more per ``REFILL``."""

    def __init__(self, now: datetime) -> None:
        self.tokens, self.at = float(BURST), now

    def take(self, now: datetime) -> bool:
        self.tokens = min(float(BURST), self.tokens + (now - self.at) / REFILL)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class EventRecorder:
    def __init__(self, kube: KubeClient, clock: Clock) -> None:
        self._kube = kube
        self._clock = clock
        # (uid, type, reason, message without volatile parts) -> (event name, count).
        self._recent: OrderedDict[tuple[str, str, str, str], tuple[str, int]] = OrderedDict()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # uid -> its spam filter

    async def post(self, involved: dict[str, Any], event_type: EventType, reason: str, message: str) -> None:
        """Post an Event; failures are logged, never raised: an Event is never worth a failed sync."""
        meta = involved.get("metadata", {})
        namespace = meta.get("namespace") or "default"
        uid = str(meta.get("uid", ""))
        moment = self._clock.now()
        now = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        key = (uid, event_type, reason, correlation_key(message))
        try:
            if key in self._recent:
                name, count = self._recent.pop(key)
                await self._kube.patch(EVENTS, namespace, name, {"count": count + 1, "lastTimestamp": now,
                                                                 "message": message[:1024]})
                self._recent[key] = (name, count + 1)
                return
            if not self._bucket(uid, moment).take(moment):
                logger.debug("Event %s on %s/%s dropped: too many Events for one object", reason, namespace,
                             meta.get("name"))
                return
            name = f"{meta.get('name', 'unknown')}.{secrets.token_hex(8)}"
            await self._kube.create(
                EVENTS,
                namespace,
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": name, "namespace": namespace},
                    "involvedObject": {
                        "apiVersion": involved.get("apiVersion"),
                        "kind": involved.get("kind"),
                        "name": meta.get("name"),
                        "namespace": meta.get("namespace"),
                        "uid": uid,
                        "resourceVersion": meta.get("resourceVersion"),
                    },
                    "type": event_type,
                    "reason": reason,
                    "message": message[:1024],
                    "source": {"component": _COMPONENT},
                    "reportingComponent": _COMPONENT,
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "count": 1,
                },
            )
            self._recent[key] = (name, 1)
            while len(self._recent) > _REMEMBERED:
                self._recent.popitem(last=False)
        except KubeApiError as exc:
            self._recent.pop(key, None)  # gone (expired by the API server?): the next one creates anew
            logger.warning("could not post Event %s on %s/%s: %s", reason, namespace, meta.get("name"), exc)

    def _bucket(self, uid: str, now: datetime) -> _Bucket:
        bucket = self._buckets.pop(uid, None) or _Bucket(now)
        self._buckets[uid] = bucket
        while len(self._buckets) > _REMEMBERED:
            self._buckets.popitem(last=False)
        return bucket
