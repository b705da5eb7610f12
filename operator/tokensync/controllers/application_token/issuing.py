"""Read the token and renew it when due (Extend, Rotate): what the Secret must hold now."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.cloud.client import CloudClient
from tokensync.cloud.errors import CloudError, TokenExpiredError
from tokensync.cloud.models import ApplicationToken
from tokensync.controllers.refresh_plan import (
    RefreshPlan,
    RefreshPolicy,
    TokenLifetime,
    plan_after_read,
)
from tokensync.controllers.renewal_policy import (
    RenewalDue,
    RenewalSettings,
    Retiring,
    add_retiring,
    current_token_id,
    margin_problem,
    renewal_due,
    renewal_lifetime,
    replaced_by_spec_edit,
    retiring_from_status,
    settle_time,
    without_held,
)
from tokensync.controllers.status_report import parse_rfc3339
from tokensync.controllers.synced_resource import (
    Key,
    jitter_key,
)
from tokensync.controllers.token_renewal import Retired, Rotated, TokenRenewal
from tokensync.runtime import metrics

from .base import ApplicationTokenBase, explained

logger = logging.getLogger(__name__)

class IssuingMixin(ApplicationTokenBase):
    """How the token a Secret must hold is obtained: read it, and renew it when due."""

    async def _fetch(
        self, key: Key, body: dict[str, Any], spec: ApplicationTokenSpec, settings: RenewalSettings,
        policy: RefreshPolicy, client: CloudClient, now: datetime,
    ) -> Fetched:
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
            return await renewal.rotate(
                status=self._status(key, body), current=replaced, retiring=retiring, retire=settings.retire,
                lifetime=lifetime, uid=jitter_key(body), clock=self.clock.now, skew=skew,
                known_ids=self.claims.known_token_ids(), held=self.claims.held_by_others(key),
                settle=settle_time(now=self.clock.now(), expiration_time=expires),
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
                raise RenewalSpecProblem(problem)
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
                await renewal.sweep_unsettled(self._status(key, body), known_ids=self.claims.known_token_ids(),
                                              now=self.clock.now(), record=record, announce=announce)
            except CloudError as exc:
                logger.info("ApplicationToken %s/%s: could not look for tokens of unanswered creates yet: %s",
                            key[0], key[1], exc.code)
        self._clock_skews[key] = skew  # failures near expiry are planned on our clock (known_expiry)
        now = self.clock.now()
        return Fetched(token=token, token_id=current, skew=skew, lifetime=lifetime, retiring=retiring,
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


class RenewalSpecProblem(Exception):
    """spec.renewal and spec.refresh together ask for something that cannot work."""


@dataclass(frozen=True)
class Fetched:
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


def renewal_failure_text(fetched: Fetched, spec: ApplicationTokenSpec) -> str | None:
    if fetched.renewal_error is None:
        return None
    return explained(fetched.renewal_error, spec.instance_id, spec.application_id, fetched.token_id)
