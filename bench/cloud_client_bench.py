"""ObtainApplicationToken calls per second: tokensync's cloud client against the cloud emulator,
with the emulator's own overhead measured beside it. Not a test; prints a table and JSON.

The emulator runs as a user runs it (``python3 -m tokensync cloud-emulator --port 0``, its own
process), so client and server do not share an event loop. Rows, each ``--calls`` calls:

- ``client cN``: tokensync's ``CloudClient`` (signing, models, logging; rate limit lifted,
  retries off) with N calls in flight, over loopback HTTP.
- ``raw_http cN``: requests signed before the clock starts, sent by a bare ``httpx.AsyncClient``
  at the same concurrency: the emulator plus HTTP, no client work. client vs raw_http is the
  client's overhead.
- ``client no-network``: the client against an ``httpx.MockTransport`` that returns a canned
  answer: the client's own CPU per call, with no server at all.
- ``emulator handler``: the emulator's request handler called in this process on mocked aiohttp
  requests (no sockets, no HTTP parsing): the emulator's CPU per call.

For the HTTP rows, CPU milliseconds per call are given for the bench process (the client side)
and for the emulator process (read from /proc), so the table shows which side bounds the rate.
Every HTTP row checks the emulator's counters: each call reached it and succeeded.

Usage: python3 bench/cloud_client_bench.py [--calls 3000] [--concurrency 1 4 16] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiohttp.test_utils import make_mocked_request

from tokensync.clock import SYSTEM_CLOCK
from tokensync.cloud import signing
from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import StaticCredentials
from tokensync.emulators.cloud.app import build_app, handle_api
from tokensync.emulators.cloud.emulator import CloudEmulator

AK_ID, AK_SECRET = "demo-access-key-id", "demo-access-key-secret"
QUERY = {"InstanceId": "idaas_demo", "ApplicationId": "app_demo", "ApplicationTokenId": "token_demo"}
OBTAIN = "ObtainApplicationToken"
# Limits off: this measures what the client can do, not the 20/s it allows itself by default.
UNLIMITED = ClientSettings(max_attempts=1, rate_limit_per_second=1e9, rate_limit_burst=10**6)


def signed_headers(url: str) -> dict[str, str]:
    """Headers of one signed ObtainApplicationToken request (fresh nonce) to ``url``."""
    signed = {
        "host": urlsplit(url).netloc,
        "x-acs-action": OBTAIN,
        "x-acs-version": "2021-12-01",
        "x-acs-date": SYSTEM_CLOCK.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": signing.EMPTY_BODY_SHA256,
    }
    authorization = signing.authorization(method="POST", pathname="/", query=QUERY, headers=signed,
                                          body_sha256=signing.EMPTY_BODY_SHA256, access_key_id=AK_ID,
                                          access_key_secret=AK_SECRET)
    return {**signed, "Authorization": authorization, "accept": "application/json"}


def client_for(url: str, pool: HttpPool) -> CloudClient:
    return CloudClient(credentials=StaticCredentials(AK_ID, AK_SECRET),
                       endpoints=Endpoints.for_region("cn-hangzhou", {"eiam": url, "ims": url, "sts": url}),
                       pool=pool, settings=UNLIMITED)


async def obtain(client: CloudClient) -> None:
    await client.obtain_application_token(instance_id="idaas_demo", application_id="app_demo",
                                          application_token_id="token_demo")


class EmulatorProcess:
    """``tokensync cloud-emulator`` in its own process; ``url`` from its first line of output."""

    def __init__(self) -> None:
        self.url = ""
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> EmulatorProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tokensync", "cloud-emulator", "--port", "0",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert self._process.stdout is not None
        line = (await self._process.stdout.readline()).decode().strip()
        if not line.startswith("http"):
            raise SystemExit(f"the emulator did not print its URL first; got {line!r}")
        self.url = line
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._process is not None
        self._process.terminate()
        await self._process.wait()

    def cpu_seconds(self) -> float | None:
        """User + system CPU the emulator process has used (Linux /proc), None elsewhere."""
        assert self._process is not None
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def successes(self, http: httpx.AsyncClient) -> int:
        counters = (await http.get(f"{self.url}/_emulator/counters")).json()
        return int(counters["codes"].get(OBTAIN, {}).get("Success", 0))

    async def reset_counters(self, http: httpx.AsyncClient) -> None:
        (await http.delete(f"{self.url}/_emulator/counters")).raise_for_status()


async def spread(calls: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> dict[str, Any]:
    """Run ``one(i)`` for every i < calls on ``concurrency`` workers: rate, latency, client CPU."""
    indices = iter(range(calls))
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for i in indices:
            started = time.perf_counter()
            try:
                await one(i)
            except Exception:  # counted, not raised: a bench row reports its errors
                errors += 1
            latencies.append(time.perf_counter() - started)

    cpu, began = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    latencies.sort()
    return {
        "calls": calls, "errors": errors, "seconds": round(seconds, 3),
        "calls_per_second": round(calls / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 2),
        "bench_cpu_ms_per_call": round(cpu / calls * 1000, 3),
    }


async def over_http(emu: EmulatorProcess, admin: httpx.AsyncClient, calls: int,
                    concurrency: int, one: Callable[[int], Awaitable[None]]) -> dict[str, Any]:
    await emu.reset_counters(admin)
    emulator_cpu = emu.cpu_seconds()
    row = await spread(calls, concurrency, one)
    after = emu.cpu_seconds()
    if emulator_cpu is not None and after is not None:
        row["emulator_cpu_ms_per_call"] = round((after - emulator_cpu) / calls * 1000, 3)
    row["emulator_successes"] = await emu.successes(admin)
    if row["emulator_successes"] != calls - row["errors"]:
        raise SystemExit(f"the emulator answered {row['emulator_successes']} of {calls} calls: {row}")
    return row


async def http_rows(calls: int, concurrencies: list[int]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    async with EmulatorProcess() as emu, httpx.AsyncClient(trust_env=False) as admin:
        for concurrency in concurrencies:
            rows[f"client c{concurrency}"] = await client_row(emu, admin, calls, concurrency)
            rows[f"raw_http c{concurrency}"] = await raw_row(emu, admin, calls, concurrency)
    return rows


async def client_row(emu: EmulatorProcess, admin: httpx.AsyncClient, calls: int, concurrency: int) -> dict[str, Any]:
    pool = HttpPool(max_connections=concurrency)
    client = client_for(emu.url, pool)
    await spread(min(200, calls), concurrency, lambda _: obtain(client))  # warm connections up
    row = await over_http(emu, admin, calls, concurrency, lambda _: obtain(client))
    await pool.aclose()
    return row


async def raw_row(emu: EmulatorProcess, admin: httpx.AsyncClient, calls: int, concurrency: int) -> dict[str, Any]:
    canonical = signing.canonical_query(QUERY)
    presigned = [signed_headers(emu.url) for _ in range(calls + concurrency)]  # signing is not timed
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as http:
        async def raw(i: int) -> None:
            response = await http.post(f"{emu.url}/?{canonical}", headers=presigned[i], content=b"")
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            json.loads(response.content)

        await spread(concurrency, concurrency, lambda i: raw(calls + i))  # open the connections
        return await over_http(emu, admin, calls, concurrency, raw)


async def client_without_network(calls: int, concurrency: int) -> dict[str, Any]:
    """The client's CPU per call: the cloud is an httpx MockTransport with one canned answer."""
    answer = json.dumps(_canned(CloudEmulator())).encode()
    headers = {"content-type": "application/json", "date": "Sun, 22 Nov 2026 12:00:00 GMT"}
    pool = HttpPool(transport=httpx.MockTransport(lambda _: httpx.Response(200, content=answer, headers=headers)))
    client = client_for("http://127.0.0.1:1", pool)
    await spread(min(200, calls), concurrency, lambda _: obtain(client))
    row = await spread(calls, concurrency, lambda _: obtain(client))
    await pool.aclose()
    return row


def _canned(emulator: CloudEmulator) -> dict[str, Any]:
    token = emulator.token("token_demo")
    return {"RequestId": "BENCH", "ApplicationToken": {
        "InstanceId": "idaas_demo", "ApplicationId": "app_demo", "ApplicationTokenId": "token_demo",
        "ApplicationTokenType": "bearer_token", "ApplicationToken": token.value, "Status": "enabled",
        "ExpirationTime": 4102444800000, "CreateTime": 1735610930000, "LastUsedTime": 1735610930000}}


async def emulator_handler(calls: int) -> dict[str, Any]:
    """The emulator's handler alone: mocked aiohttp requests, one fresh nonce each, no sockets."""
    app = build_app(CloudEmulator())
    host = "127.0.0.1:1"
    canonical = signing.canonical_query(QUERY)
    requests = []
    for _ in range(calls):
        headers = signed_headers(f"http://{host}")
        headers.pop("host")
        requests.append(make_mocked_request("POST", f"/?{canonical}", headers={**headers, "Host": host}, app=app))
    cpu, started = time.process_time(), time.perf_counter()
    for request in requests:
        response = await handle_api(request)
        if response.status != 200:
            raise SystemExit(f"the handler answered {response.status}")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"calls": calls, "seconds": round(seconds, 3), "calls_per_second": round(calls / seconds, 1),
            "bench_cpu_ms_per_call": round(cpu / calls * 1000, 3)}


async def bench(calls: int, concurrencies: list[int]) -> dict[str, Any]:
    load_at_start = _loadavg()  # the CPU is often shared: the load says how much
    rows = await http_rows(calls, concurrencies)
    rows[f"client no-network c{max(concurrencies)}"] = await client_without_network(calls, max(concurrencies))
    rows["emulator handler"] = await emulator_handler(calls)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg_at_start": load_at_start, "loadavg_at_end": _loadavg()},
        "command": " ".join(["python3", "bench/cloud_client_bench.py", *sys.argv[1:]]),
        "rows": rows,
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def table(result: dict[str, Any]) -> str:
    head = f"{'row':<26}{'calls/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'bench CPU ms':>13}{'emulator CPU ms':>16}{'err':>5}"
    lines = [head]
    for name, row in result["rows"].items():
        lines.append(f"{name:<26}{row['calls_per_second']:>9}{row.get('p50_ms', '-')!s:>8}"
                     f"{row.get('p99_ms', '-')!s:>8}{row['bench_cpu_ms_per_call']:>13}"
                     f"{row.get('emulator_cpu_ms_per_call', '-')!s:>16}{row.get('errors', 0):>5}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per row (default 3000)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16],
                        help="calls in flight (default 1 4 16)")
    parser.add_argument("--json", type=Path, help="also write the result to this file")
    args = parser.parse_args()
    result = asyncio.run(bench(args.calls, args.concurrency))
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    print()
    print(table(result))


if __name__ == "__main__":
    main()
