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


@pytest.mark.parametrize("call", [_obtain, _get_application], ids=["eiam", "ims"])
async def test_the_official_sdks_fail_with_signature_does_not_match_with_a_wrong_key(call: Any) -> None:
    async with running_cloud_emulator(demo_state()) as emu:
        with pytest.raises(Exception) as caught:  # the SDK's error class moves between versions
            await asyncio.to_thread(call, emu.url, "not-the-secret")
        assert getattr(caught.value, "code", None) == "SignatureDoesNotMatch"
        assert getattr(caught.value, "statusCode", None) == 403  # as the real gateway answers it
