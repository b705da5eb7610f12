"""Every request is verified like the real gateway: signature V3, date window, nonce, body hash, keys."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tokensync.cloud.errors import AccessDeniedError, ClockSkewError, InvalidCredentialsError, NotFoundError

from . import signed
from .conftest import DEMO, Cloud, FakeClock

EIAM = "2021-12-01"
OBTAIN_QUERY = {"InstanceId": "idaas_demo", "ApplicationId": "app_demo", "ApplicationTokenId": "token_demo"}


async def test_a_signed_request_passes_and_the_answer_has_the_real_shape(cloud: Cloud) -> None:
    status, body, headers = await signed.call(cloud.url, "ObtainApplicationToken", EIAM, OBTAIN_QUERY,
                                              date=cloud.clock.now())
    assert status == 200
    assert body["RequestId"] == headers["x-acs-request-id"]
    assert headers["Date"] == "Sun, 22 Nov 2026 12:00:00 GMT"  # the emulator's clock, not the machine's
    assert body["ApplicationToken"]["ApplicationTokenId"] == "token_demo"


async def test_wrong_secret_is_signature_does_not_match_without_echoing_secrets(cloud: Cloud) -> None:
    status, body, _ = await signed.call(cloud.url, "ObtainApplicationToken", EIAM, OBTAIN_QUERY,
                                        date=cloud.clock.now(), secret="not-the-secret")
    assert (status, body["Code"]) == (403, "SignatureDoesNotMatch")
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert "not-the-secret" not in str(body) and "demo-access-key-secret" not in str(body)


async def test_a_replayed_nonce_is_refused(cloud: Cloud) -> None:
    first = await signed.call(cloud.url, "GetCallerIdentity", "2015-04-01", date=cloud.clock.now(), nonce="n-1")
    again = await signed.call(cloud.url, "GetCallerIdentity", "2015-04-01", date=cloud.clock.now(), nonce="n-1")
    assert first[0] == 200
    assert (again[0], again[1]["Code"]) == (400, "SignatureNonceUsed")


@pytest.mark.parametrize("offset", [timedelta(minutes=16), -timedelta(minutes=16)], ids=["ahead", "behind"])
async def test_a_date_outside_fifteen_minutes_is_refused(cloud: Cloud, offset: timedelta) -> None:
    status, body, _ = await signed.call(cloud.url, "GetCallerIdentity", "2015-04-01",
                                        date=cloud.clock.now() + offset)
    assert (status, body["Code"]) == (400, "InvalidTimeStamp.Expired")


async def test_a_date_within_the_window_passes(cloud: Cloud) -> None:
    status, _, _ = await signed.call(cloud.url, "GetCallerIdentity", "2015-04-01",
                                     date=cloud.clock.now() - timedelta(minutes=14))
    assert status == 200


async def test_a_client_whose_clock_is_twenty_minutes_off_is_refused(cloud: Cloud) -> None:
    skewed = FakeClock(cloud.clock.now() - timedelta(minutes=20))
    with pytest.raises(ClockSkewError) as caught:
        await cloud.client(clock=skewed, max_attempts=3).get_caller_identity()
    assert caught.value.code == "InvalidTimeStamp.Expired"
    # The operator's clock, not the spec: retried later, not at once, and the message says so.
    assert caught.value.reason == "CloudUnavailable" and caught.value.retryable
    assert "clock" in str(caught.value) and "15 minutes" in str(caught.value)
    assert cloud.emu.calls("GetCallerIdentity") == 1


async def test_a_body_that_does_not_match_its_declared_hash_is_refused(cloud: Cloud) -> None:
    status, body, _ = await signed.call(cloud.url, "GetCallerIdentity", "2015-04-01", date=cloud.clock.now(),
                                        body=b"tampered", declared_body=b"")
    assert (status, body["Code"]) == (403, "SignatureDoesNotMatch")


async def test_an_unsigned_request_is_incomplete(cloud: Cloud) -> None:
    status, body, _ = await signed.call(cloud.url, "GetCallerIdentity", "2015-04-01", date=cloud.clock.now(),
                                        sign=False)
    assert (status, body["Code"]) == (400, "IncompleteSignature")


async def test_an_unknown_access_key_is_not_found(cloud: Cloud) -> None:
    with pytest.raises(InvalidCredentialsError) as caught:
        await cloud.client(ak_id="nobody").obtain_application_token(**DEMO)
    assert (caught.value.http_status, caught.value.code) == (404, "InvalidAccessKeyId.NotFound")


async def test_a_disabled_access_key_is_refused(cloud: Cloud) -> None:
    cloud.emu.add_access_key("old-key", "old-secret", enabled=False)
    with pytest.raises(InvalidCredentialsError) as caught:
        await cloud.client("old-key", "old-secret").get_caller_identity()
    assert caught.value.code == "InvalidAccessKeyId.Inactive"


async def test_a_key_without_permission_is_forbidden(cloud: Cloud) -> None:
    cloud.emu.add_access_key("reader", "reader-secret", allowed_actions=["ram:GetApplication"])
    client = cloud.client("reader", "reader-secret")
    assert (await client.get_application(app_id="4724570903440410000")).value.app_id
    with pytest.raises(AccessDeniedError) as caught:
        await client.obtain_application_token(**DEMO)
    assert (caught.value.http_status, caught.value.code) == (403, "Forbidden.RAM")


async def test_access_denied_names_the_ram_action_to_grant(cloud: Cloud) -> None:
    """A read-only key (renewal strategy None) asked to extend: the message says what to grant."""
    cloud.emu.add_access_key("reader", "reader-secret", allowed_actions=["eiam:ObtainApplicationToken"])
    client = cloud.client("reader", "reader-secret")
    assert (await client.obtain_application_token(**DEMO)).value
    with pytest.raises(AccessDeniedError) as caught:
        await client.update_application_token_expiration_time(
            **DEMO, expiration_time=cloud.clock.now() + timedelta(days=1))
    assert caught.value.ram_action == "eiam:UpdateApplicationTokenExpirationTime"
    assert "Grant the RAM identity of the CloudAccess the permission eiam:UpdateApplicationTokenExpirationTime" \
        in str(caught.value)
    with pytest.raises(AccessDeniedError) as create:
        await client.create_application_token(instance_id="idaas_demo", application_id="app_demo")
    assert create.value.ram_action == "eiam:CreateApplicationToken"
    with pytest.raises(AccessDeniedError) as ims:
        await client.get_application(app_id="4724570903440410000")
    assert ims.value.ram_action == "ram:GetApplication"  # IMS's actions are RAM's


async def test_unknown_action_and_wrong_version(cloud: Cloud) -> None:
    status, body, _ = await signed.call(cloud.url, "DescribeNothing", EIAM, date=cloud.clock.now())
    assert (status, body["Code"]) == (404, "InvalidAction.NotFound")
    status, body, _ = await signed.call(cloud.url, "ObtainApplicationToken", "2019-01-01", OBTAIN_QUERY,
                                        date=cloud.clock.now())
    assert (status, body["Code"]) == (400, "InvalidVersion")


async def test_missing_parameter(cloud: Cloud) -> None:
    status, body, _ = await signed.call(cloud.url, "ObtainApplicationToken", EIAM,
                                        {"InstanceId": "idaas_demo", "ApplicationId": "app_demo"},
                                        date=cloud.clock.now())
    assert (status, body["Code"]) == (400, "MissingParameter")
    assert "ApplicationTokenId" in body["Message"]


async def test_a_deleted_application_reads_as_not_found(cloud: Cloud) -> None:
    cloud.emu.delete_ram_application("4724570903440410000")
    with pytest.raises(NotFoundError) as caught:
        await cloud.client().get_application(app_id="4724570903440410000")
    assert caught.value.code == "EntityNotExist.Application"
