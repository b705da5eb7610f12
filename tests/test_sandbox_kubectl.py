"""Issue 3's "done when": the machine's real kubectl, pointed at the kubeconfig `tokensync sandbox`
writes, works against the sandbox as against a cluster; and what the README's tour promises is
there to see within a minute: demo/reports-api extended (same value, later expiry) and
demo/orders-api rotated (new token and value, Deployment restarted, the old token disabled and
deleted in the cloud emulator).

The sandbox runs as a user runs it (`python3 -m tokensync sandbox --kubeconfig PATH`, staying up
until Ctrl-C), in its own process; kubectl is a separate process too, so this runs in real time
(about 50 s, most of it waiting for the first rotated token to be retired).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
READY_LINE = "Running; Ctrl-C stops."  # what the sandbox prints once the demo is applied and described
NS = "demo"
# The README's tour: every renewal kind has happened once within a minute of the examples being applied.
WITHIN = timedelta(seconds=60)
T = TypeVar("T")


@dataclass
class Sandbox:
    process: subprocess.Popen[bytes]
    kubeconfig: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for_line(sandbox: Sandbox, line: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if line in sandbox.output():
            return
        if sandbox.process.poll() is not None:
            pytest.fail(f"the sandbox exited with {sandbox.process.returncode}:\n{sandbox.output()}")
        time.sleep(0.2)
    pytest.fail(f"no {line!r} from the sandbox within {seconds}s:\n{sandbox.output()}")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    kubeconfig, log = tmp_path / "kube" / "config", tmp_path / "sandbox.log"
    with log.open("wb") as sink:
        # Output to a file, not a pipe: nothing has to drain it while the test runs kubectl.
        process = subprocess.Popen([sys.executable, "-m", "tokensync", "sandbox", "--kubeconfig", str(kubeconfig)],
                                   stdout=sink, stderr=subprocess.STDOUT)
    running = Sandbox(process, kubeconfig, log)
    try:
        wait_for_line(running, READY_LINE, seconds=90)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def kubectl(sandbox: Sandbox, *args: str, stdin: str | None = None) -> str:
    """Run kubectl against the sandbox; fail the test with kubectl's output on a non-zero exit."""
    result = subprocess.run(
        [KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=90, check=False,
        # HOME in tmp: kubectl's discovery cache stays out of the user's ~/.kube.
        env={**os.environ, "KUBECONFIG": str(sandbox.kubeconfig), "HOME": str(sandbox.kubeconfig.parent)},
    )
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def get(sandbox: Sandbox, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(kubectl(sandbox, "get", "-n", NS, *args, "-o", "json"))
    return result


def events(sandbox: Sandbox, name: str, reason: str) -> list[dict[str, Any]]:
    """The Events on ``name`` with ``reason``, as `kubectl get events --field-selector` lists them."""
    listed = get(sandbox, "events", "--field-selector", f"involvedObject.name={name},reason={reason}")
    return list(listed["items"])


def secret_data(sandbox: Sandbox, name: str) -> dict[str, str]:
    secret = get(sandbox, "secret", name)
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def time_of(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def wait_for(sandbox: Sandbox, check: Callable[[], T | None], until: datetime, what: str) -> T:
    """Poll ``check`` (kubectl calls) every second until it returns something, at most until ``until``
    (wall clock) plus a little for a slow machine."""
    while True:
        result = check()
        if result is not None:
            return result
        if datetime.now(until.tzinfo) > until + timedelta(seconds=10):
            pytest.fail(f"{what}: not seen by {until.isoformat()}:\n{sandbox.output()}")
        time.sleep(1)


def cloud_get(url: str) -> tuple[int, Any]:
    """The cloud emulator's admin API, as `curl` would read it."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def application_token(name: str, secret: str) -> dict[str, object]:
    """An ApplicationToken through the sandbox's own namespaced CloudAccess demo/idaas-demo."""
    return {
        "apiVersion": "tokensync.dev/v1alpha1", "kind": "ApplicationToken",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"instanceId": "idaas_demo", "applicationId": "app_demo", "applicationTokenId": "token_demo",
                 "cloudAccessRef": {"kind": "CloudAccess", "name": "idaas-demo"}, "secret": {"name": secret}},
    }


def test_real_kubectl_against_the_running_sandbox_then_renewals_then_ctrl_c(sandbox: Sandbox) -> None:
    assert os.access(KUBECTL, os.X_OK), f"kubectl is needed for this test: {KUBECTL}"
    # What the tour looks at first, before any renewal (the first one comes ~20-30 s after the start).
    extended_before = get(sandbox, "apptoken", "reports-api")
    extended_secret_before = secret_data(sandbox, "reports-api-auth")
    rotated_before = get(sandbox, "apptoken", "orders-api")
    rotated_secret_before = secret_data(sandbox, "orders-api-token")

    kubectl_basics(sandbox)
    extend_within_a_minute(sandbox, extended_before, extended_secret_before)
    rotate_within_a_minute(sandbox, rotated_before, rotated_secret_before)

    # The sandbox's own terminal showed the same Events as they were posted (it looks once a second).
    reasons = ("Extended", "Rotated", "RolloutRestarted", "Retired")
    deadline = time.monotonic() + 5
    while not all(f" Normal {r}: " in sandbox.output() for r in reasons) and time.monotonic() < deadline:
        time.sleep(0.2)
    output = sandbox.output()
    for reason in reasons:
        assert f" Normal {reason}: " in output, output
    assert "RenewalFailed" not in output and "Warning" not in output, output

    # Ctrl-C: the sandbox stops cleanly and promptly.
    sandbox.process.send_signal(signal.SIGINT)
    try:
        code = sandbox.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the sandbox did not stop within 30s of SIGINT:\n{sandbox.output()}")
    assert code == 0, sandbox.output()
    assert "Traceback" not in sandbox.output(), sandbox.output()


def extend_within_a_minute(sandbox: Sandbox, before: dict[str, Any], secret_before: dict[str, str]) -> None:
    """demo/reports-api (Extend, lifetime 2m, renewBefore 90s on the 2-minute demo token): its expiry
    moves, its value does not, and an Extended Event says so."""
    deadline = time_of(before["metadata"]["creationTimestamp"]) + WITHIN
    old_expiry = time_of(before["status"]["expirationTime"])
    assert before["status"]["applicationTokenId"] == "token_demo_short"

    def extended() -> dict[str, Any] | None:
        now = get(sandbox, "apptoken", "reports-api")
        moved = time_of(now["status"]["expirationTime"]) > old_expiry and now["status"].get("lastRenewalTime")
        return now if moved and events(sandbox, "reports-api", "Extended") else None

    after = wait_for(sandbox, extended, deadline, "demo/reports-api extended")
    (event, *_) = events(sandbox, "reports-api", "Extended")
    assert time_of(event["firstTimestamp"]) <= deadline, event
    assert "extended token token_demo_short: it now expires at" in event["message"], event
    status = after["status"]
    assert status["applicationTokenId"] == "token_demo_short"  # the same token...
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Synced"), ready

    def secret_with_status() -> tuple[dict[str, str], dict[str, Any]] | None:
        # Read status on both sides of the Secret, so that an extension in between does not count.
        first = get(sandbox, "apptoken", "reports-api")["status"]
        data = secret_data(sandbox, "reports-api-auth")
        return (data, first) if get(sandbox, "apptoken", "reports-api")["status"] == first else None

    data, status = wait_for(sandbox, secret_with_status, deadline + WITHIN, "a quiet moment")
    assert data["Authorization"] == secret_before["Authorization"]  # ...and the same value
    assert data["expires-at"] == status["expirationTime"] != secret_before["expires-at"]
    assert time_of(data["expires-at"]) - time_of(status["lastRenewalTime"]) <= timedelta(minutes=2, seconds=2)


def rotate_within_a_minute(sandbox: Sandbox, before: dict[str, Any], secret_before: dict[str, str]) -> None:
    """demo/orders-api (Rotate, no applicationTokenId, lifetime 2m, renewBefore 90s, retireAfter 15s):
    tokensync made its first token; within a minute a new token and value are in the Secret, the
    Deployment was restarted, and the first token was disabled and deleted in the cloud emulator."""
    deadline = time_of(before["metadata"]["creationTimestamp"]) + WITHIN
    assert "applicationTokenId" not in before["spec"]
    first = before["status"]["applicationTokenId"]
    assert first.startswith("token_") and not first.startswith("token_demo"), first
    created = events(sandbox, "orders-api", "Rotated")
    assert any(f"created token {first}" in e["message"] for e in created), created

    def rotated() -> dict[str, Any] | None:
        now = get(sandbox, "apptoken", "orders-api")
        return now if now["status"]["applicationTokenId"] != first else None

    wait_for(sandbox, rotated, deadline, "demo/orders-api rotated")
    assert secret_data(sandbox, "orders-api-token")["token"] != secret_before["token"]
    replaced = [e for e in events(sandbox, "orders-api", "Rotated") if f"replaces {first}" in e["message"]]
    assert replaced, events(sandbox, "orders-api", "Rotated")
    assert time_of(replaced[0]["firstTimestamp"]) <= deadline, replaced
    assert events(sandbox, "orders-api", "RolloutRestarted")
    template = get(sandbox, "deployment", "orders-api")["spec"]["template"]
    restarted = time_of(template["metadata"]["annotations"]["tokensync.dev/restartedAt"])
    assert restarted >= time_of(replaced[0]["firstTimestamp"]), template  # restarted for the new value

    def retired() -> dict[str, Any] | None:
        found = [e for e in events(sandbox, "orders-api", "Retired") if f"replaced token {first}:" in e["message"]]
        return found[0] if found else None

    event = wait_for(sandbox, retired, deadline, f"token {first} retired")
    assert event["message"] == f"replaced token {first}: deleted", event
    assert time_of(event["firstTimestamp"]) <= deadline, event
    status = get(sandbox, "apptoken", "orders-api")["status"]
    assert first not in json.dumps(status.get("retiringTokens") or []), status
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "Synced"), ready

    # In the cloud emulator (its URL is the ClusterCloudAccess's endpoint, as the tour finds it):
    # the first token is gone, the current one is enabled, and tokensync disabled before deleting.
    cloud = kubectl(sandbox, "get", "clustercloudaccess", "default", "-o", "jsonpath={.spec.endpoints.eiam}")
    assert cloud_get(f"{cloud}/_emulator/tokens/{first}")[0] == 404
    code, current = cloud_get(f"{cloud}/_emulator/tokens/{status['applicationTokenId']}")
    assert (code, current["status"]) == (200, "enabled"), current
    _, state = cloud_get(f"{cloud}/_emulator/state")
    assert first not in {t["applicationTokenId"] for t in state["tokens"]}
    _, counters = cloud_get(f"{cloud}/_emulator/counters")
    calls = counters["calls"]
    assert calls.get("CreateApplicationToken", 0) >= 2, counters
    assert calls.get("DisableApplicationToken", 0) >= 1 and calls.get("DeleteApplicationToken", 0) >= 1, counters
    assert calls.get("UpdateApplicationTokenExpirationTime", 0) >= 1, counters


def kubectl_basics(sandbox: Sandbox) -> None:
    """apply, get, wait, the category, garbage collection: kubectl as against a cluster."""

    namespaces = kubectl(sandbox, "get", "namespaces", "-o", "name").split()
    assert {"namespace/default", "namespace/demo", "namespace/tokensync-system"} <= set(namespaces)

    # apply -f: a plain Secret and a custom resource, in one file, as a user would.
    manifest = yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "from-kubectl", "namespace": NS},
         "type": "Opaque", "stringData": {"note": "applied by kubectl"}},
        application_token("kubectl-check", "kubectl-check-token"),
    ])
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=manifest)
    assert "secret/from-kubectl created" in applied
    assert "applicationtoken.tokensync.dev/kubectl-check created" in applied

    # Got back with what the server sets, not what was sent.
    secret = json.loads(kubectl(sandbox, "get", "secret", "-n", NS, "from-kubectl", "-o", "json"))
    assert base64.b64decode(secret["data"]["note"]) == b"applied by kubectl"
    assert "stringData" not in secret
    token = json.loads(kubectl(sandbox, "get", "apptoken", "-n", NS, "kubectl-check", "-o", "json"))
    for obj in (secret, token):
        meta = obj["metadata"]
        assert meta["uid"] and int(meta["resourceVersion"]) > 0 and meta["creationTimestamp"].endswith("Z")
        assert "kubectl.kubernetes.io/last-applied-configuration" in meta["annotations"]
    assert token["metadata"]["generation"] == 1
    # Defaults from the CRD's schema, applied by the server.
    assert (token["spec"]["secret"]["type"], token["spec"]["secret"]["creationPolicy"]) == ("Opaque", "Owner")

    # The operator (inside the sandbox) makes it Ready; kubectl waits on the condition.
    waited = kubectl(sandbox, "wait", "--for=condition=Ready", "-n", NS, "applicationtoken/kubectl-check",
                     "--timeout=90s")
    assert "condition met" in waited

    # The category lists every tokensync kind, the new object among the examples.
    listed = kubectl(sandbox, "get", "tokensync", "-A")
    assert "READY" in listed.splitlines()[0]
    for name in ("applicationtoken.tokensync.dev/kubectl-check", "applicationtoken.tokensync.dev/billing-api",
                 "ramapplication.tokensync.dev/portal", "cloudaccess.tokensync.dev/idaas-demo",
                 "clustercloudaccess.tokensync.dev/default"):
        assert name in listed, listed

    # Its Secret, owned by it, holds a token the sandbox never printed.
    owned = json.loads(kubectl(sandbox, "get", "secret", "-n", NS, "kubectl-check-token", "-o", "json"))
    owners = owned["metadata"]["ownerReferences"]
    assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [
        ("ApplicationToken", "kubectl-check", token["metadata"]["uid"])]
    value = base64.b64decode(owned["data"]["token"]).decode()
    assert len(value) > 20 and value not in sandbox.output()
    demo = json.loads(kubectl(sandbox, "get", "secret", "-n", NS, "billing-api-token", "-o", "json"))
    assert base64.b64decode(demo["data"]["token"]).decode() not in sandbox.output()

    # Deleting the owner takes its Secret with it (garbage collection); the other Secret stays.
    assert "deleted" in kubectl(sandbox, "delete", "-n", NS, "applicationtoken/kubectl-check", "--timeout=90s")
    kubectl(sandbox, "wait", "--for=delete", "-n", NS, "secret/kubectl-check-token", "--timeout=60s")
    remaining = kubectl(sandbox, "get", "secrets", "-n", NS, "-o", "name").split()
    assert "secret/kubectl-check-token" not in remaining and "secret/from-kubectl" in remaining
    assert kubectl(sandbox, "get", "apptoken", "-n", NS, "--ignore-not-found", "kubectl-check") == ""
