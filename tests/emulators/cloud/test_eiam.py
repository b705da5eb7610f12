"""EIAM application tokens as IDaaS keeps them: values never change by themselves, expiry moves
only through UpdateApplicationTokenExpirationTime, Create makes a new token, and the
undocumented corners are served both ways."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tokensync.cloud.errors import BadRequestError, NotFoundError, QuotaExceededError, TokenExpiredError

from . import signed
from .conftest import DEMO, START, Cloud

EIAM = "2021-12-01"
IDS = {"InstanceId": "idaas_demo", "ApplicationId": "app_demo"}
APP: dict[str, Any] = {"instance_id": "idaas_demo", "application_id": "app_demo"}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def test_obtain_returns_the_documented_fields_in_unix_ms(cloud: Cloud) -> None:
    status, body, _ = await signed.call(cloud.url, "ObtainApplicationToken", EIAM,
                                        {**IDS, "ApplicationTokenId": "token_demo"}, date=cloud.clock.now())
    token = body["ApplicationToken"]
    assert status == 200
    # Never used for SCIM: no LastUsedTime yet.
    assert set(token) == {"InstanceId", "ApplicationId", "ApplicationTokenId", "ApplicationTokenType",
                          "ApplicationToken", "Status", "ExpirationTime", "CreateTime"}
    assert token["CreateTime"] == ms(START) and token["ExpirationTime"] == ms(START) + 3600_000
    assert (token["Status"], token["ApplicationTokenType"]) == ("enabled", "bearer_token")
    assert token["ApplicationToken"] == cloud.emu.token_value("token_demo")


async def test_last_used_time_is_the_last_scim_use_not_the_last_read(cloud: Cloud) -> None:
    client = cloud.client()
    used_at = cloud.clock.now() + timedelta(minutes=5)
    cloud.emu.use_token("token_demo", used_at)
    cloud.clock.advance(timedelta(minutes=20))
    for _ in range(3):
        token = (await client.obtain_application_token(**DEMO)).value
        assert token.last_used_time == used_at
    assert cloud.emu.token("token_demo").last_used_time == used_at


@pytest.mark.parametrize(("token_id", "lifetime"), [("token_demo", timedelta(hours=1)),
                                                    ("token_demo_short", timedelta(minutes=2))])
async def test_a_token_value_never_changes_by_itself(cloud: Cloud, token_id: str, lifetime: timedelta) -> None:
    client = cloud.client()
    ids = {**DEMO, "application_token_id": token_id}
    first = (await client.obtain_application_token(**ids)).value
    assert first.expiration_time - first.create_time == lifetime  # type: ignore[operator]
    for step in (lifetime / 2, lifetime, timedelta(days=3)):  # before, past and long past its expiry
        cloud.clock.advance(step)
        again = (await client.obtain_application_token(**ids)).value
        assert again.token == first.token
        assert (again.expiration_time, again.create_time) == (first.expiration_time, first.create_time)
    # Expired, and answered with 200 and the past ExpirationTime (the default; undocumented).
    assert again.expiration_time < cloud.clock.now() and again.status == "enabled"


async def test_an_expired_token_read_can_be_an_error_instead(cloud: Cloud) -> None:
    cloud.emu.state.expired_token_read = "error"
    client = cloud.client()
    assert (await client.obtain_application_token(**DEMO)).value  # not expired yet: a normal answer
    cloud.clock.advance(timedelta(hours=1))
    with pytest.raises(TokenExpiredError) as caught:
        await client.obtain_application_token(**DEMO)
    assert (caught.value.http_status, caught.value.code) == (400, "ResourceExpired.ApplicationToken")
    assert caught.value.reason == "TokenExpired" and not caught.value.retryable
    assert cloud.emu.token_value("token_demo") not in str(caught.value)
    # Extending it makes it readable again, with the same value.
    await client.update_application_token_expiration_time(
        **DEMO, expiration_time=cloud.clock.now() + timedelta(hours=1))
    assert (await client.obtain_application_token(**DEMO)).value.token.get_secret_value() == \
        cloud.emu.token_value("token_demo")


async def test_update_moves_the_expiry_of_the_same_token(cloud: Cloud) -> None:
    client = cloud.client()
    before = (await client.obtain_application_token(**DEMO)).value
    later = cloud.clock.now() + timedelta(days=90)
    reply = await client.update_application_token_expiration_time(**DEMO, expiration_time=later)
    assert reply.request_id and reply.value is None
    after = (await client.obtain_application_token(**DEMO)).value
    assert after.token == before.token and after.create_time == before.create_time
    assert after.expiration_time == later
    # Also for a token that has already expired (assumed: IDaaS documents no refusal).
    cloud.emu.expire_token("token_demo")
    again = cloud.clock.now() + timedelta(hours=2)
    await client.update_application_token_expiration_time(**DEMO, expiration_time=again)
    assert (await client.obtain_application_token(**DEMO)).value.expiration_time == again


async def test_update_refuses_a_time_in_the_past(cloud: Cloud) -> None:
    with pytest.raises(BadRequestError) as caught:
        await cloud.client().update_application_token_expiration_time(
            **DEMO, expiration_time=cloud.clock.now() - timedelta(seconds=1))
    assert caught.value.code == "InvalidParameter.ExpirationTime"
    assert cloud.emu.token("token_demo").expiration_time == START + timedelta(hours=1)


async def test_create_makes_a_new_token_with_a_one_year_default(cloud: Cloud) -> None:
    cloud.clock.advance(timedelta(minutes=7))
    client = cloud.client()
    created = (await client.create_application_token(**APP)).value
    assert created.application_token_id not in ("token_demo", "token_demo_short")
    assert created.token_type == "bearer_token"
    assert created.token.get_secret_value() not in (cloud.emu.token_value("token_demo"),
                                                    cloud.emu.token_value("token_demo_short"))
    read = (await client.obtain_application_token(**APP, application_token_id=created.application_token_id)).value
    assert read.token == created.token and read.status == "enabled"
    assert read.create_time == cloud.clock.now()
    assert read.expiration_time == cloud.clock.now() + timedelta(days=365)
    # The old tokens are untouched.
    assert (await client.obtain_application_token(**DEMO)).value.expiration_time == START + timedelta(hours=1)


async def test_create_answers_one_application_tokens_object(cloud: Cloud) -> None:
    expiry = cloud.clock.now() + timedelta(days=2)
    status, body, _ = await signed.call(cloud.url, "CreateApplicationToken", EIAM,
                                        {**IDS, "ApplicationTokenType": "bearer_token",
                                         "ExpirationTime": str(ms(expiry))}, date=cloud.clock.now())
    assert status == 200
    assert set(body) == {"RequestId", "ApplicationTokens"}
    created = body["ApplicationTokens"]
    assert set(created) == {"ApplicationTokenId", "ApplicationToken", "ApplicationTokenType"}
    assert cloud.emu.token(created["ApplicationTokenId"]).expiration_time == expiry
    assert cloud.emu.token_value(created["ApplicationTokenId"]) == created["ApplicationToken"]


async def test_create_within_the_bounds_the_state_sets(cloud: Cloud) -> None:
    cloud.emu.state.min_token_lifetime = timedelta(days=1)
    cloud.emu.state.max_token_lifetime = timedelta(days=3 * 365)
    client = cloud.client()
    for lifetime in (timedelta(hours=23), timedelta(days=3 * 365 + 1)):
        with pytest.raises(BadRequestError) as caught:
            await client.create_application_token(**APP, expiration_time=cloud.clock.now() + lifetime)
        assert caught.value.code == "InvalidParameter.ExpirationTime"
    with pytest.raises(BadRequestError):  # the same bounds for an update
        await client.update_application_token_expiration_time(
            **DEMO, expiration_time=cloud.clock.now() + timedelta(hours=1))
    assert len(cloud.emu.tokens_of()) == 2
    created = (await client.create_application_token(**APP, expiration_time=cloud.clock.now() + timedelta(days=1)))
    assert created.value.application_token_id in {t.application_token_id for t in cloud.emu.tokens_of()}
    assert (await client.create_application_token(**APP, expiration_time=cloud.clock.now() + timedelta(days=1095))
            ).value


async def test_an_application_holds_at_most_max_tokens(cloud: Cloud) -> None:
    cloud.emu.state.max_tokens_per_application = 3  # the demo application holds two
    client = cloud.client()
    third = (await client.create_application_token(**APP)).value
    with pytest.raises(QuotaExceededError) as caught:
        await client.create_application_token(**APP)
    error = caught.value
    assert (error.http_status, error.code, error.reason) == (400, "QuotaExceeded.ApplicationToken", "CloudUnavailable")
    assert error.quota_exceeded and error.retryable
    assert "token limit" in str(error)
    assert len(cloud.emu.tokens_of()) == 3
    # A disabled token still counts; deleting one frees a slot.
    ids = {**APP, "application_token_id": third.application_token_id}
    await client.disable_application_token(**ids)
    with pytest.raises(QuotaExceededError):
        await client.create_application_token(**APP)
    await client.delete_application_token(**ids)
    assert (await client.create_application_token(**APP)).value
    # Another application has its own count.
    cloud.emu.add_instance("idaas_demo", ["app_other"])
    assert (await client.create_application_token(instance_id="idaas_demo", application_id="app_other")).value


async def test_list_gives_every_token_with_its_value_and_an_integer_ali_uid(cloud: Cloud) -> None:
    client = cloud.client()
    created = (await client.create_application_token(**APP)).value
    listed = (await client.list_application_tokens(**APP)).value
    assert [t.application_token_id for t in listed] == ["token_demo", "token_demo_short",
                                                        created.application_token_id]
    for entry in listed:
        assert entry.token is not None
        assert entry.token.get_secret_value() == cloud.emu.token_value(entry.application_token_id)
        assert entry.ali_uid == 1234567890123456
    assert listed[0].description == "demo token, one hour"
    status, body, _ = await signed.call(cloud.url, "ListApplicationTokens", EIAM,
                                        {**IDS, "ApplicationTokenType": "bearer_token"}, date=cloud.clock.now())
    assert status == 200 and set(body) == {"RequestId", "ApplicationTokens"}
    assert all(type(entry["AliUid"]) is int for entry in body["ApplicationTokens"])
    assert set(body["ApplicationTokens"][0]) == {
        "InstanceId", "ApplicationId", "ApplicationTokenId", "ApplicationTokenType", "ApplicationToken", "Status",
        "ExpirationTime", "CreateTime", "AliUid", "Description"}


async def test_list_needs_the_token_type(cloud: Cloud) -> None:
    status, body, _ = await signed.call(cloud.url, "ListApplicationTokens", EIAM, IDS, date=cloud.clock.now())
    assert (status, body["Code"]) == (400, "MissingParameter")


async def test_disable_and_enable_change_only_the_status(cloud: Cloud) -> None:
    client = cloud.client()
    value = cloud.emu.token_value("token_demo")
    for _ in range(2):  # twice: the same answer (idempotent)
        assert (await client.disable_application_token(**DEMO)).request_id
    token = (await client.obtain_application_token(**DEMO)).value
    assert token.status == "disabled" and token.token.get_secret_value() == value
    await client.enable_application_token(**DEMO)
    await client.enable_application_token(**DEMO)
    assert (await client.obtain_application_token(**DEMO)).value.status == "enabled"


async def test_deleting_an_enabled_token_is_refused_by_default(cloud: Cloud) -> None:
    client = cloud.client()
    with pytest.raises(BadRequestError) as caught:
        await client.delete_application_token(**DEMO)
    assert caught.value.code == "OperationDenied.ApplicationTokenEnabled"
    assert cloud.emu.token("token_demo")
    await client.disable_application_token(**DEMO)
    await client.delete_application_token(**DEMO)
    with pytest.raises(NotFoundError) as gone:
        await client.obtain_application_token(**DEMO)
    assert gone.value.code == "ResourceNotFound.ApplicationToken"
    with pytest.raises(NotFoundError):  # deleting again: not found
        await client.delete_application_token(**DEMO)


async def test_deleting_an_enabled_token_can_be_allowed(cloud: Cloud) -> None:
    cloud.emu.state.delete_enabled_token = "allow"
    await cloud.client().delete_application_token(**DEMO)
    assert "token_demo" not in cloud.emu.state.tokens


async def test_the_console_helpers_act_like_the_api(cloud: Cloud) -> None:
    client = cloud.client()
    value = cloud.emu.token_value("token_demo")
    cloud.emu.expire_token("token_demo")
    cloud.clock.advance(timedelta(hours=3))  # an expired token stays expired
    assert (await client.obtain_application_token(**DEMO)).value.expiration_time < cloud.clock.now()
    cloud.emu.set_token_expiration("token_demo", cloud.clock.now() + timedelta(hours=1))
    token = (await client.obtain_application_token(**DEMO)).value
    assert token.token.get_secret_value() == value
    assert token.expiration_time == cloud.clock.now() + timedelta(hours=1)
    cloud.emu.set_token_status("token_demo", "disabled")
    assert (await client.obtain_application_token(**DEMO)).value.status == "disabled"


@pytest.mark.parametrize("expiration", ["soon", "-5", ""])
async def test_an_unreadable_expiration_time_is_an_invalid_parameter(cloud: Cloud, expiration: str) -> None:
    query = {**IDS, "ApplicationTokenId": "token_demo", "ExpirationTime": expiration}
    status, body, _ = await signed.call(cloud.url, "UpdateApplicationTokenExpirationTime", EIAM, query,
                                        date=cloud.clock.now())
    assert status == 400
    assert body["Code"] == ("MissingParameter" if not expiration else "InvalidParameter.ExpirationTime")


@pytest.mark.parametrize(("ids", "code"), [
    ({"instance_id": "idaas_absent"}, "ResourceNotFound.Instance"),
    ({"application_id": "app_absent"}, "ResourceNotFound.Application"),
    ({"application_token_id": "token_absent"}, "ResourceNotFound.ApplicationToken"),
])
async def test_missing_things_are_not_found(cloud: Cloud, ids: dict[str, str], code: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        await cloud.client().obtain_application_token(**{**DEMO, **ids})
    assert (caught.value.http_status, caught.value.code) == (404, code)


async def test_an_instance_of_another_account_is_not_visible(cloud: Cloud) -> None:
    cloud.emu.add_access_key("other", "other-secret", account_id="999")
    with pytest.raises(NotFoundError):
        await cloud.client("other", "other-secret").obtain_application_token(**DEMO)
