from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tokensync.api.application_token import ApplicationTokenSpec, ApplicationTokenStatus, RefreshSpec

MINIMAL = {"instanceId": "idaas_demo", "applicationId": "app_demo", "applicationTokenId": "token_demo"}


def spec(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


def test_minimal_spec_gets_documented_defaults() -> None:
    parsed = ApplicationTokenSpec.model_validate(MINIMAL)
    assert parsed.cloud_access_ref is None
    assert parsed.secret.name is None
    assert parsed.secret.type == "Opaque"
    assert (parsed.secret.creation_policy, parsed.secret.deletion_policy) == ("Owner", "Delete")
    assert parsed.secret.template == {}
    assert parsed.refresh.effective_renew_before_percentage() == 33
    assert parsed.refresh.renew_before_timedelta() is None
    assert parsed.refresh.recheck_interval_timedelta() == timedelta(hours=1)
    assert parsed.rollout_restart_targets == []


@pytest.mark.parametrize(
    "ids",
    [
        # the API reference's examples, with their xxxx placeholders
        ("idaas_ue2jvisn35ea5lmthk267xxxxx", "app_mkv7rgt4d7i4u7zqtzev2mxxxx", "token_sfrwerxxxxxxxxxxxxxx"),
        ("idaas_ki6hd7ihir4ybawogqk6kqxxxx", "app_na2r73a65s7o4zbs7nj5gxxxx", "token_m7aso6v4efvu2otfq3jdzxxxx"),
        ("idaas_demo", "app_demo", "token_demo_short"),
    ],
)
def test_real_and_documented_ids_are_accepted(ids: tuple[str, str, str]) -> None:
    parsed = ApplicationTokenSpec.model_validate(
        {"instanceId": ids[0], "applicationId": ids[1], "applicationTokenId": ids[2]}
    )
    assert parsed.application_token_id == ids[2]


def test_renew_before_wins_over_the_default_percentage() -> None:
    refresh = ApplicationTokenSpec.model_validate(spec(refresh={"renewBefore": "1h30m"})).refresh
    assert refresh.renew_before_timedelta() == timedelta(minutes=90)
    assert refresh.effective_renew_before_percentage() is None
    assert RefreshSpec(renew_before_percentage=50).effective_renew_before_percentage() == 50


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"applicationId": "app_demo", "applicationTokenId": "token_demo"}, "instanceId"),
        (spec(applicationTokenId=None), "applicationTokenId"),
        (spec(instanceId="demo"), "instanceId"),
        (spec(applicationId="application-1"), "applicationId"),
        (spec(applicationTokenId="TOKEN_DEMO"), "applicationTokenId"),
        (spec(refresh={"renewBefore": "10m", "renewBeforePercentage": 20}), "refresh"),
        (spec(refresh={"renewBefore": "10 minutes"}), "refresh.renewBefore"),
        (spec(refresh={"recheckInterval": "-1h"}), "refresh.recheckInterval"),
        (spec(refresh={"renewBeforePercentage": 100}), "refresh.renewBeforePercentage"),
        (spec(refresh={"renewBeforePercentage": 0}), "refresh.renewBeforePercentage"),
        (spec(secret={"name": "Bad_Name"}), "secret.name"),
        (spec(secret={"template": {"bad key": "{{ token }}"}}), "secret.template"),
        (spec(secret={"creationPolicy": "Adopt"}), "secret.creationPolicy"),
        (spec(secret={"deletionPolicy": "Keep"}), "secret.deletionPolicy"),
        (spec(rolloutRestartTargets=[{"kind": "Pod", "name": "x"}]), "rolloutRestartTargets.0.kind"),
        (spec(cloudAccessRef={"kind": "Cluster", "name": "default"}), "cloudAccessRef.kind"),
        (spec(secretName="typo"), "secretName"),
        (spec(renewal={"strategy": "Renew"}), "renewal.strategy"),
        (spec(renewal={"lifetime": "0"}), "renewal.lifetime"),
        (spec(renewal={"lifetime": "90d"}), "renewal.lifetime"),
        (spec(renewal={"retire": "Revoke"}), "renewal.retire"),
        (spec(renewal={"retireAfter": "soon"}), "renewal.retireAfter"),
        (spec(applicationTokenId=None, renewal={"strategy": "Extend"}), "applicationTokenId"),
    ],
)
def test_invalid_spec_is_rejected_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ApplicationTokenSpec.model_validate(body)
    errors = caught.value.errors()
    locations = {".".join(str(p) for p in error["loc"]) for error in errors}
    # A rule across fields has no location of its own: its message names the field instead.
    named = any(field in error["msg"] for error in errors if not error["loc"])
    assert named or any(loc == field or loc.startswith(field + ".") for loc in locations), (locations, errors)


def test_rotate_may_leave_out_the_token_id_and_renewal_has_product_defaults() -> None:
    body = {k: v for k, v in MINIMAL.items() if k != "applicationTokenId"}
    parsed = ApplicationTokenSpec.model_validate({**body, "renewal": {"strategy": "Rotate"}})
    assert parsed.application_token_id is None
    defaults = ApplicationTokenSpec.model_validate(MINIMAL).renewal
    assert (defaults.strategy, defaults.lifetime, defaults.retire, defaults.retire_after) == (
        "Extend", None, "Delete", "10m")


def test_both_renew_rules_message_says_they_are_exclusive() -> None:
    with pytest.raises(ValidationError, match="renewBefore and renewBeforePercentage are exclusive"):
        RefreshSpec.model_validate({"renewBefore": "10m", "renewBeforePercentage": 20})


def test_status_round_trip_writes_rfc3339_z() -> None:
    body = {
        "observedGeneration": 2,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Synced",
                "message": "m",
                "lastTransitionTime": "2026-03-01T00:00:00Z",
                "observedGeneration": 2,
            }
        ],
        "secretName": "billing-api-token",
        "tokenType": "bearer_token",
        "tokenStatus": "enabled",
        "createTime": "2026-03-01T00:00:00Z",
        "expirationTime": "2026-03-01T08:00:00Z",
        "lastUsedTime": "2026-03-01T01:00:00Z",
        "lastSyncTime": "2026-03-01T00:00:01Z",
        "nextRefreshTime": "2026-03-01T05:20:00Z",
        "lastRotationTime": "2026-03-01T00:00:01Z",
        "failedAttempts": 0,
        "lastForceSync": "1",
        "tokenHash": "ab" * 32,
    }
    status = ApplicationTokenStatus.model_validate(body)
    assert status.expiration_time == datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert status.model_dump(mode="json", by_alias=True, exclude_none=True) == body


def test_status_from_python_datetimes_serializes_as_utc_z() -> None:
    status = ApplicationTokenStatus(next_refresh_time=datetime(2026, 3, 1, 13, 20, tzinfo=UTC))
    assert status.model_dump(mode="json", by_alias=True, exclude_none=True) == {
        "conditions": [],
        "failedAttempts": 0,
        "nextRefreshTime": "2026-03-01T13:20:00Z",
    }


def test_status_ignores_fields_it_does_not_know() -> None:
    assert ApplicationTokenStatus.model_validate({"futureField": 1}).failed_attempts == 0
