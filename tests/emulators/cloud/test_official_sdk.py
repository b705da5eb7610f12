"""Alibaba's official SDKs (sync clients, run in a worker thread) against the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alibabacloud_eiam20211201 import models as eiam_models
from alibabacloud_eiam20211201.client import Client as EiamClient
from alibabacloud_ims20190815 import models as ims_models
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_tea_openapi import models as open_api_models

from tokensync.emulators.cloud import demo_state, running_cloud_emulator

from .conftest import AK_ID, AK_SECRET, RAM_APP


def _config(url: str, secret: str) -> Any:
    return open_api_models.Config(access_key_id=AK_ID, access_key_secret=secret, endpoint=url.split("://", 1)[1],
                                  protocol="http", connect_timeout=5000, read_timeout=5000)


def _obtain(url: str, secret: str) -> Any:
    request = eiam_models.ObtainApplicationTokenRequest(
        instance_id="idaas_demo", application_id="app_demo", application_token_id="token_demo")
    return EiamClient(_config(url, secret)).obtain_application_token(request)


def _get_application(url: str, secret: str) -> Any:
    return ImsClient(_config(url, secret)).get_application(ims_models.GetApplicationRequest(app_id=RAM_APP))


async def test_the_official_sdks_succeed_with_the_right_key() -> None:
    # The SDK signs with the machine's clock, so the emulator runs on it here.
    async with running_cloud_emulator(demo_state()) as emu:
        token = (await asyncio.to_thread(_obtain, emu.url, AK_SECRET)).body.application_token
        assert token.application_token == emu.token_value("token_demo")
        assert token.status == "enabled" and token.expiration_time > token.create_time
        app = (await asyncio.to_thread(_get_application, emu.url, AK_SECRET)).body.application
        assert app.app_id == RAM_APP and app.redirect_uris.redirect_uri == emu.ram_application(RAM_APP)[
            "RedirectUris"]["RedirectUri"]
        assert app.delegated_scope.predefined_scopes.predefined_scope[0].name == "openid"


def _token_lifecycle(url: str) -> dict[str, Any]:
    """Every EIAM application-token operation through the official SDK, as an operator would renew."""
    client = EiamClient(_config(url, AK_SECRET))
    app = {"instance_id": "idaas_demo", "application_id": "app_demo"}
    seen: dict[str, Any] = {}
    created = client.create_application_token(eiam_models.CreateApplicationTokenRequest(
        **app, application_token_type="bearer_token")).body.application_tokens
    seen["created"] = created
    ids = {**app, "application_token_id": created.application_token_id}
    seen["obtained"] = client.obtain_application_token(
        eiam_models.ObtainApplicationTokenRequest(**ids)).body.application_token
    expiry = seen["obtained"].create_time + 90 * 86400 * 1000
    client.update_application_token_expiration_time(eiam_models.UpdateApplicationTokenExpirationTimeRequest(
        **ids, expiration_time=expiry))
    seen["extended"] = client.obtain_application_token(
        eiam_models.ObtainApplicationTokenRequest(**ids)).body.application_token
    seen["listed"] = client.list_application_tokens(eiam_models.ListApplicationTokensRequest(
        **app, application_token_type="bearer_token")).body.application_tokens
    client.disable_application_token(eiam_models.DisableApplicationTokenRequest(**ids))
    seen["disabled"] = client.obtain_application_token(
        eiam_models.ObtainApplicationTokenRequest(**ids)).body.application_token.status
    client.enable_application_token(eiam_models.EnableApplicationTokenRequest(**ids))
    seen["enabled"] = client.obtain_application_token(
        eiam_models.ObtainApplicationTokenRequest(**ids)).body.application_token.status
    try:
        client.delete_application_token(eiam_models.DeleteApplicationTokenRequest(**ids))
    except Exception as exc:  # the SDK's error class moves between versions
        seen["delete_enabled"] = (getattr(exc, "statusCode", None), getattr(exc, "code", None))
    client.disable_application_token(eiam_models.DisableApplicationTokenRequest(**ids))
    client.delete_application_token(eiam_models.DeleteApplicationTokenRequest(**ids))
    try:
        client.obtain_application_token(eiam_models.ObtainApplicationTokenRequest(**ids))
    except Exception as exc:
        seen["after_delete"] = (getattr(exc, "statusCode", None), getattr(exc, "code", None))
    return seen


async def test_the_official_eiam_sdk_drives_every_token_operation() -> None:
    async with running_cloud_emulator(demo_state()) as emu:
        seen = await asyncio.to_thread(_token_lifecycle, emu.url)
        created, obtained, extended = seen["created"], seen["obtained"], seen["extended"]
        assert created.application_token_type == "bearer_token"
        assert created.application_token == obtained.application_token  # the SDK reads the answer's shape
        # No ExpirationTime: one year from creation.
        assert obtained.expiration_time - obtained.create_time == 365 * 86400 * 1000
        assert extended.application_token == obtained.application_token  # Update keeps the value
        assert extended.expiration_time == obtained.create_time + 90 * 86400 * 1000
        listed = {t.application_token_id: t for t in seen["listed"]}
        assert set(listed) == {"token_demo", "token_demo_short", created.application_token_id}
        mine = listed[created.application_token_id]
        assert mine.application_token == created.application_token and mine.ali_uid == 1234567890123456
        assert (seen["disabled"], seen["enabled"]) == ("disabled", "enabled")
        assert seen["delete_enabled"] == (400, "OperationDenied.ApplicationTokenEnabled")
        assert seen["after_delete"] == (404, "ResourceNotFound.ApplicationToken")
        assert created.application_token_id not in emu.state.tokens


def _throttled(url: str) -> Any:
    try:
        _obtain(url, AK_SECRET)
    except Exception as exc:
        return exc
    return None


async def test_the_official_sdk_reads_the_throttling_header_as_the_gateway_means_it() -> None:
    async with running_cloud_emulator(demo_state()) as emu:
        emu.throttle(action="ObtainApplicationToken", retry_after=2, times=1)
        error = await asyncio.to_thread(_throttled, emu.url)
        assert type(error).__name__ == "ThrottlingException"
        assert error.retry_after == 2000  # the SDK keeps milliseconds


@pytest.mark.parametrize("call", [_obtain, _get_application], ids=["eiam", "ims"])
async def test_the_official_sdks_fail_with_signature_does_not_match_with_a_wrong_key(call: Any) -> None:
    async with running_cloud_emulator(demo_state()) as emu:
        with pytest.raises(Exception) as caught:  # the SDK's error class moves between versions
            await asyncio.to_thread(call, emu.url, "not-the-secret")
        assert getattr(caught.value, "code", None) == "SignatureDoesNotMatch"
        assert getattr(caught.value, "statusCode", None) == 403  # as the real gateway answers it
