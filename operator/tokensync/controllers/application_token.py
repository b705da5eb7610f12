"""The ApplicationToken controller: from the custom resource to a fresh Secret.

One sync, in order: is a read due (refresh_plan.read_due)? -> which cloud access may this
resource use (access_resolver)? -> ObtainApplicationToken (tokensync.cloud) -> the Secret
(target_writer) -> workloads to restart (rollout) -> status, Events, metrics -> when to
look again (refresh_plan). The watch intake and failure reporting are in synced_resource.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import SecretStr, ValidationError

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.api.common import GROUP, VERSION, parse_duration
from tokensync.cloud.errors import CloudError
from tokensync.cloud.models import ApplicationToken
from tokensync.controllers.access_resolver import AccessProblem, summarize_validation_error
from tokensync.controllers.refresh_plan import RefreshPolicy, TokenLifetime, plan_after_read, read_due
from tokensync.controllers.rollout import restart_workloads
from tokensync.controllers.status_report import parse_rfc3339, rfc3339, with_ready
from tokensync.controllers.synced_resource import (
    Key,
    SyncedResourceController,
    force_sync_value,
    jitter_key,
    ready_status,
)
from tokensync.controllers.target_writer import (
    EXPIRES_AT_ANNOTATION,
    DesiredTarget,
    Owner,
    TargetConflict,
    TargetRefused,
    has_drifted,
    source_of,
    write_target,
)
from tokensync.controllers.templates import TemplateError, render_templates
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import SECRETS, Resource
from tokensync.runtime import metrics

logger = logging.getLogger(__name__)

APPLICATION_TOKENS = Resource(GROUP, VERSION, "applicationtokens")
DEFAULT_KEYS = ("token", "tokenType", "expiresAt")


@dataclass(frozen=True)
class CachedToken:
    """The last token written, in memory only: repairs a deleted Secret without a cloud read."""

    token: ApplicationToken
    fingerprint: str


def token_fingerprint(uid: str, token: SecretStr) -> str:
    """Detects a changed token value across restarts without storing the value."""
    return hashlib.sha256(uid.encode() + b"\0" + token.get_secret_value().encode()).hexdigest()[:32]


def secret_values(token: ApplicationToken) -> dict[str, str]:
    """What a Secret template may see; nothing else is reachable from the sandbox."""
    return {
        "token": token.token.get_secret_value(),
        "tokenType": token.token_type,
        "expiresAt": rfc3339(token.expiration_time) or "",
        "expirationTime": str(int(token.expiration_time.timestamp() * 1000)),
        "applicationTokenId": token.application_token_id,
        "applicationId": token.application_id,
        "instanceId": token.instance_id,
    }


def refresh_policy(spec: ApplicationTokenSpec, defaults: RefreshPolicy) -> RefreshPolicy:
    refresh = spec.refresh
    if refresh is None:
        return defaults
    return RefreshPolicy(
        renew_before=parse_duration(refresh.renew_before) if refresh.renew_before else None,
        renew_before_percentage=float(refresh.renew_before_percentage or defaults.renew_before_percentage),
        recheck_interval=(
            parse_duration(refresh.recheck_interval) if refresh.recheck_interval else defaults.recheck_interval
        ),
        min_interval=defaults.min_interval,
        base_backoff=defaults.base_backoff,
        max_backoff=defaults.max_backoff,
        max_jitter=defaults.max_jitter,
        expiry_grace=defaults.expiry_grace,
    )


def _token_status_fields(token: ApplicationToken) -> dict[str, Any]:
    return {
        "tokenType": token.token_type,
        "tokenStatus": token.status,
        "createTime": rfc3339(token.create_time),
        "expirationTime": rfc3339(token.expiration_time),
        "lastUsedTime": rfc3339(token.last_used_time),
    }


class ApplicationTokenController(SyncedResourceController):
    kind: ClassVar[str] = "ApplicationToken"
    resource: ClassVar[Resource] = APPLICATION_TOKENS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tokens: dict[Key, CachedToken] = {}
        self._expiring_warned: dict[Key, str] = {}  # the token (fingerprint) TokenExpiring was posted for
        self._clock_skews: dict[Key, timedelta] = {}  # cloud clock minus ours, at the last read
        self._renew_by: dict[Key, datetime | None] = {}  # the renewal moment planned at the last read

    def forget(self, key: Key) -> None:
        super().forget(key)
        self._tokens.pop(key, None)
        self._expiring_warned.pop(key, None)
        self._clock_skews.pop(key, None)
        self._renew_by.pop(key, None)

    def observe_secret(self, event_type: str | None, secret: dict[str, Any]) -> None:
        meta = secret.get("metadata") or {}
        kind, name = source_of(secret) or ("", "")
        body = self.objects.get((str(meta.get("namespace") or ""), name)) if kind == self.kind else None
        if body is not None:
            drifted = event_type == "DELETED" or has_drifted(secret, Owner.from_body(body), is_secret=True)
            self.observe_target(event_type, secret, drifted)

    def known_expiry(self, key: Key, status: dict[str, Any]) -> datetime | None:
        """status.expirationTime is the cloud's clock: failures near expiry are planned on ours."""
        expiration_time = parse_rfc3339(status.get("expirationTime"))
        return expiration_time - self._clock_skews.get(key, timedelta(0)) if expiration_time else None

    def publish_metrics(self, key: Key, body: dict[str, Any]) -> None:
        super().publish_metrics(key, body)
        if key not in self.objects:
            return
        status = body.get("status") or {}
        expiration_time = parse_rfc3339(status.get("expirationTime"))
        if expiration_time is None:
            return  # never read: no series rather than a made-up one
        metrics.set_token_expiration(key[0], key[1], expiration_time)
        # As planned at the last read (with the cloud's clock skew), so the gauge does not move when
        # a sync fails; recomputed from status only after a restart.
        renew_at = self._renew_by.get(key)
        if renew_at is None:
            lifetime = TokenLifetime(expiration_time=expiration_time,
                                     create_time=parse_rfc3339(status.get("createTime")))
            renew_at = plan_after_read(token=lifetime, policy=self.policy_for(body), now=self.clock.now(),
                                       jitter_key=jitter_key(body)).renew_at
            self._renew_by[key] = renew_at
        if renew_at is not None:
            metrics.set_token_renewal_deadline(key[0], key[1], renew_at)

    def policy_for(self, body: dict[str, Any]) -> RefreshPolicy:
        try:
            return refresh_policy(ApplicationTokenSpec.model_validate(body.get("spec") or {}), self.defaults)
        except (ValidationError, ValueError):
            return self.defaults

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

        due = self.forced.pop(key, None) or read_due(
            now=now,
            generation=meta.get("generation"),
            observed_generation=status.get("observedGeneration"),
            force_sync=force_sync_value(body),
            last_force_sync=status.get("lastForceSync"),
            next_refresh_time=parse_rfc3339(status.get("nextRefreshTime")),
            has_synced=bool(status.get("lastSyncTime")),
            target_missing=drifted and cached is None,
        )
        if due is None:
            if drifted and cached is not None:
                await self._write(key, body, spec, owner, secret_name, existing, cached.token, started, repair=True)
            pending = _pending_restarts(spec, status, rotated=False)
            rotated_at = parse_rfc3339(status.get("lastRotationTime")) or now
            next_read = parse_rfc3339(status.get("nextRefreshTime"))
            self.publish_metrics(key, body)
            self.schedule_at(key, await self._settle_restarts(key, body, pending, rotated_at, next_read, now))
            return

        logger.info("ApplicationToken %s/%s: reading the token (%s)", key[0], key[1], due)
        try:
            access = await self.access.resolve(key[0], spec.cloud_access_ref, dependent=(self.kind, key))
            reply = await access.client.obtain_application_token(
                instance_id=spec.instance_id,
                application_id=spec.application_id,
                application_token_id=spec.application_token_id,
            )
        except AccessProblem as problem:
            await self.fail(key, body, reason=problem.reason, message=problem.message, retryable=True,
                            transient=False, started=started)
            return
        except CloudError as error:
            await self.fail(key, body, reason=error.reason, message=str(error), retryable=True,
                            transient=error.retryable, started=started,
                            retry_after=timedelta(seconds=error.retry_after) if error.retry_after else None)
            return

        token = reply.value
        now = self.clock.now()
        skew = (reply.server_time - now) if reply.server_time else timedelta(0)
        if abs(skew) < timedelta(seconds=2):
            skew = timedelta(0)  # the Date header has one-second resolution: ignore that noise
        self._clock_skews[key] = skew
        fields = _token_status_fields(token)
        if token.status.lower() == "disabled":
            await self.fail(key, body, reason="TokenDisabled", event_reason="TokenDisabled", extra=fields,
                            message=f"application token {spec.application_token_id} is disabled in IDaaS instance "
                                    f"{spec.instance_id}; the last Secret is kept (enable the token to resume)",
                            retryable=True, transient=False, started=started)
            return
        if token.expiration_time <= now + skew:
            await self.fail(key, body, reason="TokenExpired", event_reason="TokenExpired", extra=fields,
                            message=f"application token {spec.application_token_id} expired at "
                                    f"{rfc3339(token.expiration_time)}; the last Secret is kept (extend or renew the "
                                    "token in IDaaS; tokensync keeps checking)",
                            retryable=True, transient=False, started=started,
                            expiration_time=token.expiration_time - skew)
            return

        written = await self._write(key, body, spec, owner, secret_name, existing, token, started, repair=False,
                                    unread=unread)
        if written is None:
            return
        plan = plan_after_read(
            token=TokenLifetime(expiration_time=token.expiration_time, create_time=token.create_time),
            policy=policy, now=now, jitter_key=jitter_key(body), clock_skew=skew,
        )
        new_status: dict[str, Any] = {
            **fields,
            "observedGeneration": meta.get("generation"),
            "secretName": secret_name,
            "lastSyncTime": rfc3339(now),
            "nextRefreshTime": rfc3339(plan.next_read),
            "failedAttempts": 0,
            "tokenHash": written.fingerprint,
            "lastForceSync": force_sync_value(body),
            "conditions": with_ready(
                status.get("conditions"), ready=True, reason="Synced",
                message=f"Secret {secret_name} holds the token; it expires at {rfc3339(token.expiration_time)}; "
                        f"next read {rfc3339(plan.next_read)} ({plan.why})",
                generation=meta.get("generation"), now=now,
            ),
        }
        if written.rotated or not status.get("lastRotationTime"):
            new_status["lastRotationTime"] = rfc3339(now)
        # Recorded before restarting, so that a restart cut short by a failure or an operator
        # stop is finished by a later sync, and one already done is recognised (rollout.py).
        pending = _pending_restarts(spec, status, rotated=written.rotated)
        new_status["pendingRolloutRestarts"] = _as_status(pending)
        was_ready = ready_status(body) == "True"
        await self.write_status(key, body, new_status)
        rotated_at = parse_rfc3339(new_status.get("lastRotationTime") or status.get("lastRotationTime")) or now
        next_read = await self._settle_restarts(key, body, pending, rotated_at, plan.next_read, now)
        if not was_ready:
            await self.events.post(body, "Normal", "Synced", f"Secret {secret_name} holds the token "
                                   f"{spec.application_token_id}; next read {rfc3339(plan.next_read)}")
        if plan.renew_at is not None and plan.renew_at <= now and self._expiring_warned.get(key) != written.fingerprint:
            # Once per token value, not on every read past its renewal moment (a cloud that renews
            # only at expiry is read several times in that window). Kept in memory: an operator
            # restart in that window may say it once more.
            self._expiring_warned[key] = written.fingerprint
            await self.events.post(
                body, "Warning", "TokenExpiring",
                f"the token expires at {rfc3339(token.expiration_time)} and the cloud has not renewed it yet "
                f"(renewal was due {rfc3339(plan.renew_at)}); next read {rfc3339(plan.next_read)}",
            )
        metrics.record_sync(self.kind, "success", time.perf_counter() - started)
        self._renew_by[key] = plan.renew_at
        self.publish_metrics(key, self.objects.get(key) or body)
        self.schedule_at(key, next_read)

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
    ) -> _Written | None:
        """Write the Secret and restart workloads on a new value; None after reporting a failure."""
        values = secret_values(token)
        target = spec.secret
        try:
            if target.template:
                data = render_templates(target.template, values)
            else:
                data = {k: values[k] for k in DEFAULT_KEYS}
        except TemplateError as exc:
            await self.fail(key, body, reason="InvalidSpec", message=f"{exc}; the last Secret is kept",
                            retryable=False, transient=False, started=started)
            return None
        desired = DesiredTarget(
            resource=SECRETS,
            name=secret_name,
            data=data,
            creation_policy=target.creation_policy,
            deletion_policy=target.deletion_policy,
            secret_type=target.type,
            labels=dict(target.labels or {}),
            annotations={**dict(target.annotations or {}), EXPIRES_AT_ANNOTATION: values["expiresAt"]},
        )
        try:
            try:
                outcome = await write_target(self.kube, owner, desired, existing)
            except KubeApiError as exc:
                if not (unread and exc.conflict):
                    raise
                existing = await self.kube.get(SECRETS, key[0], secret_name)  # it was there after all
                outcome = await write_target(self.kube, owner, desired, existing)
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
        # status left status with the old tokenHash, and the rotation must still be handled.
        if rotated:
            await self.events.post(body, "Normal", "Rotated", f"the token in Secret {secret_name} changed")
        return _Written(fingerprint, rotated)

    async def _settle_restarts(
        self, key: Key, body: dict[str, Any], pending: list[tuple[str, str]], rotated_at: datetime,
        next_read: datetime | None, now: datetime,
    ) -> datetime | None:
        """Restart what is owed, record what is left, and say when to look next."""
        if not pending:
            return next_read
        remaining = await self._restart_workloads(key, body, pending, rotated_at=rotated_at)
        if remaining != pending:
            await self.write_status(key, body, {"pendingRolloutRestarts": _as_status(remaining)})
        if not remaining:
            return next_read
        retry = now + RESTART_RETRY
        return retry if next_read is None else min(next_read, retry)

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


RESTART_RETRY = timedelta(seconds=30)


def _pending_restarts(spec: ApplicationTokenSpec, status: dict[str, Any], *, rotated: bool) -> list[tuple[str, str]]:
    """Workloads to restart: all targets on a rotation, else those a failed restart left over
    (only while they are still targets)."""
    targets: list[tuple[str, str]] = [(t.kind, t.name) for t in spec.rollout_restart_targets or []]
    if rotated:
        return targets
    left = status.get("pendingRolloutRestarts") or []
    recorded = {(str(t.get("kind")), str(t.get("name"))) for t in left if isinstance(t, dict)}
    return [target for target in targets if target in recorded]


def _as_status(targets: list[tuple[str, str]]) -> list[dict[str, str]] | None:
    return [{"kind": kind, "name": name} for kind, name in targets] or None


@dataclass(frozen=True)
class _Written:
    fingerprint: str
    rotated: bool
