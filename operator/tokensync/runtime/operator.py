"""The running operator: one object that owns the clients and controllers, and the kopf
registry that feeds them from the watch.

kopf does the watching (LIST+WATCH, reconnects, login); every handler here only records the
latest object and wakes a controller's work queue. Used alike by ``tokensync run``, the
sandbox and the tests (which point it at the Kubernetes emulator).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator
from typing import Any, cast

import kopf

from tokensync.clock import SYSTEM_CLOCK, Clock
from tokensync.cloud.client import ClientSettings, HttpPool
from tokensync.controllers.access_resolver import (
    AccessResolver,
    NamespacedRrsa,
)
from tokensync.controllers.application_token import ApplicationTokenController
from tokensync.controllers.cloud_access import CloudAccessController
from tokensync.controllers.ram_application import RamApplicationController
from tokensync.controllers.refresh_plan import RefreshPolicy
from tokensync.controllers.registration import Observer, Watch, observers_by_resource
from tokensync.controllers.work_queue import WorkQueue
from tokensync.kube.client import KubeClient
from tokensync.kube.config import ConnectionSettings
from tokensync.kube.errors import KubeApiError
from tokensync.kube.events import EventRecorder
from tokensync.kube.resources import NAMESPACES
from tokensync.runtime import metrics

logger = logging.getLogger(__name__)

# How often the known objects are compared with a fresh LIST: kopf's re-list after a 410 does
# not report what was deleted in the gap (controllers/relist.py).
RELIST_INTERVAL = 600.0


class Operator:
    def __init__(
        self,
        connection: ConnectionSettings,
        *,
        clock: Clock = SYSTEM_CLOCK,
        policy_defaults: RefreshPolicy | None = None,
        cloud_settings: ClientSettings | None = None,
        concurrency: int = 32,
        namespaced_rrsa: NamespacedRrsa | None = None,
        relist_interval: float = RELIST_INTERVAL,
    ) -> None:
        self.connection = connection
        self.relist_interval = relist_interval
        self._relister: asyncio.Task[None] | None = None
        self.clock = clock
        self.kopf_exited = asyncio.Event()  # set when kopf's tasks end, for whatever reason
        self.kube = KubeClient(connection)
        self.pool = HttpPool()
        self.events = EventRecorder(self.kube, clock)
        self.access = AccessResolver(
            self.kube, self.pool, clock, settings=cloud_settings, on_request=metrics.record_cloud_request,
            namespaced_rrsa=namespaced_rrsa,
        )
        self.application_tokens = ApplicationTokenController(
            kube=self.kube, events=self.events, access=self.access, clock=clock,
            policy_defaults=policy_defaults, concurrency=concurrency,
        )
        self.ram_applications = RamApplicationController(
            kube=self.kube, events=self.events, access=self.access, clock=clock,
            policy_defaults=policy_defaults, concurrency=concurrency,
        )
        self.cloud_accesses = CloudAccessController(
            kube=self.kube, access=self.access, clock=clock, wake_dependent=self._wake_dependent
        )
        self._namespace_labels: dict[str, dict[str, str]] = {}
        self.controllers: list[ApplicationTokenController | RamApplicationController | CloudAccessController] = [
            self.application_tokens, self.ram_applications, self.cloud_accesses]
        self._queues: list[WorkQueue[Any]] = [controller.queue for controller in self.controllers]

    def watches(self) -> list[Watch]:
        """What the operator watches, as the controllers declared it. The access cache hears of a
        change first, so that a controller woken by the same event reads afresh."""
        return [*self.access.watches(), *(watch for c in self.controllers for watch in c.watches()),
                Watch(NAMESPACES, self._namespace_changed)]

    def _wake_dependent(self, dependent: Any, reason: str, only_failing: bool = False) -> None:
        kind, key = dependent
        for controller in (self.application_tokens, self.ram_applications):
            if kind == controller.kind:
                controller.wake(key, reason, only_failing=only_failing)

    def _namespace_changed(self, event_type: str | None, namespace: dict[str, Any]) -> None:
        """A namespace's labels decide which ClusterCloudAccess serves it: re-check its resources."""
        meta = namespace.get("metadata") or {}
        name = str(meta.get("name") or "")
        labels = dict(meta.get("labels") or {})
        previous = self._namespace_labels.get(name)
        self._namespace_labels[name] = labels
        if event_type == "DELETED":
            self._namespace_labels.pop(name, None)
            return
        if previous is None or previous == labels:
            return  # first sight (the initial listing) or an unrelated change
        for access_key, dependents in self.access.dependents.items():
            if access_key[0] != "ClusterCloudAccess":
                continue
            for dependent in list(dependents):
                _kind, (dependent_namespace, _name) = cast(tuple[str, tuple[str, str]], dependent)
                if dependent_namespace == name:
                    self._wake_dependent(dependent, f"the labels of namespace {name} changed")

    def start(self) -> None:
        for queue in self._queues:
            queue.start()
        if self._relister is None and self.relist_interval > 0:
            self._relister = asyncio.create_task(self._relist_forever(), name="tokensync-relist")

    def owns(self, task: asyncio.Task[Any]) -> bool:
        """Whether ``task`` is one of the controllers' dispatchers or running syncs."""
        return task is self._relister or any(queue.owns(task) for queue in self._queues)

    async def stop_work(self, *, cancel_running: bool = False) -> None:
        """Start no more syncs; let those in progress finish, or cancel them (leadership lost)."""
        if self._relister is not None:
            self._relister.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relister
            self._relister = None
        for queue in self._queues:
            await queue.stop(cancel_running=cancel_running)

    async def relist(self) -> None:
        """Forget every object deleted while no watch could tell (controllers/relist.py)."""
        for controller in self.controllers:
            try:
                await controller.relist()
            except KubeApiError as exc:
                logger.warning("could not list %s to find deletions the watch missed: %s",
                               type(controller).__name__, exc)

    async def _relist_forever(self) -> None:
        while True:
            await asyncio.sleep(self.relist_interval)
            await self.relist()

    async def stop(self) -> None:
        await self.stop_work()
        await self.pool.aclose()
        await self.kube.aclose()

    def registry(self) -> kopf.OperatorRegistry:
        registry = kopf.OperatorRegistry()
        connection = self.connection

        @kopf.on.login(registry=registry)
        def login(**_kwargs: Any) -> kopf.ConnectionInfo:
            authorization = connection.authorization() or ""
            scheme, _sep, token = authorization.partition(" ")
            cert = connection.client_cert
            return kopf.ConnectionInfo(
                server=connection.server,
                ca_path=connection.verify if isinstance(connection.verify, str) else None,
                insecure=connection.verify is False,
                scheme=scheme or None,
                token=token or None,
                certificate_path=cert[0] if cert else None,
                private_key_path=cert[1] if cert else None,
            )

        for resource, observers in observers_by_resource(self.watches()).items():
            kopf.on.event(resource.group, resource.version, resource.plural, registry=registry,
                          id=f"watch-{resource.plural}")(_handler(observers))
        return registry


def _handler(observers: list[Observer]) -> Callable[..., Awaitable[None]]:
    """One kopf event handler for a kind: every observer, in order, gets a copy of the object."""
    async def handler(event: kopf.RawEvent, **_: Any) -> None:
        for observe in observers:
            observe(event.get("type"), dict(event["object"]))
    return handler


def kopf_settings(*, inactivity_timeout: float | None = None, watch_timeout: float = 600) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    settings.posting.enabled = False  # tokensync posts its own Events (kube/events.py)
    settings.watching.server_timeout = watch_timeout
    if inactivity_timeout is not None:
        settings.watching.inactivity_timeout = inactivity_timeout
    return settings


@contextlib.asynccontextmanager
async def running_operator(
    operator: Operator,
    *,
    namespaces: Collection[str] = (),
    settings: kopf.OperatorSettings | None = None,
    stop_on_signals: asyncio.Event | None = None,
) -> AsyncIterator[Operator]:
    """Run kopf and the controllers inside the current event loop until the block ends.

    kopf installs its own SIGINT/SIGTERM handlers when it starts; with ``stop_on_signals``, they
    are replaced at once by handlers that set that event, so the caller decides how to stop.
    The block is entered when kopf is ready, or early when that event is set meanwhile.
    """
    stop_flag: asyncio.Event = asyncio.Event()
    ready_flag: asyncio.Event = asyncio.Event()
    operator.access.watches_all_namespaces = not namespaces
    operator.start()
    tasks = await kopf.spawn_tasks(
        registry=operator.registry(),
        settings=settings or kopf_settings(),
        clusterwide=not namespaces,
        namespaces=list(namespaces),
        standalone=True,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
    # run_tasks cancels every task it is not told to ignore on exit, the caller's included, and
    # would cancel our syncs in progress too: those the work queues finish themselves.
    runner = asyncio.create_task(kopf.run_tasks(tasks, ignored=_NotKopfs(asyncio.all_tasks(), operator)))
    runner.add_done_callback(lambda _task: operator.kopf_exited.set())
    if stop_on_signals is not None:
        install_signal_handlers(stop_on_signals)
    try:
        waiters = [asyncio.create_task(ready_flag.wait()), runner]
        if stop_on_signals is not None:
            waiters.append(asyncio.create_task(stop_on_signals.wait()))
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            if waiter is not runner:
                waiter.cancel()
        if runner.done():
            raise RuntimeError("kopf stopped before it was ready; see the log above")
        yield operator
    finally:
        stop_flag.set()
        await asyncio.wait(tasks, timeout=30)  # kopf's watchers stop: no new work arrives
        await operator.stop_work()  # syncs in progress finish: no half-written Secret
        # kopf would now wait 5 s for every other task that appeared after it started: other
        # servers' connections in a shared loop (the sandbox's emulators). Cancel them now.
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
        await operator.stop()


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` (graceful stop), replacing earlier handlers."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)


class _NotKopfs(Collection["asyncio.Task[Any]"]):
    """The tasks kopf must leave alone when it stops: all but kopf's own. kopf would otherwise
    cancel every task created since it started, those of whoever embeds the operator (the
    sandbox, a test's monitor) and the controllers' syncs in progress included."""

    def __init__(self, existing: Collection[asyncio.Task[Any]], operator: Operator) -> None:
        self._existing = frozenset(existing)
        self._operator = operator

    def __contains__(self, task: object) -> bool:
        if not isinstance(task, asyncio.Task) or task in self._existing or self._operator.owns(task):
            return True
        return not _runs_kopf_code(task)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(self._existing)

    def __len__(self) -> int:
        return len(self._existing)


_KOPF_PACKAGE = os.path.dirname(kopf.__file__) + os.sep


def _runs_kopf_code(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and str(code.co_filename).startswith(_KOPF_PACKAGE)
