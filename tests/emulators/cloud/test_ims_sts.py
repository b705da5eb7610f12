"""IMS applications and STS identities, through tokensync's client and its credential providers."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tokensync.cloud.client import ClientSettings, Endpoints
from tokensync.cloud.credentials import AssumeRoleCredentials, OidcRoleCredentials, StaticCredentials
from tokensync.cloud.errors import InvalidCredentialsError
from tokensync.emulators.cloud.state import DEMO_OIDC_ISSUER, DEMO_OIDC_PROVIDER_ARN, DEMO_ROLE_ARN

from . import signed
from .conftest import AK_ID, AK_SECRET, RAM_APP, Cloud


async def test_get_application_returns_every_documented_field(cloud: Cloud) -> None:
    status, body, _ = await signed.call(cloud.url, "GetApplication", "2019-08-15", {"AppId": RAM_APP},
                                        date=cloud.clock.now())
    assert status == 200
    assert set(body["Application"]) == {
        "DisplayName", "AccessTokenValidity", "SecretRequired", "AccountId", "CreateDate", "AppName",
        "RedirectUris", "UpdateDate", "DelegatedScope", "AppId", "RefreshTokenValidity", "IsMultiTenant",
        "AppType", "ProtocolVersion"}
    app = (await cloud.client().get_application(app_id=RAM_APP)).value
    assert (app.app_name, app.app_type, app.access_token_validity) == ("demo-portal", "WebApp", 3600)
    assert [s.name for s in app.predefined_scopes] == ["openid", "aliuid", "profile"]


async def test_a_changed_application_reads_changed(cloud: Cloud) -> None:
    cloud.clock.advance(timedelta(days=1))
    cloud.emu.update_ram_application(RAM_APP, RedirectUris={"RedirectUri": ["https://new.example.com/cb"]})
    app = (await cloud.client().get_application(app_id=RAM_APP)).value
    assert app.redirect_uris == ["https://new.example.com/cb"]
    assert app.update_date == "2026-11-23T12:00:00Z"


async def test_list_applications(cloud: Cloud) -> None:
    cloud.emu.add_ram_application({"AppId": "42", "AppName": "cli", "AppType": "NativeApp"})
    status, body, _ = await signed.call(cloud.url, "ListApplications", "2019-08-15", date=cloud.clock.now())
    assert status == 200
    assert [a["AppId"] for a in body["Applications"]["Application"]] == [RAM_APP, "42"]


async def test_caller_identity_of_an_access_key(cloud: Cloud) -> None:
    me = (await cloud.client().get_caller_identity()).value
    assert (me.account_id, me.arn, me.identity_type) == (
        "1234567890123456", "acs:ram::1234567890123456:user/tokensync-demo", "RAMUser")


async def test_assumed_role_credentials_work_until_they_expire(cloud: Cloud) -> None:
    role = AssumeRoleCredentials(
        source=StaticCredentials(AK_ID, AK_SECRET), role_arn=DEMO_ROLE_ARN, session_name="tokensync-test",
        duration_seconds=900, **_provider_plumbing(cloud),
    )
    client = cloud.client()
    client.credentials = role
    me = (await client.get_caller_identity()).value
    assert me.identity_type == "AssumedRoleUser"
    assert me.arn == "acs:ram::1234567890123456:assumed-role/tokensync-demo/tokensync-test"
    credential = await role.get_credential()
    assert credential.security_token
    cloud.clock.advance(timedelta(minutes=16))
    stale = cloud.client(credential.access_key_id, credential.access_key_secret, credential.security_token)
    with pytest.raises(InvalidCredentialsError) as caught:
        await stale.get_caller_identity()
    assert caught.value.code == "InvalidSecurityToken.Expired"


async def test_sts_credentials_need_their_own_security_token(cloud: Cloud) -> None:
    role = AssumeRoleCredentials(source=StaticCredentials(AK_ID, AK_SECRET), role_arn=DEMO_ROLE_ARN,
                                 session_name="s1", duration_seconds=900, **_provider_plumbing(cloud))
    credential = await role.get_credential()
    forged = cloud.client(credential.access_key_id, credential.access_key_secret, "CAISforged")
    with pytest.raises(InvalidCredentialsError) as caught:
        await forged.get_caller_identity()
    assert caught.value.code == "InvalidSecurityToken.MismatchWithAccessKey"


async def test_an_unknown_role_cannot_be_assumed(cloud: Cloud) -> None:
    role = AssumeRoleCredentials(source=StaticCredentials(AK_ID, AK_SECRET),
                                 role_arn="acs:ram::1234567890123456:role/absent", session_name="s1",
                                 duration_seconds=900, **_provider_plumbing(cloud))
    with pytest.raises(InvalidCredentialsError) as caught:
        await role.get_credential()
    assert caught.value.code == "EntityNotExist.Role"


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.mark.parametrize(("claims", "code"), [
    ({}, None),
    ({"aud": "someone-else"}, "AuthenticationFail.OIDCToken.AudienceError"),
    ({"iss": "https://evil.example.com"}, "AuthenticationFail.OIDCToken.IssuerError"),
    ({"exp": 0}, "AuthenticationFail.OIDCToken.Expired"),
])
async def test_rrsa_exchanges_a_valid_oidc_token_anonymously(
    cloud: Cloud, tmp_path: Path, claims: dict[str, object], code: str | None
) -> None:
    token_file = tmp_path / "token"
    exp = int((cloud.clock.now() + timedelta(hours=1)).timestamp())
    token_file.write_text(_jwt({"iss": DEMO_OIDC_ISSUER, "aud": "sts.aliyuncs.com", "sub": "system:serviceaccount:"
                                "tokensync:tokensync", "exp": exp, **claims}))
    provider = OidcRoleCredentials(role_arn=DEMO_ROLE_ARN, oidc_provider_arn=DEMO_OIDC_PROVIDER_ARN,
                                   token_file=str(token_file), session_name="rrsa", duration_seconds=900,
                                   **_provider_plumbing(cloud))
    if code is not None:
        with pytest.raises(InvalidCredentialsError) as caught:
            await provider.get_credential()
        assert caught.value.code == code
        return
    client = cloud.client()
    client.credentials = provider
    assert (await client.get_caller_identity()).value.identity_type == "AssumedRoleUser"


def _provider_plumbing(cloud: Cloud) -> dict[str, Any]:
    """The keyword arguments every refreshing provider takes besides its own."""
    return {"sts_endpoint": Endpoints.for_region("cn-hangzhou", {"sts": cloud.url}).sts, "pool": cloud.pool,
            "clock": cloud.clock, "settings": ClientSettings(max_attempts=1)}
