"""The client against the project's cloud emulator (real signature checks, real HTTP on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import StaticCredentials
from tokensync.cloud.errors import InvalidCredentialsError, NotFoundError
from tokensync.emulators.cloud import CloudEmulator, running_cloud_emulator

AK_ID, AK_SECRET = "demo-access-key-id", "demo-access-key-secret"
DEMO = {"instance_id": "idaas_demo", "application_id": "app_demo", "application_token_id": "token_demo"}
RAM_APP = "4724570903440410000"


@dataclass
class Peer:
    emu: CloudEmulator
    pool: HttpPool
    codes: list[tuple[str, str]]

    def client(self, ak_id: str = AK_ID, secret: str = AK_SECRET, **settings: Any) -> CloudClient:
        url = self.emu.url
        return CloudClient(
            credentials=StaticCredentials(ak_id, secret),
            endpoints=Endpoints.for_region("cn-hangzhou", {"eiam": url, "ims": url, "sts": url}),
            pool=self.pool, settings=ClientSettings(**settings),
            on_request=lambda action, code: self.codes.append((action, code)),
        )


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    async with running_cloud_emulator() as emu:
        pool = HttpPool()
        yield Peer(emu, pool, [])
        await pool.aclose()


async def test_obtain_demo_token(peer: Peer) -> None:
    reply = await peer.client().obtain_application_token(**DEMO)
    token = reply.value
    assert token.application_token_id == "token_demo" and token.instance_id == "idaas_demo"
    assert token.token.get_secret_value()
    assert token.expiration_time.tzinfo is not None
    assert reply.request_id and reply.server_time is not None
    assert peer.codes == [("ObtainApplicationToken", "Success")]


async def test_get_application_and_identity(peer: Peer) -> None:
    client = peer.client()
    app = (await client.get_application(app_id=RAM_APP)).value
    assert app.app_id == RAM_APP
    me = (await client.get_caller_identity()).value
    assert me.account_id and me.arn


async def test_wrong_secret_is_invalid_credentials(peer: Peer) -> None:
    with pytest.raises(InvalidCredentialsError) as caught:
        await peer.client(secret="not-the-secret").obtain_application_token(**DEMO)
    assert caught.value.reason == "InvalidCredentials"
    assert caught.value.request_id
    assert "not-the-secret" not in str(caught.value)


async def test_unknown_access_key_is_invalid_credentials(peer: Peer) -> None:
    with pytest.raises(InvalidCredentialsError):
        await peer.client(ak_id="nobody").get_application(app_id=RAM_APP)


async def test_unknown_token_is_not_found(peer: Peer) -> None:
    with pytest.raises(NotFoundError) as caught:
        await peer.client().obtain_application_token(**{**DEMO, "application_token_id": "token_absent"})
    assert caught.value.reason == "NotFound"


async def test_unknown_application_is_not_found(peer: Peer) -> None:
    with pytest.raises(NotFoundError):
        await peer.client().get_application(app_id="1")
