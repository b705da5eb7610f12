"""Our request next to the official EIAM SDK's, both sent to one local recorder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from alibabacloud_eiam20211201 import models as eiam_models
from alibabacloud_eiam20211201.client import Client as OfficialClient
from alibabacloud_tea_openapi.models import Config

from tests.cloud.fakes import free_port, token_body
from tokensync.cloud import signing
from tokensync.cloud.client import CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import StaticCredentials


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append({"method": request.method, "path": request.path, "query": dict(request.query),
                     "headers": {k.lower(): v for k, v in request.headers.items()}, "body": await request.read()})
        return web.json_response(token_body())

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"127.0.0.1:{port}", seen
    await runner.cleanup()


async def test_same_request_shape_as_the_official_sdk(recorder: tuple[str, list[dict[str, Any]]]) -> None:
    host, seen = recorder
    official = OfficialClient(Config(access_key_id="AK-test", access_key_secret="secret-value-Zq8",
                                     security_token="sts", endpoint=host, protocol="http"))
    await official.obtain_application_token_async(eiam_models.ObtainApplicationTokenRequest(
        instance_id="idaas_demo", application_id="app_demo", application_token_id="token_demo"))
    pool = HttpPool()
    ours = CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8", "sts"),
                       endpoints=Endpoints.for_region("cn-hangzhou", {"eiam": f"http://{host}"}), pool=pool)
    await ours.obtain_application_token(instance_id="idaas_demo", application_id="app_demo",
                                        application_token_id="token_demo")
    await pool.aclose()
    theirs, mine = seen
    assert (mine["method"], mine["path"], mine["query"], mine["body"]) == \
           (theirs["method"], theirs["path"], theirs["query"], theirs["body"])
    for name in ("host", "x-acs-action", "x-acs-version", "x-acs-content-sha256", "x-acs-security-token", "accept"):
        assert mine["headers"][name] == theirs["headers"][name], name
    for name in ("x-acs-date", "x-acs-signature-nonce", "authorization"):
        assert name in mine["headers"]
    # Both signatures verify the same way (the emulator's check): recompute over each one's signed headers.
    for request in (theirs, mine):
        parsed = signing.parse_authorization(request["headers"]["authorization"])
        expected = signing.authorization(
            method=request["method"], pathname=request["path"], query=request["query"],
            headers={n: request["headers"][n] for n in parsed.signed_headers},
            body_sha256=request["headers"]["x-acs-content-sha256"], access_key_id="AK-test",
            access_key_secret="secret-value-Zq8")
        assert expected == request["headers"]["authorization"]
