"""The client on the wire (MockTransport): headers, signature, retries, timeouts, broken answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from tests.cloud.fakes import APP_TOKEN, STS_TOKEN, FakeCloud, error_reply, json_reply, token_body
from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import StaticCredentials
from tokensync.cloud.errors import (
    AccessDeniedError,
    BadRequestError,
    ClockSkewError,
    CloudError,
    CloudUnavailableError,
    InvalidCredentialsError,
    MalformedResponseError,
    NotFoundError,
    QuotaExceededError,
    ServiceNotInRegionError,
    ThrottledError,
)
from tokensync.cloud.rpc import RpcCaller

ENDPOINTS = Endpoints.for_region("cn-hangzhou")
FIXED = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


class FixedClock:
    def now(self) -> datetime:
        return FIXED


def make_client(cloud: FakeCloud, *, settings: ClientSettings | None = None, security_token: str | None = None,
                seen_codes: list[tuple[str, str]] | None = None) -> tuple[CloudClient, HttpPool]:
    pool = HttpPool(transport=cloud.transport())
    client = CloudClient(
        credentials=StaticCredentials("AK-test", "secret-value-Zq8", security_token),
        endpoints=ENDPOINTS, pool=pool, settings=settings, clock=FixedClock(),
        on_request=(lambda a, c: seen_codes.append((a, c))) if seen_codes is not None else None,
    )
    return client, pool


async def test_obtain_sends_the_sdk_wire_format() -> None:
    cloud = FakeCloud()
    cloud.always("ObtainApplicationToken", json_reply(200, token_body()))
    client, pool = make_client(cloud, security_token=STS_TOKEN)
    reply = await client.obtain_application_token(
        instance_id="idaas_demo", application_id="app_demo", application_token_id="token_demo")
    await client.obtain_application_token(
        instance_id="idaas_demo", application_id="app_demo", application_token_id="token_demo")
    await pool.aclose()

    assert reply.value.token.get_secret_value() == APP_TOKEN
    assert reply.request_id == "REQ-OK"
    assert reply.server_time == datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    first, second = cloud.seen
    assert first.signature_ok is True
    assert first.query == {"InstanceId": "idaas_demo", "ApplicationId": "app_demo", "ApplicationTokenId": "token_demo"}
    h = first.headers
    assert h["host"] == "eiam.cn-hangzhou.aliyuncs.com"
    assert h["x-acs-action"] == "ObtainApplicationToken"
    assert h["x-acs-version"] == "2021-12-01"
    assert h["x-acs-date"] == "2026-11-22T12:00:00Z"
    assert h["x-acs-content-sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert h["x-acs-security-token"] == STS_TOKEN
    assert h["accept"] == "application/json"
    assert "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;" \
           "x-acs-signature-nonce;x-acs-version," in h["authorization"]
    assert h["x-acs-signature-nonce"] != second.headers["x-acs-signature-nonce"]


async def test_each_action_goes_to_its_service() -> None:
    cloud = FakeCloud()
    cloud.always("GetApplication", json_reply(200, {"RequestId": "R", "Application": {"AppId": "1"}}))
    cloud.always("GetCallerIdentity", json_reply(200, {"RequestId": "R", "AccountId": "123", "Arn": "acs:ram::123:root",
                                                       "IdentityType": "Account"}))
    cloud.always("ListApplicationTokens", json_reply(200, {"RequestId": "R", "ApplicationTokens": [
        {"InstanceId": "i", "ApplicationId": "a", "ApplicationTokenId": "t1", "AliUid": 1234567890123456,
         "ApplicationToken": APP_TOKEN, "Status": "disabled", "ExpirationTime": 1798761600000}]}))
    cloud.always("CreateApplicationToken", json_reply(200, {"RequestId": "R", "ApplicationTokens": {
        "ApplicationTokenId": "t2", "ApplicationToken": APP_TOKEN, "ApplicationTokenType": "bearer_token"}}))
    for action in ("UpdateApplicationTokenExpirationTime", "EnableApplicationToken", "DisableApplicationToken",
                   "DeleteApplicationToken"):
        cloud.always(action, json_reply(200, {"RequestId": f"R-{action}"}))
    client, pool = make_client(cloud)
    app = await client.get_application(app_id="1")
    me = await client.get_caller_identity()
    listed = await client.list_application_tokens(instance_id="i", application_id="a")
    created = await client.create_application_token(
        instance_id="i", application_id="a", expiration_time=datetime(2027, 1, 1, tzinfo=UTC))
    default = await client.create_application_token(instance_id="i", application_id="a")
    ids = {"instance_id": "i", "application_id": "a", "application_token_id": "t1"}
    updated = await client.update_application_token_expiration_time(
        **ids, expiration_time=datetime(2027, 6, 1, tzinfo=UTC))
    enabled = await client.enable_application_token(**ids)
    disabled = await client.disable_application_token(**ids)
    deleted = await client.delete_application_token(**ids)
    await pool.aclose()
    assert app.value.app_id == "1" and app.value.redirect_uris == []
    assert me.value.account_id == "123" and me.value.role_id is None
    (entry,) = listed.value
    assert (entry.application_token_id, entry.ali_uid, entry.status) == ("t1", 1234567890123456, "disabled")
    assert entry.token is not None and entry.token.get_secret_value() == APP_TOKEN
    assert APP_TOKEN not in repr(listed)
    assert created.value.token.get_secret_value() == APP_TOKEN and default.value.application_token_id == "t2"
    assert [r.request_id for r in (updated, enabled, disabled, deleted)] == [
        "R-UpdateApplicationTokenExpirationTime", "R-EnableApplicationToken", "R-DisableApplicationToken",
        "R-DeleteApplicationToken"]
    hosts = [(s.action, s.headers["host"], s.headers["x-acs-version"]) for s in cloud.seen]
    eiam = ("eiam.cn-hangzhou.aliyuncs.com", "2021-12-01")
    assert hosts == [
        ("GetApplication", "ims.aliyuncs.com", "2019-08-15"),
        ("GetCallerIdentity", "sts.cn-hangzhou.aliyuncs.com", "2015-04-01"),
        ("ListApplicationTokens", *eiam),
        ("CreateApplicationToken", *eiam),
        ("CreateApplicationToken", *eiam),
        ("UpdateApplicationTokenExpirationTime", *eiam),
        ("EnableApplicationToken", *eiam),
        ("DisableApplicationToken", *eiam),
        ("DeleteApplicationToken", *eiam),
    ]
    assert cloud.seen[2].query == {"InstanceId": "i", "ApplicationId": "a", "ApplicationTokenType": "bearer_token"}
    assert cloud.seen[3].query["ExpirationTime"] == "1798761600000"
    assert "ExpirationTime" not in cloud.seen[4].query  # the cloud's default, one year
    assert cloud.seen[5].query == {"InstanceId": "i", "ApplicationId": "a", "ApplicationTokenId": "t1",
                                   "ExpirationTime": "1811808000000"}
    for seen in cloud.seen[6:]:
        assert seen.query == {"InstanceId": "i", "ApplicationId": "a", "ApplicationTokenId": "t1"}
    assert all(s.signature_ok for s in cloud.seen)


def test_endpoints_for_region_and_overrides() -> None:
    assert Endpoints.for_region("ap-southeast-1") == Endpoints(
        eiam="https://eiam.ap-southeast-1.aliyuncs.com", ims="https://ims.aliyuncs.com",
        sts="https://sts.ap-southeast-1.aliyuncs.com", region_id="ap-southeast-1")
    vpc = Endpoints.for_region("cn-hangzhou", {"eiam": "eiam-cn.vpc-proxy.aliyuncs.com",
                                               "sts": "http://127.0.0.1:8080/"})
    assert vpc.eiam == "https://eiam-cn.vpc-proxy.aliyuncs.com"
    assert vpc.sts == "http://127.0.0.1:8080"
    with pytest.raises(ValueError, match="unknown endpoint"):
        Endpoints.for_region("cn-hangzhou", {"ecs": "x"})
    with pytest.raises(ValueError, match="region"):
        Endpoints.for_region("cn hangzhou/../")


@pytest.mark.parametrize("region", ["cn-hangzhou", "cn-beijing", "cn-hongkong", "ap-northeast-2", "ap-southeast-1",
                                    "ap-southeast-5", "eu-central-1"])
def test_the_regions_with_eiam_get_its_public_endpoint(region: str) -> None:
    endpoints = Endpoints.for_region(region)
    assert endpoints.eiam == f"https://eiam.{region}.aliyuncs.com" and endpoints.eiam_problem is None


async def test_a_region_without_eiam_fails_eiam_calls_at_once_and_serves_the_rest() -> None:
    endpoints = Endpoints.for_region("us-west-1")
    assert endpoints.eiam is None and endpoints.ims == "https://ims.aliyuncs.com"
    assert endpoints.sts == "https://sts.us-west-1.aliyuncs.com"
    assert endpoints.eiam_problem is not None and "us-west-1" in endpoints.eiam_problem
    cloud = FakeCloud()
    cloud.always("GetApplication", json_reply(200, {"RequestId": "R", "Application": {"AppId": "1"}}))
    pool = HttpPool(transport=cloud.transport())
    client = CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8"), endpoints=endpoints,
                         pool=pool, settings=ClientSettings(max_attempts=3), clock=FixedClock())
    with pytest.raises(ServiceNotInRegionError) as caught:
        await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    error = caught.value
    assert (error.reason, error.retryable) == ("InvalidSpec", False)
    for region in ("cn-hangzhou", "ap-southeast-1", "eu-central-1"):
        assert region in str(error)
    assert "endpoints.eiam" in str(error) and "ObtainApplicationToken failed" in str(error)
    assert (await client.get_application(app_id="1")).value.app_id == "1"  # IMS is central
    await pool.aclose()
    assert [s.action for s in cloud.seen] == ["GetApplication"]  # no request to a host that does not exist
    # endpoints.eiam (a VPC endpoint, another host) makes EIAM reachable from any region.
    assert Endpoints.for_region("us-west-1", {"eiam": "https://eiam.example.internal"}).eiam_problem is None


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (error_reply(403, "Forbidden.RAM"), AccessDeniedError),
        (error_reply(404, "EntityNotExist.ApplicationToken"), NotFoundError),
        (error_reply(400, "InvalidAccessKeyId.NotFound"), InvalidCredentialsError),
        (error_reply(400, "MissingParameter"), BadRequestError),
    ],
)
async def test_final_errors_are_not_retried(reply: httpx.Response, expected: type[CloudError]) -> None:
    cloud = FakeCloud()
    cloud.always("ObtainApplicationToken", reply)
    codes: list[tuple[str, str]] = []
    client, pool = make_client(cloud, seen_codes=codes)
    with pytest.raises(expected) as caught:
        await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    await pool.aclose()
    assert len(cloud.seen) == 1
    assert codes == [("ObtainApplicationToken", caught.value.code)]
    assert caught.value.request_id == "REQ-ERR"
    assert "ObtainApplicationToken failed" in str(caught.value)


@pytest.mark.looptime
async def test_throttling_honours_retry_after_then_succeeds() -> None:
    cloud = FakeCloud()
    cloud.on("ObtainApplicationToken", error_reply(400, "Throttling", headers={"x-acs-retry-after": "7000"}),
             json_reply(200, token_body()))
    codes: list[tuple[str, str]] = []
    client, pool = make_client(cloud, seen_codes=codes)
    loop = asyncio.get_running_loop()
    start = loop.time()
    reply = await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    waited = loop.time() - start
    await pool.aclose()
    assert reply.value.status == "enabled"
    assert 7 <= waited < 7.5  # the server's hint beats the (smaller) backoff
    assert codes == [("ObtainApplicationToken", "Throttling"), ("ObtainApplicationToken", "Success")]


@pytest.mark.looptime
async def test_backoff_is_bounded_and_gives_up_after_max_attempts() -> None:
    cloud = FakeCloud()
    cloud.always("ObtainApplicationToken", error_reply(503, "ServiceUnavailable"))
    settings = ClientSettings(max_attempts=6, backoff_base_seconds=1, backoff_cap_seconds=3)
    client, pool = make_client(cloud, settings=settings)
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(CloudUnavailableError) as caught:
        await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    waited = loop.time() - start
    await pool.aclose()
    assert len(cloud.seen) == 6
    assert caught.value.retryable and caught.value.reason == "CloudUnavailable"
    assert waited <= 1 + 2 + 3 + 3 + 3  # each sleep at most min(cap, base * 2**n)


def test_backoff_full_jitter_stays_under_its_ceiling() -> None:
    caller = RpcCaller(pool=HttpPool(), clock=FixedClock(),
                       settings=ClientSettings(backoff_base_seconds=0.5, backoff_cap_seconds=10))
    for attempt in range(1, 12):
        delays = [caller._backoff(attempt, None) for _ in range(200)]
        assert max(delays) <= min(10, 0.5 * 2 ** (attempt - 1))
        assert min(delays) >= 0
    assert caller._backoff(1, 30.0) == 30.0


@pytest.mark.looptime
async def test_a_hung_endpoint_times_out_and_is_retried() -> None:
    calls = 0

    async def hang(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(3600)
        return json_reply(200, token_body())

    pool = HttpPool(transport=httpx.MockTransport(hang))
    client = CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8"), endpoints=ENDPOINTS,
                         pool=pool, settings=ClientSettings(timeout_seconds=5), clock=FixedClock())
    loop = asyncio.get_running_loop()
    start = loop.time()
    reply = await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    await pool.aclose()
    assert reply.value.application_token_id == "token_demo"
    assert 5 <= loop.time() - start < 6


async def test_connection_errors_and_truncated_bodies_are_cloud_unavailable() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    pool = HttpPool(transport=httpx.MockTransport(broken))
    client = CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8"), endpoints=ENDPOINTS,
                         pool=pool, settings=ClientSettings(max_attempts=1), clock=FixedClock())
    with pytest.raises(CloudUnavailableError) as caught:
        await client.get_application(app_id="1")
    assert caught.value.code == "ConnectionError"
    assert "ims.aliyuncs.com" in str(caught.value)
    await pool.aclose()

    cloud = FakeCloud()
    cloud.always("ObtainApplicationToken", httpx.Response(200, content=b'{"RequestId": "R", "ApplicationTok'))
    cloud.always("GetApplication", httpx.Response(502, content=b"<html>Bad Gateway</html>"))
    client, pool = make_client(cloud, settings=ClientSettings(max_attempts=1))
    with pytest.raises(MalformedResponseError):
        await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    with pytest.raises(CloudUnavailableError) as gateway:
        await client.get_application(app_id="1")
    assert gateway.value.code == "HTTP502"
    await pool.aclose()


async def test_missing_field_is_a_malformed_response_naming_the_field() -> None:
    cloud = FakeCloud()
    body = token_body()
    del body["ApplicationToken"]["ExpirationTime"]
    cloud.always("ObtainApplicationToken", json_reply(200, body))
    client, pool = make_client(cloud)
    with pytest.raises(MalformedResponseError) as caught:
        await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    await pool.aclose()
    assert "ExpirationTime" in str(caught.value)
    assert caught.value.request_id == "REQ-OK"
    assert APP_TOKEN not in str(caught.value)


async def test_a_failing_metrics_hook_does_not_break_the_call() -> None:
    cloud = FakeCloud()
    cloud.always("GetApplication", json_reply(200, {"RequestId": "R", "Application": {"AppId": "1"}}))
    pool = HttpPool(transport=cloud.transport())

    def broken_hook(action: str, code: str) -> None:
        raise RuntimeError("metrics down")

    client = CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8"), endpoints=ENDPOINTS,
                         pool=pool, clock=FixedClock(), on_request=broken_hook)
    assert (await client.get_application(app_id="1")).value.app_id == "1"
    await pool.aclose()


@pytest.mark.looptime
async def test_persistent_throttling_surfaces_as_throttled_with_the_hint() -> None:
    cloud = FakeCloud()
    cloud.always("ObtainApplicationToken", error_reply(429, "Throttling.User", headers={"x-acs-retry-after": "2500"}))
    client, pool = make_client(cloud, settings=ClientSettings(max_attempts=2))
    with pytest.raises(ThrottledError) as caught:
        await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    await pool.aclose()
    assert len(cloud.seen) == 2
    assert caught.value.reason == "Throttled" and caught.value.retry_after == 2.5


@pytest.mark.looptime
async def test_a_retry_after_beyond_the_backoff_cap_is_raised_at_once_for_the_caller_to_schedule() -> None:
    cloud = FakeCloud()
    cloud.always("ObtainApplicationToken", error_reply(400, "Throttling.User",
                                                       headers={"x-acs-retry-after": "3600000"}))
    client, pool = make_client(cloud, settings=ClientSettings(max_attempts=3, backoff_cap_seconds=10))
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(ThrottledError) as caught:
        await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    waited = loop.time() - start
    await pool.aclose()
    assert waited <= 10  # not an hour inside one call
    assert len(cloud.seen) == 1  # a retry now would only be throttled again
    assert caught.value.retry_after == 3600 and caught.value.reason == "Throttled"


@pytest.mark.looptime
async def test_a_retry_after_at_the_backoff_cap_is_still_waited_out() -> None:
    cloud = FakeCloud()
    cloud.on("ObtainApplicationToken", error_reply(503, "ServiceUnavailable", headers={"x-acs-retry-after": "10000"}),
             json_reply(200, token_body()))
    client, pool = make_client(cloud, settings=ClientSettings(max_attempts=3, backoff_cap_seconds=10))
    loop = asyncio.get_running_loop()
    start = loop.time()
    reply = await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    waited = loop.time() - start
    await pool.aclose()
    assert reply.value.application_token_id == "token_demo"
    assert 10 <= waited < 10.5


@pytest.mark.looptime
@pytest.mark.parametrize(("headers", "wait"), [
    ({"x-acs-retry-after": "1000"}, 1.0),  # milliseconds: the official SDKs' own tests send 1000
    ({"x-acs-retry-after": "250"}, 0.25),
    ({"retry-after": "2"}, 2.0),  # plain HTTP Retry-After stays seconds
])
async def test_retry_after_units(headers: dict[str, str], wait: float) -> None:
    cloud = FakeCloud()
    cloud.on("ObtainApplicationToken", error_reply(400, "Throttling.User", headers=headers),
             json_reply(200, token_body()))
    client, pool = make_client(cloud, settings=ClientSettings(max_attempts=2, backoff_base_seconds=0))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    waited = loop.time() - start
    await pool.aclose()
    assert wait <= waited < wait + 0.1  # not 1000 seconds for "1000"


@pytest.mark.looptime
@pytest.mark.parametrize("reply", [
    error_reply(503, "ServiceUnavailable", headers={"x-acs-retry-after": "500"}),  # any error with the header
    error_reply(400, "Rejected.Throttling"),
])
async def test_throttling_in_any_form_is_retried(reply: httpx.Response) -> None:
    cloud = FakeCloud()
    cloud.on("GetApplication", reply, json_reply(200, {"RequestId": "R", "Application": {"AppId": "1"}}))
    client, pool = make_client(cloud, settings=ClientSettings(max_attempts=2))
    assert (await client.get_application(app_id="1")).value.app_id == "1"
    await pool.aclose()
    assert len(cloud.seen) == 2


@pytest.mark.looptime
@pytest.mark.parametrize(("reply", "expected", "unknown"), [
    (error_reply(503, "ServiceUnavailable"), CloudUnavailableError, True),
    (error_reply(500, "InternalError"), CloudUnavailableError, True),
    (error_reply(400, "Throttling.User", headers={"x-acs-retry-after": "100"}), ThrottledError, False),
    (httpx.Response(200, content=b'{"RequestId": "R", "ApplicationTok'), MalformedResponseError, True),
    (error_reply(400, "QuotaExceeded.ApplicationToken"), QuotaExceededError, False),
])
async def test_create_is_sent_exactly_once(reply: httpx.Response, expected: type[CloudError], unknown: bool) -> None:
    """A second CreateApplicationToken after a lost answer can make a second token: never retried here."""
    cloud = FakeCloud()
    cloud.always("CreateApplicationToken", reply)
    client, pool = make_client(cloud, settings=ClientSettings(max_attempts=5, backoff_base_seconds=0.1))
    with pytest.raises(expected) as caught:
        await client.create_application_token(instance_id="i", application_id="a")
    await pool.aclose()
    assert len(cloud.seen) == 1
    assert caught.value.outcome_unknown is unknown  # may the token exist? then list before creating again


@pytest.mark.looptime
async def test_a_create_that_times_out_is_not_sent_again() -> None:
    calls = 0

    async def hang(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(3600)
        return json_reply(200, token_body())

    pool = HttpPool(transport=httpx.MockTransport(hang))
    client = CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8"), endpoints=ENDPOINTS,
                         pool=pool, settings=ClientSettings(timeout_seconds=5, max_attempts=4), clock=FixedClock())
    with pytest.raises(CloudUnavailableError) as caught:
        await client.create_application_token(instance_id="i", application_id="a")
    await pool.aclose()
    assert calls == 1
    assert caught.value.code == "RequestTimeout" and caught.value.outcome_unknown


async def test_a_connection_refused_create_is_known_not_to_have_happened() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    pool = HttpPool(transport=httpx.MockTransport(refuse))
    client = CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8"), endpoints=ENDPOINTS,
                         pool=pool, settings=ClientSettings(max_attempts=3), clock=FixedClock())
    with pytest.raises(CloudUnavailableError) as caught:
        await client.create_application_token(instance_id="i", application_id="a")
    await pool.aclose()
    assert caught.value.code == "ConnectionError" and not caught.value.outcome_unknown


@pytest.mark.looptime
@pytest.mark.parametrize("action", ["UpdateApplicationTokenExpirationTime", "EnableApplicationToken",
                                    "DisableApplicationToken", "DeleteApplicationToken"])
async def test_the_idempotent_token_calls_are_retried(action: str) -> None:
    cloud = FakeCloud()
    cloud.on(action, error_reply(503, "ServiceUnavailable"), json_reply(200, {"RequestId": "R-OK"}))
    client, pool = make_client(cloud, settings=ClientSettings(max_attempts=3))
    ids = {"instance_id": "i", "application_id": "a", "application_token_id": "t"}
    if action == "UpdateApplicationTokenExpirationTime":
        reply = await client.update_application_token_expiration_time(
            **ids, expiration_time=datetime(2027, 1, 1, tzinfo=UTC))
    else:
        method = {"EnableApplicationToken": client.enable_application_token,
                  "DisableApplicationToken": client.disable_application_token,
                  "DeleteApplicationToken": client.delete_application_token}[action]
        reply = await method(**ids)
    await pool.aclose()
    assert reply.request_id == "R-OK" and len(cloud.seen) == 2


@pytest.mark.looptime
async def test_a_clock_off_by_more_than_fifteen_minutes_is_said_so_and_not_hammered() -> None:
    cloud = FakeCloud()
    cloud.always("ObtainApplicationToken", error_reply(400, "InvalidTimeStamp.Expired"))
    client, pool = make_client(cloud, settings=ClientSettings(max_attempts=3))
    with pytest.raises(ClockSkewError) as caught:
        await client.obtain_application_token(instance_id="i", application_id="a", application_token_id="t")
    await pool.aclose()
    assert len(cloud.seen) == 1
    error = caught.value
    assert (error.reason, error.retryable) == ("CloudUnavailable", True)  # not InvalidSpec: the spec is fine
    assert "clock" in str(error) and "NTP" in str(error)


async def test_access_denied_names_the_ram_action() -> None:
    cloud = FakeCloud()
    cloud.always("DisableApplicationToken", error_reply(403, "Forbidden.RAM"))
    cloud.always("GetApplication", error_reply(403, "NoPermission"))
    client, pool = make_client(cloud)
    with pytest.raises(AccessDeniedError) as caught:
        await client.disable_application_token(instance_id="i", application_id="a", application_token_id="t")
    with pytest.raises(AccessDeniedError) as ims:
        await client.get_application(app_id="1")
    await pool.aclose()
    assert caught.value.ram_action == "eiam:DisableApplicationToken"
    assert "permission eiam:DisableApplicationToken" in str(caught.value)
    assert ims.value.ram_action == "ram:GetApplication"
