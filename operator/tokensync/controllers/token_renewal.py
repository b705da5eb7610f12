"""How a renewal is carried out: the cloud calls of Extend, Rotate and retirement.

``renewal_policy`` decides what is due; this module makes the calls and hands every fact that
must survive an operator stop to ``record`` (a status write) at the moment it becomes true.

Rotate is built around one fact: ``CreateApplicationToken`` is not idempotent (each call makes a
new token, and its request carries nothing the API echoes back but the ExpirationTime). So:

1. Before the create, ``status.pendingRotation`` records when it started and the exact
   ExpirationTime (ms) it will send. That time carries a tag from the resource's uid in its
   milliseconds (``renewal_policy.tagged_expiration``), so two resources rotating tokens of one
   application in the same second are told apart.
2. The create is sent once: the client never retries it (a retry after a timeout could make two).
   A clear refusal (an error whose outcome is known) clears ``pendingRotation`` again.
3. Its answer is recorded at once: ``applicationTokenId`` is the new token, the replaced one is
   appended to ``retiringTokens`` (no ``retireAt`` yet), ``pendingRotation`` is cleared.
4. If the operator stops, or the create times out, between 1 and 3, the next sync sees
   ``pendingRotation`` and lists the application's tokens: one with that exact ExpirationTime,
   created around the recorded start and known to no resource, is the lost answer and is adopted
   as if step 3 had happened. If none is listed, the create never happened: a new one is made.
5. The controller writes the new value into the Secret and makes the rollout restarts (recorded
   in ``pendingRolloutRestarts``); only then does each retiring token get ``retireAt`` (now +
   ``retireAfter``).
6. At ``retireAt``: Disable, then Delete (``retire: Delete``). Both are idempotent (a stop between
   them disables again, then deletes), and NotFound means done.

Before a new create, tokens still retiring from an earlier rotation are retired at once, so at
most two tokens of one resource are enabled at any moment (``retire: Keep`` leaves them enabled,
as asked). A refusal for the application's token limit retires every token this resource
replaced, ``Keep`` included, and tries the create once more.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tokensync.cloud.client import CloudClient
from tokensync.cloud.errors import CloudError, NotFoundError, QuotaExceededError
from tokensync.controllers.renewal_policy import (
    Listed,
    Retiring,
    add_retiring,
    find_created,
    retiring_as_status,
    tagged_expiration,
)
from tokensync.controllers.status_report import rfc3339

logger = logging.getLogger(__name__)

Record = Callable[[dict[str, Any]], Awaitable[None]]
Retire = Literal["Delete", "Disable", "Keep"]


@dataclass(frozen=True)
class Rotated:
    token_id: str
    replaced: str | None
    retiring: list[Retiring]
    recovered: bool  # found by listing after a lost answer, not created now


@dataclass(frozen=True)
class Retired:
    token_id: str
    how: str  # "deleted", "disabled", "kept" or "already gone"


class TokenRenewal:
    """The renewal calls for one application's tokens, through one resource's cloud client."""

    def __init__(self, client: CloudClient, *, instance_id: str, application_id: str) -> None:
        self.client = client
        self.instance_id = instance_id
        self.application_id = application_id

    def _ids(self, token_id: str) -> dict[str, str]:
        return {"instance_id": self.instance_id, "application_id": self.application_id,
                "application_token_id": token_id}

    # ---- Extend ----------------------------------------------------------------------------

    async def extend(self, token_id: str, *, cloud_now: datetime, lifetime: timedelta) -> datetime:
        """UpdateApplicationTokenExpirationTime to now + lifetime (cloud clock); the new expiry."""
        expiration = _whole_ms(cloud_now + lifetime)
        await self.client.update_application_token_expiration_time(**self._ids(token_id), expiration_time=expiration)
        return expiration

    # ---- Rotate ----------------------------------------------------------------------------

    async def rotate(
        self,
        *,
        status: dict[str, Any],
        current: str | None,
        retiring: Sequence[Retiring],
        retire: Retire,
        lifetime: timedelta,
        uid: str,
        now: datetime,
        cloud_now: datetime,
        known_ids: set[str],
        record: Record,
    ) -> Rotated:
        """Make (or recover) the token that replaces ``current``; recorded before it returns."""
        pending = status.get("pendingRotation")
        if isinstance(pending, dict):
            found = await self._find_lost_create(pending, known_ids)
            if found is not None:
                replaced = pending.get("replaces") if isinstance(pending.get("replaces"), str) else current
                return await self._adopt(found, replaced, retiring, now, record, recovered=True)
        left = [entry for entry in await self.retire_all(retiring, how=retire, record=record, current=current)]
        expiration_ms = tagged_expiration(cloud_now, lifetime, uid)
        await record({"pendingRotation": {"startedAt": rfc3339(now), "expirationTime": expiration_ms,
                                          "replaces": current}})
        try:
            try:
                created = await self._create(expiration_ms)
            except QuotaExceededError:
                if not left:
                    raise
                logger.info("token limit reached for application %s: retiring %d replaced token(s) and retrying",
                            self.application_id, len(left))
                left = await self.retire_all(left, how="Delete", record=record, current=current)
                created = await self._create(expiration_ms)
        except CloudError as error:
            if not error.outcome_unknown:
                # A clear refusal: no token was made, and the next attempt need not list first.
                await record({"pendingRotation": None})
            raise
        return await self._adopt(created, current, left, now, record, recovered=False)

    async def _create(self, expiration_ms: int) -> str:
        reply = await self.client.create_application_token(
            instance_id=self.instance_id, application_id=self.application_id,
            expiration_time=datetime.fromtimestamp(expiration_ms / 1000, tz=UTC),
        )
        return reply.value.application_token_id

    async def _find_lost_create(self, pending: dict[str, Any], known_ids: set[str]) -> str | None:
        reply = await self.client.list_application_tokens(instance_id=self.instance_id,
                                                          application_id=self.application_id)
        listed = [Listed(t.application_token_id,
                         int(t.expiration_time.timestamp() * 1000) if t.expiration_time else None, t.create_time)
                  for t in reply.value]
        found = find_created(listed, pending, known_ids)
        logger.info("application %s: a create whose answer was lost %s", self.application_id,
                    f"made token {found}" if found else "made no token; creating one")
        return found

    async def _adopt(self, token_id: str, replaced: str | None, retiring: Sequence[Retiring], now: datetime,
                     record: Record, *, recovered: bool) -> Rotated:
        left = add_retiring(retiring, replaced, current=token_id)
        await record({
            "applicationTokenId": token_id,
            "retiringTokens": retiring_as_status(left),
            "pendingRotation": None,
            "lastRenewalTime": rfc3339(now),
            # Read the new token at once, also after an operator stop right here.
            "nextRefreshTime": rfc3339(now),
        })
        return Rotated(token_id, replaced, left, recovered)

    # ---- retirement ------------------------------------------------------------------------

    async def retire_all(self, entries: Sequence[Retiring], *, how: Retire, record: Record,
                         current: str | None) -> list[Retiring]:
        """Retire every entry now (before a new rotation, or when the token limit is reached)."""
        if how == "Keep" or not entries:
            return list(entries)
        left = list(entries)
        for entry in entries:
            if entry.token_id == current:
                continue
            await self.retire_one(entry, how=how)
            left = [e for e in left if e.token_id != entry.token_id]
            await record({"retiringTokens": retiring_as_status(left)})
        return left

    async def retire_one(self, entry: Retiring, *, how: Retire) -> Retired:
        """Disable (and delete) one replaced token; a token already gone counts as retired."""
        if how == "Keep":
            return Retired(entry.token_id, "kept")
        try:
            await self.client.disable_application_token(**self._ids(entry.token_id))
            if how == "Delete":
                await self.client.delete_application_token(**self._ids(entry.token_id))
        except NotFoundError:
            return Retired(entry.token_id, "already gone")
        return Retired(entry.token_id, "deleted" if how == "Delete" else "disabled")


def _whole_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
