"""Each injected fault, seen through tokensync's client as the error class a caller acts on."""

from __future__ import annotations

import asyncio

import pytest

from tokensync.cloud.errors import (
    AccessDeniedError,
    BadRequestError,
    CloudError,
    CloudUnavailableError,
    InvalidCredentialsError,
    MalformedResponseError,
    NotFoundError,
    QuotaExceededError,
    ThrottledError,
)

from . import signed
from .conftest import DEMO, Cloud


@pytest.mark.parametrize(("status", "code", "error_class"), [
    (400, "Throttling.User", ThrottledError),  # what the gateway sends
    (400, "Throttling", ThrottledError),
    (429, "TooManyRequests", ThrottledError),  # not Alibaba's, but a 429 from a proxy means the same
    (403, "Forbidden.NoPermission", AccessDeniedError),
    (403, "NoPermission", AccessDeniedError),
    (404, "ResourceNotFound.ApplicationToken", NotFoundError),
    (400, "Rejected.Throttling", ThrottledError),
    (400, "QuotaExceeded.ApplicationToken", QuotaExceededError),
    (400, "InvalidParameter", BadRequestError),
    (403, "SignatureDoesNotMatch", InvalidCredentialsError),
    (500, "InternalError", CloudUnavailableError),
    (503, "ServiceUnavailable", CloudUnavailableError),
])
async def test_an_injected_error_reaches_the_client_as_its_class(
    cloud: Cloud, status: int, code: str, error_class: type[CloudError]
) -> None:
    cloud.emu.inject_fault(action="ObtainApplicationToken", status=status, code=code)
    with pytest.raises(error_class) as caught:
        await cloud.client().obtain_application_token(**DEMO)
    assert (caught.value.http_status, caught.value.code) == (status, code)
    assert caught.value.request_id
    assert (await cloud.client().get_caller_identity()).value.arn  # other actions are untouched


async def test_throttling_sends_retry_after_and_the_client_retries_once_it_passes(cloud: Cloud) -> None:
    cloud.emu.throttle(action="ObtainApplicationToken", retry_after=0, times=2)
    token = (await cloud.client(max_attempts=3).obtain_application_token(**DEMO)).value
    assert token.application_token_id == "token_demo"
    assert cloud.emu.answers("ObtainApplicationToken", "Throttling.User") == 2
    assert cloud.emu.answers("ObtainApplicationToken") == 1
    assert cloud.emu.calls("ObtainApplicationToken") == 3


async def test_throttle_answers_like_the_gateway_and_the_client_reads_retry_after(cloud: Cloud) -> None:
    cloud.emu.throttle(retry_after=7)
    status, body, headers = await signed.call(cloud.url, "GetCallerIdentity", "2015-04-01", date=cloud.clock.now())
    assert (status, body["Code"]) == (400, "Throttling.User")
    assert headers["x-acs-retry-after"] == "7000"  # milliseconds, as the gateway sends it
    with pytest.raises(ThrottledError) as caught:
        await cloud.client().get_caller_identity()
    assert (caught.value.http_status, caught.value.code) == (400, "Throttling.User")
    assert caught.value.retry_after == 7  # seconds, once read


async def test_any_error_with_the_retry_after_header_is_throttling(cloud: Cloud) -> None:
    cloud.emu.inject_fault(action="GetCallerIdentity", status=503, code="ServiceUnavailable", retry_after=1.5)
    with pytest.raises(ThrottledError) as caught:
        await cloud.client().get_caller_identity()
    assert caught.value.retry_after == 1.5 and caught.value.code == "ServiceUnavailable"


async def test_an_hour_long_retry_after_fails_the_call_at_once_with_the_hint(cloud: Cloud) -> None:
    cloud.emu.throttle(action="ObtainApplicationToken", retry_after=3600)
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(ThrottledError) as caught:
        await cloud.client(max_attempts=3).obtain_application_token(**DEMO)
    assert loop.time() - start < 10  # the backoff cap, not the hour: the caller schedules the retry
    assert caught.value.retry_after == 3600
    assert cloud.emu.calls("ObtainApplicationToken") == 1


@pytest.mark.parametrize("body", ["malformed", "truncated", "empty"])
async def test_a_broken_body_is_a_malformed_response(cloud: Cloud, body: str) -> None:
    cloud.emu.inject_fault(body=body)  # type: ignore[arg-type]
    with pytest.raises(MalformedResponseError):
        await cloud.client().obtain_application_token(**DEMO)


async def test_a_connection_reset_is_cloud_unavailable(cloud: Cloud) -> None:
    cloud.emu.inject_fault(reset=True, times=1)
    with pytest.raises(CloudUnavailableError) as caught:
        await cloud.client().obtain_application_token(**DEMO)
    assert caught.value.code == "ConnectionError"
    assert (await cloud.client().obtain_application_token(**DEMO)).value  # only once


async def test_latency_delays_but_answers(cloud: Cloud) -> None:
    fault = cloud.emu.inject_fault(latency_ms=200)
    loop = asyncio.get_running_loop()  # real time here: the emulator's server sleeps on this loop
    start = loop.time()
    assert (await cloud.client().obtain_application_token(**DEMO)).value
    assert loop.time() - start >= 0.2
    assert fault.hits == 1


async def test_an_error_rate_fails_about_that_share_of_calls(cloud: Cloud) -> None:
    cloud.emu.faults = type(cloud.emu.faults)(seed=7)
    cloud.emu.inject_fault(status=500, code="InternalError", rate=0.5)
    client = cloud.client(rate_limit_per_second=1000.0)
    failures = 0
    for _ in range(40):
        try:
            await client.get_caller_identity()
        except CloudUnavailableError:
            failures += 1
    assert 8 <= failures <= 32


async def test_clear_faults(cloud: Cloud) -> None:
    cloud.emu.inject_fault(status=500, code="InternalError")
    cloud.emu.clear_faults()
    assert (await cloud.client().obtain_application_token(**DEMO)).value


def test_a_fault_needs_status_and_code_together() -> None:
    from tokensync.emulators.cloud import Fault

    with pytest.raises(ValueError, match="status and code"):
        Fault(status=500)
