"""How many ObtainApplicationToken calls per second the cloud client sustains against the emulator.

The emulator runs in its own process (``python3 -m tokensync cloud-emulator --port 0``), so
client and server do not share an event loop. Beside the client, a minimal raw loop (sign,
POST with httpx, json.loads; no limiter, retries, models or logging) measures what the
emulator plus HTTP cost on their own: the gap between the two is the client's overhead.

    python3 bench/cloud_client_bench.py [--seconds 5] [--concurrency 1 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from tokensync.cloud import signing
from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import StaticCredentials

AK_ID, AK_SECRET = "demo-access-key-id", "demo-access-key-secret"
QUERY = {"InstanceId": "idaas_demo", "ApplicationId": "app_demo", "ApplicationTokenId": "token_demo"}


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tokensync", "cloud-emulator", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"https?://[^\s]+", line)
    if not found:
        process.kill()
        raise SystemExit(f"the emulator did not print its URL; first line: {line!r}")
    return process, found.group(0).rstrip("/")


async def run_for(seconds: float, concurrency: int, call: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                await call()
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "calls": len(latencies),
        "errors": errors,
        "calls_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2) if latencies else None,
    }


def raw_call(http: httpx.AsyncClient, url: str) -> Callable[[], Awaitable[None]]:
    host = urlsplit(url).netloc

    async def call() -> None:
        headers = {
            "host": host, "x-acs-action": "ObtainApplicationToken", "x-acs-version": "2021-12-01",
            "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": uuid.uuid4().hex, "x-acs-content-sha256": signing.EMPTY_BODY_SHA256,
        }
        authorization = signing.authorization(
            method="POST", pathname="/", query=QUERY, headers=headers, body_sha256=signing.EMPTY_BODY_SHA256,
            access_key_id=AK_ID, access_key_secret=AK_SECRET,
        )
        response = await http.post(f"{url}/?{signing.canonical_query(QUERY)}",
                                   headers={**headers, "Authorization": authorization, "accept": "application/json"})
        if response.status_code != 200:
            raise RuntimeError(response.text)
        json.loads(response.content)

    return call


def client_call(client: CloudClient) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        await client.obtain_application_token(instance_id="idaas_demo", application_id="app_demo",
                                              application_token_id="token_demo")

    return call


async def bench(url: str, seconds: float, concurrencies: list[int]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    pool = HttpPool()
    client = CloudClient(
        credentials=StaticCredentials(AK_ID, AK_SECRET),
        endpoints=Endpoints.for_region("cn-hangzhou", {"eiam": url, "ims": url, "sts": url}),
        pool=pool, settings=ClientSettings(rate_limit_per_second=1e6, rate_limit_burst=1_000_000, max_attempts=1),
    )
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100), trust_env=False) as http:
        await client_call(client)()  # warm-up: connection, first import paths
        await raw_call(http, url)()
        for concurrency in concurrencies:
            results[f"raw_c{concurrency}"] = await run_for(seconds, concurrency, raw_call(http, url))
            results[f"client_c{concurrency}"] = await run_for(seconds, concurrency, client_call(client))
    await pool.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    process, url = start_emulator()
    try:
        results = asyncio.run(bench(url, args.seconds, args.concurrency))
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(json.dumps({"emulator": url, "seconds": args.seconds, "results": results}, indent=2))
    print(f"\n{'loop':<14}{'calls/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, row in results.items():
        print(f"{name:<14}{row['calls_per_second']:>10}{row['p50_ms']!s:>10}{row['p99_ms']!s:>10}{row['errors']:>8}")


if __name__ == "__main__":
    main()
