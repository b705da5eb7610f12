"""What a watch that re-listed cannot tell: which known objects were deleted meanwhile.

kopf re-lists after a 410 and emits only the objects still there; a deletion that fell into
that gap is never delivered (client-go's informers turn such a gap into a delete, kopf does
not). So the controllers compare what they hold with a fresh LIST now and then, and confirm
each missing object with a GET before forgetting it (it may have been created after the LIST).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, TypeVar

from tokensync.kube.client import KubeClient
from tokensync.kube.resources import Resource

K = TypeVar("K", bound=Hashable)


def uid_of(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("uid") or "")


async def find_gone(kube: KubeClient, resource: Resource, known: Mapping[K, dict[str, Any]]
                    ) -> dict[K, dict[str, Any] | None]:
    """The known objects that are no longer there: key -> None (deleted), or the object that now
    has that name (deleted and created again: another uid). One LIST per namespace held."""
    by_namespace: dict[str, list[tuple[K, dict[str, Any]]]] = {}
    for key, body in known.items():
        namespace = str((body.get("metadata") or {}).get("namespace") or "")
        by_namespace.setdefault(namespace, []).append((key, body))
    gone: dict[K, dict[str, Any] | None] = {}
    for namespace, entries in by_namespace.items():
        listed = {uid_of(item) for item in await kube.list(resource, namespace or None)}
        for key, body in entries:
            if uid_of(body) in listed:
                continue
            meta = body.get("metadata") or {}
            current = await kube.get(resource, namespace or None, str(meta.get("name")))
            if current is None or uid_of(current) != uid_of(body):
                gone[key] = current
    return gone
