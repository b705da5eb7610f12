"""Issue 3's "done when": the machine's real kubectl, pointed at the kubeconfig `tokensync sandbox`
writes, works against the sandbox as against a cluster.

The sandbox runs as a user runs it (`python3 -m tokensync sandbox --kubeconfig PATH`, staying up
until Ctrl-C), in its own process; kubectl is a separate process too, so this runs in real time.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
READY_LINE = "Running; Ctrl-C stops."  # what the sandbox prints once the demo is applied and described
NS = "demo"


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


def application_token(name: str, secret: str) -> dict[str, object]:
    """An ApplicationToken through the sandbox's own namespaced CloudAccess demo/idaas-demo."""
    return {
        "apiVersion": "tokensync.dev/v1alpha1", "kind": "ApplicationToken",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"instanceId": "idaas_demo", "applicationId": "app_demo", "applicationTokenId": "token_demo",
                 "cloudAccessRef": {"kind": "CloudAccess", "name": "idaas-demo"}, "secret": {"name": secret}},
    }


def test_real_kubectl_against_the_running_sandbox_then_ctrl_c(sandbox: Sandbox) -> None:
    assert os.access(KUBECTL, os.X_OK), f"kubectl is needed for this test: {KUBECTL}"

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

    # Ctrl-C: the sandbox stops cleanly and promptly.
    sandbox.process.send_signal(signal.SIGINT)
    try:
        code = sandbox.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the sandbox did not stop within 30s of SIGINT:\n{sandbox.output()}")
    assert code == 0, sandbox.output()
    assert "Traceback" not in sandbox.output(), sandbox.output()
