"""The ApplicationToken controller: from the custom resource to a fresh Secret.

One sync, in order: is a read due (refresh_plan.read_due)? -> which cloud access may this
resource use (access_resolver)? -> ObtainApplicationToken (tokensync.cloud) -> is a renewal
due, and which (renewal_policy)? -> Extend or Rotate (token_renewal) -> the Secret
(target_writer) -> workloads to restart (rollout) -> status, Events, metrics -> replaced tokens
to retire (token_renewal) -> when to look again (refresh_plan). The watch intake and failure
reporting are in synced_resource.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import ValidationError

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.api.common import GROUP, VERSION, parse_duration
from tokensync.cloud.client import CloudClient
from tokensync.cloud.errors import AccessDeniedError, CloudError, TokenExpiredError
from tokensync.cloud.models import ApplicationToken
from tokensync.controllers.access_resolver import AccessProblem, summarize_validation_error
from tokensync.controllers.finalizers import CLEANUP_FINALIZER, has_finalizer, set_finalizer
from tokensync.controllers.refresh_plan import (
    RefreshPlan,
    RefreshPolicy,
    TokenLifetime,
    plan_after_failure,
    plan_after_read,
    read_due,
)
from tokensync.controllers.renewal_policy import (
    RAM_ACTIONS,
    Release,
    RenewalDue,
    RenewalSettings,
    Retiring,
    TokenClaim,
    add_retiring,
    claims_of,
    current_token_id,
    duration_text,
    margin_problem,
    next_retirement,
    release_at_deletion,
    remember_retired,
    renewal_due,
    renewal_lifetime,
    replaced_by_spec_edit,
    retirements_due,
    retiring_as_status,
    retiring_from_status,
    retry_retirement,
    rotation_conflict,
    schedule_retirements,
    settle_time,
    wants_finalizer,
    without_held,
)
from tokensync.controllers.rollout import restart_workloads
from tokensync.controllers.status_report import parse_rfc3339, rfc3339, with_ready
from tokensync.controllers.synced_resource import (
    Key,
    SyncedResourceController,
    force_sync_value,
    jitter_key,
    key_of,
    ready_status,
)
from tokensync.controllers.target_writer import (
    Owner,
    TargetConflict,
    TargetRefused,
    has_drifted,
    merge_cleanup_wanted,
    remove_merged,
    source_of,
    target_outlives,
    write_target,
)
from tokensync.controllers.templates import TemplateError
from tokensync.controllers.token_renewal import Retired, Rotated, TokenRenewal
from tokensync.controllers.token_secret import CachedToken, desired_secret, token_fingerprint
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import NAMESPACES, SECRETS, Resource
from tokensync.runtime import metrics

logger = logging.getLogger(__name__)

APPLICATION_TOKENS = Resource(GROUP, VERSION, "applicationtokens")


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
        # Which resource holds which cloud token (spec and current), to refuse two that would fight.
        self._claims: dict[Key, list[TokenClaim]] = {}
        self._holders: dict[tuple[str, str, str], set[Key]] = {}
        self._release_failures: dict[Key, int] = {}  # failed releases at deletion, for the backoff

    def forget(self, key: Key) -> None:
        super().forget(key)
        self._release_failures.pop(key, None)
        self._tokens.pop(key, None)
        self._expiring_warned.pop(key, None)
        self._clock_skews.pop(key, None)
        self._renew_by.pop(key, None)

    def observe(self, event_type: str | None, body: dict[str, Any]) -> None:
        super().observe(event_type, body)
        self._index_claims(key_of(body))

    async def write_status(self, key: Key, body: dict[str, Any], status: dict[str, Any]) -> None:
        await super().write_status(key, body, status)
        if "applicationTokenId" in status:
            self._index_claims(key)

    def _index_claims(self, key: Key) -> None:
        """Keep the token holders in step with the resource; wake the resources a released token
        was refused to (only those that failed)."""
        released: set[tuple[str, str, str]] = set()
        for claim in self._claims.pop(key, []):
            holders = self._holders.get(claim.token, set())
            holders.discard(key)
            released.add(claim.token)
            if not holders:
                self._holders.pop(claim.token, None)
        body = self.objects.get(key)
        claims = claims_of(body) if body is not None else []
        if claims:
            self._claims[key] = claims
        for claim in claims:
            self._holders.setdefault(claim.token, set()).add(key)
            released.discard(claim.token)
        for token in released:
            for other in self._holders.get(token, set()):
                self.wake(other, "a resource holding the same token let go of it", only_failing=True)
            # A resource that replaced the token kept it listed, unretired, while it was held: now it may go.
            for other, other_body in self.objects.items():
                if other != key and any(e.token_id == token[2]
                                        for e in retiring_from_status(other_body.get("status") or {})):
                    self.wake(other, "a token it replaced is no longer used by another resource")

    def _rival_claims(self, key: Key) -> list[TokenClaim]:
        rivals: list[TokenClaim] = []
        for claim in self._claims.get(key, []):
            for other in self._holders.get(claim.token, set()) - {key}:
                rivals.extend(c for c in self._claims.get(other, []) if c.token == claim.token)
        return rivals

    def _held_by_others(self, key: Key, *, waiting_too: bool = False) -> set[str]:
        """Tokens another resource holds now: current in its synced status, or named in its spec
        unless it is refused for that (it fights a rotating holder). Never retired for this one,
        in any namespace; they stay listed until let go. ``waiting_too``: also the tokens a refused
        resource waits for; at this one's deletion those are handed over, not retired (a rotation,
        on the other hand, revokes the token it replaced, whoever waits for it)."""
        held: set[str] = set()
        spec = (self.objects.get(key) or {}).get("spec") or {}
        application = (spec.get("instanceId"), spec.get("applicationId"))  # only its own application's tokens
        for token, keys in self._holders.items():
            if token[:2] != application:
                continue
            for other in keys - {key}:
                claim = next((c for c in self._claims.get(other, []) if c.token == token), None)
                if claim is not None and (waiting_too or claim.established or rotation_conflict(
                        self._claims.get(other, []), self._rival_claims(other)) is None):
                    held.add(token[2])
                    break
        return held

    def _known_token_ids(self) -> set[str]:
        """Every token any resource holds or retires: a listed token among them was not made by a lost create."""
        known: set[str] = set()
        for body in self.objects.values():
            spec, status = body.get("spec") or {}, body.get("status") or {}
            known.update(str(v) for v in (spec.get("applicationTokenId"), status.get("applicationTokenId")) if v)
            known.update(entry.token_id for entry in retiring_from_status(status))
        return known

    def _status(self, key: Key, body: dict[str, Any]) -> dict[str, Any]:
        """The latest status: this sync's own writes included."""
        return dict((self.objects.get(key) or body).get("status") or {})

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
            renew_at = self._renewal_deadline(body, expiration_time)
            self._renew_by[key] = renew_at
        if renew_at is not None:
            metrics.set_token_renewal_deadline(key[0], key[1], renew_at)

    def _renewal_deadline(self, body: dict[str, Any], expiration_time: datetime) -> datetime | None:
        """The renewal moment from status alone (after an operator restart)."""
        status = body.get("status") or {}
        try:
            spec = ApplicationTokenSpec.model_validate(body.get("spec") or {})
        except ValidationError:
            return None
        settings = RenewalSettings.from_spec(spec)
        create_time = parse_rfc3339(status.get("createTime"))
        if settings.strategy != "None":
            create_time = expiration_time - renewal_lifetime(settings, status, expiration_time=expiration_time,
                                                             create_time=create_time,
                                                             spec_token_id=spec.application_token_id)
        lifetime = TokenLifetime(expiration_time=expiration_time, create_time=create_time)
        return plan_after_read(token=lifetime, policy=self.policy_for(body), now=self.clock.now(),
                               jitter_key=jitter_key(body)).renew_at

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
        settings = RenewalSettings.from_spec(spec)
        conflict = rotation_conflict(self._claims.get(key, []), self._rival_claims(key))
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
        except _RenewalSpecProblem as problem:
            await self.fail(key, body, reason="InvalidSpec", message=f"invalid spec: {problem}", retryable=False,
                            transient=False, started=started)
            return
        except CloudError as error:
            token_id = current_token_id(spec.application_token_id, self._status(key, body))
            await self.fail(key, body, reason=error.reason, retryable=True,
                            message=_explained(error, spec.instance_id, spec.application_id, token_id),
                            transient=error.retryable, started=started,
                            retry_after=timedelta(seconds=error.retry_after) if error.retry_after else None)
            return
        await self._report(key, body, spec, settings, policy, owner, secret_name, existing, unread, fetched,
                           access.client, started)

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
                                      held=self._held_by_others(key, waiting_too=True))
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
            explained = _explained(error, spec.instance_id, spec.application_id, None)
            return await self._release_later(key, body, release, explained, error.retry_after)
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

        await renewal.release(release, how=RenewalSettings.from_spec(spec).retire, known_ids=self._known_token_ids(),
                              now=self.clock.now(), record=record, announce=announce)

    async def _fetch(
        self, key: Key, body: dict[str, Any], spec: ApplicationTokenSpec, settings: RenewalSettings,
        policy: RefreshPolicy, client: CloudClient, now: datetime,
    ) -> _Fetched:
        """Read the current token and renew it if due: first finishing a rotation that status says
        may have happened, or creating the first token (Rotate without applicationTokenId)."""
        status = self._status(key, body)
        renewal = TokenRenewal(client, instance_id=spec.instance_id, application_id=spec.application_id)
        current = current_token_id(spec.application_token_id, status)
        # The current token is never retiring; one another resource holds stays listed, unretired.
        retiring = without_held(
            add_retiring(retiring_from_status(status), replaced_by_spec_edit(spec.application_token_id, status),
                         current=current),
            {current} if current else set())

        async def record(fields: dict[str, Any]) -> None:
            await self.write_status(key, body, {"specApplicationTokenId": spec.application_token_id, **fields})

        async def announce(retired: Retired) -> None:
            await self.events.post(body, "Normal", "Retired", f"token {retired.token_id}: {retired.how}")

        async def rotate(replaced: str | None, lifetime: timedelta, skew: timedelta,
                         expires: datetime | None) -> Rotated:
            moment = self.clock.now()
            return await renewal.rotate(
                status=self._status(key, body), current=replaced, retiring=retiring, retire=settings.retire,
                lifetime=lifetime, uid=jitter_key(body), now=moment, cloud_now=moment + skew,
                known_ids=self._known_token_ids(), held=self._held_by_others(key),
                settle=settle_time(now=moment, expiration_time=expires),
                record=record, announce=announce,
            )

        rotated: Rotated | None = None
        if current is None:  # Rotate without applicationTokenId: the first token (or its lost create)
            rotated = await rotate(None, renewal_lifetime(settings, status, expiration_time=None, create_time=None,
                                                          spec_token_id=spec.application_token_id),
                                   timedelta(0), None)
            current, retiring = rotated.token_id, rotated.retiring
        token, skew = await self._obtain(client, spec, current, expired_ok=settings.strategy != "None")
        lifetime = renewal_lifetime(
            settings, status,
            expiration_time=token.expiration_time if token else parse_rfc3339(status.get("expirationTime")),
            create_time=token.create_time if token else parse_rfc3339(status.get("createTime")),
            spec_token_id=spec.application_token_id,
        )
        if settings.strategy != "None":
            margin = policy.renew_before
            if margin is None:
                margin = lifetime * (policy.renew_before_percentage / 100)
            problem = margin_problem(lifetime=lifetime, margin=margin)
            if problem is not None:
                raise _RenewalSpecProblem(problem)
        due = renewal_due(
            strategy=settings.strategy, token_status=token.status if token else "enabled",
            expired=token is None or token.expiration_time <= now + skew,
            renew_from=self._plan(body, token, lifetime, settings, policy, now, skew).renew_from if token else None,
            now=now,
        )
        pending = self._status(key, body).get("pendingRotation")
        if isinstance(pending, dict):
            if settings.strategy == "Rotate" and pending.get("replaces") == current:
                due = RenewalDue("rotate", "a rotation to finish")  # a create whose answer was lost
            else:
                # The spec changed since (another token, another strategy): that rotation is not
                # wanted any more. Its token, should it show up, is deleted like any unanswered create's.
                unsettled = [*(self._status(key, body).get("unsettledCreates") or []), pending]
                await record({"unsettledCreates": unsettled, "pendingRotation": None})
        renewed: str | None = None
        error: CloudError | None = None
        if due is not None:
            try:
                if due.action == "extend":
                    expiry = await renewal.extend(current, cloud_now=self.clock.now() + skew, lifetime=lifetime)
                    token = token.model_copy(update={"expiration_time": expiry}) if token else None
                else:
                    expires = token.expiration_time - skew if token else None
                    rotated = await rotate(current, lifetime, skew, expires)
                    current, retiring, token = rotated.token_id, rotated.retiring, None
                if token is None:
                    token, skew = await self._obtain(client, spec, current, expired_ok=False)
                renewed = due.action
                metrics.record_renewal(settings.strategy, "success")
            except CloudError as exc:
                metrics.record_renewal(settings.strategy, exc.reason)
                if token is None:
                    raise
                error = exc
        assert token is not None  # _obtain returns None only when expired_ok, and that path renews or raises
        if rotated is None and self._status(key, body).get("unsettledCreates"):
            try:
                await renewal.sweep_unsettled(self._status(key, body), known_ids=self._known_token_ids(),
                                              now=self.clock.now(), record=record, announce=announce)
            except CloudError as exc:
                logger.info("ApplicationToken %s/%s: could not look for tokens of unanswered creates yet: %s",
                            key[0], key[1], exc.code)
        now = self.clock.now()
        return _Fetched(token=token, token_id=current, skew=skew, lifetime=lifetime, retiring=retiring,
                        renewed=renewed, rotated=rotated, renewal_error=error,
                        plan=self._plan(body, token, lifetime, settings, policy, now, skew))

    async def _obtain(
        self, client: CloudClient, spec: ApplicationTokenSpec, token_id: str, *, expired_ok: bool
    ) -> tuple[ApplicationToken | None, timedelta]:
        """ObtainApplicationToken, and the cloud's clock minus ours. None: the cloud refused to read
        the token because it has expired (an undocumented answer; a renewal is the way back)."""
        try:
            reply = await client.obtain_application_token(
                instance_id=spec.instance_id, application_id=spec.application_id, application_token_id=token_id)
        except TokenExpiredError:
            if not expired_ok:
                raise
            return None, timedelta(0)
        skew = (reply.server_time - self.clock.now()) if reply.server_time else timedelta(0)
        if abs(skew) < timedelta(seconds=2):
            skew = timedelta(0)  # the Date header has one-second resolution: ignore that noise
        return reply.value, skew

    def _plan(
        self, body: dict[str, Any], token: ApplicationToken, lifetime: timedelta, settings: RenewalSettings,
        policy: RefreshPolicy, now: datetime, skew: timedelta,
    ) -> RefreshPlan:
        # A renewed token's margin is taken from the renewal lifetime: ExpirationTime - CreateTime
        # grows with every extension, and a third of it would soon exceed the lifetime itself.
        create_time = token.create_time if settings.strategy == "None" else token.expiration_time - lifetime
        return plan_after_read(token=TokenLifetime(expiration_time=token.expiration_time, create_time=create_time),
                               policy=policy, now=now, jitter_key=jitter_key(body), clock_skew=skew)

    async def _report(
        self, key: Key, body: dict[str, Any], spec: ApplicationTokenSpec, settings: RenewalSettings,
        policy: RefreshPolicy, owner: Owner, secret_name: str, existing: dict[str, Any] | None, unread: bool,
        fetched: _Fetched, client: CloudClient, started: float,
    ) -> None:
        """After a read (and renewal): the Secret, status, restarts, retirements, Events, metrics."""
        # What this sync acted on: the generation and force-sync of the body it started from (a
        # newer spec that arrived meanwhile is the next sync's); status as written while renewing.
        meta = body["metadata"]
        status = self._status(key, body)
        token, skew, now = fetched.token, fetched.skew, self.clock.now()
        fields = {
            **_token_status_fields(token),
            "applicationTokenId": fetched.token_id,
            "specApplicationTokenId": spec.application_token_id,
            "renewalLifetime": None if settings.lifetime else duration_text(fetched.lifetime),
            "retiringTokens": retiring_as_status(fetched.retiring),
        }
        renewal_failed = _renewal_failure_text(fetched, spec)
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
                                    + (renewal_failed or _expired_advice(settings)),
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
        pending = _pending_restarts(spec, status, rotated=written.rotated)
        new_status["pendingRolloutRestarts"] = _as_status(pending)
        was_ready = ready_status(body) == "True"
        await self.write_status(key, body, new_status)
        await self._post_renewal_events(body, spec, settings, secret_name, fetched, written)
        if not was_ready:
            await self.events.post(body, "Normal", "Synced", f"Secret {secret_name} holds the token "
                                   f"{fetched.token_id}; next read {rfc3339(next_read)}")
        rotated_at = parse_rfc3339(new_status.get("lastRotationTime") or status.get("lastRotationTime")) or now
        wake, owed = await self._settle_restarts(key, body, pending, rotated_at, next_read, now)
        wake = _earliest(wake, await self._settle_retirements(key, body, settings, client, restarts_owed=owed))
        if settings.strategy == "None" and plan.renew_at is not None and plan.renew_at <= now:
            await self._warn_expiring(key, body, token, plan, written.fingerprint)
        metrics.record_sync(self.kind, "success", time.perf_counter() - started)
        self._renew_by[key] = plan.renew_at
        self.publish_metrics(key, self.objects.get(key) or body)
        self.schedule_at(key, wake)

    async def _post_renewal_events(
        self, body: dict[str, Any], spec: ApplicationTokenSpec, settings: RenewalSettings, secret_name: str,
        fetched: _Fetched, written: _Written,
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
                                   f"{_renewal_failure_text(fetched, spec)}; the Secret keeps token "
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
        pending = _pending_restarts(spec, status, rotated=False)
        rotated_at = parse_rfc3339(status.get("lastRotationTime")) or now
        next_read = parse_rfc3339(status.get("nextRefreshTime"))
        self.publish_metrics(key, body)
        wake, owed = await self._settle_restarts(key, body, pending, rotated_at, next_read, now)
        if status.get("retiringTokens"):
            wake = _earliest(wake, await self._settle_retirements(key, body, settings, None, restarts_owed=owed))
        self.schedule_at(key, wake)

    async def _settle_retirements(
        self, key: Key, body: dict[str, Any], settings: RenewalSettings, client: CloudClient | None, *,
        restarts_owed: bool,
    ) -> datetime | None:
        """Give replaced tokens their retireAt once the restarts are made; retire those due. When to look again."""
        body = self.objects.get(key) or body
        status = body.get("status") or {}
        now = self.clock.now()
        retiring = retiring_from_status(status)
        held = self._held_by_others(key)  # stays listed, not retired, until let go (then woken)
        scheduled = schedule_retirements(without_held(retiring, {str(status.get("applicationTokenId") or "")}),
                                         restarts_owed=restarts_owed, now=now, retire_after=settings.retire_after)
        left = list(scheduled)
        remembered = list(status.get("retiredTokens") or [])
        due = [entry for entry in retirements_due(scheduled, now) if entry.token_id not in held]
        if due:
            spec = body.get("spec") or {}
            if client is None:
                try:
                    ref = ApplicationTokenSpec.model_validate(spec).cloud_access_ref
                    client = (await self.access.resolve(key[0], ref, dependent=(self.kind, key), service="eiam")).client
                except (AccessProblem, ValidationError):
                    return now + RETIRE_RETRY
            renewal = TokenRenewal(client, instance_id=str(spec.get("instanceId")),
                                   application_id=str(spec.get("applicationId")))
            for entry in due:
                try:
                    retired = await renewal.retire_one(entry, how=settings.retire)
                except CloudError as error:
                    later = retry_retirement(entry, now, first=RETIRE_RETRY, most=self.defaults.max_backoff)
                    left = [later if e.token_id == entry.token_id else e for e in left]
                    metrics.record_renewal(settings.strategy, error.reason)
                    explained = _explained(error, renewal.instance_id, renewal.application_id, entry.token_id)
                    await self.events.post(body, "Warning", "RenewalFailed",
                                           f"could not retire replaced token {entry.token_id}: {explained}; "
                                           f"next attempt {rfc3339(later.retire_at)}")
                    continue
                left = [e for e in left if e.token_id != entry.token_id]
                remembered = remember_retired(remembered, entry.token_id, retired.how)
                logger.info("ApplicationToken %s/%s: retired token %s (%s)", key[0], key[1], entry.token_id,
                            retired.how)
                await self.events.post(body, "Normal", "Retired",
                                       f"replaced token {entry.token_id}: {retired.how}")
        if left != retiring:
            await self.write_status(key, body, {"retiringTokens": retiring_as_status(left),
                                                "retiredTokens": remembered or None})
        return next_retirement(without_held(left, held))

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
        """Write the Secret; None after reporting a failure (the last Secret is kept)."""
        try:
            desired = desired_secret(spec, secret_name, token)
        except TemplateError as exc:
            await self.fail(key, body, reason="InvalidSpec", message=f"{exc}; the last Secret is kept",
                            retryable=False, transient=False, started=started)
            return None
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
        return _Written(fingerprint, rotated)

    async def _settle_restarts(
        self, key: Key, body: dict[str, Any], pending: list[tuple[str, str]], rotated_at: datetime,
        next_read: datetime | None, now: datetime,
    ) -> tuple[datetime | None, bool]:
        """Restart what is owed and record what is left; when to look next, and whether any is still owed."""
        if not pending:
            return next_read, False
        remaining = await self._restart_workloads(key, body, pending, rotated_at=rotated_at)
        if remaining != pending:
            await self.write_status(key, body, {"pendingRolloutRestarts": _as_status(remaining)})
        if not remaining:
            return next_read, False
        return _earliest(next_read, now + RESTART_RETRY), True

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
RETIRE_RETRY = timedelta(minutes=1)


class _RenewalSpecProblem(Exception):
    """spec.renewal and spec.refresh together ask for something that cannot work."""


@dataclass(frozen=True)
class _Fetched:
    """What one read (and renewal) found: the token the Secret must hold now, and how it came to be."""

    token: ApplicationToken
    token_id: str
    skew: timedelta  # the cloud's clock minus ours
    lifetime: timedelta  # what a renewal sets
    retiring: list[Retiring]
    renewed: str | None  # "extend" or "rotate" when this sync renewed the token
    rotated: Rotated | None  # a rotation made (or recovered) by this sync
    renewal_error: CloudError | None  # a renewal that failed while the token was still valid
    plan: RefreshPlan


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


def status_secret(body: dict[str, Any]) -> str:
    return str((body.get("status") or {}).get("secretName") or (body.get("metadata") or {}).get("name"))


def _release_text(release: Release) -> str:
    parts = [f"token {token_id}" for token_id in release.retire]
    if release.creates:
        parts.append(f"any token of {len(release.creates)} create(s) whose answer was lost")
    return ", ".join(parts)


def _earliest(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None


def _explained(error: CloudError, instance_id: str, application_id: str, token_id: str | None) -> str:
    """The error, and for a refused permission the resource to grant it on (the error names the
    action). ``token_id``: the token the call was about (Create and List are about all of them)."""
    text = str(error)
    if isinstance(error, AccessDeniedError) and error.action:
        per_token = error.action not in ("CreateApplicationToken", "ListApplicationTokens")
        token = (token_id or "*") if per_token else "*"
        text += (f" Resource: acs:eiam:*:*:instance/{instance_id}/application/{application_id}/"
                 f"applicationtoken/{token} (see docs/ram-policies.md)")
    return text


def _renewal_failure_text(fetched: _Fetched, spec: ApplicationTokenSpec) -> str | None:
    if fetched.renewal_error is None:
        return None
    return _explained(fetched.renewal_error, spec.instance_id, spec.application_id, fetched.token_id)


def _expired_advice(settings: RenewalSettings) -> str:
    if settings.strategy == "None":
        return ("(renewal.strategy is None: extend the token in IDaaS, or set renewal.strategy Extend or Rotate; "
                "tokensync keeps checking)")
    needed = ", ".join(RAM_ACTIONS[settings.strategy])
    return f"(tokensync keeps trying to renew it; it needs RAM actions {needed})"


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
