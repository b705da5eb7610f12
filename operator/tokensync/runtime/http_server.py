"""Serving a small aiohttp app on a port (metrics, health probes)."""

from __future__ import annotations

from aiohttp import web


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve ``app`` on host:port (port 0: any free port, see ``runner.addresses``).

    No access log: probes and scrapes every few seconds would drown the operator's own logs.
    The caller stops it with ``await runner.cleanup()``.
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
