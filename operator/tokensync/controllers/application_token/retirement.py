"""Retire the tokens a rotation replaced, on their schedule (retireAfter after the restarts)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.cloud.client import CloudClient
from tokensync.cloud.errors import CloudError
from tokensync.controllers.access_resolver import AccessProblem
from tokensync.controllers.renewal_policy import (
    RETIRE_BUDGET_LEAST,
    RenewalSettings,
    next_retirement,
    remember_retired,
    retirements_due,
    retiring_as_status,
    retiring_from_status,
    retry_retirement,
    schedule_retirements,
    without_held,
)
from tokensync.controllers.status_report import rfc3339
from tokensync.controllers.synced_resource import (
    Key,
)
from tokensync.controllers.token_renewal import TokenRenewal
from tokensync.runtime import metrics

from .base import RETIRE_RETRY, ApplicationTokenBase, explained

logger = logging.getLogger(__name__)

class RetirementMixin(ApplicationTokenBase):
    """Replaced tokens: scheduled once the restarts are made, retired when due."""

    async def _settle_retirements(
        self, key: Key, body: dict[str, Any], settings: RenewalSettings, client: CloudClient | None, *,
        restarts_owed: bool, next_read: datetime | None,
    ) -> datetime | None:
        """Give replaced tokens their retireAt once the restarts are made; retire those due. When to look again.

        One attempt each, all at once, and never past ``next_read`` (at most RETIRE_BUDGET_LEAST): a
        retirement retried inside the call (3 x 10 s for Disable, as many for Delete) held up the
        same resource's renewal read for a minute, and a 2-minute token expired (found by the soak).
        """
        body = self.objects.get(key) or body
        status = body.get("status") or {}
        now = self.clock.now()
        retiring = retiring_from_status(status)
        held = self.claims.held_by_others(key)  # stays listed, not retired, until let go (then woken)
        scheduled = schedule_retirements(without_held(retiring, {str(status.get("applicationTokenId") or "")}),
                                         restarts_owed=restarts_owed, now=now, retire_after=settings.retire_after)
        left = list(scheduled)
        remembered = list(status.get("retiredTokens") or [])
        due = [entry for entry in retirements_due(scheduled, now) if entry.token_id not in held]
        budget = RETIRE_BUDGET_LEAST if next_read is None else min(next_read - now, RETIRE_BUDGET_LEAST)
        if due and budget <= timedelta(seconds=1):
            return next_read  # the read comes first; a rotation retires them before its create anyway
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
            outcomes = await renewal.attempt_retirements(due, how=settings.retire, budget=budget)
            for entry, retired in zip(due, outcomes, strict=True):
                if isinstance(retired, CloudError):
                    later = retry_retirement(entry, now, first=RETIRE_RETRY, most=self.defaults.max_backoff)
                    left = [later if e.token_id == entry.token_id else e for e in left]
                    metrics.record_renewal(settings.strategy, retired.reason)
                    why = explained(retired, renewal.instance_id, renewal.application_id, entry.token_id)
                    await self.events.post(body, "Warning", "RenewalFailed",
                                           f"could not retire replaced token {entry.token_id}: {why}; "
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
