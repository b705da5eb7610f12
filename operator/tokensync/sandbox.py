"""``tokensync sandbox``: the whole product on one machine, with no cluster and no cloud account.

Starts the Kubernetes API emulator (with the CRDs), the Alibaba Cloud emulator (demo state),
the operator, and applies ``examples/``; prints what it made, with values masked, and how to watch
the renewals the examples make within a minute (an Extend and a Rotate with a two-minute lifetime);
leaves a kubeconfig so kubectl can look; runs until Ctrl-C, printing each renewal Event as it is
posted (or stops after the demo).

The cloud emulator never changes a token by itself (neither does IDaaS): every new expiry and every
new token the sandbox shows is the operator's own doing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import shlex
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.api.common import parse_duration
from tokensync.api.crds import crd_manifests
from tokensync.clock import SYSTEM_CLOCK
from tokensync.emulators.cloud import running_cloud_emulator
from tokensync.emulators.kubernetes import KubernetesEmulator, running_kubernetes_emulator
from tokensync.emulators.kubernetes.tables import human_duration, json_path
from tokensync.kube.config import load_connection_settings
from tokensync.runtime.operator import Operator, install_signal_handlers, kopf_settings, running_operator

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = REPOSITORY / "examples"
ACCESS_KINDS = ("CloudAccess", "ClusterCloudAccess")
# A renewal at most this far apart is shown as one to watch in the sandbox.
WATCHABLE = timedelta(minutes=5)
# The Events command the sandbox and the README's tour give (a table the Kubernetes emulator can
# print while watching: custom columns are printed by kubectl itself).
# The emulator's tokens, one line each, without their values (README's tour has the same line).
TOKENS_FILTER = ('import json, sys; [print(t["applicationTokenId"], t["status"], t["expirationTime"]) '
                 'for t in json.load(sys.stdin)["tokens"]]')
EVENT_COLUMNS = ("LAST-SEEN:.lastTimestamp,OBJECT:.involvedObject.name,REASON:.reason,COUNT:.count,"
                 "MESSAGE:.message")


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
    """The first four characters (escaped, so a newline stays on its line) and the length, or ****."""
    if len(value) <= 8:
        return "****"
    return json.dumps(value[:4], ensure_ascii=False)[1:-1] + f"…({len(value)} chars)"


def _cell(value: Any, column_type: str, now: datetime) -> str:
    if value is None or value == "":
        return "<none>"
    if column_type == "date":
        try:
            when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        return human_duration((now - when).total_seconds())  # as kube-apiserver prints a date column
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]


def describe(kube: KubernetesEmulator, now: datetime | None = None) -> str:
    """What the sandbox made: each custom resource kind as ``kubectl get -A`` prints it (the printer
    columns come from the CRDs), each one's Ready reason and message, then the Secrets and ConfigMaps
    tokensync wrote, every value masked."""
    now = now or SYSTEM_CLOCK.now()
    lines: list[str] = []
    for crd in crd_manifests().values():
        names, namespaced = crd["spec"]["names"], crd["spec"]["scope"] == "Namespaced"
        version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
        columns = [c for c in version.get("additionalPrinterColumns") or [] if c.get("jsonPath")]
        objects = kube.list(f"{crd['spec']['group']}/{version['name']}", names["plural"])
        if not objects:
            continue
        header = (["NAMESPACE"] if namespaced else []) + ["NAME"] + [c["name"].upper() for c in columns]
        rows, reasons = [], []
        for obj in objects:
            meta = obj["metadata"]
            rows.append(([meta.get("namespace", "")] if namespaced else []) + [meta["name"]]
                        + [_cell(json_path(obj, c["jsonPath"]), c.get("type", "string"), now) for c in columns])
            ready: dict[str, str] = next((c for c in (obj.get("status") or {}).get("conditions") or []
                                          if c.get("type") == "Ready"), {})
            where = f"{meta['namespace']}/" if namespaced else ""
            reasons.append(f"  {where}{meta['name']}: {ready.get('reason', 'no Ready condition yet')}"
                           + (f": {ready['message']}" if ready.get("message") else ""))
        lines += ["", f"{names['kind']}:", *_table(header, rows), *reasons]
    for plural, kind in (("secrets", "Secret"), ("configmaps", "ConfigMap")):
        for obj in kube.list("v1", plural):
            meta = obj["metadata"]
            source = (meta.get("annotations") or {}).get("tokensync.dev/source")
            if source is None:
                continue
            data = {key: base64.b64decode(value).decode(errors="replace") if kind == "Secret" else value
                    for key, value in (obj.get("data") or {}).items()}
            lines += ["", f"{kind} {meta['namespace']}/{meta['name']} (from {source}), values masked:"]
            lines += [f"  {key}: {mask(value)}" for key, value in sorted(data.items())]
    return "\n".join(lines).lstrip("\n")


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    minutes, rest = divmod(seconds, 60)
    return (f"{minutes}m" if minutes else "") + (f"{rest}s" if rest or not minutes else "")


def watchable_renewals(documents: list[dict[str, Any]]) -> list[str]:
    """One line per example ApplicationToken renewed often enough to watch: how often, and what a
    renewal does. The cadence is lifetime - renewBefore (each renewal sets expiry = now + lifetime,
    and the next is due renewBefore before that); the jitter tokensync adds makes it up to a tenth
    of renewBefore shorter."""
    lines: list[str] = []
    for document in documents:
        if document.get("kind") != "ApplicationToken":
            continue
        try:
            spec = ApplicationTokenSpec.model_validate(document.get("spec") or {})
        except ValidationError:
            continue
        renewal, refresh = spec.renewal, spec.refresh
        if renewal.lifetime is None or refresh is None or not refresh.renew_before:
            continue
        every = parse_duration(renewal.lifetime) - parse_duration(refresh.renew_before)
        if not timedelta(0) < every <= WATCHABLE:
            continue
        meta = document["metadata"]
        name = f"{meta.get('namespace', 'default')}/{meta['name']}"
        secret = spec.secret.name or meta["name"]
        if renewal.strategy == "Extend":
            lines.append(f"{name}: Extend about every {_duration(every)}: the same token in Secret {secret}, "
                         f"its expiry moved to now + {renewal.lifetime} (Event Extended)")
        elif renewal.strategy == "Rotate":
            restarts = ", ".join(f"{t.kind} {t.name}" for t in spec.rollout_restart_targets or [])
            lines.append(f"{name}: Rotate about every {_duration(every)}: a new token in Secret {secret} (Event "
                         f"Rotated)" + (f", {restarts} restarted (RolloutRestarted)" if restarts else "")
                         + f", the replaced token {_retired(renewal.retire)} {renewal.retire_after} later "
                         "(Retired)")
    return lines


def _retired(retire: str) -> str:
    return {"Delete": "disabled and deleted", "Disable": "disabled", "Keep": "left to expire"}[retire]


def event_line(event: dict[str, Any], since: datetime) -> str:
    """An Event as the sandbox prints it: seconds since the examples were applied, object, reason, message."""
    involved = event.get("involvedObject") or {}
    when = event.get("lastTimestamp") or event.get("eventTime") or ""
    try:
        seconds = (datetime.fromisoformat(str(when).replace("Z", "+00:00")) - since).total_seconds()
        offset = f"+{max(0, round(seconds))}s"
    except ValueError:
        offset = "?"
    return (f"  [{offset:>5}] {involved.get('namespace', '')}/{involved.get('name', '')} "
            f"{event.get('type', '')} {event.get('reason', '')}: {event.get('message', '')}")


async def _print_events(kube: KubernetesEmulator, since: datetime, stop: asyncio.Event) -> None:
    """Every Event but Normal Synced, once per posting (a repeat bumps its count), until Ctrl-C."""
    seen: set[tuple[str, int]] = set()
    while not stop.is_set():
        events = sorted(kube.list("v1", "events"), key=_posted)
        for event in events:
            key = (str(event["metadata"].get("uid")), int(event.get("count") or 1))
            if key in seen:
                continue
            seen.add(key)
            if (event.get("type"), event.get("reason")) != ("Normal", "Synced"):
                print(event_line(event, since), flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1)


def _posted(event: dict[str, Any]) -> tuple[str, int]:
    """Posting order: by time (whole seconds), then by the server's order of writes."""
    version = str(event["metadata"].get("resourceVersion") or "0")
    return str(event.get("lastTimestamp") or ""), int(version) if version.isdigit() else 0


def how_to_watch(kubeconfig: Path, cloud_url: str, documents: list[dict[str, Any]]) -> str:
    """The commands to look with: kubectl for the Events, the cloud emulator's admin API for the
    tokens (ID, status and expiry only: its state also holds every token value and key secret)."""
    renewals = watchable_renewals(documents)
    env = f"KUBECONFIG={shlex.quote(str(kubeconfig))}"
    lines = [f"Look around:  {env} kubectl get tokensync -A"]
    if renewals:
        lines += ["", "Renewals to watch in the next minute:", *(f"  {line}" for line in renewals),
                  "Their Events, with kubectl:",
                  f"  {env} kubectl -n demo get events -w -o custom-columns={EVENT_COLUMNS}",
                  "The cloud's tokens (a retired one is gone), and the calls tokensync made:",
                  f"  curl -s {cloud_url}/_emulator/state | python3 -c {shlex.quote(TOKENS_FILTER)}",
                  f"  curl -s {cloud_url}/_emulator/counters"]
    return "\n".join(lines)


async def _wait_until_reported(kube: KubernetesEmulator, seconds: float, stop: asyncio.Event) -> None:
    """Until every resource has a Ready condition, ``seconds`` pass (then describe shows what is
    pending), or Ctrl-C."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline and not stop.is_set():
        pending = [
            obj for plural in ("applicationtokens", "ramapplications")
            for obj in kube.list("tokensync.dev/v1alpha1", plural)
            if not (obj.get("status") or {}).get("conditions")
        ]
        if not pending:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.2)


async def sandbox(kubeconfig: Path, *, exit_after_demo: bool, stop: asyncio.Event) -> None:
    async with running_cloud_emulator() as cloud, \
            running_kubernetes_emulator(crds=list(crd_manifests().values())) as kube:
        kube.write_kubeconfig(kubeconfig)
        print(f"Kubernetes API emulator: {kube.url}", flush=True)
        print(f"Alibaba Cloud emulator:  {cloud.url}  (AccessKey demo-access-key-id)", flush=True)
        print(f"kubeconfig:              {kubeconfig}", flush=True)
        operator = Operator(load_connection_settings(str(kubeconfig)), clock=SYSTEM_CLOCK)
        # kopf replaces SIGINT/SIGTERM handlers when it starts; stop_on_signals keeps them setting ``stop``.
        async with running_operator(operator, settings=kopf_settings(), stop_on_signals=stop):
            if stop.is_set():
                return
            documents = example_documents()
            applied = SYSTEM_CLOCK.now().replace(microsecond=0)
            for document in documents:
                kube.create(point_at_emulator(document, cloud.url))
            await _wait_until_reported(kube, seconds=30, stop=stop)
            print("\nWhat tokensync made:\n\n" + describe(kube), flush=True)
            print("\n" + how_to_watch(kubeconfig, cloud.url, documents), flush=True)
            if exit_after_demo or stop.is_set():
                return
            print("\nEvents as tokensync posts them (seconds since the examples were applied):", flush=True)
            print("Running; Ctrl-C stops.", flush=True)
            await _print_events(kube, applied, stop)


def run_sandbox(*, kubeconfig: str | None, exit_after_demo: bool) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    path = Path(kubeconfig) if kubeconfig else default_kubeconfig()
    path.parent.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        stop = asyncio.Event()
        install_signal_handlers(stop)  # Ctrl-C while the emulators start stops too
        await sandbox(path, exit_after_demo=exit_after_demo, stop=stop)

    asyncio.run(main())
    return 0
