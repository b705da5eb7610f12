"""EIAM application tokens: every operation, lifetimes on a fast-forwarded clock, not-found codes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tokensync.cloud.errors import BadRequestError, NotFoundError

from . import signed
from .conftest import DEMO, START, Cloud

EIAM = "2021-12-01"
IDS = {"InstanceId": "idaas_demo", "ApplicationId": "app_demo"}


async def test_obtain_returns_the_documented_fields_in_unix_ms(cloud: Cloud) -> None:
    status, body, _ = await signed.call(cloud.url, "ObtainApplicationToken", EIAM,
                                        {**IDS, "ApplicationTokenId": "token_demo"}, date=cloud.clock.now())
    token = body["ApplicationToken"]
    assert status == 200
    assert set(token) == {"InstanceId", "ApplicationId", "ApplicationTokenId", "ApplicationTokenType",
                          "ApplicationToken", "Status", "ExpirationTime", "LastUsedTime", "CreateTime"}
    start_ms = int(START.timestamp() * 1000)
    assert token["CreateTime"] == start_ms and token["ExpirationTime"] == start_ms + 3600_000
    assert token["LastUsedTime"] == start_ms
    assert (token["Status"], token["ApplicationTokenType"]) == ("enabled", "bearer_token")
    assert token["ApplicationToken"] == cloud.emu.token_value("token_demo")


async def test_a_reminting_token_gets_a_new_value_when_it_expires(cloud: Cloud) -> None:
    client = cloud.client()
    first = (await client.obtain_application_token(**DEMO)).value
    cloud.clock.advance(timedelta(minutes=59))
    assert (await client.obtain_application_token(**DEMO)).value.token == first.token
    cloud.clock.advance(timedelta(minutes=2))
    second = (await client.obtain_application_token(**DEMO)).value
    assert second.token != first.token
    assert second.expiration_time == first.expiration_time + timedelta(hours=1)
    assert second.expiration_time > cloud.clock.now()


async def test_the_twenty_second_demo_token_is_always_obtainable(cloud: Cloud) -> None:
    client = cloud.client()
    ids = {**DEMO, "application_token_id": "token_demo_short"}
    values = set()
    for _ in range(4):
        token = (await client.obtain_application_token(**ids)).value
        assert token.expiration_time - token.create_time == timedelta(seconds=20)  # type: ignore[operator]
        assert token.expiration_time > cloud.clock.now()
        values.add(token.token.get_secret_value())
        cloud.clock.advance(timedelta(seconds=21))
    assert len(values) == 4


async def test_remint_after_issues_the_next_value_before_the_old_one_expires(cloud: Cloud) -> None:
    cloud.emu.add_token("token_t", lifetime=timedelta(seconds=30), remint_after=timedelta(seconds=20))
    client = cloud.client()
    ids = {**DEMO, "application_token_id": "token_t"}
    old = (await client.obtain_application_token(**ids)).value
    cloud.clock.advance(timedelta(seconds=21))
    new = (await client.obtain_application_token(**ids)).value
    assert new.token != old.token and old.expiration_time > cloud.clock.now()
    assert new.expiration_time == old.expiration_time + timedelta(seconds=20)


async def test_a_token_past_its_expiry_reads_as_expired(cloud: Cloud) -> None:
    cloud.emu.add_token("token_once", lifetime=timedelta(minutes=10))
    client = cloud.client()
    ids = {**DEMO, "application_token_id": "token_once"}
    value = (await client.obtain_application_token(**ids)).value.token
    cloud.clock.advance(timedelta(minutes=11))
    token = (await client.obtain_application_token(**ids)).value
    assert token.token == value and token.expiration_time < cloud.clock.now()
    cloud.emu.state.expired_token_error = True
    with pytest.raises(BadRequestError) as caught:
        await client.obtain_application_token(**ids)
    assert caught.value.code == "InvalidApplicationToken.Expired"


async def test_expire_then_rotate(cloud: Cloud) -> None:
    client = cloud.client()
    cloud.emu.expire_token("token_demo")
    cloud.clock.advance(timedelta(hours=3))  # an expired token stays expired: no re-mint
    assert (await client.obtain_application_token(**DEMO)).value.expiration_time < cloud.clock.now()
    new_value = cloud.emu.rotate_token("token_demo")
    token = (await client.obtain_application_token(**DEMO)).value
    assert token.token.get_secret_value() == new_value
    assert token.expiration_time == cloud.clock.now() + timedelta(hours=1)


async def test_disable_enable_and_status(cloud: Cloud) -> None:
    ids = {**IDS, "ApplicationTokenId": "token_demo"}
    status, _, _ = await signed.call(cloud.url, "DisableApplicationToken", EIAM, ids, date=cloud.clock.now())
    assert status == 200
    assert (await cloud.client().obtain_application_token(**DEMO)).value.status == "disabled"
    await signed.call(cloud.url, "EnableApplicationToken", EIAM, ids, date=cloud.clock.now())
    assert (await cloud.client().obtain_application_token(**DEMO)).value.status == "enabled"


async def test_create_list_update_and_delete(cloud: Cloud) -> None:
    client = cloud.client()
    created = (await client.create_application_token(
        instance_id="idaas_demo", application_id="app_demo",
        expiration_time=cloud.clock.now() + timedelta(days=2))).value
    listed = (await client.list_application_tokens(instance_id="idaas_demo", application_id="app_demo")).value
    assert {t.application_token_id for t in listed} == {"token_demo", "token_demo_short",
                                                         created.application_token_id}
    assert all(t.token is None for t in listed)  # values only through ObtainApplicationToken
    ids = {**IDS, "ApplicationTokenId": created.application_token_id}
    later = cloud.clock.now() + timedelta(days=5)
    status, _, _ = await signed.call(cloud.url, "UpdateApplicationTokenExpirationTime", EIAM,
                                     {**ids, "ExpirationTime": str(int(later.timestamp() * 1000))},
                                     date=cloud.clock.now())
    assert status == 200
    token = (await client.obtain_application_token(**{**DEMO, "application_token_id": created.application_token_id}))
    assert token.value.expiration_time == later
    status, body, _ = await signed.call(cloud.url, "DeleteApplicationToken", EIAM, ids, date=cloud.clock.now())
    assert (status, body["Code"]) == (400, "OperationDenied.ApplicationTokenEnabled")
    await signed.call(cloud.url, "DisableApplicationToken", EIAM, ids, date=cloud.clock.now())
    status, _, _ = await signed.call(cloud.url, "DeleteApplicationToken", EIAM, ids, date=cloud.clock.now())
    assert status == 200
    with pytest.raises(NotFoundError):
        await client.obtain_application_token(**{**DEMO, "application_token_id": created.application_token_id})


async def test_an_expiration_in_the_past_is_an_invalid_parameter(cloud: Cloud) -> None:
    with pytest.raises(BadRequestError) as caught:
        await cloud.client().create_application_token(instance_id="idaas_demo", application_id="app_demo",
                                                      expiration_time=cloud.clock.now() - timedelta(seconds=1))
    assert caught.value.code == "InvalidParameter.ExpirationTime"


@pytest.mark.parametrize(("ids", "code"), [
    ({"instance_id": "idaas_absent"}, "EntityNotExists.Instance"),
    ({"application_id": "app_absent"}, "EntityNotExists.Application"),
    ({"application_token_id": "token_absent"}, "EntityNotExists.ApplicationToken"),
])
async def test_missing_things_are_404_not_found(cloud: Cloud, ids: dict[str, str], code: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        await cloud.client().obtain_application_token(**{**DEMO, **ids})
    assert (caught.value.http_status, caught.value.code) == (404, code)


async def test_an_instance_of_another_account_is_not_visible(cloud: Cloud) -> None:
    cloud.emu.add_access_key("other", "other-secret", account_id="999")
    with pytest.raises(NotFoundError):
        await cloud.client("other", "other-secret").obtain_application_token(**DEMO)
