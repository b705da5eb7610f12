"""What a deleted ApplicationToken leaves behind: tokens retired, merged keys removed, then the finalizer."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.cloud.errors import CloudError
from tokensync.controllers.access_resolver import AccessProblem
from tokensync.controllers.finalizers import CLEANUP_FINALIZER, has_finalizer, set_finalizer
from tokensync.controllers.renewal_policy import (
    Release,
    RenewalSettings,
    release_at_deletion,
)
from tokensync.controllers.status_report import rfc3339
from tokensync.controllers.synced_resource import (
    Key,
)
from tokensync.controllers.target_writer import (
    Owner,
    merge_cleanup_wanted,
    remove_merged,
    target_outlives,
)
from tokensync.controllers.token_renewal import Retired, TokenRenewal
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import NAMESPACES, SECRETS

from .base import RETIRE_RETRY, ApplicationTokenBase, explained, status_secret

logger = logging.getLogger(__name__)

class DeletionMixin(ApplicationTokenBase):
    """A deleted resource: retire what it made or replaced, remove merged keys, drop the finalizer."""

    async def finalize(self, key: Key, body: dict[str, Any]) -> None:
        """Deleted: retire the tokens it made or replaced, remove the keys it merged into someone's
        Secret (unless Retain), then remove the finalizer."""
        if not has_finalizer(body, CLEANUP_FINALIZER):
            return
        spec = _spec_for_cleanup(body)
        if spec is not None:
            if not await self._release_tokens(key, body, spec):
                return  # retried later; the deletion waits
            if merge_cleanup_wanted(spec.secret.creation_policy, spec.secret.deletion_policy):
                name = spec.secret.name or body["metadata"]["name"]
                if await remove_merged(self.kube, Owner.from_body(body), SECRETS, name):
                    await self.events.post(body, "Normal", "Synced", f"removed its keys from Secret {name}")
        try:
            # The latest copy: the release may have written status since (a stale resourceVersion is a 409).
            await set_finalizer(self.kube, self.resource, self.objects.get(key) or body, CLEANUP_FINALIZER,
                                wanted=False)
        except KubeApiError as exc:
            if not exc.not_found:
                raise

    async def _release_tokens(self, key: Key, body: dict[str, Any], spec: ApplicationTokenSpec) -> bool:
        """Retire what the deleted resource made or replaced; the token kept is the one a Secret
        that really outlives it holds (read now: the spec may have changed since it was written).
        False: retried with backoff while the deletion waits. Only a cloud access that is gone (a
        namespace being deleted takes its CloudAccess along) lets the deletion go without it: then
        the tokens are named in a Warning and left."""
        owner = Owner.from_body(body)
        secret = await self.kube.get(SECRETS, key[0], status_secret(body))
        keys_removed = merge_cleanup_wanted(spec.secret.creation_policy, spec.secret.deletion_policy)
        release = release_at_deletion(spec.application_token_id, body.get("status") or {},
                                      secret_outlives=target_outlives(secret, owner, keys_removed=keys_removed),
                                      held=self.claims.held_by_others(key, waiting_too=True))
        if release.kept:
            await self.events.post(body, "Normal", "Retired", f"token {release.kept} is kept: Secret "
                                   f"{status_secret(body)} outlives this resource and holds it")
        if not release:
            return True
        try:
            await self._release(key, body, spec, release)
        except AccessProblem as problem:
            if problem.reason == "CloudAccessNotFound" or await self._namespace_terminating(key[0]):
                await self.events.post(body, "Warning", "RenewalFailed",
                                       f"cannot retire the tokens this resource made or replaced: {problem.message}; "
                                       f"they are left in IDaaS instance {spec.instance_id}, application "
                                       f"{spec.application_id}: {_release_text(release)}")
                return True
            return await self._release_later(key, body, release, problem.message, None)
        except CloudError as error:
            why = explained(error, spec.instance_id, spec.application_id, None)
            return await self._release_later(key, body, release, why, error.retry_after)
        return True

    async def _release_later(self, key: Key, body: dict[str, Any], release: Release, why: str,
                             retry_after: float | None) -> bool:
        failures = self._release_failures.get(key, 0)
        self._release_failures[key] = failures + 1
        wait = min(RETIRE_RETRY * 2 ** min(failures, 20), self.defaults.max_backoff)
        if retry_after:
            wait = max(wait, timedelta(seconds=retry_after))
        await self.events.post(body, "Warning", "RenewalFailed",
                               f"could not retire the tokens this resource made or replaced: {why}; its deletion "
                               f"waits (next attempt {rfc3339(self.clock.now() + wait)}; remove finalizer "
                               f"{CLEANUP_FINALIZER} to leave {_release_text(release)})")
        self.queue.schedule(key, wait.total_seconds(), replace=True)
        return False

    async def _namespace_terminating(self, namespace: str) -> bool:
        found = await self.kube.get(NAMESPACES, None, namespace)
        return found is None or bool((found.get("metadata") or {}).get("deletionTimestamp"))

    async def _release(self, key: Key, body: dict[str, Any], spec: ApplicationTokenSpec, release: Release) -> None:
        access = await self.access.resolve(key[0], spec.cloud_access_ref, dependent=(self.kind, key), service="eiam")
        renewal = TokenRenewal(access.client, instance_id=spec.instance_id, application_id=spec.application_id)

        async def record(fields: dict[str, Any]) -> None:
            await self.write_status(key, body, fields)

        async def announce(retired: Retired) -> None:
            logger.info("ApplicationToken %s/%s: token %s %s", key[0], key[1], retired.token_id, retired.how)
            await self.events.post(body, "Normal", "Retired", f"token {retired.token_id}: {retired.how}")

        await renewal.release(release, how=RenewalSettings.from_spec(spec).retire,
                              known_ids=self.claims.known_token_ids(), now=self.clock.now(), record=record,
                              announce=announce)


def _spec_for_cleanup(body: dict[str, Any]) -> ApplicationTokenSpec | None:
    """The spec as far as it can still be read: a field the operator refuses (one the CRD let
    through, e.g. renewal.lifetime 0s) is dropped, so that a deletion can still retire what the
    resource made when its spec was valid. None without a readable instance and application."""
    spec = dict(body.get("spec") or {})
    for _ in range(5):
        try:
            return ApplicationTokenSpec.model_validate(spec)
        except ValidationError as exc:
            for error in exc.errors():
                if not _drop_field(spec, [str(part) for part in error["loc"]]):
                    return None
    return None


def _drop_field(spec: dict[str, Any], path: list[str]) -> bool:
    """Remove the field at ``path`` (an optional one); False when it is required or not found."""
    if not path or path[0] in ("instanceId", "applicationId"):
        return False
    node: Any = spec
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node[part] = dict(node[part]) if isinstance(node[part], dict) else node[part]
        node = node[part]
    if not isinstance(node, dict) or path[-1] not in node:
        return len(path) > 1 and _drop_field(spec, path[:-1])
    del node[path[-1]]
    return True


def _release_text(release: Release) -> str:
    parts = [f"token {token_id}" for token_id in release.retire]
    if release.creates:
        parts.append(f"any token of {len(release.creates)} create(s) whose answer was lost")
    return ", ".join(parts)
