"""Serving the emulator over HTTP: in a test's event loop (``running_cloud_emulator``) or as
the ``tokensync cloud-emulator`` command (``serve_forever``)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from pydantic import ValidationError

from tokensync.clock import SYSTEM_CLOCK, Clock
from tokensync.emulators.cloud.app import build_app
from tokensync.emulators.cloud.emulator import CloudEmulator
from tokensync.emulators.cloud.state import EmulatorState, load_state


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@asynccontextmanager
async def running_cloud_emulator(
    state: EmulatorState | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
    host: str = "127.0.0.1",
    port: int = 0,
) -> AsyncIterator[CloudEmulator]:
    """Serve a ``CloudEmulator`` (default: the demo state) on ``host:port`` (0: any free port)
    on the running event loop; it stops when the block ends."""
    emulator = CloudEmulator(state, clock=clock)
    runner = web.AppRunner(build_app(emulator), access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        await web.SockSite(runner, sock).start()
        emulator.url = _url(host, sock.getsockname()[1])
        yield emulator
    finally:
        await runner.cleanup()
        sock.close()


async def _serve(host: str, port: int, state: EmulatorState | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with running_cloud_emulator(state, host=host, port=port) as emulator:
        print(emulator.url, flush=True)
        print("Alibaba Cloud emulator (EIAM 2021-12-01, IMS 2019-08-15, STS 2015-04-01); "
              f"admin API: {emulator.url}/_emulator/state; Ctrl-C stops it.", flush=True)
        await stop.wait()


def serve_forever(host: str, port: int, state_file: str | None) -> int:
    """``tokensync cloud-emulator``: print the URL on the first line, serve until Ctrl-C or SIGTERM."""
    state: EmulatorState | None = None
    if state_file is not None:
        try:
            state = load_state(state_file)
        except (OSError, ValueError, ValidationError) as exc:
            detail = exc.errors(include_input=False) if isinstance(exc, ValidationError) else exc
            print(f"tokensync cloud-emulator: cannot load state file {state_file}: {detail}", file=sys.stderr)
            return 2
    try:
        asyncio.run(_serve(host, port, state))
    except OSError as exc:
        print(f"tokensync cloud-emulator: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
