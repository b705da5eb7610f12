"""Restarting workloads when the token they read changes (like `kubectl rollout restart`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

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


async def restart_workloads(
    kube: KubeClient, namespace: str, targets: Iterable[tuple[str, str]], restarted_at: str
) -> list[RestartResult]:
    """Patch each target's pod template annotation, which makes its controller roll the pods."""
    results: list[RestartResult] = []
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: restarted_at}}}}}
    for kind, name in targets:
        try:
            await kube.patch(WORKLOADS[kind], namespace, name, patch)
            results.append(RestartResult(kind, name))
        except KubeApiError as exc:
            reason = "not found" if exc.not_found else f"{exc.status} {exc.reason}"
            logger.warning("could not restart %s %s/%s: %s", kind, namespace, name, reason)
            results.append(RestartResult(kind, name, reason))
    return results
