from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tokensync.api.common import parse_duration
from tokensync.api.ram_application import RamApplicationSpec, RamApplicationStatus

# The application from the GetApplication reference page, as the operator stores it in status.
APPLICATION = {
    "appId": "4724570903440410000",
    "appName": "myapp",
    "displayName": "myapp",
    "appType": "WebApp",
    "accountId": "1772422852740000",
    "accessTokenValidity": 3600,
    "refreshTokenValidity": 7776000,
    "secretRequired": True,
    "isMultiTenant": True,
    "protocolVersion": "2.0",
    "redirectUris": ["https://www.example.com"],
    "predefinedScopes": [{"name": "openid", "description": "Obtain the OpenID of the user.", "required": True}],
    "createDate": "2020-10-23T08:06:57Z",
    "updateDate": "2020-10-23T08:06:57Z",
}


def test_minimal_spec_defaults() -> None:
    parsed = RamApplicationSpec.model_validate({"appId": "4724570903440410000"})
    assert parsed.config_map.name is None
    assert parse_duration(parsed.refresh_interval) == timedelta(hours=1)
    assert parsed.expect is None
    assert parsed.cloud_access_ref is None


def test_expect_dumps_with_the_status_field_names() -> None:
    parsed = RamApplicationSpec.model_validate(
        {
            "appId": "472457090344041xxxx",
            "expect": {
                "redirectUris": ["https://a/cb"],
                "accessTokenValidity": 3600,
                "scopes": ["openid"],
                "isMultiTenant": False,
            },
        }
    )
    assert parsed.expect is not None
    expected = parsed.expect.model_dump(by_alias=True, exclude_none=True)
    assert expected == {
        "redirectUris": ["https://a/cb"],
        "accessTokenValidity": 3600,
        "scopes": ["openid"],
        "isMultiTenant": False,
    }
    assert set(expected) - {"scopes"} <= set(APPLICATION)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "appId"),
        ({"appId": 4724570903440410000}, "appId"),  # an unquoted YAML number
        ({"appId": "portal"}, "appId"),
        ({"appId": "1", "refreshInterval": "1 hour"}, "refreshInterval"),
        ({"appId": "1", "configMap": {"name": "Portal"}}, "configMap.name"),
        ({"appId": "1", "expect": {"redirectUri": ["x"]}}, "expect.redirectUri"),
        ({"appId": "1", "expect": {"accessTokenValidity": "an hour"}}, "expect.accessTokenValidity"),
    ],
)
def test_invalid_spec_is_rejected_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RamApplicationSpec.model_validate(body)
    locations = {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}
    assert field in locations, locations


def test_status_round_trip() -> None:
    body = {
        "observedGeneration": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Synced",
                "message": "",
                "lastTransitionTime": "2026-03-01T00:00:00Z",
            },
            {
                "type": "InSync",
                "status": "False",
                "reason": "Drifted",
                "message": "redirectUris differ",
                "lastTransitionTime": "2026-03-01T00:00:00Z",
            },
        ],
        "lastSyncTime": "2026-03-01T00:00:00Z",
        "nextRefreshTime": "2026-03-01T01:00:00Z",
        "failedAttempts": 0,
        "application": APPLICATION,
    }
    status = RamApplicationStatus.model_validate(body)
    assert status.application is not None and status.application.predefined_scopes[0].name == "openid"
    assert status.model_dump(mode="json", by_alias=True, exclude_none=True) == body
