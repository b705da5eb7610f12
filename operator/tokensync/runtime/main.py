"""``tokensync run``: the operator against a cluster, from a kubeconfig or in-cluster.

Lifecycle: serve /healthz, /readyz and /metrics; with leader election, wait for the Lease
(standing by, still Ready so that rolling updates proceed); run the controllers; on SIGTERM
finish the syncs in progress (no half-written Secret), release the Lease and exit 0. Losing
the Lease, or kopf stopping on its own, stops the controllers at once and exits 1 so that
Kubernetes restarts the Pod as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kopf

from tokensync.clock import LoopClock
from tokensync.cloud.rpc import ClientSettings
from tokensync.controllers.access_resolver import NamespacedRrsa
from tokensync.kube.client import KubeClient
from tokensync.kube.config import ConnectionSettings, load_connection_settings
from tokensync.runtime.health import Health, start_health_server
from tokensync.runtime.leader import LeaderElector, LeadershipLost
from tokensync.runtime.metrics import start_metrics_server
from tokensync.runtime.operator import Operator, install_signal_handlers, kopf_settings, running_operator

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0


@dataclass(frozen=True)
class LeaderElection:
    namespace: str
    identity: str
    lease_name: str = "tokensync-leader"


def leader_election_from(mode: str, namespace: str | None) -> LeaderElection | None:
    """``auto`` elects a leader when running in a Pod (POD_NAMESPACE set, as the chart does)."""
    namespace = namespace or os.environ.get("POD_NAMESPACE") or None
    if mode == "off" or (mode == "auto" and not namespace):
        return None
    if not namespace:
        raise SystemExit("--leader-election=on needs --leader-election-namespace or POD_NAMESPACE")
    # The Pod name reads well in `kubectl get lease`; the suffix keeps two processes apart anyway.
    identity = f"{os.environ.get('POD_NAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"
    return LeaderElection(namespace=namespace, identity=identity)


def run_operator(
    *,
    namespaces: Sequence[str],
    metrics_port: int,
    health_port: int,
    log_format: str,
    verbose: bool,
    leader_election: LeaderElection | None = None,
    cloud_settings: ClientSettings | None = None,
    namespaced_rrsa: NamespacedRrsa | None = None,
) -> int:
    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if log_format == "json" else kopf.LogFormat.PLAIN,
    )
    if log_format == "json":
        # kopf's JSON lines carry no logger name: which part of tokensync spoke is half of what
        # a log shipper needs. The JSON formatter writes a record's extra attributes as fields.
        for handler in logging.getLogger().handlers:
            handler.addFilter(_name_as_logger_field)
    if not verbose:
        # One line per HTTP request drowns what matters; failures are reported by tokensync.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        # kopf logs "Handler ... succeeded" for every watch event (every Secret in the cluster).
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_run(namespaces, metrics_port, health_port, leader_election, cloud_settings,
                                    namespaced_rrsa))
    return 0


def _name_as_logger_field(record: logging.LogRecord) -> bool:
    record.logger = record.name
    return True


async def _first(*awaitables: asyncio.Future[Any]) -> None:
    await asyncio.wait(awaitables, return_when=asyncio.FIRST_COMPLETED)


async def _run(
    namespaces: Sequence[str], metrics_port: int, health_port: int, election: LeaderElection | None,
    cloud_settings: ClientSettings | None = None,
    namespaced_rrsa: NamespacedRrsa | None = None,
) -> int:
    stop = asyncio.Event()
    install_signal_handlers(stop)
    health = Health()
    runners = []
    if metrics_port:
        runners.append(await start_metrics_server("0.0.0.0", metrics_port))  # noqa: S104 - scraped by Prometheus
    if health_port:
        runners.append(await start_health_server(health, "0.0.0.0", health_port))  # noqa: S104 - kubelet probes
    connection = load_connection_settings()
    lease_client = KubeClient(connection)
    elector = (
        # Deadlines on the loop's monotonic clock: a wall clock stepped back must not keep a
        # leader acting past its renew deadline.
        LeaderElector(lease_client, namespace=election.namespace, name=election.lease_name,
                      identity=election.identity, clock=LoopClock(datetime.now(UTC)))
        if election else None
    )
    stopping = asyncio.create_task(stop.wait(), name="tokensync-stop")
    heartbeat = asyncio.create_task(_beat(health), name="tokensync-heartbeat")
    try:
        health.mark_ready()  # a standby is ready too: it is healthy and can take over at once
        if elector is not None:
            acquiring = asyncio.create_task(elector.acquire(), name="tokensync-acquire")
            await _first(acquiring, stopping)
            if not acquiring.done():
                acquiring.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await acquiring
                return 0
            acquiring.result()
            if stop.is_set():
                return 0  # stopped just as the Lease was won: release it (finally) and go
        return await _lead(namespaces, connection, elector, stop, stopping, health, cloud_settings,
                           namespaced_rrsa)
    finally:
        heartbeat.cancel()
        stopping.cancel()
        if elector is not None:
            await elector.release()  # does nothing unless still leading (a graceful stop)
        await lease_client.aclose()
        for runner in runners:
            await runner.cleanup()


async def _lead(
    namespaces: Sequence[str],
    connection: ConnectionSettings,
    elector: LeaderElector | None,
    stop: asyncio.Event,
    stopping: asyncio.Future[Any],
    health: Health,
    cloud_settings: ClientSettings | None = None,
    namespaced_rrsa: NamespacedRrsa | None = None,
) -> int:
    operator = Operator(connection, cloud_settings=cloud_settings, namespaced_rrsa=namespaced_rrsa)
    holding = asyncio.create_task(elector.hold(), name="tokensync-hold") if elector else None
    kopf_exited: asyncio.Future[Any] | None = None
    try:
        async with running_operator(operator, namespaces=namespaces, settings=kopf_settings(),
                                    stop_on_signals=stop):
            logger.info("tokensync is running (%s)", ", ".join(namespaces) if namespaces else "all namespaces")
            kopf_exited = asyncio.create_task(operator.kopf_exited.wait(), name="tokensync-kopf-exited")
            watched: list[asyncio.Future[Any]] = [stopping, kopf_exited]
            if holding is not None:
                watched.append(holding)
            await _first(*watched)
            health.mark_not_ready("stopping")
            if holding is not None and holding.done():
                # Another replica may act now: cancel the syncs in progress instead of finishing
                # them (one interrupted between the Secret and the restart is redone by the next).
                await operator.stop_work(cancel_running=True)
                error = holding.exception()
                logger.error("stopping: %s", error if isinstance(error, LeadershipLost) else "leadership lost")
                return 1
            if not stop.is_set():
                logger.error("stopping: the Kubernetes watchers stopped unexpectedly")
                return 1
            logger.info("stopping: finishing the syncs in progress")
        return 0
    finally:
        if kopf_exited is not None:
            kopf_exited.cancel()
        if holding is not None and not holding.done():
            holding.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeadershipLost):
                await holding


async def _beat(health: Health) -> None:
    while True:
        health.beat()
        await asyncio.sleep(HEARTBEAT_SECONDS)
