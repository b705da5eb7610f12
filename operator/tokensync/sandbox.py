"""``tokensync sandbox``: the whole product on one machine, with no cluster and no cloud account.

Starts the Kubernetes API emulator (with the CRDs), the Alibaba Cloud emulator (demo state),
the operator, and applies ``examples/``; prints what it made, with values masked; leaves a
kubeconfig so kubectl can look; runs until Ctrl-C (or stops after the demo).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import signal
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tokensync.api.crds import crd_manifests
from tokensync.clock import SYSTEM_CLOCK
from tokensync.emulators.cloud import running_cloud_emulator
from tokensync.emulators.kubernetes import KubernetesEmulator, running_kubernetes_emulator
from tokensync.kube.config import load_connection_settings
from tokensync.runtime.operator import Operator, kopf_settings, running_operator

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = REPOSITORY / "examples"
ACCESS_KINDS = ("CloudAccess", "ClusterCloudAccess")


def default_kubeconfig() -> Path:
    return Path(tempfile.gettempdir()) / "tokensync-sandbox" / "kubeconfig"


def example_documents(folder: Path = EXAMPLES) -> list[dict[str, Any]]:
    """Every object in examples/*.yaml, in file-name order; the sandbox applies them all."""
    documents: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind"):
                documents.append(document)
    return documents


def point_at_emulator(document: dict[str, Any], cloud_url: str) -> dict[str, Any]:
    """Cloud access objects in the examples reach the local cloud emulator, not Alibaba Cloud."""
    if document.get("kind") in ACCESS_KINDS:
        spec = document.setdefault("spec", {})
        spec["endpoints"] = {"eiam": cloud_url, "ims": cloud_url, "sts": cloud_url}
    return document


def mask(value: str) -> str:
    return value[:4] + "…" + f"({len(value)} chars)" if len(value) > 8 else "****"


def describe(kube: KubernetesEmulator) -> str:
    """What the sandbox made: the custom resources' status, and Secrets/ConfigMaps masked."""
    lines: list[str] = []
    for plural, kind in (("applicationtokens", "ApplicationToken"), ("ramapplications", "RamApplication"),
                         ("cloudaccesses", "CloudAccess"), ("clustercloudaccesses", "ClusterCloudAccess")):
        for obj in kube.list("tokensync.dev/v1alpha1", plural):
            meta, status = obj["metadata"], obj.get("status") or {}
            ready: dict[str, str] = next(
                (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
            where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
            lines.append(f"{kind} {where}{meta['name']}: Ready={ready.get('status', '?')} "
                         f"({ready.get('reason', '')}) {ready.get('message', '')}")
    for obj in kube.list("v1", "secrets"):
        annotations = obj["metadata"].get("annotations") or {}
        if "tokensync.dev/source" not in annotations:
            continue
        data = {k: mask(base64.b64decode(v).decode(errors="replace")) for k, v in (obj.get("data") or {}).items()}
        lines.append(f"Secret {obj['metadata']['namespace']}/{obj['metadata']['name']} "
                     f"(from {annotations['tokensync.dev/source']}): {data}")
    for obj in kube.list("v1", "configmaps"):
        annotations = obj["metadata"].get("annotations") or {}
        if "tokensync.dev/source" in annotations:
            keys = sorted(obj.get("data") or {})
            lines.append(f"ConfigMap {obj['metadata']['namespace']}/{obj['metadata']['name']} "
                         f"(from {annotations['tokensync.dev/source']}): keys {keys}")
    return "\n".join(lines)


async def _wait_until_reported(kube: KubernetesEmulator, seconds: float) -> None:
    """Until every resource has a Ready condition, or ``seconds`` pass (then describe shows what is pending)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        pending = [
            obj for plural in ("applicationtokens", "ramapplications")
            for obj in kube.list("tokensync.dev/v1alpha1", plural)
            if not (obj.get("status") or {}).get("conditions")
        ]
        if not pending:
            return
        await asyncio.sleep(0.2)


async def sandbox(kubeconfig: Path, *, exit_after_demo: bool, stop: asyncio.Event) -> None:
    async with running_cloud_emulator() as cloud, \
            running_kubernetes_emulator(crds=list(crd_manifests().values())) as kube:
        kube.write_kubeconfig(kubeconfig)
        print(f"Kubernetes API emulator: {kube.url}", flush=True)
        print(f"Alibaba Cloud emulator:  {cloud.url}  (AccessKey demo-access-key-id)", flush=True)
        print(f"kubeconfig:              {kubeconfig}", flush=True)
        operator = Operator(load_connection_settings(str(kubeconfig)), clock=SYSTEM_CLOCK)
        async with running_operator(operator, settings=kopf_settings()):
            for document in example_documents():
                kube.create(point_at_emulator(document, cloud.url))
            await _wait_until_reported(kube, seconds=30)
            print("\nWhat tokensync made:\n" + describe(kube), flush=True)
            print(f"\nLook around:  KUBECONFIG={kubeconfig} kubectl get tokensync -A", flush=True)
            if exit_after_demo:
                return
            print("Running; Ctrl-C stops.", flush=True)
            await stop.wait()


def run_sandbox(*, kubeconfig: str | None, exit_after_demo: bool) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    path = Path(kubeconfig) if kubeconfig else default_kubeconfig()
    path.parent.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await sandbox(path, exit_after_demo=exit_after_demo, stop=stop)

    asyncio.run(main())
    return 0
