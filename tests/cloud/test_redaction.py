"""No secret (AccessKey secret, STS token, OIDC token, application token) in logs, errors or reprs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.cloud.fakes import APP_TOKEN, STS_TOKEN, FakeCloud, error_reply, json_reply, token_body
from tokensync.clock import LoopClock
from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import AssumeRoleCredentials, OidcRoleCredentials, StaticCredentials
from tokensync.cloud.errors import CloudError
from tokensync.cloud.rpc import RpcCaller

OIDC_TOKEN = "oidc-jwt-Qp4"
STS_SECRET = "sts-secret-Mn2"
SECRETS = ["secret-value-Zq8", STS_TOKEN, APP_TOKEN, OIDC_TOKEN, STS_SECRET]


@pytest.mark.looptime
async def test_secrets_never_appear(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    clock = LoopClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    expiration = (clock.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sts_body = {"RequestId": "R", "Credentials": {"AccessKeyId": "STS.k", "AccessKeySecret": STS_SECRET,
                                                 "SecurityToken": STS_TOKEN, "Expiration": expiration}}
    cloud = FakeCloud()
    cloud.always("AssumeRoleWithOIDC", json_reply(200, sts_body))
    cloud.always("AssumeRole", json_reply(200, sts_body))
    truncated = httpx.Response(200, content=f'{{"RequestId":"R","ApplicationToken":{{"ApplicationToken":"{APP_TOKEN}'
                               .encode())
    wrong_type = token_body(ExpirationTime="x" + APP_TOKEN)
    cloud.on("ObtainApplicationToken", json_reply(200, token_body()), error_reply(403, "Forbidden.RAM"),
             error_reply(400, "Throttling"), truncated, json_reply(200, wrong_type),
             error_reply(400, "SignatureDoesNotMatch"), error_reply(404, "EntityNotExist"))
    pool = HttpPool(transport=cloud.transport())
    token_file = tmp_path / "token"
    token_file.write_text(OIDC_TOKEN)
    static = StaticCredentials("AK-test", "secret-value-Zq8", STS_TOKEN)
    oidc = OidcRoleCredentials(role_arn="r", oidc_provider_arn="p", token_file=str(token_file),
                               sts_endpoint="https://sts.aliyuncs.com", pool=pool, clock=clock)
    assumed = AssumeRoleCredentials(source=oidc, role_arn="r2", sts_endpoint="https://sts.aliyuncs.com",
                                    pool=pool, clock=clock)
    seen: list[str] = []
    for provider in (static, oidc, assumed):
        client = CloudClient(credentials=provider, endpoints=Endpoints.for_region("cn-hangzhou"), pool=pool,
                             settings=ClientSettings(max_attempts=1), clock=clock)
        seen += [repr(provider), repr(client), repr(await provider.get_credential())]
    client = CloudClient(credentials=static, endpoints=Endpoints.for_region("cn-hangzhou"), pool=pool,
                         settings=ClientSettings(max_attempts=1), clock=clock)
    for _ in range(7):
        try:
            reply = await client.obtain_application_token(instance_id="i", application_id="a",
                                                          application_token_id="t")
            seen += [repr(reply), str(reply), repr(reply.value), str(reply.value), str(reply.value.model_dump())]
        except CloudError as error:
            seen += [str(error), repr(error), str(error.args)]
    await pool.aclose()
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "ObtainApplicationToken" in logged and "Forbidden.RAM" in logged  # the logs do say what happened
    everything = logged + "\n".join(seen)
    for secret in SECRETS:
        assert secret not in everything


async def test_a_raw_reply_does_not_show_the_body_it_carries() -> None:
    """``RawReply`` holds the answer as sent (token values, STS secrets) before it is parsed."""
    cloud = FakeCloud()
    cloud.always("ObtainApplicationToken", json_reply(200, token_body()))
    cloud.always("AssumeRole", json_reply(200, {"RequestId": "R", "Credentials": {
        "AccessKeyId": "STS.k", "AccessKeySecret": STS_SECRET, "SecurityToken": STS_TOKEN,
        "Expiration": "2026-01-01T01:00:00Z"}}))
    pool = HttpPool(transport=cloud.transport())
    caller = RpcCaller(pool=pool, clock=LoopClock(start=datetime(2026, 1, 1, tzinfo=UTC)),
                       settings=ClientSettings(max_attempts=1))
    static = StaticCredentials("AK-test", "secret-value-Zq8", STS_TOKEN)
    seen: list[str] = []
    for action, version in (("ObtainApplicationToken", "2021-12-01"), ("AssumeRole", "2015-04-01")):
        raw = await caller.call(endpoint="https://eiam.cn-hangzhou.aliyuncs.com", action=action, version=version,
                                query={}, credential=static.get_credential)
        assert raw.body  # the secrets are there to be parsed...
        seen += [repr(raw), str(raw)]
    await pool.aclose()
    everything = "\n".join(seen)
    assert "REQ-OK" in everything  # ...and the repr still says which answer it is
    for secret in SECRETS:
        assert secret not in everything


async def test_renewal_calls_never_show_token_values(caplog: pytest.LogCaptureFixture) -> None:
    """Create and List answer with token values; neither replies, errors nor logs show them."""
    caplog.set_level(logging.DEBUG)
    created = {"ApplicationTokenId": "t2", "ApplicationToken": APP_TOKEN, "ApplicationTokenType": "bearer_token"}
    listed = {"InstanceId": "i", "ApplicationId": "a", "ApplicationTokenId": "t1", "ApplicationToken": APP_TOKEN,
              "AliUid": 1, "ExpirationTime": "x" + APP_TOKEN}
    cloud = FakeCloud()
    cloud.on("CreateApplicationToken", json_reply(200, {"RequestId": "R", "ApplicationTokens": created}),
             json_reply(200, {"RequestId": "R", "ApplicationTokens": {**created, "ApplicationTokenId": 7}}),
             httpx.Response(200, content=f'{{"RequestId":"R","ApplicationTokens":{{"ApplicationToken":"{APP_TOKEN}'
                            .encode()),
             error_reply(400, "QuotaExceeded.ApplicationToken"))
    cloud.on("ListApplicationTokens", json_reply(200, {"RequestId": "R", "ApplicationTokens": [
        {**listed, "ExpirationTime": 1}]}), json_reply(200, {"RequestId": "R", "ApplicationTokens": [listed]}))
    pool = HttpPool(transport=cloud.transport())
    clock = LoopClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    client = CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8", STS_TOKEN),
                         endpoints=Endpoints.for_region("cn-hangzhou"), pool=pool,
                         settings=ClientSettings(max_attempts=1), clock=clock)
    seen: list[str] = []
    calls = [lambda: client.create_application_token(instance_id="i", application_id="a")] * 4 + \
        [lambda: client.list_application_tokens(instance_id="i", application_id="a")] * 2
    outcomes = []
    for call in calls:
        try:
            reply = await call()
            seen += [repr(reply), str(reply), repr(reply.value), str(reply.value)]
            outcomes.append("ok")
        except CloudError as error:
            seen += [str(error), repr(error), str(error.args)]
            outcomes.append(type(error).__name__)
    await pool.aclose()
    assert outcomes == ["ok", "MalformedResponseError", "MalformedResponseError", "QuotaExceededError", "ok",
                        "MalformedResponseError"]
    everything = "\n".join(seen) + "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for secret in SECRETS:
        assert secret not in everything
