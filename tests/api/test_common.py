from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from tokensync.api.common import (
    ALL_KINDS,
    API_VERSION,
    CloudAccessRef,
    Condition,
    parse_duration,
    rfc3339,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("2h45m30s", timedelta(hours=2, minutes=45, seconds=30)),
        ("720h", timedelta(days=30)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("1500us", timedelta(microseconds=1500)),
        ("1500µs", timedelta(microseconds=1500)),
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("1m1m", timedelta(minutes=2)),
    ],
)
def test_parse_duration_accepts_go_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "-10m", "+10m", "10", "1d", "10 m", "m", "1h 30m", "PT10M", "1.h", " 10m"])
def test_parse_duration_rejects_other_text_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*unit h, m, s"):
        parse_duration(text)


def test_rfc3339_is_utc_with_z() -> None:
    plus8 = timezone(timedelta(hours=8))
    assert rfc3339(datetime(2026, 1, 2, 11, 4, 5, tzinfo=plus8)) == "2026-01-02T03:04:05Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"  # naive = UTC
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)) == "2026-01-02T03:04:05.25Z"


def test_condition_round_trip_in_camel_case() -> None:
    body = {
        "type": "Ready",
        "status": "True",
        "reason": "Synced",
        "message": "ok",
        "lastTransitionTime": "2026-01-02T11:04:05+08:00",
        "observedGeneration": 3,
    }
    condition = Condition.model_validate(body)
    assert condition.last_transition_time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    dumped = condition.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped == {**body, "lastTransitionTime": "2026-01-02T03:04:05Z"}


@pytest.mark.parametrize(
    ("field", "value"), [("status", "true"), ("reason", "not camel case"), ("reason", ""), ("type", "")]
)
def test_condition_rejects_values_kubernetes_rejects(field: str, value: str) -> None:
    body = {"type": "Ready", "status": "True", "reason": "Synced", "lastTransitionTime": "2026-01-02T03:04:05Z"}
    with pytest.raises(ValidationError, match=field):
        Condition.model_validate({**body, field: value})


def test_cloud_access_ref_defaults_to_cluster_default() -> None:
    assert CloudAccessRef() == CloudAccessRef(kind="ClusterCloudAccess", name="default")
    with pytest.raises(ValidationError, match="kind"):
        CloudAccessRef.model_validate({"kind": "Secret"})


def test_every_kind_is_in_the_tokensync_category() -> None:
    assert API_VERSION == "tokensync.dev/v1alpha1"
    assert {k.kind for k in ALL_KINDS} == {"ApplicationToken", "RamApplication", "CloudAccess", "ClusterCloudAccess"}
    assert all(k.categories == ("tokensync",) for k in ALL_KINDS)
    assert [k.kind for k in ALL_KINDS if not k.namespaced] == ["ClusterCloudAccess"]
