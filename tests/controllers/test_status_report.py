"""Conditions as kstatus and `kubectl wait` read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tokensync.controllers.status_report import parse_rfc3339, rfc3339, with_condition, with_ready

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


def kstatus_of(body: dict[str, Any]) -> str:
    """kstatus's generic rules for a custom resource (sigs.k8s.io/cli-utils pkg/kstatus/status,
    checkGenericProperties), as Flux's health checks apply them."""
    meta, status = body["metadata"], body.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    if "observedGeneration" in status and status["observedGeneration"] != meta["generation"]:
        return "InProgress"
    conditions = {c["type"]: c for c in status.get("conditions") or []}
    if conditions.get("Reconciling", {}).get("status") == "True":
        return "InProgress"
    if conditions.get("Stalled", {}).get("status") == "True":
        return "Failed"
    return "Current"


def resource(conditions: list[dict[str, Any]], generation: int = 2) -> dict[str, Any]:
    return {"metadata": {"generation": generation}, "status": {"observedGeneration": 2, "conditions": conditions}}


@pytest.mark.parametrize(("ready", "clears_by_itself", "expected"), [
    (True, False, "Current"),
    (False, True, "InProgress"),   # throttled, outage: a GitOps health check keeps waiting
    (False, False, "Failed"),      # bad key, missing token, conflict: a person must act
])
def test_gitops_tools_read_what_ready_means(ready: bool, clears_by_itself: bool, expected: str) -> None:
    conditions = with_ready(None, ready=ready, reason="Synced" if ready else "X", message="m",
                            generation=2, now=T0, clears_by_itself=clears_by_itself)
    assert kstatus_of(resource(conditions)) == expected
    assert conditions[0]["type"] == "Ready"
    assert kstatus_of(resource(conditions, generation=3)) == "InProgress"  # spec changed, not yet seen


def test_a_recovered_resource_drops_stalled_and_reconciling_but_keeps_other_conditions() -> None:
    conditions = with_condition(None, condition_type="InSync", status=False, reason="Drifted", message="d",
                                generation=1, now=T0)
    stalled = with_ready(conditions, ready=False, reason="InvalidCredentials", message="bad key",
                         generation=1, now=T0)
    assert {c["type"]: (c["status"], c["reason"]) for c in stalled} == {
        "Ready": ("False", "InvalidCredentials"), "Stalled": ("True", "InvalidCredentials"),
        "InSync": ("False", "Drifted")}
    outage = with_ready(stalled, ready=False, reason="CloudUnavailable", message="503",
                        generation=1, now=T0 + timedelta(minutes=1), clears_by_itself=True)
    assert sorted(c["type"] for c in outage) == ["InSync", "Ready", "Reconciling"]
    recovered = with_ready(outage, ready=True, reason="Synced", message="ok", generation=1,
                           now=T0 + timedelta(minutes=2))
    assert sorted(c["type"] for c in recovered) == ["InSync", "Ready"]
    assert recovered[0]["lastTransitionTime"] == "2026-11-22T12:02:00Z"
