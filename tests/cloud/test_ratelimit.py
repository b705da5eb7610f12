"""The per-endpoint token bucket, on fast-forwarded loop time."""

from __future__ import annotations

import asyncio

import pytest

from tests.cloud.fakes import FakeCloud, json_reply
from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import StaticCredentials
from tokensync.cloud.ratelimit import RateLimiter


@pytest.mark.looptime
async def test_burst_then_steady_rate() -> None:
    limiter = RateLimiter(rate_per_second=10, burst=5)
    loop = asyncio.get_running_loop()
    start = loop.time()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(round(loop.time() - start, 3))

    await asyncio.gather(*(one() for _ in range(25)))
    assert times[:5] == [0.0] * 5
    assert times[5:] == pytest.approx([0.1 * n for n in range(1, 21)], abs=1e-6)


@pytest.mark.looptime
async def test_idle_time_refills_up_to_the_burst_only() -> None:
    limiter = RateLimiter(rate_per_second=2, burst=3)
    for _ in range(3):
        assert await limiter.acquire() == 0
    await asyncio.sleep(3600)
    waits = [await limiter.acquire() for _ in range(4)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3] == pytest.approx(0.5)


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0, 1)
    with pytest.raises(ValueError):
        RateLimiter(1, 0)


@pytest.mark.looptime
async def test_clients_sharing_a_pool_share_the_endpoint_limit() -> None:
    cloud = FakeCloud()
    cloud.always("GetApplication", json_reply(200, {"RequestId": "R", "Application": {"AppId": "1"}}))
    pool = HttpPool(transport=cloud.transport())
    settings = ClientSettings(rate_limit_per_second=4, rate_limit_burst=1)
    clients = [CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8"),
                           endpoints=Endpoints.for_region("cn-hangzhou"), pool=pool, settings=settings)
               for _ in range(3)]
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(c.get_application(app_id="1") for c in clients for _ in range(3)))
    await pool.aclose()
    assert loop.time() - start == pytest.approx(8 / 4)  # 9 calls, 1 at once, then 4/s


def test_the_default_is_twenty_requests_a_second_per_endpoint() -> None:
    settings = ClientSettings()
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (20.0, 20)


@pytest.mark.looptime
async def test_with_default_settings_the_twenty_first_immediate_request_on_one_endpoint_waits() -> None:
    cloud = FakeCloud()
    cloud.always("GetApplication", json_reply(200, {"RequestId": "R", "Application": {"AppId": "1"}}))
    cloud.always("GetCallerIdentity", json_reply(200, {"RequestId": "R", "AccountId": "1", "Arn": "a"}))
    pool = HttpPool(transport=cloud.transport())
    client = CloudClient(credentials=StaticCredentials("AK-test", "secret-value-Zq8"),
                         endpoints=Endpoints.for_region("cn-hangzhou"), pool=pool)  # default settings
    loop = asyncio.get_running_loop()
    start = loop.time()
    done: list[float] = []

    async def one() -> None:
        await client.get_application(app_id="1")
        done.append(loop.time() - start)

    await asyncio.gather(*(one() for _ in range(21)))
    assert sorted(done)[:20] == [0.0] * 20  # the burst goes out at once
    assert sorted(done)[20] == pytest.approx(1 / 20)  # the 21st waits for the next token
    # Another endpoint (STS) has its own bucket: not held up by the spent IMS one.
    before = loop.time()
    await client.get_caller_identity()
    assert loop.time() - before == 0.0
    await pool.aclose()
