"""Fixtures for tests that need a Kubernetes API: an emulator per test, an HTTP client, kubectl, kopf.

To share them project-wide, move (or re-export) ``kube_emulator``, ``kube_api``, ``kubectl`` and
``kopf_runner`` into tests/conftest.py; they depend only on ``tokensync.emulators.kubernetes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator, running_kubernetes_emulator

# A small CRD exercising what the emulator validates: required, enum, pattern, bounds, CEL rules.
WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"],
                  "categories": ["gadgets"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "additionalPrinterColumns": [
                {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
                {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
            ],
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object",
                        "required": ["size"],
                        "x-kubernetes-validations": [
                            {"rule": "!(has(self.secretName) && has(self.configMapName))",
                             "message": "secretName and configMapName are mutually exclusive"},
                            {"rule": "[has(self.secretName), has(self.configMapName)].filter(x, x).size() == 1",
                             "message": "exactly one of secretName or configMapName is required"},
                        ],
                        "properties": {
                            "size": {"type": "string", "enum": ["small", "large"]},
                            "secretName": {"type": "string", "pattern": "^[a-z0-9-]+$", "maxLength": 20},
                            "configMapName": {"type": "string"},
                            "replicas": {"type": "integer", "minimum": 0, "maximum": 5, "default": 1},
                            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
                            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    },
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            }},
        }],
    },
}
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


def widget(name: str = "w1", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name},
            "spec": {"size": "small", "secretName": "s", **spec}}


@pytest.fixture
async def kube_emulator() -> AsyncIterator[KubernetesEmulator]:
    """A fresh emulator on 127.0.0.1, with the test Widget CRD installed."""
    async with running_kubernetes_emulator(crds=[WIDGET_CRD]) as emulator:
        yield emulator


@dataclass
class Reply:
    status: int
    body: Any
    content_type: str


class KubeApi:
    """A thin HTTP client for the emulator: what a Kubernetes client library would send."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def request(self, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
                      headers: dict[str, str] | None = None) -> Reply:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        async with self.session.request(method, self.base + path, data=data,
                                        headers={"Content-Type": content_type, **(headers or {})}) as response:
            raw = await response.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode()
            return Reply(response.status, parsed, response.content_type)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any, **kw: Any) -> Reply:
        return await self.request("POST", path, body, **kw)

    async def put(self, path: str, body: Any, **kw: Any) -> Reply:
        return await self.request("PUT", path, body, **kw)

    async def patch(self, path: str, body: Any, content_type: str = "application/merge-patch+json") -> Reply:
        return await self.request("PATCH", path, body, content_type=content_type)

    async def delete(self, path: str, body: Any = None) -> Reply:
        return await self.request("DELETE", path, body)

    async def watch(self, path: str, *, until: Callable[[list[dict[str, Any]]], bool] | None = None,
                    **query: str) -> list[dict[str, Any]]:
        """Open a watch and collect events until the server ends the stream or ``until(events)`` holds."""
        events: list[dict[str, Any]] = []
        params = {"watch": "true", **query}
        async with self.session.get(self.base + path, params=params) as response:
            assert response.status == 200
            async for line in response.content:
                if line.strip():
                    events.append(json.loads(line))
                    if until is not None and until(events):
                        break
        return events


@pytest.fixture
async def kube_api(kube_emulator: KubernetesEmulator) -> AsyncIterator[KubeApi]:
    # No client-side total timeout: under looptime 300 s pass in no time and would cut watches.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
        yield KubeApi(session, kube_emulator.url)


@dataclass
class KubectlResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


Kubectl = Callable[..., Coroutine[Any, Any, KubectlResult]]


@pytest.fixture
def kubectl(kube_emulator: KubernetesEmulator, tmp_path: Path) -> Kubectl:
    """Run the machine's kubectl against the emulator without blocking the loop the server runs in."""
    kubeconfig = kube_emulator.write_kubeconfig(tmp_path / "kubeconfig")
    environment = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path)}

    async def run(*args: str, stdin: str | None = None, timeout: float = 30) -> KubectlResult:
        process = await asyncio.create_subprocess_exec(
            "kubectl", *args, env=environment, stdin=asyncio.subprocess.PIPE if stdin is not None else None,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), timeout)
        assert process.returncode is not None
        return KubectlResult(process.returncode, stdout.decode(), stderr.decode())

    return run


KopfRunner = Callable[..., contextlib.AbstractAsyncContextManager[None]]


@pytest.fixture
def kopf_runner(kube_emulator: KubernetesEmulator) -> KopfRunner:
    """``async with kopf_runner(registry):`` runs a kopf operator against the emulator in this loop.

    kopf is started with ``spawn_tasks`` (``kopf.operator()`` would cancel the emulator's tasks),
    logs in through an ``on.login`` handler pointing at the emulator, and watches with a long
    inactivity timeout (the emulator sends BOOKMARKs, but reconnecting every few minutes of
    fast-forwarded time would only add noise).
    """
    import kopf

    @contextlib.asynccontextmanager
    async def run(registry: kopf.OperatorRegistry, *, settings: kopf.OperatorSettings | None = None,
                  namespaces: tuple[str, ...] = ("default",)) -> AsyncIterator[None]:
        settings = settings or kopf.OperatorSettings()
        settings.watching.inactivity_timeout = 24 * 3600
        settings.posting.enabled = False

        @kopf.on.login(registry=registry)
        def login(**_: Any) -> kopf.ConnectionInfo:
            return kopf.ConnectionInfo(server=kube_emulator.url, scheme="Bearer", token="emulator-has-no-auth")

        stop_flag = asyncio.Event()
        # On exit run_tasks cancels every task it was not told to ignore: spare the test's own
        # task and the emulator's server tasks, which existed before kopf started.
        existing = asyncio.all_tasks()
        tasks = await kopf.spawn_tasks(registry=registry, settings=settings, standalone=True,
                                       namespaces=list(namespaces), stop_flag=stop_flag)
        runner = asyncio.create_task(kopf.run_tasks(tasks, ignored=existing))
        try:
            yield
        finally:
            stop_flag.set()
            # kopf ends its root tasks by cancelling them; the runner may finish "cancelled".
            done, _ = await asyncio.wait({runner}, timeout=60)
            assert runner in done, "kopf did not stop"

    return run
