"""`tokensync run` as a user runs it: a separate process, a kubeconfig, real time.

The process is pointed at the Kubernetes emulator (as it would be at a cluster) and the
cloud emulator; the test reads what a user would: the Secret, /metrics, /healthz, /readyz,
and the exit code after SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests import scenario
from tests.scenario import NS, eventually, has_reason, is_ready, secret_data
from tokensync.api.crds import crd_manifests
from tokensync.emulators.cloud import CloudEmulator, running_cloud_emulator
from tokensync.emulators.kubernetes import KubernetesEmulator, running_kubernetes_emulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def emulators() -> AsyncIterator[tuple[KubernetesEmulator, CloudEmulator]]:
    async with running_cloud_emulator() as cloud, \
            running_kubernetes_emulator(crds=list(crd_manifests().values())) as kube:
        yield kube, cloud


async def start_operator(kubeconfig: Path, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tokensync", "run", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    return process.returncode or 0, output.decode(errors="replace")


async def test_run_serves_metrics_and_health_and_stops_cleanly(
    emulators: tuple[KubernetesEmulator, CloudEmulator], tmp_path: Path
) -> None:
    kube, cloud = emulators
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.deployment("billing-api"))
    kube.create(scenario.application_token(rolloutRestartTargets=[{"kind": "Deployment", "name": "billing-api"}]))
    kube.create(scenario.ram_application())
    # Due for renewal at its first read (90 min before expiry, an hour left): one Extend to count.
    kube.create(scenario.application_token("extended", renewal={"strategy": "Extend", "lifetime": "2h"},
                                           refresh={"renewBefore": "90m"}))
    metrics_port, health_port = free_port(), free_port()
    process = await start_operator(kubeconfig, "-A", "--metrics-port", str(metrics_port),
                                   "--health-port", str(health_port), "--log-format", "json")
    try:
        await eventually(is_ready(kube, "billing-api"), timeout=30, step=0.2)
        await eventually(is_ready(kube, "portal", "ramapplications"), timeout=30, step=0.2)
        data = secret_data(kube, "billing-api")
        assert data is not None and data["token"] == cloud.token_value("token_demo")
        # A new value (the spec names another token), so that the restart counter has something to count.
        cloud.add_token("token_next", lifetime=timedelta(days=30))
        kube.patch(scenario.API, "applicationtokens", NS, "billing-api", {"spec": {"applicationTokenId": "token_next"}})
        await eventually(lambda: (secret_data(kube, "billing-api") or {}).get("token")
                         == cloud.token_value("token_next"), timeout=30, step=0.2)
        await eventually(is_ready(kube, "extended"), timeout=30, step=0.2)
        await eventually(lambda: "RolloutRestarted" in scenario.event_reasons(kube, "billing-api"),
                         timeout=30, step=0.2)
        async with httpx.AsyncClient() as http:
            await eventually(lambda: _ok(http, f"http://127.0.0.1:{health_port}/readyz"), timeout=10, step=0.2)
            assert (await http.get(f"http://127.0.0.1:{health_port}/healthz")).status_code == 200
            exposition = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        assert cloud.token_value("token_demo") not in exposition
        samples = parse_samples(exposition)

        for kind in ("ApplicationToken", "RamApplication"):
            assert samples.get(("tokensync_sync_total", labels(kind=kind, result="success")), 0) >= 1, kind
            assert samples.get(("tokensync_sync_duration_seconds_count", labels(kind=kind)), 0) > 0, kind
            assert samples[("tokensync_sync_duration_seconds_bucket", labels(kind=kind, le="+Inf"))] == \
                samples[("tokensync_sync_duration_seconds_count", labels(kind=kind))]
        assert samples[("tokensync_resource_ready",
                        labels(kind="ApplicationToken", namespace=NS, name="billing-api"))] == 1.0
        assert samples[("tokensync_resource_ready",
                        labels(kind="RamApplication", namespace=NS, name="portal"))] == 1.0
        # Every request the operator sent, as the cloud counted it (nothing else calls this cloud).
        for action in ("ObtainApplicationToken", "GetApplication"):
            assert samples[("tokensync_cloud_requests_total", labels(action=action, code="Success"))] == \
                cloud.answers(action, "Success") >= 1, action
        assert samples[("tokensync_token_renewals_total", labels(strategy="Extend", result="success"))] == 1.0
        assert cloud.answers("UpdateApplicationTokenExpirationTime", "Success") == 1
        expiry = cloud.token("token_next").expiration_time.timestamp()
        assert samples[("tokensync_token_expiration_timestamp_seconds",
                        labels(namespace=NS, name="billing-api"))] == pytest.approx(expiry, abs=1)
        assert samples[("tokensync_rollout_restarts_total", labels())] == 1.0
    finally:
        code, output = await stop(process)
    assert code == 0, output
    assert cloud.token_value("token_demo") not in output and cloud.token_value("token_next") not in output
    assert scenario.AK_SECRET not in output


def labels(**pairs: str) -> frozenset[tuple[str, str]]:
    return frozenset(pairs.items())


def parse_samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample in a /metrics answer, keyed by (sample name, labels), as Prometheus reads it."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


async def test_json_log_format_makes_every_line_a_json_object(
    emulators: tuple[KubernetesEmulator, CloudEmulator], tmp_path: Path
) -> None:
    """`--log-format json`: a log shipper parses each line, and finds its level, logger and message."""
    kube, cloud = emulators
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token())
    kube.create(scenario.application_token("missing", token_id="token_missing"))  # a warning line too
    process = await start_operator(kubeconfig, "-A", "--metrics-port", "0", "--health-port", "0",
                                   "--log-format", "json")
    try:
        await eventually(is_ready(kube, "billing-api"), timeout=30, step=0.2)
        await eventually(has_reason(kube, "missing", "NotFound"), timeout=30, step=0.2)
    finally:
        code, output = await stop(process)
    assert code == 0, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON log line: {line!r}")
    for record in records:
        assert isinstance(record, dict), record
        assert {"message"} <= set(record) and ({"level", "severity"} & set(record)), record
        assert {"logger", "name"} & set(record), f"no logger name in {record}"
    assert any("NotFound" in str(r["message"]) and r.get("level", r.get("severity")) in ("warn", "warning",
                                                                                            "WARNING")
               for r in records), records
    assert cloud.token_value("token_demo") not in output


async def _ok(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(url)).status_code == 200
    except httpx.TransportError:
        return False


async def test_run_with_namespaces_serves_only_those(
    emulators: tuple[KubernetesEmulator, CloudEmulator], tmp_path: Path
) -> None:
    kube, cloud = emulators
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.namespace("elsewhere"))
    kube.create(scenario.application_token("here"))
    kube.create(scenario.application_token("there", namespace="elsewhere"))
    process = await start_operator(kubeconfig, "-n", NS, "--metrics-port", "0", "--health-port", "0")
    try:
        await eventually(is_ready(kube, "here"), timeout=30, step=0.2)
        await asyncio.sleep(1)
        assert kube.get("v1", "secrets", "elsewhere", "there") is None
        assert (kube.get(scenario.API, "applicationtokens", "elsewhere", "there") or {}).get("status") is None
    finally:
        code, output = await stop(process)
    assert code == 0, output


async def test_two_replicas_one_leader_and_a_standby_that_takes_over(
    emulators: tuple[KubernetesEmulator, CloudEmulator], tmp_path: Path
) -> None:
    """Two `tokensync run` processes: only the holder of the Lease writes; when it stops
    (SIGTERM), it releases the Lease and the standby takes over at once."""
    kube, cloud = emulators
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    scenario.standard_cluster(kube, cloud)
    election = ("--leader-election=on", "--leader-election-namespace", scenario.SYSTEM_NS,
                "--metrics-port", "0", "--health-port", "0")
    first = await start_operator(kubeconfig, *election)
    second: asyncio.subprocess.Process | None = None
    try:
        await eventually(lambda: _holder(kube) != "", timeout=30, step=0.2)
        leader = _holder(kube)
        second = await start_operator(kubeconfig, *election)
        kube.create(scenario.application_token("one"))
        await eventually(is_ready(kube, "one"), timeout=30, step=0.2)
        await asyncio.sleep(3)  # the standby has had time to try and must still be waiting
        assert _holder(kube) == leader
        code, output = await stop(first)
        assert code == 0, output
        assert "released Lease" in output
        await eventually(lambda: _holder(kube) not in ("", leader), timeout=15, step=0.2)
        kube.create(scenario.application_token("two"))
        await eventually(is_ready(kube, "two"), timeout=30, step=0.2)
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                await stop(process)
    assert second is not None
    code, output = await stop(second)
    assert code == 0, output


def _holder(kube: KubernetesEmulator) -> str:
    lease = kube.get("coordination.k8s.io/v1", "leases", scenario.SYSTEM_NS, "tokensync-leader") or {}
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


async def test_a_leader_whose_lease_is_taken_stops_acting_and_exits_1(
    emulators: tuple[KubernetesEmulator, CloudEmulator], tmp_path: Path
) -> None:
    kube, cloud = emulators
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    scenario.standard_cluster(kube, cloud)
    process = await start_operator(kubeconfig, "--leader-election=on", "--leader-election-namespace",
                                   scenario.SYSTEM_NS, "--metrics-port", "0", "--health-port", "0")
    try:
        await eventually(lambda: _holder(kube) != "", timeout=30, step=0.2)
        # Another replica took the Lease over (as it may once the lease ran out).
        kube.patch("coordination.k8s.io/v1", "leases", scenario.SYSTEM_NS, "tokensync-leader",
                   {"spec": {"holderIdentity": "someone-else", "leaseDurationSeconds": 3600}})
        await asyncio.wait_for(process.wait(), timeout=30)
    finally:
        code, output = await stop(process)
    assert code == 1, output
    assert "lost leadership" in output
    kube.create(scenario.application_token("after"))
    await asyncio.sleep(1)
    assert kube.get("v1", "secrets", NS, "after") is None  # nobody acts for a replica that lost


async def test_cloud_rate_limit_paces_reads_of_many_tokens(
    emulators: tuple[KubernetesEmulator, CloudEmulator], tmp_path: Path
) -> None:
    """`--cloud-rate-limit 2`: eight tokens created at once are read at two per second (after a
    burst of two), not all at once; the default (20/s) would read them within a second."""
    kube, cloud = emulators
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    scenario.standard_cluster(kube, cloud)
    names = [f"app-{i}" for i in range(8)]
    for name in names:
        kube.create(scenario.application_token(name))
    loop = asyncio.get_running_loop()
    process = await start_operator(kubeconfig, "-A", "--metrics-port", "0", "--health-port", "0",
                                   "--cloud-rate-limit", "2")
    try:
        await eventually(lambda: cloud.calls("ObtainApplicationToken") >= 2, timeout=30, step=0.05)
        burst_done = loop.time()
        await eventually(lambda: all(is_ready(kube, name)() for name in names), timeout=30, step=0.05)
        paced = loop.time() - burst_done
    finally:
        code, output = await stop(process)
    assert code == 0, output
    assert cloud.calls("ObtainApplicationToken") == 8
    assert paced >= 2.5, f"six reads after the burst took {paced:.1f}s; at 2/s they take 3s"
