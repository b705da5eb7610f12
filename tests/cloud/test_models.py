"""Parsing the documented answers, and refusing malformed ones without echoing values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tokensync.cloud.errors import CloudUnavailableError, MalformedResponseError
from tokensync.cloud.models import ApplicationToken, ListedApplicationToken, RamApplication, parse, parse_list

# The example responses of the reference pages (shared/reference).
OBTAIN_EXAMPLE = {
    "InstanceId": "idaas_ki6hd7ihir4ybawogqk6kqxxxx",
    "ApplicationId": "app_na2r73a65s7o4zbs7nj5gxxxx",
    "ApplicationTokenId": "token_m7aso6v4efvu2otfq3jdzxxxx",
    "ApplicationTokenType": "bearer_token",
    "ApplicationToken": "SATFwqX8zxGf83pJcJw78KFGjmrft4erWeZYBGS8oE7NN6qoE217yaJpUdMb1UuuGqhDiF43",
    "Status": "enabled",
    "ExpirationTime": 1735610950000,
    "LastUsedTime": 1735610930000,
    "CreateTime": 1735610930000,
}
APPLICATION_EXAMPLE = {
    "DisplayName": "myapp", "AccessTokenValidity": 3600, "SecretRequired": True, "AccountId": "177242285274****",
    "CreateDate": "2020-10-23T08:06:57Z", "AppName": "myapp",
    "RedirectUris": {"RedirectUri": ["https://www.example.com"]}, "UpdateDate": "2020-10-23T08:06:57Z",
    "DelegatedScope": {"PredefinedScopes": {"PredefinedScope": [
        {"Description": "Obtain the OpenID of the user.", "Name": "openid", "Required": True}]}},
    "AppId": "472457090344041****", "RefreshTokenValidity": 7776000, "IsMultiTenant": True, "AppType": "WebApp",
    "ProtocolVersion": "2.0",
}


def test_application_token_example() -> None:
    token = parse(ApplicationToken, OBTAIN_EXAMPLE, where="t")
    assert token.expiration_time == datetime(2024, 12, 31, 2, 9, 10, tzinfo=UTC)
    assert token.create_time == datetime(2024, 12, 31, 2, 8, 50, tzinfo=UTC)
    assert token.token.get_secret_value() == OBTAIN_EXAMPLE["ApplicationToken"]
    assert token.token_type == "bearer_token"
    assert OBTAIN_EXAMPLE["ApplicationToken"] not in repr(token)


def test_application_token_optional_times_may_be_absent() -> None:
    body = {k: v for k, v in OBTAIN_EXAMPLE.items() if k not in ("LastUsedTime", "CreateTime")}
    token = parse(ApplicationToken, body, where="t")
    assert token.last_used_time is None and token.create_time is None


def test_ram_application_example_is_flattened() -> None:
    app = parse(RamApplication, APPLICATION_EXAMPLE, where="a")
    assert app.redirect_uris == ["https://www.example.com"]
    assert [(s.name, s.required) for s in app.predefined_scopes] == [("openid", True)]
    assert app.access_token_validity == 3600 and app.is_multi_tenant is True and app.app_type == "WebApp"


@pytest.mark.parametrize("empty", [None, {}, "", {"RedirectUri": []}])
def test_ram_application_tolerates_missing_lists(empty: object) -> None:
    body = {**APPLICATION_EXAMPLE, "RedirectUris": empty, "DelegatedScope": empty}
    app = parse(RamApplication, body, where="a")
    assert app.redirect_uris == [] and app.predefined_scopes == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ExpirationTime": "soon"}, "ExpirationTime"),
        ({"ExpirationTime": None}, "ExpirationTime"),
        ({"Status": 3}, "Status"),
        ({"ApplicationToken": None}, "ApplicationToken"),
    ],
)
def test_malformed_token_names_the_field_not_the_token(change: dict[str, object], field: str) -> None:
    body = {**OBTAIN_EXAMPLE, **change}
    with pytest.raises(MalformedResponseError) as caught:
        parse(ApplicationToken, body, where="ObtainApplicationToken ApplicationToken")
    error = caught.value
    assert isinstance(error, CloudUnavailableError) and error.retryable
    assert field in str(error)
    assert str(OBTAIN_EXAMPLE["ApplicationToken"]) not in str(error) + repr(error)


def test_missing_object_is_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="missing"):
        parse(ApplicationToken, None, where="ObtainApplicationToken ApplicationToken")


def test_a_listed_token_carries_its_value_and_an_integer_ali_uid() -> None:
    entry = {**OBTAIN_EXAMPLE, "AliUid": 1772422852740000, "Description": "scim sync"}
    (token,) = parse_list(ListedApplicationToken, [entry], where="ListApplicationTokens ApplicationTokens")
    assert token.ali_uid == 1772422852740000 and token.description == "scim sync"
    assert token.token is not None and token.token.get_secret_value() == OBTAIN_EXAMPLE["ApplicationToken"]
    assert token.expiration_time == datetime(2024, 12, 31, 2, 9, 10, tzinfo=UTC)
    assert str(OBTAIN_EXAMPLE["ApplicationToken"]) not in repr(token)


@pytest.mark.parametrize(("sent", "read"), [("1772422852740000", 1772422852740000), ("177242285274****", None),
                                            (None, None), (True, None)])
def test_an_odd_ali_uid_does_not_break_the_list(sent: object, read: int | None) -> None:
    entry = {"InstanceId": "i", "ApplicationId": "a", "ApplicationTokenId": "t", "AliUid": sent}
    assert parse(ListedApplicationToken, entry, where="e").ali_uid == read
