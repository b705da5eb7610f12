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
   as if step 3 had happened. If none is listed, the create may still be under way (a gateway
   holding it past the client's timeout): tokensync waits ``CREATE_SETTLE`` (at most a quarter
   of the current token's time left) before sending another, and moves the old one to
   ``unsettledCreates``; every sync lists again while such a create is younger than
   ``UNSETTLED_FOR``, and a token of it that shows up is deleted (it never reached a Secret).
5. The controller writes the new value into the Secret and makes the rollout restarts (recorded
   in ``pendingRolloutRestarts``); only then does each retiring token get ``retireAt`` (now +
   ``retireAfter``).
6. At ``retireAt``: Disable, then Delete (``retire: Delete``). Both are idempotent (a stop between
   them disables again, then deletes), and NotFound means done.

Before a new create, tokens still retiring from an earlier rotation are retired at once, so at
most two tokens of one resource are enabled at any moment (``retire: Keep`` leaves them enabled,
as asked), unless that would retire a token the Secret may still hold (its successor never
reached the Secret) or the cloud refuses the retirement: a valid Secret comes first, and such a
token is retired on its own schedule. A refusal for the application's token limit deletes every token this resource
replaced, the ones it disabled or kept earlier included (``retiredTokens`` remembers the last
few), and tries the create once more.

A rotating resource carries the finalizer ``tokensync.dev/cleanup`` from before its first
create. Its deletion (``release``) retires at once what it replaced and the token it made (unless
a Secret that outlives it holds that one), and deletes the token of any create whose answer was
lost (waiting ``CREATE_SETTLE`` for a recent one to be listed); only then does the finalizer go.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from tokensync.cloud.client import CloudClient
from tokensync.cloud.errors import CloudError, CloudUnavailableError, NotFoundError, QuotaExceededError
from tokensync.controllers.renewal_policy import (
    CREATE_SETTLE,
    RETIRE_BUDGET_LEAST,
    RETIRE_RETRY,
    RETIRE_RETRY_MOST,
    Listed,
    Release,
    Retiring,
    add_retiring,
    create_outlived,
    find_created,
    retiring_as_status,
    retry_retirement,
    still_unsettled,
    tagged_expiration,
    unsettled_from_status,
)
from tokensync.controllers.status_report import parse_rfc3339, rfc3339

logger = logging.getLogger(__name__)

Record = Callable[[dict[str, Any]], Awaitable[None]]
Announce = Callable[["Retired"], Awaitable[None]]
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
        clock: Callable[[], datetime],
        skew: timedelta,
        known_ids: set[str],
        held: set[str],
        settle: timedelta,
        record: Record,
        announce: Announce,
    ) -> Rotated:
        """Make (or recover) the token that replaces ``current``; recorded before it returns.
        ``held``: tokens some resource holds now, never retired or deleted here. ``clock`` is the
        operator's, ``skew`` the cloud's clock minus it; ``settle`` bounds the wait for a lost
        create and the retirements before a new one (a quarter of the current token's time left)."""
        now = clock()
        cloud_now = now + skew
        pending = status.get("pendingRotation")
        unsettled = unsettled_from_status(status)
        if isinstance(pending, dict) or unsettled:
            listed = await self._list()
            found = find_created(listed, pending, known_ids) if isinstance(pending, dict) else None
            unsettled = await self._sweep(unsettled, listed, known_ids | {found} if found else known_ids, now,
                                          record, announce)
            if isinstance(pending, dict) and found is not None and not create_outlived(pending, cloud_now):
                replaced = pending.get("replaces") if isinstance(pending.get("replaces"), str) else current
                return await self._adopt(found, replaced, retiring, now, record, recovered=True)
            if isinstance(pending, dict) and found is not None:
                retiring = await self._retire_outlived(found, retiring, retire=retire, now=now, record=record,
                                                       announce=announce)
            elif isinstance(pending, dict):
                await self._give_up_on(pending, unsettled, now=now, settle=settle, record=record)
        # Not below RETIRE_BUDGET_LEAST: with none (the current token expired), every attempt was
        # cancelled unsent and a third token made enabled (found by review).
        left = await self.retire_all(retiring, how=retire, record=record, current=current, announce=announce,
                                     held=held, now=now, budget=max(settle, RETIRE_BUDGET_LEAST))

        async def record_pending_create() -> int:
            # The new token's lifetime counts from its create, not from before the retirements
            # (found by the soak: slow retirements took 20 s out of a 2-minute token's life).
            moment = clock()
            expiration_ms = tagged_expiration(moment + skew, lifetime, uid)
            await record({"pendingRotation": {"startedAt": rfc3339(moment), "expirationTime": expiration_ms,
                                              "replaces": current}})
            return expiration_ms

        try:
            try:
                created = await self._create(await record_pending_create())
            except QuotaExceededError:
                retired = [r for r in status.get("retiredTokens") or []
                           if isinstance(r, dict) and r.get("applicationTokenId") not in held]
                if not left and not retired:
                    raise
                logger.info("token limit reached for application %s: deleting the tokens it replaced, then "
                            "creating again", self.application_id)
                left = await self.retire_all(left, how="Delete", record=record, current=current, announce=announce,
                                             held=held, now=now, backing_off_too=True)
                await self._delete_retired(retired, record, announce)
                created = await self._create(await record_pending_create())  # (the refusal made no token)
        except CloudError as error:
            if not error.outcome_unknown:
                # A clear refusal: no token was made, and the next attempt need not list first.
                await record({"pendingRotation": None})
            raise
        return await self._adopt(created, current, left, now, record, recovered=False)

    async def _retire_outlived(self, found: str, retiring: Sequence[Retiring], *, retire: Retire, now: datetime,
                               record: Record, announce: Announce) -> list[Retiring]:
        """A lost create's token found only after it expired (the operator was down longer than its
        lifetime): it never reached a Secret and is no use to one. Retired at once as ``retire``
        says; a refusal puts it on the retirement backoff instead of holding up the next create."""
        entry = Retiring(found, now)
        left = list(retiring)
        try:
            done = await self.retire_one(entry, how=retire, once=True)
            await announce(Retired(found, f"{done.how}: made by a create whose answer was lost, expired before it "
                                          "was found"))
        except CloudError:
            left.append(retry_retirement(entry, now, first=RETIRE_RETRY, most=RETIRE_RETRY_MOST))
        await record({"pendingRotation": None, "retiringTokens": retiring_as_status(left)})
        return left

    async def sweep_unsettled(self, status: dict[str, Any], *, known_ids: set[str], now: datetime, record: Record,
                              announce: Announce) -> None:
        """Look for tokens of creates given up on (outside a rotation): delete those that appeared."""
        unsettled = unsettled_from_status(status)
        if unsettled:
            await self._sweep(unsettled, await self._list(), known_ids, now, record, announce)

    async def _give_up_on(self, pending: dict[str, Any], unsettled: list[dict[str, Any]], *, now: datetime,
                          settle: timedelta, record: Record) -> None:
        """The create in ``pending`` made no token yet: wait a little (it may still be carried out),
        then keep watching for it while a new one is made."""
        _wait_for_create(pending, now=now, settle=settle, then="before creating another")
        await record({"unsettledCreates": [*unsettled, pending], "pendingRotation": None})

    async def _sweep(self, unsettled: list[dict[str, Any]], listed: list[Listed], known_ids: set[str],
                     now: datetime, record: Record, announce: Announce) -> list[dict[str, Any]]:
        """Delete the tokens of creates given up on that have appeared; forget creates too old to."""
        still: list[dict[str, Any]] = []
        for create in unsettled:
            found = find_created(listed, create, known_ids)
            if found is not None:
                try:
                    await self.retire_one(Retiring(found, None), how="Delete")
                except CloudError:
                    still.append(create)
                    continue
                await announce(Retired(found, "deleted: made by a create whose answer was lost, after another "
                                              "token had been made"))
            elif still_unsettled(create, now):
                still.append(create)
        if still != unsettled:
            await record({"unsettledCreates": still or None})
        return still

    async def _delete_retired(self, retired: list[dict[str, Any]], record: Record, announce: Announce) -> None:
        for entry in list(retired):
            token_id = str(entry.get("applicationTokenId"))
            done = await self.retire_one(Retiring(token_id, None), how="Delete")
            retired = [r for r in retired if r.get("applicationTokenId") != token_id]
            await record({"retiredTokens": retired or None})
            await announce(Retired(token_id, f"{done.how} to make room under the application's token limit"))

    async def _create(self, expiration_ms: int) -> str:
        reply = await self.client.create_application_token(
            instance_id=self.instance_id, application_id=self.application_id,
            expiration_time=datetime.fromtimestamp(expiration_ms / 1000, tz=UTC),
        )
        return reply.value.application_token_id

    async def _list(self) -> list[Listed]:
        reply = await self.client.list_application_tokens(instance_id=self.instance_id,
                                                          application_id=self.application_id)
        return [Listed(t.application_token_id,
                       int(t.expiration_time.timestamp() * 1000) if t.expiration_time else None, t.create_time)
                for t in reply.value]

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

    async def retire_all(self, entries: Sequence[Retiring], *, how: Retire, record: Record, current: str | None,
                         announce: Announce, held: set[str], now: datetime,
                         backing_off_too: bool = False, budget: timedelta | None = None) -> list[Retiring]:
        """Retire now the entries whose successor reached the Secret (they have a retireAt), before a
        new rotation or at the token limit. One the Secret may still hold waits; one the cloud
        refuses to retire stays listed for its own retries: neither blocks the rotation. So each
        gets one attempt, no retries, all at once and within ``budget``; a refusal or no answer in
        time puts it on the retirement backoff; one still backing off after a refusal is skipped
        (``backing_off_too``: not at the token limit, where room must be made). Disables that time
        out, one after another, took 10 s each before every create, past a short-lived token's
        expiry (found by the soak)."""
        if how == "Keep":
            return list(entries)
        due = [entry for entry in entries if entry.token_id != current and entry.retire_at is not None
               and entry.token_id not in held  # (another resource uses it; it stays listed until let go)
               and (backing_off_too or not entry.attempts or entry.retire_at <= now)]
        if not due:
            return list(entries)
        outcomes = await self.attempt_retirements(due, how=how, budget=budget)
        left = list(entries)
        done: list[Retired] = []
        for entry, outcome in zip(due, outcomes, strict=True):
            if isinstance(outcome, Retired):
                left = [e for e in left if e.token_id != entry.token_id]
                done.append(outcome)
                continue
            logger.info("could not retire token %s before the next rotation: %s", entry.token_id, outcome.code)
            refused = retry_retirement(entry, now, first=RETIRE_RETRY, most=RETIRE_RETRY_MOST)
            left = [refused if e.token_id == entry.token_id else e for e in left]
        await record({"retiringTokens": retiring_as_status(left)})
        for retired in done:
            await announce(Retired(retired.token_id, f"{retired.how} before the next rotation"))
        return left

    async def attempt_retirements(self, due: Sequence[Retiring], *, how: Retire,
                                   budget: timedelta | None) -> list[Retired | CloudError]:
        """One attempt at each retirement, all at once; per entry, what was done or why not (the
        cloud's refusal, or a RequestTimeout when ``budget`` ran out: the attempt is abandoned)."""
        attempts = [asyncio.ensure_future(self.retire_one(entry, how=how, once=True)) for entry in due]
        try:
            await asyncio.wait(attempts, timeout=budget.total_seconds() if budget is not None else None)
        finally:
            for attempt in attempts:
                attempt.cancel()  # (a no-op for those done)
            await asyncio.gather(*attempts, return_exceptions=True)
        outcomes: list[Retired | CloudError] = []
        for entry, attempt in zip(due, attempts, strict=True):
            error = None if attempt.cancelled() else attempt.exception()
            if attempt.cancelled():
                # Named like the cloud's own timeouts, so the Event says which calls and how long.
                waited = int(budget.total_seconds()) if budget is not None else 0
                outcomes.append(CloudUnavailableError(
                    code="RequestTimeout", action="DisableApplicationToken", retryable=True,
                    message=f"no answer within {waited}s to retiring token {entry.token_id} "
                            f"({'Disable, then Delete' if how == 'Delete' else 'Disable'}); tokensync stopped "
                            "waiting so that the token's renewal is not held up"))
            elif isinstance(error, CloudError):
                outcomes.append(error)
            elif error is not None:
                raise error
            else:
                outcomes.append(attempt.result())
        return outcomes

    async def retire_one(self, entry: Retiring, *, how: Retire, once: bool = False) -> Retired:
        """Disable (and delete) one replaced token; a token already gone counts as retired.
        ``once``: one attempt per call, no retries."""
        if how == "Keep":
            return Retired(entry.token_id, "kept")
        try:
            await self.client.disable_application_token(**self._ids(entry.token_id), once=once)
            if how == "Delete":
                await self.client.delete_application_token(**self._ids(entry.token_id), once=once)
        except NotFoundError:
            return Retired(entry.token_id, "already gone")
        return Retired(entry.token_id, "deleted" if how == "Delete" else "disabled")


    # ---- at the resource's deletion ---------------------------------------------------------

    async def release(self, release: Release, *, how: Retire, known_ids: set[str], now: datetime, record: Record,
                      announce: Announce) -> None:
        """Retire what a deleted resource made or replaced, and delete the tokens of its creates
        whose answer was lost. Raises CloudError to be tried again (every step is idempotent); a
        create too recent to be listed yet is waited for, as before a rotation."""
        for token_id in release.retire:
            done = await self.retire_one(Retiring(token_id, None), how=how)
            if done.how != "already gone":  # (a retry after a partial release says nothing twice)
                await announce(Retired(token_id, f"{done.how}: the resource that made or replaced it was deleted"))
        if not release.creates:
            return
        listed = await self._list()
        for create in release.creates:
            found = find_created(listed, create, known_ids)
            if found is not None:
                await self.retire_one(Retiring(found, None), how="Delete")
                await announce(Retired(found, "deleted: made by a create whose answer was lost"))
                continue
            _wait_for_create(create, now=now, settle=CREATE_SETTLE, then="before the deletion goes on without it")
        await record({"pendingRotation": None, "unsettledCreates": None})


def _wait_for_create(create: dict[str, Any], *, now: datetime, settle: timedelta, then: str) -> None:
    """A create that got no answer and whose token is not listed may still be carried out: within
    ``settle`` of its start, raise a retryable error that asks to come back when it has passed."""
    started = parse_rfc3339(create.get("startedAt"))
    if started is not None and now - started < settle:
        wait = settle - (now - started)
        raise CloudUnavailableError(
            code="CreateOutcomeUnknown", action="CreateApplicationToken", retryable=True,
            retry_after=wait.total_seconds(),
            message=f"the CreateApplicationToken sent at {rfc3339(started)} got no answer and its token is not "
                    f"listed yet; waiting {int(wait.total_seconds())}s {then}",
        )


def _whole_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
