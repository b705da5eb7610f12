"""Setting and removing one finalizer of tokensync's on a resource, and nothing else of its metadata.

A merge patch replaces the whole ``finalizers`` list, so it carries the resourceVersion it was
computed from: a finalizer another controller added meanwhile makes it a 409 (retried by the
caller) instead of being dropped.
"""

from __future__ import annotations

from typing import Any

from tokensync.kube.client import KubeClient
from tokensync.kube.resources import Resource

# Held on an ApplicationToken while its deletion has work to do: retire the tokens it made or
# replaced (Rotate), remove the keys it merged into someone's Secret (Merge). ESO's ExternalSecret
# and PushSecret hold theirs the same way.
CLEANUP_FINALIZER = "tokensync.dev/cleanup"


def has_finalizer(body: dict[str, Any], finalizer: str) -> bool:
    return finalizer in ((body.get("metadata") or {}).get("finalizers") or [])


async def set_finalizer(
    kube: KubeClient, resource: Resource, body: dict[str, Any], finalizer: str, *, wanted: bool
) -> dict[str, Any] | None:
    """Add or remove ``finalizer``; the updated object, or None when nothing had to change.
    Never added to an object being deleted (the API server refuses that)."""
    meta = body.get("metadata") or {}
    present = list(meta.get("finalizers") or [])
    if (finalizer in present) == wanted or (wanted and meta.get("deletionTimestamp")):
        return None
    finalizers = [*present, finalizer] if wanted else [f for f in present if f != finalizer]
    patch = {"metadata": {"finalizers": finalizers or None, "resourceVersion": meta.get("resourceVersion")}}
    return await kube.patch(resource, meta.get("namespace"), str(meta.get("name")), patch)
