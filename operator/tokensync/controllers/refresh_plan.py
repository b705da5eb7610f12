"""When to read a resource from the cloud again: pure functions, no I/O, no clock reads.

The policy, briefly:

* **Before expiry, never late.** A token is due for renewal at ``expiry - margin``, where the
  margin is ``renewBefore`` or ``renewBeforePercentage`` of its lifetime (``ExpirationTime -
  CreateTime``; default a third). The next read is at that moment, or ``recheckInterval`` after
  this read if that comes first.
* **Never in a storm.** Jitter spreads tokens that expire together. It is deterministic (a hash of
  the resource's key), so an operator restart does not reshuffle the plan, and it only ever makes
  a read *earlier*, by at most ``max_jitter`` and a tenth of the margin (or of the interval), so it
  can never push a read past the renewal deadline.
* **Never spinning.** No plan reads a resource sooner than ``min_interval`` from now: that floor
  wins over everything else (a 20 s token is still read every few seconds, never in a loop).
* **Cloud clock.** Token times are in the cloud's clock; ``clock_skew = cloud - operator`` (from
  the response's ``Date`` header) converts them to the operator's clock before planning.
* **Failures back off** exponentially (``base * 2^(n-1)``, capped at ``max_backoff``), and the cap
  shrinks to a quarter of the time left while a known expiry is ahead, so a token is retried
  often enough to be renewed once the cloud answers again. ``x-acs-retry-after`` is a floor.
  Transient errors (throttling, 5xx, network) use "equal jitter": a deterministic wait in
  ``(ceiling/2, ceiling]``, to break up the burst an outage leaves behind. Non-transient errors
  (NotFound, AccessDenied, InvalidCredentials, a disabled or expired token) are waiting for a
  person, so jitter never shortens their backoff: they wait the full backoff, and jitter only
  delays them (within the cap), so a broken resource never burns more quota than the backoff says.
* **No burst after a restart.** ``read_due`` decides from status alone whether a read is due, so a
  restarted operator reads only what its last plan said is due.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = [
    "MAX_RETRY_AFTER",
    "RefreshPlan",
    "RefreshPolicy",
    "TokenLifetime",
    "jitter_fraction",
    "plan_after_failure",
    "plan_after_read",
    "plan_interval",
    "read_due",
]

# Jitter is at most this fraction of the margin / interval it is taken from, so it stays small
# next to the quantity it perturbs (a 20 s token's reads move by at most ~0.7 s).
JITTER_SHARE = 0.10
# While a known expiry is ahead, a failed read is retried after at most this share of the time
# left: about four more attempts fit before expiry, whatever the backoff had grown to.
EXPIRY_BACKOFF_SHARE = 0.25
# Longest wait between retries of a transient failure once the token has expired.
EXPIRED_BACKOFF_CAP = timedelta(minutes=2)
# After the renewal moment has passed and the token is still not renewed (renewal.strategy None,
# or renewals failing), the wait is as long as the renewal is overdue: reads double their spacing
# without keeping a counter, and an extension made by someone else is still seen within that spacing.
OVERDUE_BACKOFF_SHARE = 1.0
# A Retry-After beyond this is treated as this: a garbled header must not park a resource for years.
MAX_RETRY_AFTER = timedelta(days=1)
# Exponent cap for the backoff: 2**200 microseconds dwarfs any max_backoff, and the int stays small.
_MAX_BACKOFF_EXPONENT = 200
_MAX_ATTEMPTS = 2**63 - 1

_UTC_MAX = datetime.max.replace(tzinfo=UTC)
_UTC_MIN = datetime.min.replace(tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class RefreshPolicy:
    renew_before: timedelta | None = None  # fixed margin before expiry; wins over the percentage
    renew_before_percentage: float = 33.0  # of lifetime (ExpirationTime - CreateTime)
    recheck_interval: timedelta = timedelta(hours=1)  # longest time between two reads, even far from expiry
    min_interval: timedelta = timedelta(seconds=5)  # no resource reads more often than this (short-lived tokens)
    base_backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(minutes=30)
    max_jitter: timedelta = timedelta(minutes=5)
    expiry_grace: timedelta = timedelta(seconds=1)  # smallest margin: the last read is at least this before expiry


@dataclass(frozen=True)
class TokenLifetime:
    expiration_time: datetime  # cloud clock
    # Cloud clock. None (or not before expiration_time): lifetime unknown. The token then is
    # assumed to have been created just now, i.e. its lifetime is the time left: the smallest
    # lifetime consistent with what was read. Each read re-plans, so reads get denser as the
    # expiry nears (never closer than min_interval, never further apart than recheck_interval).
    create_time: datetime | None


@dataclass(frozen=True)
class RefreshPlan:
    next_read: datetime | None  # None only for non-retryable failures (fix the spec to retry)
    renew_at: datetime | None  # when the token should be renewed (expiry - margin), operator clock; None if unknown
    why: str  # short human text for status messages
    # This resource's own renewal moment: renew_at moved earlier by its jitter (operator clock). A
    # read at or after it renews the token (spec.renewal), so tokens due together spread out.
    renew_from: datetime | None = None


def jitter_fraction(jitter_key: str) -> float:
    """A number in [0, 1) fixed by the key: the same resource always gets the same jitter."""
    digest = hashlib.sha256(jitter_key.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def plan_after_read(
    *,
    token: TokenLifetime,
    policy: RefreshPolicy,
    now: datetime,
    jitter_key: str,
    clock_skew: timedelta = timedelta(0),
) -> RefreshPlan:
    """Plan the next read after a successful read of a token."""
    _require_aware(now=now, expiration_time=token.expiration_time, create_time=token.create_time)
    min_interval = _non_negative(policy.min_interval)
    grace = _non_negative(policy.expiry_grace)
    fraction = jitter_fraction(jitter_key)

    expiry = _shift(token.expiration_time, -clock_skew)
    create = _shift(token.create_time, -clock_skew) if token.create_time is not None else None
    lifetime_known = create is not None and create < expiry
    lifetime = expiry - create if create is not None and lifetime_known else max(expiry - now, timedelta(0))

    if policy.renew_before is not None:
        margin = _non_negative(policy.renew_before)
        margin_why = f"{_duration_text(margin)} before expiry"
    else:
        percentage = _percentage(policy.renew_before_percentage)
        margin = lifetime * (percentage / 100.0)
        of_what = "lifetime" if lifetime_known else "remaining time (creation time unknown)"
        share = "a third" if abs(percentage - 100.0 / 3.0) <= 0.5 else f"{percentage:g}%"
        margin_why = f"{share} of the {of_what} before expiry"
    # The margin is never below the grace, so the renewal read never lands on the expiry itself.
    margin = max(margin, grace)
    renew_at = _shift(expiry, -margin)

    # This resource's own renewal moment: jitter moves it earlier, never later.
    by_renewal = _shift(renew_at, -_jitter(fraction, margin, policy.max_jitter))
    if by_renewal <= now:
        # Read at (or after) its renewal moment and still the same token: back off from that
        # moment, rather than re-reading every min_interval until the unjittered renew_at.
        overdue = _plan_overdue(
            expiry=expiry, renew_at=renew_at, due_since=by_renewal, policy=policy, now=now, fraction=fraction
        )
        return RefreshPlan(next_read=overdue.next_read, renew_at=renew_at, why=overdue.why, renew_from=by_renewal)

    recheck = _non_negative(policy.recheck_interval)
    recheck_jitter = _jitter(fraction, recheck, policy.max_jitter)
    by_recheck = _shift(now, recheck - recheck_jitter)
    next_read, why = (by_renewal, margin_why) if by_renewal <= by_recheck else (by_recheck, "recheck interval")
    floor = _shift(now, min_interval)
    if next_read < floor:
        # The renewal (or recheck) minus its jitter is closer than min_interval: not spinning wins.
        # If the renewal itself is that close, this read lands just after it (then overdue path).
        next_read, why = floor, f"{why}, held to the minimum interval"
    return RefreshPlan(next_read=next_read, renew_at=renew_at, why=why, renew_from=by_renewal)


def _plan_overdue(
    *, expiry: datetime, renew_at: datetime, due_since: datetime, policy: RefreshPolicy, now: datetime,
    fraction: float,
) -> RefreshPlan:
    """The renewal moment has passed and the cloud still returns the old token: look again soon.

    The wait starts at min_interval and grows with how overdue the renewal is (as long as that),
    capped by max_backoff and recheck_interval; the last read lands just before expiry and the
    next one just after it.
    """
    min_interval = _non_negative(policy.min_interval)
    overdue = now - due_since
    wait = min(
        overdue * OVERDUE_BACKOFF_SHARE, _non_negative(policy.max_backoff), _non_negative(policy.recheck_interval)
    )
    why = "renewal due, the token has not been renewed yet"
    last_useful = _shift(expiry, -_non_negative(policy.expiry_grace))
    if now <= last_useful and _shift(now, wait) > last_useful:
        wait, why = last_useful - now, "last read before expiry"
        wait -= _jitter(fraction, wait, policy.max_jitter)
    elif now < expiry and _shift(now, wait) > expiry:
        # A read in the last moments before expiry (the min_interval floor can put one there):
        # the next is the first read after expiry, not the backoff, or the Secret would hold an
        # expired token for up to max_backoff.
        wait, why = expiry - now, "first read after expiry"
    else:
        wait -= _jitter(fraction, wait, policy.max_jitter)
    if renew_at > now and _shift(now, wait) > renew_at:
        # Inside the jitter window the unjittered renewal moment may still be ahead: not past it.
        wait = renew_at - now
    if wait < min_interval:
        wait = min_interval
        why = why if why in ("last read before expiry", "first read after expiry") else (
            f"{why}, held to the minimum interval"
        )
    return RefreshPlan(next_read=_shift(now, wait), renew_at=renew_at, why=why)


def plan_after_failure(
    *,
    failed_attempts: int,
    transient: bool,
    retryable: bool,
    retry_after: timedelta | None,
    expiration_time: datetime | None,
    policy: RefreshPolicy,
    now: datetime,
    jitter_key: str,
    clock_skew: timedelta = timedelta(0),
) -> RefreshPlan:
    """Plan the retry after ``failed_attempts`` consecutive failures (this one included)."""
    _require_aware(now=now, expiration_time=expiration_time)
    if not retryable:
        return RefreshPlan(next_read=None, renew_at=None, why="not retryable: fix the spec to retry")

    # Clamped to int64 like the status field it comes from: a garbled count must not blow up str().
    attempts = min(max(1, failed_attempts), _MAX_ATTEMPTS)
    min_interval = _non_negative(policy.min_interval)
    cap = _non_negative(policy.max_backoff)
    why = f"backoff after {attempts} failure{'s' if attempts != 1 else ''}"
    if expiration_time is not None:
        time_left = _shift(expiration_time, -clock_skew) - now
        if time_left > timedelta(0):
            expiry_cap = max(time_left * EXPIRY_BACKOFF_SHARE, min_interval)
            if expiry_cap < cap:
                cap, why = expiry_cap, f"{why}, shortened as expiry nears"
        elif transient:
            # The Secret already holds an expired token: once the cloud is back, every minute
            # counts more than the few calls a failing retry costs.
            expired_cap = max(EXPIRED_BACKOFF_CAP, min_interval)
            if expired_cap < cap:
                cap, why = expired_cap, f"{why}, short while the token in the Secret has expired"

    ceiling = min(_exponential(policy.base_backoff, attempts), cap)
    # A fresh fraction per attempt: consecutive waits of one resource do not repeat one pattern.
    fraction = jitter_fraction(f"{jitter_key}\x00failure\x00{attempts}")
    if transient:
        # Equal jitter: (ceiling/2, ceiling]. Spreads the retries of everything one outage broke.
        wait = ceiling - (ceiling / 2) * fraction
    else:
        # Waiting for a person (permissions, a deleted token): never sooner than the backoff.
        # Jitter only delays, and not beyond the cap.
        wait = ceiling + min(_jitter(fraction, ceiling, policy.max_jitter), cap - ceiling)
    wait = max(wait, min_interval)
    if retry_after is not None:
        floor = min(_non_negative(retry_after), MAX_RETRY_AFTER)
        if wait < floor:
            # The cloud said when it will accept us again: reading earlier only burns quota.
            wait, why = floor, f"{why}, retry-after from the cloud"
    return RefreshPlan(next_read=_shift(now, wait), renew_at=None, why=why)


def plan_interval(*, interval: timedelta, policy: RefreshPolicy, now: datetime, jitter_key: str) -> RefreshPlan:
    """Plan the next read of a resource re-read every ``interval`` (RamApplication)."""
    _require_aware(now=now)
    interval = _non_negative(interval)
    wait = interval - _jitter(jitter_fraction(jitter_key), interval, policy.max_jitter)
    why = "refresh interval"
    min_interval = _non_negative(policy.min_interval)
    if wait < min_interval:
        wait, why = min_interval, "refresh interval, held to the minimum interval"
    return RefreshPlan(next_read=_shift(now, wait), renew_at=None, why=why)


def read_due(
    *,
    now: datetime,
    generation: int | None,
    observed_generation: int | None,
    force_sync: str | None,
    last_force_sync: str | None,
    next_refresh_time: datetime | None,
    has_synced: bool,
    target_missing: bool,
) -> str | None:
    """Why a cloud read is due now, or None.

    Decided from the resource and its status only, so after an operator restart a resource whose
    status plans its next refresh later is not read: no burst of reads for fresh tokens.
    An empty force-sync annotation counts as absent.
    """
    if not has_synced:
        return "first sync"
    if generation != observed_generation:
        return "spec changed"
    if force_sync and force_sync != last_force_sync:
        return "force-sync"
    if target_missing:
        return "target missing"
    if next_refresh_time is None or next_refresh_time <= now:
        return "refresh due"
    return None


def _jitter(fraction: float, span: timedelta, max_jitter: timedelta) -> timedelta:
    """How much earlier (or later) a read moves: a share of at most a tenth of span and max_jitter."""
    bound = min(_non_negative(span) * JITTER_SHARE, _non_negative(max_jitter))
    return bound * fraction


def _exponential(base: timedelta, attempts: int) -> timedelta:
    """base * 2^(attempts-1), computed in integer microseconds so no attempt count overflows."""
    exponent = min(attempts - 1, _MAX_BACKOFF_EXPONENT)
    micros = (_non_negative(base) // _ONE_US) << exponent
    return _ONE_US * min(micros, timedelta.max // _ONE_US)


def _shift(moment: datetime, delta: timedelta) -> datetime:
    """moment + delta, clamped to the representable range (a year-9999 expiry must not crash a sync)."""
    try:
        return moment + delta
    except OverflowError:
        return _UTC_MAX if delta > timedelta(0) else _UTC_MIN


def _non_negative(delta: timedelta) -> timedelta:
    return max(delta, timedelta(0))


def _percentage(value: float) -> float:
    if not math.isfinite(value):
        return RefreshPolicy.renew_before_percentage
    return min(max(value, 0.0), 100.0)


def _duration_text(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{delta.total_seconds():g}s"


def _require_aware(**moments: datetime | None) -> None:
    for name, moment in moments.items():
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware (UTC)")
