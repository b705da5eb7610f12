"""The ApplicationToken sync: decide whether a read is due, then issue and report, or do the idle work."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.cloud.errors import CloudError
from tokensync.controllers.access_resolver import AccessProblem, summarize_validation_error
from tokensync.controllers.finalizers import CLEANUP_FINALIZER, set_finalizer
from tokensync.controllers.renewal_policy import (
    RenewalSettings,
    current_token_id,
    rotation_conflict,
    wants_finalizer,
)
from tokensync.controllers.status_report import parse_rfc3339
from tokensync.controllers.synced_resource import (
    Key,
)
from tokensync.controllers.target_writer import (
    Owner,
    has_drifted,
    merge_cleanup_wanted,
)
from tokensync.controllers.token_secret import CachedToken
from tokensync.kube.resources import SECRETS

from .base import earliest, explained, refresh_policy
from .deletion import DeletionMixin
from .issuing import IssuingMixin, RenewalSpecProblem
from .reporting import ReportingMixin, pending_restarts

logger = logging.getLogger(__name__)

class ApplicationTokenController(ReportingMixin, IssuingMixin, DeletionMixin):
    """One sync: the trigger (is a read due?), then issuing, then reporting; or idle work."""

    async def sync(self, key: Key, body: dict[str, Any], started: float) -> None:
        meta = body["metadata"]
        status: dict[str, Any] = dict(body.get("status") or {})
        now = self.clock.now()
        try:
            spec = ApplicationTokenSpec.model_validate(body.get("spec") or {})
            policy = refresh_policy(spec, self.defaults)
        except (ValidationError, ValueError) as exc:
            detail = summarize_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            await self.fail(key, body, reason="InvalidSpec", message=f"invalid spec: {detail}", retryable=False,
                            transient=False, started=started)
            return
        settings = RenewalSettings.from_spec(spec)
        conflict = rotation_conflict(self.claims.of(key), self.claims.rivals(key))
        if conflict is not None:
            # Retried with backoff, and woken when the other resource lets go of the token.
            await self.fail(key, body, reason="InvalidSpec", message=conflict, retryable=True, transient=False,
                            started=started)
            return

        # Before anything Rotate may create: the deletion then waits until it is retired.
        cleanup = (wants_finalizer(settings.strategy, spec.application_token_id, status)
                   or merge_cleanup_wanted(spec.secret.creation_policy, spec.secret.deletion_policy))
        updated = await set_finalizer(self.kube, self.resource, body, CLEANUP_FINALIZER, wanted=cleanup)
        if updated is not None and key in self.objects:
            self.objects[key] = body = updated
        owner = Owner.from_body(body)
        secret_name = spec.secret.name if spec.secret and spec.secret.name else meta["name"]
        # Before its first success a resource's Secret is most likely not there yet: create it
        # and read it only if that meets one (a request less per new resource; see _write).
        unread = not status.get("secretName") and spec.secret.creation_policy != "Merge"
        existing = None if unread else await self.kube.get(SECRETS, key[0], secret_name)
        drifted = has_drifted(existing, owner, is_secret=True)
        cached = self._tokens.get(key)
        if cached is not None and cached.fingerprint != status.get("tokenHash"):
            cached = None  # older than what status says was written last

        due = self.forced.pop(key, None) or self.read_due(body, now=now, target_missing=drifted and cached is None)
        if due is None and status.get("pendingRotation"):
            due = "a rotation to finish"
        if due is None:
            await self._idle(key, body, spec, settings, owner, secret_name, existing, drifted, cached, started, now)
            return

        logger.info("ApplicationToken %s/%s: reading the token (%s)", key[0], key[1], due)
        try:
            access = await self.access.resolve(key[0], spec.cloud_access_ref, dependent=(self.kind, key),
                                              service="eiam")
            fetched = await self._fetch(key, body, spec, settings, policy, access.client, now)
        except AccessProblem as problem:
            await self.fail(key, body, reason=problem.reason, message=problem.message, retryable=True,
                            transient=False, started=started)
            return
        except RenewalSpecProblem as problem:
            await self.fail(key, body, reason="InvalidSpec", message=f"invalid spec: {problem}", retryable=False,
                            transient=False, started=started)
            return
        except CloudError as error:
            token_id = current_token_id(spec.application_token_id, self._status(key, body))
            await self.fail(key, body, reason=error.reason, retryable=True,
                            message=explained(error, spec.instance_id, spec.application_id, token_id),
                            transient=error.retryable, started=started,
                            retry_after=timedelta(seconds=error.retry_after) if error.retry_after else None)
            return
        await self._report(key, body, spec, settings, policy, owner, secret_name, existing, unread, fetched,
                           access.client, started)

    async def _idle(
        self, key: Key, body: dict[str, Any], spec: ApplicationTokenSpec, settings: RenewalSettings, owner: Owner,
        secret_name: str, existing: dict[str, Any] | None, drifted: bool, cached: CachedToken | None,
        started: float, now: datetime,
    ) -> None:
        """No read is due: repair a drifted Secret from memory, finish owed restarts and retirements."""
        status: dict[str, Any] = dict(body.get("status") or {})
        if drifted and cached is not None:
            written = await self._write(key, body, spec, owner, secret_name, existing, cached.token, started,
                                        repair=True)
            if written is not None and written.rotated:
                await self.events.post(body, "Normal", "Rotated", f"the token in Secret {secret_name} changed")
        pending = pending_restarts(spec, status, rotated=False)
        rotated_at = parse_rfc3339(status.get("lastRotationTime")) or now
        next_read = parse_rfc3339(status.get("nextRefreshTime"))
        self.publish_metrics(key, body)
        wake, owed = await self._settle_restarts(key, body, pending, rotated_at, next_read, now)
        if status.get("retiringTokens"):
            wake = earliest(wake, await self._settle_retirements(key, body, settings, None, restarts_owed=owed,
                                                                  next_read=next_read))
        self.schedule_at(key, wake)
