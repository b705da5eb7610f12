"""renewal_policy: which token is current, when a renewal is due, who may rotate, what a lost
create made, and when replaced tokens retire. Pure functions: no emulator needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.controllers.renewal_policy import (
    Listed,
    RenewalSettings,
    Retiring,
    add_retiring,
    claims_of,
    current_token_id,
    duration_text,
    find_created,
    margin_problem,
    next_retirement,
    release_at_deletion,
    renewal_due,
    renewal_lifetime,
    replaced_by_spec_edit,
    retirements_due,
    rotation_conflict,
    schedule_retirements,
    tagged_expiration,
    wants_finalizer,
)

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def settings(strategy: str = "Extend", lifetime: timedelta | None = None) -> RenewalSettings:
    return RenewalSettings(strategy=strategy, lifetime=lifetime, retire="Delete",  # type: ignore[arg-type]
                           retire_after=timedelta(minutes=10))


def test_the_spec_token_is_current_until_a_rotation_replaces_it() -> None:
    assert current_token_id("token_a", {}) == "token_a"
    rotated = {"applicationTokenId": "token_b", "specApplicationTokenId": "token_a"}
    assert current_token_id("token_a", rotated) == "token_b"
    # An edit of the spec wins over what rotation made, and leaves the rotated token to retire.
    assert current_token_id("token_c", rotated) == "token_c"
    assert replaced_by_spec_edit("token_c", rotated) == "token_b"
    # Rotate without applicationTokenId: nothing until tokensync creates one, then that one.
    assert current_token_id(None, {}) is None
    assert current_token_id(None, {"applicationTokenId": "token_b"}) == "token_b"


def test_a_spec_edit_never_retires_a_token_the_user_named() -> None:
    never_rotated = {"applicationTokenId": "token_a", "specApplicationTokenId": "token_a"}
    assert replaced_by_spec_edit("token_c", never_rotated) is None
    assert replaced_by_spec_edit("token_a", {"applicationTokenId": "token_b", "specApplicationTokenId": "token_a"}) \
        is None
    # Rotate started without a spec ID: the created token is left behind when the user names one.
    assert replaced_by_spec_edit("token_c", {"applicationTokenId": "token_b"}) == "token_b"


def test_the_renewal_lifetime_does_not_grow_with_extensions() -> None:
    created, expires = NOW - timedelta(days=300), NOW + timedelta(days=65)
    # First read: the token's own lifetime. Later reads: what status recorded, not Expiration - Create.
    assert renewal_lifetime(settings(), {}, expiration_time=NOW + timedelta(days=90), create_time=NOW) \
        == timedelta(days=90)
    assert renewal_lifetime(settings(), {"renewalLifetime": "2160h"}, expiration_time=expires,
                            create_time=created) == timedelta(days=90)
    assert renewal_lifetime(settings(lifetime=timedelta(hours=1)), {"renewalLifetime": "2160h"},
                            expiration_time=expires, create_time=created) == timedelta(hours=1)
    assert renewal_lifetime(settings(), {}, expiration_time=None, create_time=None) == timedelta(days=365)
    assert renewal_lifetime(settings(), {"renewalLifetime": "garbage"}, expiration_time=None,
                            create_time=None) == timedelta(days=365)


@given(st.integers(min_value=1, max_value=10**9))
def test_duration_text_is_a_duration_the_crd_accepts(seconds: int) -> None:
    from tokensync.api.common import parse_duration

    assert parse_duration(duration_text(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("lifetime", "margin", "refused"), [
    (timedelta(hours=1), timedelta(minutes=10), False),
    (timedelta(minutes=5), timedelta(minutes=10), True),
    (timedelta(hours=1), timedelta(minutes=59, seconds=55), True),  # renewed every 5 s: a loop
    (timedelta(hours=1), timedelta(minutes=54), False),  # a tenth of the lifetime between renewals
    (timedelta(seconds=15), timedelta(seconds=10), True),  # under 10 s between renewals
    (timedelta(minutes=2), timedelta(seconds=90), False),  # the sandbox's demo tokens
])
def test_a_margin_leaving_too_little_between_renewals_is_refused_with_what_to_change(
    lifetime: timedelta, margin: timedelta, refused: bool
) -> None:
    problem = margin_problem(lifetime=lifetime, margin=margin)
    assert (problem is not None) == refused
    if problem is not None:
        assert f"({duration_text(margin)} before expiry)" in problem and f"({duration_text(lifetime)})" in problem
        assert "renewBefore" in problem and "renewal.lifetime" in problem


@pytest.mark.parametrize(("strategy", "status", "expired", "renew_from", "expected"), [
    ("Extend", "enabled", False, NOW - timedelta(seconds=1), "extend"),
    ("Rotate", "enabled", False, NOW, "rotate"),
    ("Extend", "enabled", False, NOW + timedelta(seconds=1), None),
    ("None", "enabled", True, NOW - timedelta(days=1), None),
    ("Extend", "disabled", False, NOW - timedelta(days=1), None),  # a person disabled it
    ("Rotate", "disabled", True, None, None),
    ("Extend", "enabled", True, None, "extend"),  # expired (outage): renewing is the way back
    ("Rotate", "enabled", True, NOW + timedelta(days=1), "rotate"),
])
def test_renewal_is_due_at_the_jittered_moment_or_on_expiry_and_never_for_a_disabled_token(
    strategy: str, status: str, expired: bool, renew_from: datetime | None, expected: str | None
) -> None:
    due = renewal_due(strategy=strategy, token_status=status, expired=expired,  # type: ignore[arg-type]
                      renew_from=renew_from, now=NOW)
    assert (due.action if due else None) == expected


def body(name: str, token: str | None, *, strategy: str = "Extend", created: str = "2026-01-01T00:00:00Z",
         current: str | None = None, namespace: str = "ns") -> dict[str, object]:
    spec: dict[str, object] = {"instanceId": "idaas_x", "applicationId": "app_x", "renewal": {"strategy": strategy}}
    if token:
        spec["applicationTokenId"] = token
    status = {"applicationTokenId": current, "specApplicationTokenId": token} if current else {}
    return {"metadata": {"namespace": namespace, "name": name, "uid": f"uid-{name}", "creationTimestamp": created},
            "spec": spec, "status": status}


def test_a_second_resource_that_would_fight_over_a_rotated_token_is_refused_naming_the_first() -> None:
    first = claims_of(body("first", "token_a", strategy="Rotate"))
    second = claims_of(body("second", "token_a", created="2026-02-01T00:00:00Z", namespace="other"))
    assert rotation_conflict(first, second) is None  # the older keeps it
    problem = rotation_conflict(second, first)
    # One namespace does not learn another's resource names from a refusal.
    assert problem is not None and "another namespace" in problem and "first" not in problem
    neighbour = claims_of(body("neighbour", "token_a", created="2026-02-01T00:00:00Z"))
    problem = rotation_conflict(neighbour, first)
    assert problem is not None and "ApplicationToken ns/first" in problem
    # Extending one token from two resources does not fight.
    third = claims_of(body("third", "token_a", created="2026-03-01T00:00:00Z"))
    assert rotation_conflict(third, second) is None
    # A token a rotation made is held too: naming it from another Rotate resource is refused.
    rotated = claims_of(body("r", "token_a", strategy="Rotate", current="token_b"))
    late = claims_of(body("late", "token_b", strategy="Rotate", created="2027-01-01T00:00:00Z"))
    assert rotation_conflict(late, rotated) is not None


def test_a_lost_create_is_found_by_its_exact_expiration_and_only_if_nobody_knows_the_token() -> None:
    lifetime = timedelta(days=90)
    wanted = tagged_expiration(NOW, lifetime, "uid-1")
    assert wanted >= int((NOW + lifetime).timestamp() * 1000)
    pending = {"startedAt": "2026-12-03T08:00:00Z", "expirationTime": wanted}
    listed = [
        Listed("token_known", wanted, NOW),  # the same time, but another resource holds it
        Listed("token_other", wanted + 1, NOW),
        Listed("token_old", wanted, NOW - timedelta(days=2)),  # created long before this rotation
        Listed("token_new", wanted, NOW + timedelta(seconds=1)),
    ]
    assert find_created(listed, pending, {"token_known"}) == "token_new"
    assert find_created(listed[:3], pending, {"token_known"}) is None
    assert find_created(listed, {"startedAt": "x"}, set()) is None
    # A cloud that keeps only whole seconds: the one unknown token of that second, if it is alone.
    rounded = [Listed("token_s", wanted - wanted % 1000, NOW), Listed("token_far", wanted + 5000, NOW)]
    assert find_created(rounded, pending, set()) == "token_s"
    assert find_created([*rounded, Listed("token_t", wanted - wanted % 1000, NOW)], pending, set()) is None


@given(st.text(min_size=1, max_size=40), st.integers(min_value=60, max_value=10**8))
def test_a_tagged_expiration_is_never_sooner_than_asked(uid: str, seconds: int) -> None:
    lifetime = timedelta(seconds=seconds)
    assert tagged_expiration(NOW, lifetime, uid) > (NOW + lifetime).timestamp() * 1000


def test_replaced_tokens_retire_only_after_the_restarts_and_the_grace() -> None:
    entries = add_retiring([], "token_old", current="token_new")
    assert add_retiring(entries, "token_old", current="token_new") == entries  # once
    assert add_retiring(entries, "token_new", current="token_new") == entries  # never the current one
    waiting = schedule_retirements(entries, restarts_owed=True, now=NOW, retire_after=timedelta(minutes=10))
    assert waiting[0].retire_at is None and retirements_due(waiting, NOW + timedelta(days=1)) == []
    scheduled = schedule_retirements(entries, restarts_owed=False, now=NOW + timedelta(microseconds=1),
                                     retire_after=timedelta(minutes=10))
    assert scheduled[0].retire_at == NOW + timedelta(minutes=10, seconds=1)  # rounded up, never early
    assert retirements_due(scheduled, NOW + timedelta(minutes=10)) == []
    assert retirements_due(scheduled, NOW + timedelta(minutes=10, seconds=1)) == scheduled
    assert next_retirement(scheduled) == scheduled[0].retire_at
    # Scheduling again does not move a moment already set.
    again = schedule_retirements(scheduled, restarts_owed=False, now=NOW + timedelta(hours=1),
                                 retire_after=timedelta(minutes=10))
    assert again == scheduled
    assert next_retirement([Retiring("token_x", None)]) is None


def test_settings_come_from_the_spec_with_product_defaults() -> None:
    spec = ApplicationTokenSpec.model_validate({"instanceId": "idaas_x", "applicationId": "app_x",
                                                "applicationTokenId": "token_x"})
    assert RenewalSettings.from_spec(spec) == RenewalSettings("Extend", None, "Delete", timedelta(minutes=10))


# ---- at deletion -----------------------------------------------------------------------------

ROTATED = {"applicationTokenId": "t2", "specApplicationTokenId": "t1",
           "retiringTokens": [{"applicationTokenId": "t1", "retireAt": "2026-12-03T09:00:00Z"}]}


def test_a_deleted_resource_retires_what_it_made_and_what_it_replaced() -> None:
    release = release_at_deletion("t1", ROTATED, secret_outlives=False, held=set())
    assert (release.retire, release.kept, release.creates) == (["t1", "t2"], None, [])


def test_the_token_a_retained_secret_holds_is_kept() -> None:
    release = release_at_deletion("t1", ROTATED, secret_outlives=True, held=set())
    assert (release.retire, release.kept) == (["t1"], "t2")


def test_the_users_own_token_and_tokens_others_hold_are_never_retired_at_deletion() -> None:
    # Never rotated: the current token is the one the spec names.
    assert not release_at_deletion("t1", {"applicationTokenId": "t1", "specApplicationTokenId": "t1"},
                                   secret_outlives=False, held=set())
    held = release_at_deletion("t1", ROTATED, secret_outlives=False, held={"t2"})
    assert (held.retire, held.kept) == (["t1"], None)


def test_a_spec_edit_not_synced_yet_still_retires_the_token_tokensync_made() -> None:
    # The user pointed the spec at t9 after tokensync rotated t1 to t2: t2 is tokensync's, t9 theirs.
    release = release_at_deletion("t9", {**ROTATED, "retiringTokens": None}, secret_outlives=False, held=set())
    assert release.retire == ["t2"]


def test_lost_creates_are_looked_for_at_deletion() -> None:
    pending = {"startedAt": "2026-12-03T08:00:00Z", "expirationTime": 1, "replaces": "t1"}
    unsettled = {"startedAt": "2026-12-03T07:58:00Z", "expirationTime": 2}
    status = {"applicationTokenId": "t1", "specApplicationTokenId": "t1", "pendingRotation": pending,
              "unsettledCreates": [unsettled]}
    release = release_at_deletion("t1", status, secret_outlives=True, held=set())
    assert release and release.creates == [pending, unsettled] and release.retire == []


def test_the_finalizer_is_wanted_under_rotate_and_while_anything_made_is_left() -> None:
    assert wants_finalizer("Rotate", "t1", {})
    assert not wants_finalizer("Extend", "t1", {"applicationTokenId": "t1", "specApplicationTokenId": "t1"})
    assert wants_finalizer("Extend", "t1", ROTATED)  # switched from Rotate: t2 is tokensync's
    assert not wants_finalizer("None", None, {})
