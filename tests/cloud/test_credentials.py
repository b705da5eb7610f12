"""Credential providers: STS caching and refresh on a fast-forwarded clock, the ambient chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from tests.cloud.fakes import STS_TOKEN, FakeCloud, error_reply, free_port, json_reply
from tokensync.clock import Clock, LoopClock
from tokensync.cloud.client import ClientSettings, HttpPool
from tokensync.cloud.credentials import (
    AmbientCredentials,
    AssumeRoleCredentials,
    Credential,
    EcsRamRoleCredentials,
    OidcRoleCredentials,
    StaticCredentials,
)
from tokensync.cloud.errors import CloudUnavailableError, InvalidCredentialsError

STS = "https://sts.cn-hangzhou.aliyuncs.com"
ROLE = "acs:ram::123:role/tokensync"


def sts_answer(clock: Clock, lifetime: timedelta, counter: list[int]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        counter.append(1)
        expiration = (clock.now() + lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json_reply(200, {"RequestId": "R", "Credentials": {
            "AccessKeyId": f"STS.key{len(counter)}", "AccessKeySecret": f"sts-secret-{len(counter)}",
            "SecurityToken": STS_TOKEN, "Expiration": expiration}})
    return answer


@pytest.mark.looptime
async def test_assume_role_caches_and_refreshes_before_expiry() -> None:
    clock = LoopClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    cloud, calls = FakeCloud(), list[int]()
    cloud.always("AssumeRole", sts_answer(clock, timedelta(hours=1), calls))
    pool = HttpPool(transport=cloud.transport())
    provider = AssumeRoleCredentials(source=StaticCredentials("AK-test", "secret-value-Zq8"), role_arn=ROLE,
                                     external_id="ext-1", session_name="s", duration_seconds=3600,
                                     sts_endpoint=STS, pool=pool, clock=clock)
    first = await provider.get_credential()
    assert first.access_key_id == "STS.key1" and first.security_token == STS_TOKEN
    assert first.expiration == datetime(2026, 1, 1, 1, tzinfo=UTC)
    request = cloud.seen[0]
    assert request.signature_ok is True
    assert request.query == {"RoleArn": ROLE, "RoleSessionName": "s", "DurationSeconds": "3600",
                             "ExternalId": "ext-1"}

    await asyncio.sleep(39 * 60)  # 21 min left: more than a third of the hour
    assert (await provider.get_credential()).access_key_id == "STS.key1"
    await asyncio.sleep(2 * 60)  # 19 min left: refresh
    assert (await provider.get_credential()).access_key_id == "STS.key2"
    assert len(calls) == 2
    await pool.aclose()


@pytest.mark.looptime
async def test_concurrent_callers_share_one_refresh() -> None:
    clock = LoopClock()
    calls: list[int] = []
    inner = sts_answer(clock, timedelta(hours=1), calls)

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(1)
        return inner(request)

    pool = HttpPool(transport=httpx.MockTransport(slow))
    provider = AssumeRoleCredentials(source=StaticCredentials("AK-test", "secret-value-Zq8"), role_arn=ROLE,
                                     sts_endpoint=STS, pool=pool, clock=clock)
    results = await asyncio.gather(*(provider.get_credential() for _ in range(20)))
    assert {r.access_key_id for r in results} == {"STS.key1"}
    assert len(calls) == 1
    await pool.aclose()


@pytest.mark.looptime
async def test_failed_refresh_keeps_valid_credentials_until_they_expire() -> None:
    clock = LoopClock()
    cloud, calls = FakeCloud(), list[int]()
    cloud.on("AssumeRole", sts_answer(clock, timedelta(hours=1), calls))
    cloud.always("AssumeRole", error_reply(503, "ServiceUnavailable"))
    pool = HttpPool(transport=cloud.transport())
    provider = AssumeRoleCredentials(source=StaticCredentials("AK-test", "secret-value-Zq8"), role_arn=ROLE,
                                     sts_endpoint=STS, pool=pool, clock=clock,
                                     settings=ClientSettings(max_attempts=1))
    await provider.get_credential()
    await asyncio.sleep(50 * 60)
    assert (await provider.get_credential()).access_key_id == "STS.key1"  # refresh failed, still valid
    await asyncio.sleep(11 * 60)
    with pytest.raises(CloudUnavailableError):
        await provider.get_credential()
    await pool.aclose()


@pytest.mark.looptime
async def test_sts_refusal_is_invalid_credentials() -> None:
    cloud = FakeCloud()
    cloud.always("AssumeRole", error_reply(400, "InvalidParameter.RoleArn"))
    pool = HttpPool(transport=cloud.transport())
    provider = AssumeRoleCredentials(source=StaticCredentials("AK-test", "secret-value-Zq8"), role_arn="bad",
                                     sts_endpoint=STS, pool=pool, clock=LoopClock())
    with pytest.raises(InvalidCredentialsError) as caught:
        await provider.get_credential()
    assert caught.value.reason == "InvalidCredentials" and caught.value.code == "InvalidParameter.RoleArn"
    await pool.aclose()


@pytest.mark.looptime
async def test_oidc_is_anonymous_and_rereads_the_rotated_token_file(tmp_path: Path) -> None:
    clock = LoopClock()
    token_file = tmp_path / "token"
    token_file.write_text("oidc-token-one\n")
    cloud, calls = FakeCloud(), list[int]()
    cloud.always("AssumeRoleWithOIDC", sts_answer(clock, timedelta(hours=1), calls))
    pool = HttpPool(transport=cloud.transport())
    provider = OidcRoleCredentials(role_arn=ROLE, oidc_provider_arn="acs:ram::123:oidc-provider/ack",
                                   token_file=str(token_file), session_name="pod", sts_endpoint=STS,
                                   pool=pool, clock=clock, duration_seconds=3600)
    assert (await provider.get_credential()).access_key_id == "STS.key1"
    token_file.write_text("oidc-token-two\n")
    await asyncio.sleep(45 * 60)
    assert (await provider.get_credential()).access_key_id == "STS.key2"
    first, second = cloud.seen
    assert first.signature_ok is None and "authorization" not in first.headers
    assert first.query["OIDCToken"] == "oidc-token-one" and second.query["OIDCToken"] == "oidc-token-two"
    assert first.query["Action"] == "AssumeRoleWithOIDC" and first.query["RoleSessionName"] == "pod"
    await pool.aclose()


async def test_oidc_missing_token_file_is_invalid_credentials(tmp_path: Path) -> None:
    pool = HttpPool(transport=FakeCloud().transport())
    provider = OidcRoleCredentials(role_arn=ROLE, oidc_provider_arn="p", token_file=str(tmp_path / "absent"),
                                   sts_endpoint=STS, pool=pool)
    with pytest.raises(InvalidCredentialsError, match="cannot read the OIDC token file"):
        await provider.get_credential()
    await pool.aclose()


def test_static_credentials_refuse_empty_keys() -> None:
    with pytest.raises(InvalidCredentialsError):
        StaticCredentials("", "x")


async def test_ambient_prefers_env_access_key() -> None:
    pool = HttpPool()
    provider = AmbientCredentials(pool=pool, environ={
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "AK-env", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "env-token",
        "ALIBABA_CLOUD_ROLE_ARN": ROLE, "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "p", "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/x",
    })
    assert await provider.get_credential() == Credential("AK-env", "env-secret", "env-token", None)
    await pool.aclose()


async def test_ambient_reads_the_process_environment_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIBABA_CLOUD_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("ALIBABA_CLOUD_ROLE_ARN", ROLE)
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "p")
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/var/run/secrets/token")
    pool = HttpPool()
    provider = AmbientCredentials(pool=pool, sts_endpoint=STS)
    chosen = provider.choose()
    assert isinstance(chosen, OidcRoleCredentials)
    assert chosen.role_arn == ROLE and chosen.sts_endpoint == STS
    await pool.aclose()


@pytest.fixture
async def metadata_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A fake ECS metadata service on 127.0.0.1 speaking IMDSv2."""
    log: list[str] = []

    async def token(request: web.Request) -> web.Response:
        log.append(f"PUT token ttl={request.headers.get('X-aliyun-ecs-metadata-token-ttl-seconds')}")
        return web.Response(text="imds-token")

    async def role(request: web.Request) -> web.Response:
        sent = request.headers.get("X-aliyun-ecs-metadata-token")
        log.append(f"GET {request.match_info.get('name', '')} token={sent}")
        if request.headers.get("X-aliyun-ecs-metadata-token") != "imds-token":
            return web.Response(status=401)
        if not request.match_info.get("name"):
            return web.Response(text="EcsRole")
        expiration = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return web.json_response({"Code": "Success", "AccessKeyId": "STS.ecs", "AccessKeySecret": "ecs-secret",
                                  "SecurityToken": STS_TOKEN, "Expiration": expiration,
                                  "LastUpdated": "2026-01-01T00:00:00Z"})

    app = web.Application()
    app.router.add_put("/latest/api/token", token)
    app.router.add_get("/latest/meta-data/ram/security-credentials/", role)
    app.router.add_get("/latest/meta-data/ram/security-credentials/{name}", role)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    yield f"http://127.0.0.1:{port}", log
    await runner.cleanup()


async def test_ambient_falls_back_to_the_ecs_ram_role(metadata_server: tuple[str, list[str]]) -> None:
    url, log = metadata_server
    pool = HttpPool()
    provider = AmbientCredentials(pool=pool, environ={}, metadata_url=url)
    credential = await provider.get_credential()
    again = await provider.get_credential()
    await pool.aclose()
    assert credential.access_key_id == "STS.ecs" and credential.security_token == STS_TOKEN
    assert again is credential  # cached: six hours of validity
    assert log == ["PUT token ttl=21600", "GET  token=imds-token", "GET EcsRole token=imds-token"]


async def test_ambient_without_any_source_says_so() -> None:
    pool = HttpPool()
    provider = AmbientCredentials(pool=pool, environ={}, metadata_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(InvalidCredentialsError, match="no ambient credentials"):
        await provider.get_credential()
    await pool.aclose()


async def test_ecs_role_without_role_attached(metadata_server: tuple[str, list[str]]) -> None:
    url, _ = metadata_server
    pool = HttpPool()
    provider = EcsRamRoleCredentials(pool=pool, metadata_url=url + "/nowhere")
    with pytest.raises(InvalidCredentialsError):
        await provider.get_credential()
    await pool.aclose()
