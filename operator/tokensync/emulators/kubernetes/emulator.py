"""``KubernetesEmulator``: the store and the HTTP server together, with in-process accessors for tests."""

from __future__ import annotations

import builtins
import copy
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from tokensync.clock import SYSTEM_CLOCK, Clock

from .errors import ApiError
from .faults import Fault, Faults
from .kubeconfig import write_kubeconfig
from .resources import Registry, Resource
from .server import ApiServer
from .store import Store


class KubernetesEmulator:
    """A kube-apiserver look-alike on plain HTTP (no auth) for tests and ``tokensync sandbox``."""

    def __init__(self, *, clock: Clock | None = None, history_size: int = 1000,
                 bookmark_interval: float = 60.0) -> None:
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.registry = Registry()
        self.store = Store(self.registry, self.clock, history_size=history_size)
        self.faults = Faults()
        self.server = ApiServer(self.store, self.faults, self.clock, bookmark_interval=bookmark_interval)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.server.app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        self.store.close_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def write_kubeconfig(self, path: Path) -> Path:
        if not self.url:
            raise RuntimeError("start() the emulator before writing a kubeconfig")
        return write_kubeconfig(path, self.url)

    # -- CRDs --------------------------------------------------------------------------------------

    def install_crds(self, manifests: Iterable[Mapping[str, Any]]) -> None:
        """Create (or replace) CRDs in-process, exactly as a POST/PUT of each would."""
        for manifest in manifests:
            if manifest.get("kind") != "CustomResourceDefinition":
                raise ValueError(f"not a CustomResourceDefinition: {manifest.get('kind')!r}")
            self.apply(manifest)

    def install_crd_files(self, paths: Iterable[Path]) -> None:
        for path in paths:
            documents = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
            self.install_crds(d for d in documents if d.get("kind") == "CustomResourceDefinition")

    # -- in-process accessors ----------------------------------------------------------------------

    def resource(self, api_version: str, kind_or_plural: str) -> Resource:
        resource = self.registry.find(api_version, kind_or_plural)
        if resource is None:
            raise KeyError(f"no resource {kind_or_plural!r} in {api_version!r}")
        return resource

    def get(self, api_version: str, kind_or_plural: str, namespace: str | None, name: str
            ) -> dict[str, Any] | None:
        try:
            return self.store.get(self.resource(api_version, kind_or_plural), namespace or "", name)
        except ApiError as error:
            if error.code == 404:
                return None
            raise

    def list(self, api_version: str, kind_or_plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        items, _ = self.store.list(self.resource(api_version, kind_or_plural), namespace)
        return items

    def create(self, obj: Mapping[str, Any], *, strict: bool = False) -> dict[str, Any]:
        """Create like a POST: a namespaced object without a namespace goes to ``default``. Unknown
        fields are pruned, or refused with ``strict`` (what ``kubectl create`` asks for)."""
        resource = self.resource(obj["apiVersion"], obj["kind"])
        namespace = (obj.get("metadata") or {}).get("namespace") or ("default" if resource.namespaced else "")
        return self.store.create(resource, namespace, obj, strict=strict)

    def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Create, or replace the existing object's spec/data (keeping its status): a test's ``kubectl apply``."""
        resource = self.resource(obj["apiVersion"], obj["kind"])
        metadata = obj.get("metadata") or {}
        namespace = metadata.get("namespace") or ("default" if resource.namespaced else "")
        current = self.get(obj["apiVersion"], obj["kind"], namespace, metadata["name"])
        body = copy.deepcopy(dict(obj))
        if resource.namespaced:
            body["metadata"]["namespace"] = namespace
        if current is None:
            return self.store.create(resource, namespace, body)
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.store.update(resource, namespace, metadata["name"], body)

    def patch(self, api_version: str, kind_or_plural: str, namespace: str | None, name: str,
              patch: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch of the main resource, like ``kubectl patch --type=merge`` (status ignored)."""
        from .patching import merge_patch

        resource = self.resource(api_version, kind_or_plural)
        current = self.store.get(resource, namespace or "", name)
        return self.store.update(resource, namespace or "", name, merge_patch(current, dict(patch)))

    def patch_status(self, api_version: str, kind_or_plural: str, namespace: str | None, name: str,
                     status: Mapping[str, Any]) -> dict[str, Any]:
        """What a controller's status write does (merge into ``status``, no generation bump)."""
        from .patching import merge_patch

        resource = self.resource(api_version, kind_or_plural)
        current = self.store.get(resource, namespace or "", name)
        patched = merge_patch(current, {"status": dict(status)})
        return self.store.update(resource, namespace or "", name, patched,
                                 subresource="status" if resource.status_subresource else None)

    def delete(self, api_version: str, kind_or_plural: str, namespace: str | None, name: str) -> bool:
        """Delete (honouring finalizers); True when the object is gone."""
        _, removed = self.store.delete(self.resource(api_version, kind_or_plural), namespace or "", name)
        return removed

    # -- test hooks --------------------------------------------------------------------------------

    @property
    def write_counts(self) -> Mapping[tuple[str, str], int]:
        """HTTP writes that succeeded, by (plural[/subresource], verb): create, update, patch, delete."""
        return self.faults.write_counts

    @property
    def requests(self) -> builtins.list[tuple[str, str]]:
        """Every HTTP request seen, as (method, path with query)."""
        return self.server.requests

    @property
    def responses(self) -> builtins.list[tuple[str, str, int]]:
        """Every HTTP response given, as (method, path with query, status code)."""
        return self.server.responses

    def inject_fault(self, method: str = "*", path: str = ".*", *, status: int = 500, times: int = 1,
                     message: str | None = None) -> Fault:
        """Fail the next ``times`` requests whose method matches and whose path matches the regex ``path``."""
        return self.faults.add(method, path, status, times, message)

    def clear_faults(self) -> None:
        self.faults.clear()

    def close_watches(self) -> None:
        """End every open watch stream now (clients see a normal end of stream and reconnect)."""
        self.store.close_watches()

    def expire_watch_history(self) -> None:
        """Forget watch history: resuming a watch from an older resourceVersion gets 410 Gone."""
        self.store.expire_history()


@asynccontextmanager
async def running_kubernetes_emulator(*, crds: Iterable[Path | Mapping[str, Any]] = (),
                                      clock: Clock | None = None,
                                      bookmark_interval: float = 60.0) -> AsyncIterator[KubernetesEmulator]:
    emulator = KubernetesEmulator(clock=clock, bookmark_interval=bookmark_interval)
    for crd in crds:
        if isinstance(crd, Path):
            emulator.install_crd_files([crd])
        else:
            emulator.install_crds([crd])
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
