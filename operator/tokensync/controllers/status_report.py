"""How readiness is judged and reported: conditions, status patches, Events.

Status is kstatus-compatible: a ``Ready`` condition in metav1.Condition shape carrying
``observedGeneration`` (what ``kubectl wait --for=condition=Ready`` and Argo CD read), and
beside a False Ready the two conditions kstatus itself reads (Flux's health checks, cli-utils):
``Reconciling`` when the failure clears by itself (throttling, an outage) and ``Stalled`` when
it waits for a person (a bad key, a missing token, a conflict).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tokensync.kube.client import KubeClient
from tokensync.kube.resources import Resource

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def with_condition(
    conditions: list[dict[str, Any]] | None,
    *,
    condition_type: str,
    status: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Set one condition; ``lastTransitionTime`` moves only when its status flips."""
    wanted = "True" if status else "False"
    result: list[dict[str, Any]] = []
    previous = None
    for condition in conditions or []:
        if condition.get("type") == condition_type:
            previous = condition
        else:
            result.append(condition)
    transition = previous.get("lastTransitionTime") if previous and previous.get("status") == wanted else None
    updated: dict[str, Any] = {
        "type": condition_type,
        "status": wanted,
        "reason": reason,
        "message": message[:32768],
        "lastTransitionTime": transition or rfc3339(now),
    }
    if generation is not None:
        updated["observedGeneration"] = generation
    result.insert(0 if condition_type == READY else len(result), updated)
    return result


def with_ready(
    conditions: list[dict[str, Any]] | None,
    *,
    ready: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime,
    clears_by_itself: bool = False,
) -> list[dict[str, Any]]:
    """Set ``Ready`` and the kstatus condition that goes with it.

    Ready=True carries neither ``Reconciling`` nor ``Stalled`` (kstatus: Current). A False Ready
    that a later retry fixes without anyone's help is ``Reconciling`` (kstatus: InProgress, so a
    GitOps health check keeps waiting); one that needs a person is ``Stalled`` (kstatus: Failed).
    """
    updated = with_condition(conditions, condition_type=READY, status=ready, reason=reason, message=message,
                             generation=generation, now=now)
    companion = None if ready else (RECONCILING if clears_by_itself else STALLED)
    updated = [c for c in updated if c.get("type") not in (RECONCILING, STALLED) or c.get("type") == companion]
    if companion is not None:
        updated = with_condition(updated, condition_type=companion, status=True, reason=reason, message=message,
                                 generation=generation, now=now)
    return updated


def condition_of(body: dict[str, Any], condition_type: str) -> dict[str, Any] | None:
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition.get("type") == condition_type:
            return dict(condition)
    return None


def status_unchanged(body: dict[str, Any], status: dict[str, Any]) -> bool:
    """Whether the status in ``body`` already says everything ``status`` would write."""
    current = body.get("status") or {}
    return all(current.get(field) == value for field, value in status.items())


async def patch_status(
    kube: KubeClient, resource: Resource, body: dict[str, Any], status: dict[str, Any]
) -> dict[str, Any]:
    """Merge-patch ``status`` through the status subresource (``None`` values remove fields). The
    uid goes along: the API server refuses the write if the resource was deleted and created
    again under its name meanwhile (a sync's status never lands on its successor)."""
    meta = body["metadata"]
    patch: dict[str, Any] = {"status": status}
    if meta.get("uid"):
        patch["metadata"] = {"uid": meta["uid"]}
    return await kube.patch(resource, meta.get("namespace"), meta["name"], patch, subresource="status")
