"""Kubernetes Events on the resources tokensync manages (what `kubectl describe` shows).

kopf 1.44+ no longer turns log lines into Events, so tokensync posts its own. A repeat of
the same reason and message on the same object bumps the existing Event's count instead of
creating a new one, like the kubelet and controller-runtime do.
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from typing import Any, Literal

from tokensync.clock import Clock
from tokensync.kube.client import KubeClient
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import EVENTS

logger = logging.getLogger(__name__)

EventType = Literal["Normal", "Warning"]
_COMPONENT = "tokensync"
_REMEMBERED = 10_000


class EventRecorder:
    def __init__(self, kube: KubeClient, clock: Clock) -> None:
        self._kube = kube
        self._clock = clock
        # (uid, type, reason, message) -> (event name, count): for count bumps on repeats.
        self._recent: OrderedDict[tuple[str, str, str, str], tuple[str, int]] = OrderedDict()

    async def post(self, involved: dict[str, Any], event_type: EventType, reason: str, message: str) -> None:
        """Post an Event; failures are logged, never raised: an Event is never worth a failed sync."""
        meta = involved.get("metadata", {})
        namespace = meta.get("namespace") or "default"
        uid = str(meta.get("uid", ""))
        now = self._clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        key = (uid, event_type, reason, message)
        try:
            if key in self._recent:
                name, count = self._recent.pop(key)
                await self._kube.patch(EVENTS, namespace, name, {"count": count + 1, "lastTimestamp": now})
                self._recent[key] = (name, count + 1)
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
            self._recent.pop(key, None)
            logger.warning("could not post Event %s on %s/%s: %s", reason, namespace, meta.get("name"), exc)
