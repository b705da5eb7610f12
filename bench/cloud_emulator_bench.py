"""ObtainApplicationToken calls per second: tokensync's client against the cloud emulator,
with the emulator's own overhead beside it. Prints JSON. Not a test.

- ``client``: tokensync's ``CloudClient`` (signing, rate limiter lifted, retries off) with
  ``concurrency`` calls in flight, end to end over loopback HTTP to ``tokensync cloud-emulator``
  running in its own process (as a user runs it).
- ``raw_http``: pre-signed requests (one nonce each, signed before the clock starts) sent with a
  bare ``httpx.AsyncClient`` at the same concurrency: the emulator plus HTTP, no client work.
- ``in_process``: the emulator's request handler called without any network (aiohttp's
  test-utils request objects): the emulator's CPU cost per call.

Usage: python3 bench/cloud_emulator_bench.py [--calls N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiohttp.test_utils import make_mocked_request

from tokensync.clock import SYSTEM_CLOCK
from tokensync.cloud import signing
from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import StaticCredentials
from tokensync.emulators.cloud import running_cloud_emulator
from tokensync.emulators.cloud.app import build_app, handle_api

AK_ID, AK_SECRET = "demo-access-key-id", "demo-access-key-secret"
QUERY = {"InstanceId": "idaas_demo", "ApplicationId": "app_demo", "ApplicationTokenId": "token_demo"}


def _signed_headers(url: str) -> dict[str, str]:
    signed = {
        "host": urlsplit(url).netloc,
        "x-acs-action": "ObtainApplicationToken",
        "x-acs-version": "2021-12-01",
        "x-acs-date": SYSTEM_CLOCK.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": signing.EMPTY_BODY_SHA256,
    }
    authorization = signing.authorization(method="POST", pathname="/", query=QUERY, headers=signed,
                                          body_sha256=signing.EMPTY_BODY_SHA256, access_key_id=AK_ID,
                                          access_key_secret=AK_SECRET)
    return {**signed, "Authorization": authorization}


async def _spread(calls: int, concurrency: int, one: Any) -> float:
    """Run ``one(i)`` for i in range(calls) with ``concurrency`` workers; seconds taken."""
    counter = iter(range(calls))

    async def worker() -> None:
        for i in counter:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


class _Subprocess:
    """``tokensync cloud-emulator`` in its own process; ``url`` from its first line."""

    def __init__(self) -> None:
        self.url = ""
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> _Subprocess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tokensync", "cloud-emulator", stdout=asyncio.subprocess.PIPE)
        assert self._process.stdout is not None
        self.url = (await self._process.stdout.readline()).decode().strip()
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._process is not None
        self._process.terminate()
        await self._process.wait()

    async def answers(self) -> int:
        async with httpx.AsyncClient() as http:
            counters = (await http.get(f"{self.url}/_emulator/counters")).json()
        return int(counters["codes"].get("ObtainApplicationToken", {}).get("Success", 0))

    async def reset_counters(self) -> None:
        async with httpx.AsyncClient() as http:
            await http.delete(f"{self.url}/_emulator/counters")


async def bench(calls: int, concurrency: int, same_process: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"calls": calls, "concurrency": concurrency, "cpus": os.cpu_count(),
                               "emulator": "same event loop" if same_process else "own process"}
    async with (running_cloud_emulator() if same_process else _Subprocess()) as emu:
        pool = HttpPool(max_connections=concurrency)
        client = CloudClient(
            credentials=StaticCredentials(AK_ID, AK_SECRET),
            endpoints=Endpoints.for_region("cn-hangzhou", {"eiam": emu.url, "ims": emu.url, "sts": emu.url}),
            pool=pool, settings=ClientSettings(max_attempts=1, rate_limit_per_second=1e9, rate_limit_burst=10**6),
        )

        async def via_client(_: int) -> None:
            await client.obtain_application_token(instance_id="idaas_demo", application_id="app_demo",
                                                  application_token_id="token_demo")

        await _spread(min(200, calls), concurrency, via_client)  # warm up connections and caches
        await _reset(emu)
        seconds = await _spread(calls, concurrency, via_client)
        assert await _answers(emu) == calls
        results["client"] = {"seconds": round(seconds, 3), "calls_per_second": round(calls / seconds)}
        await pool.aclose()

        canonical = signing.canonical_query(QUERY)
        presigned = [_signed_headers(emu.url) for _ in range(calls)]
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits) as http:
            async def raw(i: int) -> None:
                response = await http.post(f"{emu.url}/?{canonical}", headers=presigned[i], content=b"")
                assert response.status_code == 200

            seconds = await _spread(calls, concurrency, raw)
        results["raw_http"] = {"seconds": round(seconds, 3), "calls_per_second": round(calls / seconds)}

    # The handler alone: no sockets, no HTTP parsing, one fresh nonce per call.
    from tokensync.emulators.cloud.emulator import CloudEmulator

    emulator = CloudEmulator()
    app = build_app(emulator)
    host = "127.0.0.1:1"
    requests = []
    for _ in range(calls):
        signed = {**_signed_headers(f"http://{host}"), "Host": host}
        signed.pop("host")
        requests.append(make_mocked_request("POST", f"/?{canonical}", headers=signed, app=app))
    started = time.perf_counter()
    for request in requests:
        response = await handle_api(request)
        assert response.status == 200
    seconds = time.perf_counter() - started
    results["in_process"] = {"seconds": round(seconds, 3), "calls_per_second": round(calls / seconds),
                             "microseconds_per_call": round(seconds / calls * 1e6, 1)}
    client_ms = 1000 / results["client"]["calls_per_second"]
    handler_ms = seconds / calls * 1000
    results["emulator_share_of_client_call"] = round(handler_ms / client_ms, 3)
    return results


async def _reset(emu: Any) -> None:
    if isinstance(emu, _Subprocess):
        await emu.reset_counters()
    else:
        emu.reset_counters()


async def _answers(emu: Any) -> int:
    if isinstance(emu, _Subprocess):
        return await emu.answers()
    return int(emu.answers("ObtainApplicationToken"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--same-process", action="store_true",
                        help="serve the emulator in the client's event loop instead of its own process")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench(args.calls, args.concurrency, args.same_process)), indent=2))


if __name__ == "__main__":
    main()
