"""After a read: write the Secret, restart workloads, judge readiness, report status and Events."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.cloud.client import CloudClient
from tokensync.cloud.models import ApplicationToken
from tokensync.controllers.refresh_plan import (
    RefreshPlan,
    RefreshPolicy,
    plan_after_failure,
)
from tokensync.controllers.renewal_policy import (
    RAM_ACTIONS,
    RenewalSettings,
    duration_text,
    retiring_as_status,
)
from tokensync.controllers.rollout import restart_workloads
from tokensync.controllers.status_report import parse_rfc3339, rfc3339, with_ready
from tokensync.controllers.synced_resource import (
    Key,
    force_sync_value,
    jitter_key,
    ready_status,
)
from tokensync.controllers.target_writer import (
    Owner,
    TargetConflict,
    TargetRefused,
    write_target,
)
from tokensync.controllers.templates import TemplateError
from tokensync.controllers.token_secret import CachedToken, desired_secret, token_fingerprint
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import SECRETS
from tokensync.runtime import metrics

from .base import RESTART_RETRY, earliest, token_status_fields
from .issuing import Fetched, renewal_failure_text
from .retirement import RetirementMixin

logger = logging.getLogger(__name__)

class ReportingMixin(RetirementMixin):
    """After a read: the Secret, restarts, status and readiness, Events, and when to look again."""

    async def _report(
        self, key: Key, body: dict[str, Any], spec: ApplicationTokenSpec, settings: RenewalSettings,
        policy: RefreshPolicy, owner: Owner, secret_name: str, existing: dict[str, Any] | None, unread: bool,
        fetched: Fetched, client: CloudClient, started: float,
    ) -> None:
        """After a read (and renewal): the Secret, status, restarts, retirements, Events, metrics."""
        # What this sync acted on: the generation and force-sync of the body it started from (a
        # newer spec that arrived meanwhile is the next sync's); status as written while renewing.
        meta = body["metadata"]
        status = self._status(key, body)
        token, skew, now = fetched.token, fetched.skew, self.clock.now()
        fields = {
            **token_status_fields(token),
            "applicationTokenId": fetched.token_id,
            "specApplicationTokenId": spec.application_token_id,
            "renewalLifetime": None if settings.lifetime else duration_text(fetched.lifetime),
            "retiringTokens": retiring_as_status(fetched.retiring),
        }
        renewal_failed = renewal_failure_text(fetched, spec)
        if token.status.lower() == "disabled":
            await self.fail(key, body, reason="TokenDisabled", event_reason="TokenDisabled", extra=fields,
                            message=f"application token {fetched.token_id} is disabled in IDaaS instance "
                                    f"{spec.instance_id}; the last Secret is kept (enable the token to resume)",
                            retryable=True, transient=False, started=started)
            return
        if token.expiration_time <= now + skew:
            await self.fail(key, body, reason="TokenExpired", event_reason="TokenExpired", extra=fields,
                            message=f"application token {fetched.token_id} expired at "
                                    f"{rfc3339(token.expiration_time)}; the last Secret is kept "
                                    + (renewal_failed or expired_advice(settings)),
                            # A renewal that failed for a passing reason (throttling, an outage) is
                            # retried soon: the Secret already holds an expired token.
                            retryable=True, started=started,
                            transient=fetched.renewal_error is not None and fetched.renewal_error.retryable,
                            expiration_time=token.expiration_time - skew)
            return

        written = await self._write(key, body, spec, owner, secret_name, existing, token, started, repair=False,
                                    unread=unread)
        if written is None:
            return
        plan, next_read = fetched.plan, fetched.plan.next_read
        attempts = 0
        if fetched.renewal_error is not None:
            error = fetched.renewal_error
            attempts = int(status.get("failedAttempts") or 0) + 1
            next_read = plan_after_failure(
                failed_attempts=attempts, transient=error.retryable, retryable=True,
                retry_after=timedelta(seconds=error.retry_after) if error.retry_after else None,
                expiration_time=token.expiration_time, policy=policy, now=now, jitter_key=jitter_key(body),
                clock_skew=skew,
            ).next_read
        ready_message = (f"Secret {secret_name} holds token {fetched.token_id}; it expires at "
                         f"{rfc3339(token.expiration_time)}; next read {rfc3339(next_read)} ({plan.why})")
        if renewal_failed is not None:
            ready_message = (f"Secret {secret_name} holds token {fetched.token_id}, valid until "
                             f"{rfc3339(token.expiration_time)}, but its renewal failed: {renewal_failed}; "
                             f"next attempt {rfc3339(next_read)}")
        new_status: dict[str, Any] = {
            **fields,
            "observedGeneration": meta.get("generation"),
            "secretName": secret_name,
            "lastSyncTime": rfc3339(now),
            "nextRefreshTime": rfc3339(next_read),
            "failedAttempts": attempts,
            "tokenHash": written.fingerprint,
            "lastForceSync": force_sync_value(body),
            "conditions": with_ready(status.get("conditions"), ready=True, reason="Synced", message=ready_message,
                                     generation=meta.get("generation"), now=now),
        }
        if fetched.renewed is not None:
            new_status["lastRenewalTime"] = rfc3339(now)
        if written.rotated or not status.get("lastRotationTime"):
            new_status["lastRotationTime"] = rfc3339(now)
        # Recorded before restarting, so that a restart cut short by a failure or an operator
        # stop is finished by a later sync, and one already done is recognised (rollout.py).
        pending = pending_restarts(spec, status, rotated=written.rotated)
        new_status["pendingRolloutRestarts"] = restarts_as_status(pending)
        was_ready = ready_status(body) == "True"
        await self.write_status(key, body, new_status)
        await self._post_renewal_events(body, spec, settings, secret_name, fetched, written)
        if not was_ready:
            await self.events.post(body, "Normal", "Synced", f"Secret {secret_name} holds the token "
                                   f"{fetched.token_id}; next read {rfc3339(next_read)}")
        rotated_at = parse_rfc3339(new_status.get("lastRotationTime") or status.get("lastRotationTime")) or now
        wake, owed = await self._settle_restarts(key, body, pending, rotated_at, next_read, now)
        wake = earliest(wake, await self._settle_retirements(key, body, settings, client, restarts_owed=owed,
                                                              next_read=next_read))
        if settings.strategy == "None" and plan.renew_at is not None and plan.renew_at <= now:
            await self._warn_expiring(key, body, token, plan, written.fingerprint)
        metrics.record_sync(self.kind, "success", time.perf_counter() - started)
        self._renew_by[key] = plan.renew_at
        self.publish_metrics(key, self.objects.get(key) or body)
        self.schedule_at(key, wake)

    async def _post_renewal_events(
        self, body: dict[str, Any], spec: ApplicationTokenSpec, settings: RenewalSettings, secret_name: str,
        fetched: Fetched, written: Written,
    ) -> None:
        token = fetched.token
        if fetched.renewed == "extend":
            await self.events.post(body, "Normal", "Extended",
                                   f"extended token {fetched.token_id}: it now expires at "
                                   f"{rfc3339(token.expiration_time)} (lifetime {duration_text(fetched.lifetime)})")
        rotated = fetched.rotated
        if rotated is not None and rotated.replaced:
            how = {"Keep": "kept", "Disable": "disabled", "Delete": "disabled and deleted"}[settings.retire]
            await self.events.post(body, "Normal", "Rotated",
                                   f"token {rotated.token_id} replaces {rotated.replaced} in Secret {secret_name}; "
                                   f"{rotated.replaced} is {how} {spec.renewal.retire_after} after the rollout "
                                   "restarts")
        elif rotated is not None:
            await self.events.post(body, "Normal", "Rotated",
                                   f"created token {rotated.token_id}; Secret {secret_name} holds it")
        elif written.rotated:
            await self.events.post(body, "Normal", "Rotated",
                                   f"the token in Secret {secret_name} changed (now token {fetched.token_id})")
        if fetched.renewal_error is not None:
            await self.events.post(body, "Warning", "RenewalFailed",
                                   f"{renewal_failure_text(fetched, spec)}; the Secret keeps token "
                                   f"{fetched.token_id}, valid until {rfc3339(token.expiration_time)}")

    async def _warn_expiring(
        self, key: Key, body: dict[str, Any], token: ApplicationToken, plan: RefreshPlan, fingerprint: str
    ) -> None:
        """renewal.strategy None: say once per token that it is past its renewal moment. Kept in
        memory: an operator restart in that window may say it once more."""
        if self._expiring_warned.get(key) == fingerprint or plan.renew_at is None:
            return
        self._expiring_warned[key] = fingerprint
        await self.events.post(
            body, "Warning", "TokenExpiring",
            f"the token expires at {rfc3339(token.expiration_time)} and renewal.strategy is None: nobody renews it "
            f"(renewal was due {rfc3339(plan.renew_at)}); next read {rfc3339(plan.next_read)}",
        )

    async def _write(
        self,
        key: Key,
        body: dict[str, Any],
        spec: ApplicationTokenSpec,
        owner: Owner,
        secret_name: str,
        existing: dict[str, Any] | None,
        token: ApplicationToken,
        started: float,
        *,
        repair: bool,
        unread: bool = False,
    ) -> Written | None:
        """Write the Secret; None after reporting a failure (the last Secret is kept)."""
        try:
            desired = desired_secret(spec, secret_name, token)
        except TemplateError as exc:
            await self.fail(key, body, reason="InvalidSpec", message=f"{exc}; the last Secret is kept",
                            retryable=False, transient=False, started=started)
            return None
        self.ensure_current(key, body)  # never the Secret of a successor under the same name
        try:
            try:
                outcome = await write_target(self.kube, owner, desired, existing, self.writer_alive(key[0]))
            except KubeApiError as exc:
                if not (unread and exc.conflict):
                    raise
                existing = await self.kube.get(SECRETS, key[0], secret_name)  # it was there after all
                outcome = await write_target(self.kube, owner, desired, existing, self.writer_alive(key[0]))
        except TargetConflict as conflict:
            await self.fail(key, body, reason="SecretConflict", event_reason="SecretConflict", message=str(conflict),
                            retryable=True, transient=False, started=started)
            return None
        except TargetRefused as refused:
            message = str(refused).replace(token.token.get_secret_value(), "<redacted>")
            await self.fail(key, body, reason="InvalidSpec", message=f"{message}; the last Secret is kept",
                            retryable=False, transient=False, started=started)
            return None
        fingerprint = token_fingerprint(owner.uid, token.token)
        previous = (body.get("status") or {}).get("tokenHash")
        rotated = previous is not None and previous != fingerprint
        self._tokens[key] = CachedToken(token, fingerprint)
        if repair and outcome.written:
            logger.info("ApplicationToken %s/%s: restored Secret %s (deleted or edited)", key[0], key[1], secret_name)
            await self.events.post(body, "Normal", "Synced", f"restored Secret {secret_name}: it was deleted or edited")
        # Not only when this sync wrote the Secret: a sync stopped between the write and the
        # status left status with the old tokenHash, and the new value must still be announced.
        return Written(fingerprint, rotated)

    async def _settle_restarts(
        self, key: Key, body: dict[str, Any], pending: list[tuple[str, str]], rotated_at: datetime,
        next_read: datetime | None, now: datetime,
    ) -> tuple[datetime | None, bool]:
        """Restart what is owed and record what is left; when to look next, and whether any is still owed."""
        if not pending:
            return next_read, False
        remaining = await self._restart_workloads(key, body, pending, rotated_at=rotated_at)
        if remaining != pending:
            await self.write_status(key, body, {"pendingRolloutRestarts": restarts_as_status(remaining)})
        if not remaining:
            return next_read, False
        return earliest(next_read, now + RESTART_RETRY), True

    async def _restart_workloads(
        self, key: Key, body: dict[str, Any], targets: list[tuple[str, str]], *, rotated_at: datetime
    ) -> list[tuple[str, str]]:
        """Restart the targets not yet restarted since ``rotated_at``; returns those to retry."""
        remaining: list[tuple[str, str]] = []
        results = await restart_workloads(self.kube, key[0], targets, rotated_at=rotated_at, now=self.clock.now())
        for result in results:
            if result.restarted:
                metrics.record_rollout_restart()
                await self.events.post(body, "Normal", "RolloutRestarted",
                                       f"restarted {result.kind} {result.name}: the token changed")
            elif result.error is not None:
                then = f"retrying in {int(RESTART_RETRY.total_seconds())}s" if result.retry else "not retried"
                await self.events.post(body, "Warning", "SyncFailed",
                                       f"could not restart {result.kind} {result.name}: {result.error} ({then})")
                if result.retry:
                    remaining.append((result.kind, result.name))
        return remaining


def expired_advice(settings: RenewalSettings) -> str:
    if settings.strategy == "None":
        return ("(renewal.strategy is None: extend the token in IDaaS, or set renewal.strategy Extend or Rotate; "
                "tokensync keeps checking)")
    needed = ", ".join(RAM_ACTIONS[settings.strategy])
    return f"(tokensync keeps trying to renew it; it needs RAM actions {needed})"


def pending_restarts(spec: ApplicationTokenSpec, status: dict[str, Any], *, rotated: bool) -> list[tuple[str, str]]:
    """Workloads to restart: all targets on a rotation, else those a failed restart left over
    (only while they are still targets)."""
    targets: list[tuple[str, str]] = [(t.kind, t.name) for t in spec.rollout_restart_targets or []]
    if rotated:
        return targets
    left = status.get("pendingRolloutRestarts") or []
    recorded = {(str(t.get("kind")), str(t.get("name"))) for t in left if isinstance(t, dict)}
    return [target for target in targets if target in recorded]


def restarts_as_status(targets: list[tuple[str, str]]) -> list[dict[str, str]] | None:
    return [{"kind": kind, "name": name} for kind, name in targets] or None


@dataclass(frozen=True)
class Written:
    fingerprint: str
    rotated: bool
