"""Conditions as kstatus and `kubectl wait` read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tokensync.controllers.status_report import parse_rfc3339, rfc3339, with_condition

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_transition_time_moves_only_when_status_flips() -> None:
    first = with_condition(None, condition_type="Ready", status=False, reason="Throttled", message="m",
                           generation=1, now=T0)
    same = with_condition(first, condition_type="Ready", status=False, reason="CloudUnavailable", message="m2",
                          generation=2, now=T0 + timedelta(minutes=5))
    flipped = with_condition(same, condition_type="Ready", status=True, reason="Synced", message="ok",
                             generation=2, now=T0 + timedelta(minutes=9))
    assert first[0]["lastTransitionTime"] == "2026-11-22T12:00:00Z"
    assert same[0]["lastTransitionTime"] == "2026-11-22T12:00:00Z"
    assert (same[0]["reason"], same[0]["observedGeneration"]) == ("CloudUnavailable", 2)
    assert flipped[0] == {"type": "Ready", "status": "True", "reason": "Synced", "message": "ok",
                          "lastTransitionTime": "2026-11-22T12:09:00Z", "observedGeneration": 2}


def test_other_conditions_are_kept_and_ready_comes_first() -> None:
    conditions = with_condition(None, condition_type="InSync", status=True, reason="Matches", message="",
                                generation=1, now=T0)
    conditions = with_condition(conditions, condition_type="Ready", status=True, reason="Synced", message="",
                                generation=1, now=T0)
    assert [c["type"] for c in conditions] == ["Ready", "InSync"]


def test_rfc3339_round_trip_in_utc() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert rfc3339(moment) == "2026-01-02T03:04:05Z"
    assert parse_rfc3339("2026-01-02T03:04:05Z") == moment
    assert parse_rfc3339("not a time") is None
    assert parse_rfc3339(None) is None
