"""tokensync at scale: N ApplicationTokens applied at once, against both emulators. Not a test.

One run per N, each with fresh emulators and a fresh operator:

1. ``baseline``: the shortest path, in its own process: a plain asyncio loop with tokensync's
   ``CloudClient`` (client-side limit = the cloud's rate) and ``KubeClient`` reads each token and
   creates its Secret, ``--baseline-concurrency`` at a time. Same emulators, same latency and limit.
2. ``burst``: the operator starts (own process: its RSS and CPU are its own), then N
   ApplicationTokens are created in-process (``kube.create``) at once. Measured: time until all
   are Ready, create-to-Secret latency, cloud reads and Secret writes per token.
3. ``quiet``: nothing changes for ``--quiet-seconds``: reads and writes must be zero.
4. ``steady_creation``: min(N, 1000) more tokens created at ``--create-rate`` per second:
   create-to-Secret latency p50/p99 under a steady stream (the issue's 2 s target).
5. ``renewal`` (its own emulators and operator; ``--renewal-tokens``, 0 skips it): Extend tokens
   whose renewal moments fall evenly within ``--renewal-window`` seconds (the fleet whose renewal
   falls due within one hour, at its real size with ``--renewal-window 3600``): cloud calls per token
   (ObtainApplicationToken, UpdateApplicationTokenExpirationTime), the busiest second against the
   mean, renewals after their planned moment and tokens past their expiry (the deadline). Then
   ``--rotate-tokens`` Rotate tokens (retire Delete after ``--retire-after``), due within
   ``--rotate-window``: calls per rotation by action, and how long until every replaced token is
   deleted. The tokens' lifetime is chosen so the renewal moments come after the first reads
   (``--renewal-lead``); tokensync's own floors (jitter at most a tenth of the margin, 5 min) apply.

The cloud emulator gets ``--latency-ms`` on every call and a token bucket of ``--rate`` calls/s
(burst rate/5) answering ``400 Throttling.User`` beyond it, as the real gateway does (no x-acs-retry-after).

Usage: python3 bench/operator_bench.py [--tokens 100,1000,10000 | --tokens 0] [--latency-ms 50] [--rate 200]
       [--operator-cloud-rate R] [--renewal-tokens 1000] [--renewal-window 600] [--rotate-tokens 100]
       [--rotate-window 300] [--retire-after 30] [--json FILE] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import cProfile
import dataclasses
import json
import logging
import math
import os
import platform
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tokensync.api.crds import crd_manifests
from tokensync.clock import SYSTEM_CLOCK
from tokensync.emulators.cloud import CloudEmulator, demo_state, running_cloud_emulator
from tokensync.emulators.cloud import app as cloud_app
from tokensync.emulators.cloud.faults import Fault, FaultSet, Outcome
from tokensync.emulators.cloud.state import truncate_ms
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.store import WatchEvent

API = "tokensync.dev/v1alpha1"
NS, BASELINE_NS, SYSTEM_NS = "demo", "baseline", "tokensync-system"
AK_ID, AK_SECRET = "demo-access-key-id", "demo-access-key-secret"
INSTANCE, APPLICATION = "idaas_demo", "app_demo"
OBTAIN = "ObtainApplicationToken"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the emulated cloud's rate limit ---------------------------------------------------------------

class RateLimitedFaults(FaultSet):
    """The emulator's faults plus a token bucket over every API call, and a log of read times."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate, self.burst = rate, max(1.0, rate / 5)
        self._level, self._updated = self.burst, time.monotonic()
        self._throttle = Fault(status=400, code="Throttling.User",
                               message="Request was denied due to user flow control.")
        self.call_times: dict[str, list[float]] = {}  # action -> monotonic time of every call

    def draw(self, action: str | None) -> Outcome:
        outcome = super().draw(action)
        now = time.monotonic()
        self.call_times.setdefault(action or "", []).append(now)
        self._level = min(self.burst, self._level + (now - self._updated) * self.rate)
        self._updated = now
        if self._level >= 1.0:
            self._level -= 1.0
        elif outcome.error is None:
            outcome.error = self._throttle
        return outcome


# --- what the Kubernetes emulator sees, with times ---------------------------------------------------

@dataclass
class Observed:
    created: dict[str, float] = field(default_factory=dict)  # ApplicationToken name -> kube.create time
    secret_added: dict[str, float] = field(default_factory=dict)
    ready: dict[str, float] = field(default_factory=dict)
    secret_data: dict[str, Any] = field(default_factory=dict)
    secret_changes: Counter[str] = field(default_factory=Counter)  # MODIFIED with new data
    secret_same: Counter[str] = field(default_factory=Counter)  # MODIFIED with the same data


def _ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


async def _follow(kube: KubernetesEmulator, plural_api: tuple[str, str], observed: Observed) -> None:
    api_version, plural = plural_api
    store_resource = kube.resource(api_version, plural)
    watcher = kube.store.subscribe(store_resource, None, None)
    try:
        while True:
            event: WatchEvent | None = await watcher.queue.get()
            if event is None:
                return
            now = time.monotonic()
            meta = event.obj.get("metadata") or {}
            name = str(meta.get("name"))
            if plural == "secrets":
                if meta.get("namespace") != NS:
                    continue
                data = event.obj.get("data")
                if event.type == "ADDED":
                    observed.secret_added.setdefault(name, now)
                elif event.type == "MODIFIED":
                    changed = data != observed.secret_data.get(name)
                    (observed.secret_changes if changed else observed.secret_same)[name] += 1
                observed.secret_data[name] = data
            elif event.type != "DELETED" and name not in observed.ready and _ready(event.obj):
                observed.ready[name] = now
    finally:
        kube.store.unsubscribe(watcher)


# --- the processes: operator and baseline ---------------------------------------------------------

def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _child(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)


async def _child_result(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.close()
    line = await process.stdout.readline()
    await process.wait()
    result: dict[str, Any] = json.loads(line)
    return result


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _own_usage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"peak_rss_mib": round(usage.ru_maxrss / 1024, 1), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2)}


async def run_operator_child(kubeconfig: str, cloud_rate: float | None, profile: str | None, log: str) -> None:
    """The operator as ``tokensync run`` would run it (kopf's default watch settings), until stdin ends."""
    from tokensync.cloud.client import ClientSettings
    from tokensync.kube.config import load_connection_settings
    from tokensync.runtime.operator import Operator, kopf_settings, running_operator

    logging.basicConfig(level=logging.INFO, filename=log, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # as `tokensync run` does
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    settings = None if cloud_rate is None else ClientSettings(rate_limit_per_second=cloud_rate,
                                                              rate_limit_burst=max(1, int(cloud_rate / 5)))
    profiler = cProfile.Profile() if profile else None
    operator = Operator(load_connection_settings(kubeconfig), cloud_settings=settings)
    if profiler:
        profiler.enable()
    async with running_operator(operator, settings=kopf_settings()):
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    print(json.dumps(_own_usage()), flush=True)


async def run_baseline_child(kubeconfig: str, cloud_url: str, tokens: int, rate: float, concurrency: int) -> None:
    """The shortest path: read each token, create its Secret. Prints seconds taken and usage."""
    from tokensync.cloud.client import ClientSettings, CloudClient, Endpoints, HttpPool
    from tokensync.cloud.credentials import StaticCredentials
    from tokensync.kube.client import KubeClient
    from tokensync.kube.config import load_connection_settings
    from tokensync.kube.resources import SECRETS

    pool = HttpPool(max_connections=concurrency)
    cloud = CloudClient(credentials=StaticCredentials(AK_ID, AK_SECRET),
                        endpoints=Endpoints.for_region("cn-hangzhou", {"eiam": cloud_url}), pool=pool,
                        settings=ClientSettings(rate_limit_per_second=rate, rate_limit_burst=max(1, int(rate / 5))))
    kube = KubeClient(load_connection_settings(kubeconfig))
    names = iter(range(tokens))

    async def worker() -> None:
        for i in names:
            reply = await cloud.obtain_application_token(instance_id=INSTANCE, application_id=APPLICATION,
                                                         application_token_id=f"token_b{i}")
            token = reply.value
            data = {"token": token.token.get_secret_value(), "tokenType": token.token_type,
                    "expiresAt": token.expiration_time.isoformat()}
            await kube.create(SECRETS, BASELINE_NS, {
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": f"b{i}", "namespace": BASELINE_NS},
                "data": {k: base64.b64encode(str(v).encode()).decode() for k, v in data.items()},
            })

    await asyncio.to_thread(sys.stdin.readline)  # the parent says go (after the process started)
    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.monotonic() - started
    await pool.aclose()
    await kube.aclose()
    print(json.dumps({"seconds": round(seconds, 3), **_own_usage()}), flush=True)


# --- one run --------------------------------------------------------------------------------------

def _application_token(name: str, token_id: str) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "ApplicationToken", "metadata": {"name": name, "namespace": NS},
            "spec": {"instanceId": INSTANCE, "applicationId": APPLICATION, "applicationTokenId": token_id}}


def _setup_cluster(kube: KubernetesEmulator, cloud: CloudEmulator) -> None:
    for namespace in (SYSTEM_NS, NS, BASELINE_NS):
        kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tokensync-ak", "namespace": SYSTEM_NS},
                 "stringData": {"accessKeyId": AK_ID, "accessKeySecret": AK_SECRET}})
    kube.create({"apiVersion": API, "kind": "ClusterCloudAccess", "metadata": {"name": "default"},
                 "spec": {"regionId": "cn-hangzhou", "namespaceSelector": {},
                          "endpoints": {"eiam": cloud.url, "ims": cloud.url, "sts": cloud.url},
                          "auth": {"accessKey": {"secretRef": {"name": "tokensync-ak", "namespace": SYSTEM_NS}}}}})


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def _latencies(observed: Observed, names: list[str]) -> dict[str, float]:
    values = [observed.secret_added[n] - observed.created[n] for n in names if n in observed.secret_added]
    return {"p50_s": round(_pct(values, 50), 3), "p99_s": round(_pct(values, 99), 3),
            "max_s": round(max(values, default=float("nan")), 3), "count": len(values)}


async def _until(check: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not done after {limit} s")
        await asyncio.sleep(0.05)


def _secret_writes(kube: KubernetesEmulator, before: Counter[tuple[str, str]]) -> dict[str, int]:
    after = Counter(kube.write_counts)
    diff = {f"{plural}:{verb}": after[(plural, verb)] - before[(plural, verb)] for plural, verb in after
            if after[(plural, verb)] != before[(plural, verb)]}
    return dict(sorted(diff.items()))


def _obtain_codes(cloud: CloudEmulator) -> dict[str, int]:
    return {code: n for (action, code), n in cloud.codes.items() if action == OBTAIN}


async def _create_burst(kube: KubernetesEmulator, cloud: CloudEmulator, observed: Observed, names: list[str],
                        token_ids: list[str]) -> None:
    for i, (name, token_id) in enumerate(zip(names, token_ids, strict=True)):
        observed.created[name] = time.monotonic()
        kube.create(_application_token(name, token_id))
        if i % 50 == 49:
            await asyncio.sleep(0)  # let the emulators serve while the rest is applied


class OperatorProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pid = process.pid

    def usage(self) -> dict[str, float]:
        return {"peak_rss_mib": round(_peak_rss_mib(self.pid), 1), "cpu_seconds": round(_cpu_seconds(self.pid), 2)}


async def bench_one(n: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"tokens": n}
    kube = KubernetesEmulator(clock=SYSTEM_CLOCK, history_size=200_000)  # ~ the apiserver's 5 minutes of history
    for crd in crd_manifests().values():
        kube.install_crds([crd])
    await kube.start()
    kubeconfig = str(kube.write_kubeconfig(workdir / f"kubeconfig-{n}"))
    followers: list[asyncio.Task[None]] = []
    try:
        async with running_cloud_emulator(demo_state(SYSTEM_CLOCK.now())) as cloud:
            limited = RateLimitedFaults(args.rate)
            cloud.faults = limited
            cloud.inject_fault(latency_ms=args.latency_ms)
            _setup_cluster(kube, cloud)
            steady_n = min(n, args.create_count)
            for i in range(n):
                cloud.add_token(f"token_b{i}")
                cloud.add_token(f"token_t{i}")
            for i in range(steady_n):
                cloud.add_token(f"token_c{i}")

            # 1. the shortest path
            cloud.reset_counters()
            emulators_cpu = _own_cpu()
            baseline = await _child("--child-baseline", kubeconfig, cloud.url, str(n), str(args.rate),
                                    str(args.baseline_concurrency))
            assert baseline.stdin is not None
            baseline.stdin.write(b"go\n")
            await baseline.stdin.drain()
            done = await _child_result(baseline)
            result["baseline"] = {**done, "tokens_per_second": round(n / done["seconds"], 1),
                                  "obtain_answers": _obtain_codes(cloud),
                                  "emulators_cpu_seconds": round(_own_cpu() - emulators_cpu, 2)}
            print(f"[{n}] baseline: {done['seconds']} s", file=sys.stderr, flush=True)

            # 2. the operator, and N tokens at once
            observed = Observed()
            followers = [asyncio.create_task(_follow(kube, ("v1", "secrets"), observed)),
                         asyncio.create_task(_follow(kube, (API, "applicationtokens"), observed))]
            operator_args = ["--child-operator", kubeconfig, str(args.operator_cloud_rate or args.rate),
                             str(Path(args.log_dir or workdir) / f"operator-{n}.log"),
                             str(Path(args.profile) / f"operator-{n}.prof") if args.profile else ""]
            process = await _child(*operator_args)
            assert process.stdout is not None
            assert (await process.stdout.readline()).strip() == b"ready"
            operator = OperatorProcess(process)
            await _until(lambda: _cluster_access_ready(kube), 60, "ClusterCloudAccess Ready")
            await asyncio.sleep(1)
            idle_usage = operator.usage()
            cloud.reset_counters()
            writes_before = Counter(kube.write_counts)
            names = [f"t{i}" for i in range(n)]
            emulators_cpu = _own_cpu()
            started = time.monotonic()
            await _create_burst(kube, cloud, observed, names, [f"token_t{i}" for i in range(n)])
            applied = time.monotonic() - started
            await _until(lambda: all(name in observed.ready for name in names), args.timeout, "burst Ready")
            seconds = max(observed.ready[name] for name in names) - started
            burst_usage = operator.usage()
            reads = _obtain_codes(cloud)
            writes = _secret_writes(kube, writes_before)
            result["burst"] = {
                "apply_seconds": round(applied, 2),
                "all_ready_seconds": round(seconds, 2),
                "tokens_per_second": round(n / seconds, 1),
                "rate_limit_floor_seconds": round(n / args.rate, 2),
                "create_to_secret": _latencies(observed, names),
                "obtain_answers": reads,
                "reads_per_token": round(reads.get("Success", 0) / n, 3),
                "attempts_per_token": round(sum(reads.values()) / n, 3),
                "writes": writes,
                "secret_writes_per_token": round(sum(v for k, v in writes.items() if k.startswith("secrets:")) / n, 3),
                "operator_cpu_seconds": round(burst_usage["cpu_seconds"] - idle_usage["cpu_seconds"], 2),
                "operator_peak_rss_mib": burst_usage["peak_rss_mib"],
                "emulators_cpu_seconds": round(_own_cpu() - emulators_cpu, 2),  # this process: both emulators
            }
            result["throughput_ratio_vs_baseline"] = round(
                result["burst"]["tokens_per_second"] / result["baseline"]["tokens_per_second"], 3)
            print(f"[{n}] burst: all Ready in {seconds:.1f} s", file=sys.stderr, flush=True)

            # 3. nothing changes: nothing is read or written
            cloud.reset_counters()
            writes_before = Counter(kube.write_counts)
            same_before = sum(observed.secret_same.values()) + sum(observed.secret_changes.values())
            await asyncio.sleep(args.quiet_seconds)
            result["quiet"] = {"seconds": args.quiet_seconds, "cloud_calls": cloud.calls(),
                               "writes": _secret_writes(kube, writes_before),
                               "secret_modifications": sum(observed.secret_same.values())
                               + sum(observed.secret_changes.values()) - same_before}

            # 4. steady creation
            cloud.reset_counters()
            steady_names = [f"c{i}" for i in range(steady_n)]
            started = time.monotonic()
            for i, name in enumerate(steady_names):
                due = started + i / args.create_rate
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
                observed.created[name] = time.monotonic()
                kube.create(_application_token(name, f"token_c{i}"))
            await _until(lambda: all(name in observed.ready for name in steady_names), args.timeout,
                         "steady creation Ready")
            result["steady_creation"] = {"tokens": steady_n, "rate_per_second": args.create_rate,
                                         "create_to_secret": _latencies(observed, steady_names),
                                         "obtain_answers": _obtain_codes(cloud)}
            print(f"[{n}] steady creation done", file=sys.stderr, flush=True)

            result["operator"] = {"idle_after_start": idle_usage, "end": operator.usage()}
            result["operator"]["reported_by_itself"] = await _child_result(process)
    finally:
        for task in followers:
            task.cancel()
        await kube.stop()
    return result


def _cluster_access_ready(kube: KubernetesEmulator) -> bool:
    obj = kube.get(API, "clustercloudaccesses", None, "default")
    return obj is not None and _ready(obj)


# --- 5. renewal at scale: Extend and Rotate -------------------------------------------------------

UPDATE, CREATE, LIST = "UpdateApplicationTokenExpirationTime", "CreateApplicationToken", "ListApplicationTokens"
DISABLE, DELETE = "DisableApplicationToken", "DeleteApplicationToken"


class EffectLog:
    """When the cloud carried out each token-changing call: the emulator's actions, wrapped."""

    def __init__(self) -> None:
        self.times: dict[str, dict[str, float]] = {a: {} for a in (UPDATE, CREATE, DISABLE, DELETE)}
        self.created_in: dict[str, str] = {}  # application -> the last token created in it
        self._saved: dict[str, Any] = {}

    def install(self) -> None:
        for action in self.times:
            original = cloud_app.OPERATIONS[action]
            self._saved[action] = original
            cloud_app.OPERATIONS[action] = dataclasses.replace(original, handler=self._wrapped(action, original))

    def uninstall(self) -> None:
        cloud_app.OPERATIONS.update(self._saved)

    def _wrapped(self, action: str, original: Any) -> Any:
        def handler(ctx: Any) -> dict[str, Any]:
            answer: dict[str, Any] = original.handler(ctx)
            token_id = ctx.params.get("ApplicationTokenId")
            if action == CREATE:
                token_id = answer["ApplicationTokens"]["ApplicationTokenId"]
                self.created_in[ctx.params["ApplicationId"]] = token_id
            self.times[action].setdefault(token_id, time.monotonic())  # the first time it took effect
            return answer
        return handler


def _rotate_token(name: str, token_id: str, application: str, retire_after: float) -> dict[str, Any]:
    body = _application_token(name, token_id)
    body["spec"]["applicationId"] = application
    body["spec"]["renewal"] = {"strategy": "Rotate", "retire": "Delete", "retireAfter": f"{round(retire_after)}s"}
    return body


def _per_second(times: list[float], start: float, end: float) -> dict[str, float | None]:
    seconds = max(1, int(end - start))
    counts = Counter(int(t - start) for t in times if start <= t < start + seconds)
    rates = [counts.get(i, 0) for i in range(seconds)]
    mean = sum(rates) / seconds
    return {"mean_per_s": round(mean, 2), "max_per_s": max(rates), "max_over_mean": round(max(rates) / mean, 2)
            if mean else None}


async def bench_renewal(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Extend tokens due within --renewal-window, then Rotate tokens due within --rotate-window."""
    ext_n, rot_n = args.renewal_tokens, args.rotate_tokens
    lead = args.renewal_lead if args.renewal_lead is not None else 60 + (ext_n + rot_n) / 40
    # A lifetime long enough that every renewal moment (a third of it before expiry) is still ahead;
    # tokensync's jitter moves a renewal up to a tenth of that margin (at most 5 min) earlier.
    horizon = lead + args.renewal_window + 400 + args.rotate_window
    # Whole seconds: a fractional lifetime costs a second read at the first renewal (see RESULTS.md).
    lifetime = float(math.ceil(max(args.renewal_lifetime, horizon / 0.6)))
    margin = lifetime * 0.33
    jitter = min(margin / 10, 300.0)
    result: dict[str, Any] = {"extend_tokens": ext_n, "rotate_tokens": rot_n, "lead_s": round(lead),
                              "lifetime_s": round(lifetime), "renewal_margin_s": round(margin),
                              "max_jitter_s": round(jitter)}
    kube = KubernetesEmulator(clock=SYSTEM_CLOCK, history_size=200_000)
    for crd in crd_manifests().values():
        kube.install_crds([crd])
    await kube.start()
    kubeconfig = str(kube.write_kubeconfig(workdir / "kubeconfig-renewal"))
    effects = EffectLog()
    effects.install()
    followers: list[asyncio.Task[None]] = []
    try:
        async with running_cloud_emulator(demo_state(SYSTEM_CLOCK.now())) as cloud:
            limited = RateLimitedFaults(args.rate)
            cloud.faults = limited
            cloud.inject_fault(latency_ms=args.latency_ms)
            _setup_cluster(kube, cloud)
            observed = Observed()
            followers = [asyncio.create_task(_follow(kube, (API, "applicationtokens"), observed))]
            process = await _child("--child-operator", kubeconfig, str(args.operator_cloud_rate or args.rate),
                                   str(Path(args.log_dir or workdir) / "operator-renewal.log"), "")
            assert process.stdout is not None
            assert (await process.stdout.readline()).strip() == b"ready"
            operator = OperatorProcess(process)
            await _until(lambda: _cluster_access_ready(kube), 60, "ClusterCloudAccess Ready")

            wall, mono = SYSTEM_CLOCK.now(), time.monotonic()
            t_ext = mono + lead
            t_rot = t_ext + (args.renewal_window + jitter + 60 if ext_n else 0)  # after the Extend window
            due: dict[str, float] = {}  # token -> its renewal moment (monotonic)
            deadline: dict[str, float] = {}  # token -> its expiry (monotonic)

            def add(token_id: str, application: str, at: float) -> None:
                token = cloud.add_token(token_id, lifetime=timedelta(seconds=lifetime), application_id=application)
                token.expiration_time = truncate_ms(wall + timedelta(seconds=at - mono + margin))
                token.create_time = token.expiration_time - timedelta(seconds=lifetime)
                due[token_id], deadline[token_id] = at, at + margin

            for i in range(ext_n):
                add(f"token_e{i}", APPLICATION, t_ext + args.renewal_window * (i + 0.5) / ext_n)
            for i in range(rot_n):
                add(f"token_r{i}", f"app_r{i}", t_rot + args.rotate_window * (i + 0.5) / rot_n)
            before = operator.usage()
            for i in range(ext_n):
                kube.create(_application_token(f"e{i}", f"token_e{i}"))
                if i % 50 == 49:
                    await asyncio.sleep(0)
            for i in range(rot_n):
                kube.create(_rotate_token(f"r{i}", f"token_r{i}", f"app_r{i}", args.retire_after))
                if i % 50 == 49:
                    await asyncio.sleep(0)
            names = [f"e{i}" for i in range(ext_n)] + [f"r{i}" for i in range(rot_n)]
            await _until(lambda: all(n in observed.ready for n in names), args.timeout, "renewal tokens Ready")
            ready_at = max(observed.ready[n] for n in names)
            result["first_reads_done_s_before_first_renewal"] = round(min(due.values(), default=ready_at) - jitter
                                                                     - ready_at, 1)
            print(f"[renewal] {len(names)} tokens Ready; renewals start in "
                  f"{t_ext - jitter - time.monotonic():.0f} s", file=sys.stderr, flush=True)

            if ext_n:
                ext_ids = [f"token_e{i}" for i in range(ext_n)]
                await _until(lambda: all(t in effects.times[UPDATE] for t in ext_ids),
                             t_ext + args.renewal_window + jitter + 600 - time.monotonic(), "every Extend renewed")
                start, end = t_ext - jitter, t_ext + args.renewal_window
                calls = {a: [t for t in limited.call_times.get(a, []) if start <= t <= end + 5]
                         for a in (OBTAIN, UPDATE)}
                renewed = {t: effects.times[UPDATE][t] for t in ext_ids}
                result["extend"] = {
                    "window_s": args.renewal_window,
                    "calls_per_token": {a: round(len(v) / ext_n, 3) for a, v in calls.items()},
                    "obtain_and_update_per_second": _per_second(calls[OBTAIN] + calls[UPDATE], start, end),
                    "renewed_after_planned_moment": sum(1 for t, at in renewed.items() if at > due[t] + 1),
                    "past_deadline": sum(1 for t, at in renewed.items() if at > deadline[t]),
                    "earliest_s_before_planned": round(max(due[t] - at for t, at in renewed.items()), 1),
                    "latest_s_after_planned": round(max(at - due[t] for t, at in renewed.items()), 1),
                }
                print(f"[renewal] Extend: {result['extend']}", file=sys.stderr, flush=True)

            if rot_n:
                originals = [f"token_r{i}" for i in range(rot_n)]
                await _until(lambda: all(t in effects.times[DELETE] for t in originals),
                             t_rot + args.rotate_window + jitter + args.retire_after + 900 - time.monotonic(),
                             "every replaced token deleted")
                start = t_rot - jitter
                end = max(effects.times[DELETE][t] for t in originals) + 1
                counts = {a: sum(1 for t in limited.call_times.get(a, []) if start <= t <= end)
                          for a in (OBTAIN, LIST, CREATE, DISABLE, DELETE)}
                successors = {f"token_r{i}": effects.created_in[f"app_r{i}"] for i in range(rot_n)}
                created = {t: effects.times[CREATE][s] for t, s in successors.items()}
                retire_delay = sorted(effects.times[DELETE][t] - created[t] for t in originals)
                last_create = max(created.values())
                result["rotate"] = {
                    "window_s": args.rotate_window, "retire_after_s": args.retire_after,
                    "calls_per_rotation": {a: round(n / rot_n, 3) for a, n in counts.items()},
                    "tokens_created": len(effects.times[CREATE]),
                    "rotated_after_planned_moment": sum(1 for t, at in created.items() if at > due[t] + 1),
                    "create_to_delete_s": {"p50": round(_pct(retire_delay, 50), 1),
                                           "p99": round(_pct(retire_delay, 99), 1),
                                           "max": round(retire_delay[-1], 1)},
                    "all_retired_s_after_last_rotation": round(end - 1 - last_create, 1),
                    "all_retired_s_after_first_rotation": round(end - 1 - min(created.values()), 1),
                }
                print(f"[renewal] Rotate: {result['rotate']}", file=sys.stderr, flush=True)
            after = operator.usage()
            result["operator"] = {"cpu_seconds": round(after["cpu_seconds"] - before["cpu_seconds"], 1),
                                  "peak_rss_mib": after["peak_rss_mib"]}
            await _child_result(process)
    finally:
        effects.uninstall()
        for task in followers:
            task.cancel()
        await kube.stop()
    return result

# --- report ---------------------------------------------------------------------------------------

def _table(results: list[dict[str, Any]]) -> str:
    rows = [("N", "ready s", "floor s", "base s", "ratio", "burst p50/p99 s", "steady p50/p99 s", "reads/tok",
             "writes/tok", "quiet w", "RSS MiB", "CPU s")]
    for r in results:
        burst, steady = r["burst"], r["steady_creation"]
        rows.append((
            str(r["tokens"]), str(burst["all_ready_seconds"]), str(burst["rate_limit_floor_seconds"]),
            str(r["baseline"]["seconds"]), str(r["throughput_ratio_vs_baseline"]),
            f"{burst['create_to_secret']['p50_s']}/{burst['create_to_secret']['p99_s']}",
            f"{steady['create_to_secret']['p50_s']}/{steady['create_to_secret']['p99_s']}",
            str(burst["reads_per_token"]), str(burst["secret_writes_per_token"]),
            str(sum(v for k, v in r["quiet"]["writes"].items() if k.startswith("secrets:"))),
            str(r["operator"]["end"]["peak_rss_mib"]), str(r["operator"]["end"]["cpu_seconds"]),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "cpus": os.cpu_count(),
        "python": platform.python_version(), "machine": platform.platform(),
        "settings": {k: v for k, v in vars(args).items() if not k.startswith("child")},
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="tokensync-bench-") as tmp:
        for n in args.tokens:
            summary["runs"].append(await bench_one(n, args, Path(tmp)))
        if args.renewal_tokens or args.rotate_tokens:
            summary["renewal"] = await bench_renewal(args, Path(tmp))
    return summary


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-operator":
        kubeconfig, rate, log, profile = sys.argv[2:6]
        asyncio.run(run_operator_child(kubeconfig, float(rate) or None, profile or None, log))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child-baseline":
        kubeconfig, url, tokens, rate, concurrency = sys.argv[2:7]
        asyncio.run(run_baseline_child(kubeconfig, url, int(tokens), float(rate), int(concurrency)))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tokens", type=lambda s: [int(x) for x in s.split(",") if int(x)], default=[100, 1000],
                        help="comma-separated N (default 100,1000; 10000 is opt-in; 0: only the renewal phase)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every cloud call")
    parser.add_argument("--rate", type=float, default=200.0, help="cloud rate limit, calls per second")
    parser.add_argument("--operator-cloud-rate", type=float, default=None,
                        help="the operator's --cloud-rate-limit (default: --rate, the cloud's quota, as the README "
                             "advises for large fleets; 20 is tokensync's own default)")
    parser.add_argument("--baseline-concurrency", type=int, default=32)
    parser.add_argument("--create-rate", type=float, default=100.0, help="steady creation, tokens per second")
    parser.add_argument("--create-count", type=int, default=1000, help="steady creation: at most this many tokens")
    parser.add_argument("--quiet-seconds", type=float, default=15.0)
    parser.add_argument("--renewal-tokens", type=int, default=1000,
                        help="Extend tokens due for renewal within --renewal-window (0: skip the renewal phase)")
    parser.add_argument("--renewal-window", type=float, default=600.0,
                        help="seconds over which their renewal moments are spread (3600: one hour)")
    parser.add_argument("--renewal-lifetime", type=float, default=0.0,
                        help="seconds (default: just long enough that every renewal comes after the first reads)")
    parser.add_argument("--renewal-lead", type=float, default=None,
                        help="seconds before the first renewal moment (default 60 + tokens/40: the first reads)")
    parser.add_argument("--rotate-tokens", type=int, default=100, help="Rotate tokens (retire Delete)")
    parser.add_argument("--rotate-window", type=float, default=300.0, help="seconds over which they fall due")
    parser.add_argument("--retire-after", type=float, default=30.0, help="retireAfter, seconds")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per phase, seconds")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the JSON summary here")
    parser.add_argument("--log-dir", default=None, metavar="DIR", help="keep the operator's log here")
    parser.add_argument("--profile", default=None, metavar="DIR", help="cProfile the operator into DIR/operator-N.prof")
    args = parser.parse_args()
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(bench(args))
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    if summary["runs"]:
        print(_table(summary["runs"]), file=sys.stderr)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
