"""`tokensync cloud-emulator` as a user runs it: URL on the first line, then it answers."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
from tokensync.cloud.credentials import StaticCredentials

from .conftest import AK_ID, AK_SECRET, DEMO


async def _run(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tokensync", "cloud-emulator", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    first = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode().strip()
    return process, first


async def test_it_prints_its_url_first_and_serves_the_demo_state() -> None:
    process, url = await _run("--port", "0")
    try:
        assert url.startswith("http://127.0.0.1:")
        pool = HttpPool()
        client = CloudClient(credentials=StaticCredentials(AK_ID, AK_SECRET),
                             endpoints=Endpoints.for_region("cn-hangzhou", {"eiam": url, "ims": url, "sts": url}),
                             pool=pool, settings=ClientSettings(max_attempts=1))
        token = (await client.obtain_application_token(**DEMO)).value
        assert token.application_token_id == "token_demo"
        await pool.aclose()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, stderr.decode()


async def test_a_missing_state_file_is_an_error(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tokensync", "cloud-emulator", "--state", str(tmp_path / "absent.yaml"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 2
    assert "absent.yaml" in stderr.decode()
