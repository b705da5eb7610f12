"""The refresh plan: before expiry, never late, never spinning, never in a storm."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tokensync.controllers.refresh_plan import (
    EXPIRED_BACKOFF_CAP,
    MAX_RETRY_AFTER,
    RefreshPlan,
    RefreshPolicy,
    TokenLifetime,
    jitter_fraction,
    plan_after_failure,
    plan_after_read,
    plan_interval,
    read_due,
)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = RefreshPolicy()
KEY = "default/billing-token/0b6f3c1e-6a4e-4f55-9a0e-2f1d7c3b9a10"
S = timedelta(seconds=1)
MIN = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)

settings.register_profile("refresh_plan", deadline=None, max_examples=150)
settings.load_profile("refresh_plan")

keys = st.text(min_size=1, max_size=60)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))


def read_plan(
    lifetime: timedelta,
    *,
    age: timedelta = timedelta(0),
    policy: RefreshPolicy = POLICY,
    key: str = KEY,
    skew: timedelta = timedelta(0),
    create_known: bool = True,
) -> RefreshPlan:
    """A token created ``age`` ago (in the operator's clock) that lives ``lifetime``."""
    create_cloud = T0 - age + skew
    return plan_after_read(
        token=TokenLifetime(
            expiration_time=create_cloud + lifetime, create_time=create_cloud if create_known else None
        ),
        policy=policy,
        now=T0,
        jitter_key=key,
        clock_skew=skew,
    )


def failure_plan(
    attempts: int,
    *,
    transient: bool = True,
    retryable: bool = True,
    retry_after: timedelta | None = None,
    expires_in: timedelta | None = None,
    policy: RefreshPolicy = POLICY,
    key: str = KEY,
    now: datetime = T0,
    skew: timedelta = timedelta(0),
) -> RefreshPlan:
    return plan_after_failure(
        failed_attempts=attempts,
        transient=transient,
        retryable=retryable,
        retry_after=retry_after,
        expiration_time=now + skew + expires_in if expires_in is not None else None,
        policy=policy,
        now=now,
        jitter_key=key,
        clock_skew=skew,
    )


def wait_of(plan: RefreshPlan, now: datetime = T0) -> timedelta:
    assert plan.next_read is not None
    return plan.next_read - now


# --- jitter_fraction ---------------------------------------------------------------------------


@given(keys)
def test_jitter_fraction_is_in_unit_interval_and_stable(key: str) -> None:
    fraction = jitter_fraction(key)
    assert 0.0 <= fraction < 1.0
    assert jitter_fraction(key) == fraction


def test_jitter_fraction_is_pinned_so_an_upgrade_does_not_reshuffle_plans() -> None:
    # sha256 of the key, first 8 bytes: changing this would move every resource's schedule.
    assert jitter_fraction("default/billing-token/uid") == 0.5105380945705251


def test_jitter_fraction_differs_across_keys() -> None:
    fractions = {jitter_fraction(f"ns/token-{i}/uid-{i}") for i in range(1000)}
    assert len(fractions) == 1000


# --- plan_after_read: where the renewal lands --------------------------------------------------


def test_one_hour_token_is_read_a_third_of_its_lifetime_before_expiry() -> None:
    plan = read_plan(H)
    expiry = T0 + H
    assert plan.renew_at == expiry - H * 0.33
    assert plan.next_read is not None
    # jitter is at most a tenth of the margin (~2 min), and only earlier
    assert plan.renew_at - H * 0.033 <= plan.next_read <= plan.renew_at
    assert plan.why == "a third of the lifetime before expiry"


def test_thirty_day_token_is_rechecked_every_hour_far_from_expiry() -> None:
    plan = read_plan(30 * D)
    assert plan.renew_at == T0 + 30 * D - 30 * D * 0.33
    assert T0 + 55 * MIN <= wait_of(plan) + T0 <= T0 + H
    assert plan.why == "recheck interval"


def test_renew_before_wins_over_the_percentage() -> None:
    plan = read_plan(H, policy=RefreshPolicy(renew_before=10 * MIN, renew_before_percentage=90))
    assert plan.renew_at == T0 + 50 * MIN
    assert plan.next_read is not None
    assert T0 + 49 * MIN <= plan.next_read <= T0 + 50 * MIN
    assert plan.why == "10m before expiry"


def test_percentage_is_of_the_lifetime_not_of_the_time_left() -> None:
    # Token created 30 min ago, lives 2 h: 50% margin -> renew 1 h after creation, 30 min from now.
    plan = read_plan(2 * H, age=30 * MIN, policy=RefreshPolicy(renew_before_percentage=50))
    assert plan.renew_at == T0 + 30 * MIN
    assert plan.why == "50% of the lifetime before expiry"


def test_unknown_creation_time_assumes_the_token_was_created_now() -> None:
    # Created long ago in truth, but unknown: the time left (1 h) is taken as the lifetime.
    plan = read_plan(3 * H, age=2 * H, create_known=False)
    assert plan.renew_at == T0 + H - H * 0.33
    assert plan.next_read is not None and plan.next_read <= plan.renew_at
    assert "creation time unknown" in plan.why


def test_creation_time_after_expiration_is_treated_as_unknown() -> None:
    plan = plan_after_read(
        token=TokenLifetime(expiration_time=T0 + H, create_time=T0 + 2 * H),
        policy=POLICY, now=T0, jitter_key=KEY,
    )
    assert plan.renew_at == T0 + H - H * 0.33


def test_zero_percentage_still_renews_expiry_grace_before_expiry() -> None:
    plan = read_plan(H, policy=RefreshPolicy(renew_before_percentage=0, recheck_interval=2 * H))
    assert plan.renew_at == T0 + H - POLICY.expiry_grace
    assert plan.next_read is not None and plan.next_read <= plan.renew_at


@pytest.mark.parametrize(("percentage", "margin"), [(float("nan"), H * 0.33), (250.0, H), (-5.0, S)])
def test_out_of_range_percentage_is_clamped(percentage: float, margin: timedelta) -> None:
    policy = RefreshPolicy(renew_before_percentage=percentage, recheck_interval=2 * H)
    plan = read_plan(H, age=timedelta(0), policy=policy)
    assert plan.renew_at == T0 + H - margin


def test_twenty_second_token_is_read_before_expiry_but_not_sooner_than_min_interval() -> None:
    plan = read_plan(20 * S)
    assert plan.renew_at == T0 + 20 * S - 20 * S * 0.33
    assert plan.next_read is not None
    assert T0 + POLICY.min_interval <= plan.next_read <= plan.renew_at
    assert plan.renew_at - plan.next_read <= 20 * S * 0.033


def test_twenty_second_token_follows_its_renewals_over_several_lifetimes() -> None:
    """The cloud rotates a 20 s token when it is 15 s old; each read lands before the expiry."""
    now = T0
    reads = 0
    while now < T0 + 10 * MIN:
        created = T0 + ((now - T0) // (15 * S)) * (15 * S)
        token = TokenLifetime(expiration_time=created + 20 * S, create_time=created)
        plan = plan_after_read(token=token, policy=POLICY, now=now, jitter_key=KEY)
        assert plan.next_read is not None
        assert plan.next_read >= now + POLICY.min_interval
        assert plan.next_read < token.expiration_time  # the token in the Secret never goes stale
        now = plan.next_read
        reads += 1
    # 10 minutes of a 20 s token: a read every 5-13 s, not a spin
    assert 45 <= reads <= 120


def test_renewal_closer_than_min_interval_is_held_to_min_interval() -> None:
    plan = read_plan(H, age=H - 2 * S - POLICY.expiry_grace, policy=RefreshPolicy(renew_before_percentage=0))
    assert plan.next_read == T0 + POLICY.min_interval
    assert "minimum interval" in plan.why


def test_fixed_margin_is_not_jittered_beyond_max_jitter() -> None:
    policy = RefreshPolicy(renew_before=10 * D, recheck_interval=100 * D)
    plan = read_plan(30 * D, policy=policy)
    assert plan.renew_at == T0 + 20 * D
    assert plan.next_read is not None
    assert plan.renew_at - policy.max_jitter <= plan.next_read <= plan.renew_at


# --- plan_after_read: renewal moment already passed ------------------------------------------


# Overdue is measured from the resource's own (jittered) renewal moment; without jitter that is
# renew_at itself, which keeps the numbers below readable.
UNJITTERED = RefreshPolicy(max_jitter=timedelta(0))


def test_renewal_passed_reads_again_at_min_interval_at_first() -> None:
    # 1 h token: renewal was due 2 s ago, nothing has renewed it.
    plan = read_plan(H, age=H - H * 0.33 + 2 * S, policy=UNJITTERED)
    assert plan.renew_at is not None and plan.renew_at < T0
    assert wait_of(plan) == POLICY.min_interval
    assert "not been renewed" in plan.why


def test_renewal_passed_backs_off_gently_and_is_capped() -> None:
    waits = [wait_of(read_plan(H, age=H - H * 0.33 + overdue, policy=UNJITTERED))
             for overdue in (12 * S, 2 * MIN, 6 * MIN)]
    # as long as it is overdue: the spacing of the reads doubles
    assert waits == [12 * S, 2 * MIN, 6 * MIN]
    # 16 minutes overdue, 4 minutes left: the last read lands before expiry, not 16 minutes on
    assert wait_of(read_plan(H, age=H - H * 0.33 + 16 * MIN, policy=UNJITTERED)) <= 4 * MIN
    long_overdue = wait_of(read_plan(40 * D, age=30 * D))
    assert long_overdue <= POLICY.max_backoff


def test_overdue_tokens_with_the_same_expiry_do_not_read_in_lockstep() -> None:
    overdue_age = H - H * 0.33 + 8 * MIN
    reads = {read_plan(H, age=overdue_age, key=f"ns/token-{i}").next_read for i in range(200)}
    assert len(reads) == 200
    assert all(r is not None and r <= T0 + 10 * MIN for r in reads)  # 8 min + at most 2 min of jitter


@pytest.mark.parametrize("left", [0.9 * S, 0.5 * S, 0.001 * S])
def test_a_read_in_the_last_second_is_followed_by_one_just_after_expiry(left: timedelta) -> None:
    """The min_interval floor can put a read inside the grace before expiry; the next read must
    then come right after expiry, not after the overdue backoff (up to 30 minutes late)."""
    for key in (f"ns/token-{i}" for i in range(50)):
        plan = read_plan(H, age=H - left, key=key)
        assert plan.next_read is not None
        assert plan.next_read <= T0 + left + POLICY.min_interval, (key, plan)


def test_renewal_passed_last_read_lands_just_before_expiry() -> None:
    # 30-day token with 2 minutes left; the overdue wait (days/4) would overshoot the expiry.
    plan = read_plan(30 * D, age=30 * D - 2 * MIN)
    assert plan.next_read is not None
    expiry = T0 + 2 * MIN
    assert T0 + POLICY.min_interval <= plan.next_read <= expiry - POLICY.expiry_grace
    assert plan.why == "last read before expiry"


def test_twenty_second_token_past_renewal_is_read_once_more_before_expiry() -> None:
    plan = read_plan(20 * S, age=14 * S)
    assert plan.next_read is not None
    assert plan.next_read == T0 + POLICY.min_interval
    assert plan.next_read <= T0 + 6 * S - POLICY.expiry_grace


def test_already_expired_token_is_still_read_again_without_spinning() -> None:
    plan = read_plan(H, age=2 * H)
    assert plan.next_read is not None
    assert T0 + POLICY.min_interval <= plan.next_read <= T0 + POLICY.max_backoff


# --- plan_after_read: clock skew ---------------------------------------------------------------


@pytest.mark.parametrize("skew", [5 * MIN, -5 * MIN])
def test_cloud_clock_skew_shifts_the_renewal_plan(skew: timedelta) -> None:
    """The same token times in cloud clock; the operator's clock is off by ``skew``."""
    expiration_cloud = T0 + H
    aligned = plan_after_read(
        token=TokenLifetime(expiration_time=expiration_cloud, create_time=T0), policy=POLICY, now=T0, jitter_key=KEY
    )
    skewed = plan_after_read(
        token=TokenLifetime(expiration_time=expiration_cloud, create_time=T0),
        policy=POLICY, now=T0, jitter_key=KEY, clock_skew=skew,
    )
    assert aligned.next_read is not None and skewed.next_read is not None
    assert aligned.renew_at is not None and skewed.renew_at is not None
    # cloud ahead (skew > 0): the token expires sooner on our clock, so we read sooner
    assert skewed.renew_at == aligned.renew_at - skew
    assert skewed.next_read == aligned.next_read - skew


def test_skew_does_not_move_a_recheck_measured_on_the_operator_clock() -> None:
    aligned = read_plan(30 * D)
    skewed = read_plan(30 * D, skew=5 * MIN)
    assert skewed.next_read == aligned.next_read


def test_skew_can_make_a_fresh_looking_token_overdue() -> None:
    # In cloud time the token has 25 min left of 1 h; the cloud is 10 min ahead: 15 min left here.
    plan = plan_after_read(
        token=TokenLifetime(expiration_time=T0 + 25 * MIN, create_time=T0 - 35 * MIN),
        policy=POLICY, now=T0, jitter_key=KEY, clock_skew=10 * MIN,
    )
    assert plan.renew_at is not None and plan.renew_at < T0
    assert plan.next_read is not None and plan.next_read <= T0 + 15 * MIN - POLICY.expiry_grace


# --- plan_after_read: properties ---------------------------------------------------------------


policies = st.builds(
    RefreshPolicy,
    renew_before=st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    renew_before_percentage=st.floats(min_value=0, max_value=100),
    recheck_interval=st.timedeltas(min_value=timedelta(seconds=5), max_value=timedelta(days=10)),
    min_interval=st.timedeltas(min_value=timedelta(0), max_value=timedelta(seconds=5)),
    max_jitter=st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=30)),
    expiry_grace=st.timedeltas(min_value=timedelta(0), max_value=timedelta(seconds=2)),
)
skews = st.timedeltas(min_value=-D, max_value=D)


@given(
    lifetime=st.timedeltas(min_value=10 * S, max_value=400 * D),
    # up to half the lifetime: the renewal is then at least min_interval after creation
    percentage=st.floats(min_value=0, max_value=50),
    recheck=st.timedeltas(min_value=5 * S, max_value=10 * D),
    skew=skews,
    key=keys,
)
def test_fresh_token_is_never_late_never_spinning(
    lifetime: timedelta, percentage: float, recheck: timedelta, skew: timedelta, key: str
) -> None:
    """Any lifetime >= 2 * min_interval, read when created: next_read <= renew_at <= expiry."""
    policy = RefreshPolicy(renew_before_percentage=percentage, recheck_interval=recheck)
    plan = read_plan(lifetime, policy=policy, key=key, skew=skew)
    assert plan.next_read is not None and plan.renew_at is not None
    assert T0 + policy.min_interval <= plan.next_read <= plan.renew_at <= T0 + lifetime
    assert plan.next_read <= T0 + recheck


@given(
    lifetime=st.timedeltas(min_value=timedelta(0), max_value=400 * D),
    age=st.timedeltas(min_value=-D, max_value=500 * D),
    policy=policies,
    skew=skews,
    key=keys,
    create_known=st.booleans(),
)
@example(  # found by hypothesis 6.170: inside the jitter window, the overdue path passed renew_at
    lifetime=timedelta(seconds=1), age=timedelta(0), skew=timedelta(0), key="0", create_known=False,
    policy=RefreshPolicy(renew_before=None, renew_before_percentage=99.0, recheck_interval=timedelta(seconds=5),
                         min_interval=timedelta(0), max_jitter=timedelta(seconds=1), expiry_grace=timedelta(0)),
)
def test_any_read_plan_keeps_its_guarantees(
    lifetime: timedelta, age: timedelta, policy: RefreshPolicy, skew: timedelta, key: str, create_known: bool
) -> None:
    plan = read_plan(lifetime, age=age, policy=policy, key=key, skew=skew, create_known=create_known)
    assert plan.next_read is not None and plan.renew_at is not None
    expiry = T0 - age + lifetime  # operator clock
    floor = T0 + policy.min_interval
    # never spinning, and never longer than the recheck interval
    assert plan.next_read >= floor
    assert plan.next_read <= max(T0 + policy.recheck_interval, floor)
    # the renewal moment is at least the grace before expiry
    assert plan.renew_at <= expiry - policy.expiry_grace
    # never late: a renewal that is ahead by more than min_interval is not overshot
    if plan.renew_at >= floor:
        assert plan.next_read <= plan.renew_at
    # once overdue, the last read still lands before expiry whenever min_interval allows
    if plan.renew_at <= T0 and expiry - policy.expiry_grace >= floor:
        assert plan.next_read <= expiry - policy.expiry_grace
    assert plan.why


@given(lifetime=st.timedeltas(min_value=S, max_value=400 * D), age=durations, policy=policies, key=keys, skew=skews)
def test_read_plan_is_deterministic(
    lifetime: timedelta, age: timedelta, policy: RefreshPolicy, key: str, skew: timedelta
) -> None:
    """A restarted operator computes the very same plan."""
    assert read_plan(lifetime, age=age, policy=policy, key=key, skew=skew) == read_plan(
        lifetime, age=age, policy=policy, key=key, skew=skew
    )


def test_jitter_differs_across_keys() -> None:
    reads = {read_plan(H, key=f"ns/token-{i}/uid-{i}").next_read for i in range(200)}
    assert len(reads) == 200


@pytest.mark.parametrize(("lifetime", "window"), [(H, H * 0.033), (30 * D, 5 * MIN)])
def test_a_thousand_tokens_with_the_same_expiry_spread_out(lifetime: timedelta, window: timedelta) -> None:
    plans = [read_plan(lifetime, key=f"team-{i % 17}/token-{i}/uid-{i:08x}") for i in range(1000)]
    reads = [p.next_read for p in plans]
    assert all(r is not None for r in reads)
    latest = max(r for r in reads if r is not None)
    earliest = min(r for r in reads if r is not None)
    # the reads use (almost) the whole window, not a corner of it
    assert latest - earliest >= window * 0.95
    per_second = Counter(int(r.timestamp()) for r in reads if r is not None)
    seconds = int(window.total_seconds())
    mean = 1000 / seconds
    assert max(per_second.values()) <= 3 * mean


# --- plan_after_failure ------------------------------------------------------------------------


def test_not_retryable_waits_for_a_spec_change() -> None:
    plan = failure_plan(1, retryable=False, transient=False, expires_in=H)
    assert plan.next_read is None
    assert "spec" in plan.why


def test_backoff_grows_exponentially_until_the_cap() -> None:
    waits = [wait_of(failure_plan(n, transient=False)) for n in range(1, 13)]
    for n, wait in enumerate(waits, start=1):
        backoff = min(POLICY.base_backoff * 2 ** (n - 1), POLICY.max_backoff)
        # non-transient: never sooner than the backoff, at most 10% later, never past the cap
        assert backoff <= wait <= min(backoff * 1.1, POLICY.max_backoff)
    assert waits[0] < waits[3] < waits[6] < waits[9]
    assert waits[-1] == POLICY.max_backoff
    assert "12 failures" in failure_plan(12).why
    assert failure_plan(1).why == "backoff after 1 failure"


def test_transient_backoff_uses_equal_jitter_within_the_ceiling() -> None:
    for n in range(1, 16):
        ceiling = min(POLICY.base_backoff * 2 ** (n - 1), POLICY.max_backoff)
        wait = wait_of(failure_plan(n, transient=True))
        assert max(ceiling / 2, POLICY.min_interval) <= wait <= max(ceiling, POLICY.min_interval)


def test_transient_backoff_spreads_resources_failing_together() -> None:
    waits = {wait_of(failure_plan(8, key=f"ns/token-{i}")) for i in range(500)}
    assert len(waits) == 500
    assert max(waits) - min(waits) >= POLICY.base_backoff * 2**7 / 2 * 0.9


def test_backoff_jitter_is_deterministic_per_key_and_attempt() -> None:
    assert failure_plan(6) == failure_plan(6)
    assert failure_plan(6).next_read != failure_plan(6, key="other/token").next_read
    # the fraction changes with the attempt: not the same relative position every time
    positions = {wait_of(failure_plan(n)) / min(POLICY.base_backoff * 2 ** (n - 1), POLICY.max_backoff)
                 for n in range(10, 20)}
    assert len(positions) == 10


@pytest.mark.parametrize("attempts", [0, -3])
def test_nonsense_attempt_counts_count_as_one(attempts: int) -> None:
    assert failure_plan(attempts) == failure_plan(1)


@pytest.mark.parametrize(
    "attempts", [64, 1025, 10**6, 10**18, 10**100, 10**5000], ids=lambda n: f"about-2^{n.bit_length()}"
)
@pytest.mark.parametrize("transient", [True, False])
def test_huge_attempt_counts_do_not_overflow(attempts: int, transient: bool) -> None:
    wait = wait_of(failure_plan(attempts, transient=transient))
    assert POLICY.max_backoff / 2 <= wait <= POLICY.max_backoff


def test_huge_backoff_settings_do_not_overflow() -> None:
    policy = RefreshPolicy(base_backoff=timedelta.max, max_backoff=timedelta.max, max_jitter=timedelta.max)
    plan = failure_plan(10**9, transient=False, policy=policy, now=datetime(9999, 1, 1, tzinfo=UTC))
    assert plan.next_read is not None and plan.next_read.year == 9999


def test_backoff_cap_shrinks_as_expiry_nears() -> None:
    far = wait_of(failure_plan(30, expires_in=30 * D))
    hour = wait_of(failure_plan(30, expires_in=H))
    minute = wait_of(failure_plan(30, expires_in=MIN))
    seconds = wait_of(failure_plan(30, expires_in=3 * S))
    assert far >= POLICY.max_backoff / 2
    assert hour <= H / 4
    assert minute <= MIN / 4
    assert seconds == POLICY.min_interval  # never spinning, even at the very end
    assert "expiry nears" in failure_plan(30, expires_in=H).why


def test_shrunk_cap_applies_to_non_transient_errors_too() -> None:
    wait = wait_of(failure_plan(30, transient=False, expires_in=H))
    assert wait == H / 4  # the whole (shrunk) backoff: never sooner, never later


def test_expiry_cap_reads_the_expiration_in_cloud_clock() -> None:
    # 2 min left in cloud time... but cloud runs 1 min behind: 3 min left on our clock.
    plan = plan_after_failure(
        failed_attempts=30, transient=False, retryable=True, retry_after=None,
        expiration_time=T0 + 2 * MIN, policy=POLICY, now=T0, jitter_key=KEY, clock_skew=-MIN,
    )
    assert wait_of(plan) == 3 * MIN / 4


def test_expired_token_backs_off_normally() -> None:
    assert wait_of(failure_plan(30, transient=False, expires_in=-H)) == POLICY.max_backoff


def test_retry_after_is_a_floor() -> None:
    plan = failure_plan(1, retry_after=10 * MIN)
    assert wait_of(plan) == 10 * MIN
    assert "retry-after" in plan.why
    # already waiting longer than retry-after: unchanged
    assert failure_plan(20, retry_after=S) == failure_plan(20)


def test_retry_after_wins_over_the_expiry_cap() -> None:
    # throttled: reading before the cloud accepts us again only burns quota
    assert wait_of(failure_plan(3, retry_after=2 * MIN, expires_in=MIN)) == 2 * MIN


def test_absurd_retry_after_is_capped_at_a_day() -> None:
    assert wait_of(failure_plan(1, retry_after=timedelta(days=10**6))) == MAX_RETRY_AFTER


def test_broken_resource_does_not_burn_quota() -> None:
    """AccessDenied for a whole day: about one read per max_backoff, not one per second."""
    now, attempts = T0, 0
    while now < T0 + D:
        attempts += 1
        now = failure_plan(attempts, transient=False, now=now, expires_in=None).next_read or now
    assert attempts <= 24 * 2 + 12


@given(
    outage_end=st.timedeltas(min_value=timedelta(0), max_value=H - 10 * S),
    first_failure=st.timedeltas(min_value=timedelta(0), max_value=30 * MIN),
    transient=st.booleans(),
    key=keys,
)
def test_token_is_retried_in_time_once_the_cloud_answers(
    outage_end: timedelta, first_failure: timedelta, transient: bool, key: str
) -> None:
    """The cloud fails from first_failure until outage_end; the token expires at T0 + 1 h."""
    expiry = T0 + H
    now, attempts = T0 + min(first_failure, outage_end), 0
    while now < T0 + outage_end:
        attempts += 1
        plan = plan_after_failure(
            failed_attempts=attempts, transient=transient, retryable=True, retry_after=None,
            expiration_time=expiry, policy=POLICY, now=now, jitter_key=key,
        )
        assert plan.next_read is not None and plan.next_read >= now + POLICY.min_interval
        now = plan.next_read
    # the first attempt after the outage reaches the cloud before the token expires
    assert now < expiry


@given(
    attempts=st.integers(min_value=-5, max_value=10**30),
    transient=st.booleans(),
    retry_after=st.none() | st.timedeltas(min_value=-H, max_value=10 * D),
    expires_in=st.none() | st.timedeltas(min_value=-D, max_value=400 * D),
    policy=policies,
    key=keys,
    skew=skews,
)
def test_any_failure_plan_keeps_its_guarantees(
    attempts: int,
    transient: bool,
    retry_after: timedelta | None,
    expires_in: timedelta | None,
    policy: RefreshPolicy,
    key: str,
    skew: timedelta,
) -> None:
    plan = failure_plan(
        attempts, transient=transient, retry_after=retry_after, expires_in=expires_in, policy=policy, key=key, skew=skew
    )
    wait = wait_of(plan)
    floor = min(max(retry_after, timedelta(0)), MAX_RETRY_AFTER) if retry_after is not None else timedelta(0)
    assert wait >= max(policy.min_interval, floor)
    cap = policy.max_backoff
    if expires_in is not None and expires_in > timedelta(0):
        cap = min(cap, expires_in / 4)
    assert wait <= max(cap, policy.min_interval, floor) + timedelta(microseconds=1)
    if not transient and retry_after is None:
        n = max(1, attempts)
        backoff = policy.base_backoff * 2 ** min(n - 1, 40)
        assert wait >= min(backoff, cap)
    assert plan.renew_at is None
    assert plan == failure_plan(
        attempts, transient=transient, retry_after=retry_after, expires_in=expires_in, policy=policy, key=key, skew=skew
    )


# --- plan_interval -----------------------------------------------------------------------------


def test_interval_plan_reads_a_little_before_the_interval() -> None:
    plan = plan_interval(interval=H, policy=POLICY, now=T0, jitter_key=KEY)
    assert plan.renew_at is None
    assert plan.why == "refresh interval"
    assert T0 + H - POLICY.max_jitter <= wait_of(plan) + T0 <= T0 + H


def test_short_interval_jitters_by_at_most_a_tenth() -> None:
    wait = wait_of(plan_interval(interval=10 * S, policy=POLICY, now=T0, jitter_key=KEY))
    assert 9 * S <= wait <= 10 * S


@pytest.mark.parametrize("interval", [timedelta(0), S, -H])
def test_tiny_interval_is_held_to_min_interval(interval: timedelta) -> None:
    plan = plan_interval(interval=interval, policy=POLICY, now=T0, jitter_key=KEY)
    assert wait_of(plan) == POLICY.min_interval
    assert "minimum interval" in plan.why


@given(interval=st.timedeltas(min_value=timedelta(0), max_value=400 * D), policy=policies, key=keys)
def test_any_interval_plan_keeps_its_guarantees(interval: timedelta, policy: RefreshPolicy, key: str) -> None:
    plan = plan_interval(interval=interval, policy=policy, now=T0, jitter_key=key)
    wait = wait_of(plan)
    assert wait >= policy.min_interval
    assert wait <= max(interval, policy.min_interval)
    if wait > policy.min_interval:
        assert interval - wait <= min(interval / 10, policy.max_jitter) + timedelta(microseconds=1)
    assert plan == plan_interval(interval=interval, policy=policy, now=T0, jitter_key=key)


def test_interval_plans_spread_across_keys() -> None:
    reads = [plan_interval(interval=H, policy=POLICY, now=T0, jitter_key=f"ns/app-{i}").next_read for i in range(1000)]
    per_second = Counter(int(r.timestamp()) for r in reads if r is not None)
    assert max(per_second.values()) <= 3 * 1000 / 300


# --- input validation --------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 11, 23, 8, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_after_read(token=TokenLifetime(expiration_time=naive, create_time=None), policy=POLICY, now=T0,
                        jitter_key=KEY)
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_interval(interval=H, policy=POLICY, now=naive, jitter_key=KEY)


def test_far_future_expiry_and_huge_intervals_do_not_overflow() -> None:
    year_9999 = datetime(9999, 12, 31, tzinfo=UTC)
    policy = RefreshPolicy(recheck_interval=timedelta.max)
    plan = plan_after_read(token=TokenLifetime(expiration_time=year_9999, create_time=None), policy=policy,
                           now=T0, jitter_key=KEY)
    assert plan.next_read is not None and T0 < plan.next_read <= year_9999
    plan = plan_interval(interval=timedelta.max, policy=POLICY, now=year_9999, jitter_key=KEY)
    assert plan.next_read is not None and plan.next_read.year == 9999


# --- read_due ----------------------------------------------------------------------------------


def due(
    *,
    generation: int | None = 3,
    observed_generation: int | None = 3,
    force_sync: str | None = None,
    last_force_sync: str | None = None,
    next_refresh_time: datetime | None = T0 + H,
    has_synced: bool = True,
    target_missing: bool = False,
) -> str | None:
    return read_due(
        now=T0, generation=generation, observed_generation=observed_generation, force_sync=force_sync,
        last_force_sync=last_force_sync, next_refresh_time=next_refresh_time, has_synced=has_synced,
        target_missing=target_missing,
    )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, None),
        ({"has_synced": False}, "first sync"),
        ({"has_synced": False, "observed_generation": None}, "first sync"),
        ({"generation": 4}, "spec changed"),
        ({"observed_generation": None}, "spec changed"),
        ({"generation": None, "observed_generation": None}, None),
        ({"force_sync": "2026-11-23T08:00"}, "force-sync"),
        ({"force_sync": "a", "last_force_sync": "a"}, None),
        ({"force_sync": "b", "last_force_sync": "a"}, "force-sync"),
        ({"force_sync": "", "last_force_sync": "a"}, None),
        ({"force_sync": None, "last_force_sync": "a"}, None),
        ({"target_missing": True}, "target missing"),
        ({"next_refresh_time": None}, "refresh due"),
        ({"next_refresh_time": T0}, "refresh due"),
        ({"next_refresh_time": T0 - S}, "refresh due"),
        ({"next_refresh_time": T0 + timedelta(microseconds=1)}, None),
    ],
)
def test_read_due_cases(kwargs: dict[str, object], expected: str | None) -> None:
    assert due(**kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("synced", "spec_changed", "forced", "missing", "refresh"),
    [(*flags, when) for flags in itertools.product([True, False], repeat=4) for when in ("none", "past", "future")],
)
def test_read_due_truth_table(synced: bool, spec_changed: bool, forced: bool, missing: bool, refresh: str) -> None:
    """Every combination: the first reason in precedence order, or None when nothing is due."""
    next_refresh = {"none": None, "past": T0 - MIN, "future": T0 + MIN}[refresh]
    reason = due(
        has_synced=synced,
        observed_generation=2 if spec_changed else 3,
        force_sync="new" if forced else "old",
        last_force_sync="old",
        target_missing=missing,
        next_refresh_time=next_refresh,
    )
    reasons = [
        (not synced, "first sync"),
        (spec_changed, "spec changed"),
        (forced, "force-sync"),
        (missing, "target missing"),
        (refresh != "future", "refresh due"),
    ]
    assert reason == next((text for active, text in reasons if active), None)


def test_restart_does_not_burst_reads_of_fresh_tokens() -> None:
    """1000 resources resumed from status after a restart: only those whose plan is due are read."""
    next_reads: list[datetime | None] = []
    for i in range(1000):
        last_read = T0 - (i % 60) * MIN  # each token was read (and created) at a different time
        plan = plan_after_read(
            token=TokenLifetime(expiration_time=last_read + H, create_time=last_read),
            policy=POLICY, now=last_read, jitter_key=f"ns/t-{i}",
        )
        next_reads.append(plan.next_read)
    reasons = [due(next_refresh_time=when) for when in next_reads]
    # read only when the plan in status says so: tokens read less than ~38 minutes ago are left alone
    assert all((reason == "refresh due") == (when is not None and when <= T0)
               for reason, when in zip(reasons, next_reads, strict=True))
    assert 300 < reasons.count("refresh due") < 400
    assert reasons.count(None) == 1000 - reasons.count("refresh due")


@pytest.mark.parametrize("attempts", [1, 5, 9, 20, 100])
def test_a_transient_failure_after_expiry_is_retried_within_two_minutes(attempts: int) -> None:
    """The Secret already holds an expired token: once the cloud answers again, the renewal must
    not wait a 30-minute backoff step."""
    plan = failure_plan(attempts, expires_in=-timedelta(minutes=10))
    assert POLICY.min_interval <= wait_of(plan) <= EXPIRED_BACKOFF_CAP
    assert "has expired" in plan.why


def test_a_failure_that_needs_a_person_keeps_the_full_backoff_after_expiry() -> None:
    """NotFound or AccessDenied after expiry: reading sooner cannot help, so quota is not burnt."""
    wait = wait_of(failure_plan(20, transient=False, expires_in=-timedelta(minutes=10)))
    assert wait == POLICY.max_backoff
