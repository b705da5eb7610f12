"""The ApplicationToken controller's shared state: per-resource memory, claims, the watch intake, metrics."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import ValidationError

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.api.common import GROUP, VERSION, parse_duration
from tokensync.cloud.errors import AccessDeniedError, CloudError
from tokensync.cloud.models import ApplicationToken
from tokensync.controllers.refresh_plan import (
    RefreshPolicy,
    TokenLifetime,
    plan_after_read,
)
from tokensync.controllers.registration import Watch
from tokensync.controllers.renewal_policy import RETIRE_RETRY as RETIRE_RETRY
from tokensync.controllers.renewal_policy import (
    RenewalSettings,
    renewal_lifetime,
)
from tokensync.controllers.status_report import parse_rfc3339, rfc3339
from tokensync.controllers.synced_resource import (
    Key,
    SyncedResourceController,
    jitter_key,
    key_of,
)
from tokensync.controllers.target_writer import (
    Owner,
    has_drifted,
    source_of,
)
from tokensync.controllers.token_secret import CachedToken
from tokensync.kube.resources import SECRETS, Resource
from tokensync.runtime import metrics

from .claims import TokenClaims

logger = logging.getLogger(__name__)

APPLICATION_TOKENS = Resource(GROUP, VERSION, "applicationtokens")
RESTART_RETRY = timedelta(seconds=30)


class ApplicationTokenBase(SyncedResourceController):
    """What every part of the ApplicationToken controller shares: the kind, the per-resource
    memory kept between syncs, the token claims, and the watch intake."""

    kind: ClassVar[str] = "ApplicationToken"
    resource: ClassVar[Resource] = APPLICATION_TOKENS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tokens: dict[Key, CachedToken] = {}
        self._expiring_warned: dict[Key, str] = {}  # the token (fingerprint) TokenExpiring was posted for
        self._clock_skews: dict[Key, timedelta] = {}  # cloud clock minus ours, at the last read
        self._renew_by: dict[Key, datetime | None] = {}  # the renewal moment planned at the last read
        self.claims = TokenClaims(self.objects, self.wake)
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
        self.claims.index(key_of(body))

    async def write_status(self, key: Key, body: dict[str, Any], status: dict[str, Any]) -> None:
        await super().write_status(key, body, status)
        if "applicationTokenId" in status:
            self.claims.index(key)

    def _status(self, key: Key, body: dict[str, Any]) -> dict[str, Any]:
        """The latest status: this sync's own writes included."""
        return dict((self.objects.get(key) or body).get("status") or {})

    def watches(self) -> list[Watch]:
        """For ApplicationTokens; owns the Secrets they write."""
        return [Watch(APPLICATION_TOKENS, self.observe), Watch(SECRETS, self.observe_secret)]

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


def token_status_fields(token: ApplicationToken) -> dict[str, Any]:
    return {
        "tokenType": token.token_type,
        "tokenStatus": token.status,
        "createTime": rfc3339(token.create_time),
        "expirationTime": rfc3339(token.expiration_time),
        "lastUsedTime": rfc3339(token.last_used_time),
    }


def status_secret(body: dict[str, Any]) -> str:
    return str((body.get("status") or {}).get("secretName") or (body.get("metadata") or {}).get("name"))


def earliest(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None


def explained(error: CloudError, instance_id: str, application_id: str, token_id: str | None) -> str:
    """The error, and for a refused permission the resource to grant it on (the error names the
    action). ``token_id``: the token the call was about (Create and List are about all of them)."""
    text = str(error)
    if isinstance(error, AccessDeniedError) and error.action:
        per_token = error.action not in ("CreateApplicationToken", "ListApplicationTokens")
        token = (token_id or "*") if per_token else "*"
        text += (f" Resource: acs:eiam:*:*:instance/{instance_id}/application/{application_id}/"
                 f"applicationtoken/{token} (see docs/ram-policies.md)")
    return text
