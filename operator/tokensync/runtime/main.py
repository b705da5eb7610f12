"""``tokensync run``: the operator against a cluster, from a kubeconfig or in-cluster."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

import kopf

from tokensync.kube.config import load_connection_settings
from tokensync.runtime.health import Health, start_health_server
from tokensync.runtime.metrics import start_metrics_server
from tokensync.runtime.operator import Operator, kopf_settings, running_operator

logger = logging.getLogger(__name__)


def run_operator(
    *, namespaces: Sequence[str], metrics_port: int, health_port: int, log_format: str, verbose: bool
) -> int:
    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.PLAIN,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(namespaces, metrics_port, health_port))
    return 0


async def _run(namespaces: Sequence[str], metrics_port: int, health_port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    health = Health()
    runners = []
    if metrics_port:
        runners.append(await start_metrics_server("0.0.0.0", metrics_port))  # noqa: S104 - scraped by Prometheus
    if health_port:
        runners.append(await start_health_server(health, "0.0.0.0", health_port))  # noqa: S104 - kubelet probes
    operator = Operator(load_connection_settings())
    try:
        async with running_operator(operator, namespaces=namespaces, settings=kopf_settings()):
            health.mark_ready()
            logger.info("tokensync is running (%s)", ", ".join(namespaces) if namespaces else "all namespaces")
            while not stop.is_set():
                health.beat()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=10)
            health.mark_not_ready("stopping")
            logger.info("stopping: finishing the syncs in progress")
    finally:
        for runner in runners:
            await runner.cleanup()
