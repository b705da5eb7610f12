"""Restarting workloads when the token they read changes (like `kubectl rollout restart`).

Each restart is recorded on the workload itself (the pod template annotation that makes it roll),
so a restart that already happened for a rotation is recognised after a failure or an operator
restart and not done twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tokensync.controllers.status_report import parse_rfc3339, rfc3339
from tokensync.kube.client import KubeClient
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import WORKLOADS

logger = logging.getLogger(__name__)

RESTARTED_AT_ANNOTATION = "tokensync.dev/restartedAt"


@dataclass(frozen=True)
class RestartResult:
    kind: str
    name: str
    error: str | None = None
    retry: bool = False  # the error may pass (5xx, 409, 429, no connection): try again later
    already_done: bool = False  # restarted at or after the rotation: nothing was patched

    @property
    def restarted(self) -> bool:
        return self.error is None and not self.already_done


def restarted_at(workload: dict[str, object]) -> datetime | None:
    spec = workload.get("spec")
    template = spec.get("template") if isinstance(spec, dict) else None
    metadata = template.get("metadata") if isinstance(template, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    value = annotations.get(RESTARTED_AT_ANNOTATION) if isinstance(annotations, dict) else None
    return parse_rfc3339(value) if isinstance(value, str) else None


async def restart_workloads(
    kube: KubeClient, namespace: str, targets: Iterable[tuple[str, str]], *, rotated_at: datetime, now: datetime
) -> list[RestartResult]:
    """Patch each target's pod template annotation, which makes its controller roll the pods,
    unless it was already restarted at or after ``rotated_at``."""
    results: list[RestartResult] = []
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: rfc3339(now)}}}}}
    for kind, name in targets:
        try:
            workload = await kube.get(WORKLOADS[kind], namespace, name)
            if workload is None:
                # Nothing runs the old token; once created, its pods read the current Secret.
                results.append(RestartResult(kind, name, "not found"))
                continue
            last = restarted_at(workload)
            if last is not None and last >= rotated_at.replace(microsecond=0):
                results.append(RestartResult(kind, name, already_done=True))
                continue
            await kube.patch(WORKLOADS[kind], namespace, name, patch)
            results.append(RestartResult(kind, name))
        except KubeApiError as exc:
            reason = "not found" if exc.not_found else f"{exc.status} {exc.reason}"
            retry = exc.status == 0 or (exc.retryable and not exc.not_found)
            if exc.status == 403:
                # The chart grants this only on request; retried, so that granting it is enough.
                reason += (f": tokensync may not get and patch {kind}s in namespace {namespace}; rollout restarts "
                           "are opt-in: install the chart with rbac.rolloutRestart.enabled=true (or restart it "
                           "yourself)")
                retry = True
            logger.warning("could not restart %s %s/%s: %s", kind, namespace, name, reason)
            results.append(RestartResult(kind, name, reason, retry=retry))
    return results
