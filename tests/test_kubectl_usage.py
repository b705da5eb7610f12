"""What a user does with kubectl once tokensync runs: apply, wait for Ready, list by category.

Real kubectl, the Kubernetes emulator, the operator and the cloud emulator; real time (kubectl
is a separate process, so the loop clock cannot be fast-forwarded here).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import yaml

from tests import scenario
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.runtime.operator import Operator

pytestmark = pytest.mark.skipif(not any(
    os.access(os.path.join(p, "kubectl"), os.X_OK) for p in os.environ.get("PATH", "").split(os.pathsep)
), reason="kubectl is not installed")


async def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "kubectl", *args, env={**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)},
        stdin=asyncio.subprocess.PIPE if stdin is not None else None,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(stdin.encode() if stdin else None), timeout=60)
    return process.returncode or 0, output.decode()


async def test_apply_then_wait_for_ready_then_list_by_category(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, kubeconfig: Path
) -> None:
    scenario.standard_cluster(kube, cloud)
    manifest = yaml.safe_dump(scenario.application_token())
    code, output = await kubectl(kubeconfig, "apply", "-f", "-", stdin=manifest)
    assert code == 0, output
    code, output = await kubectl(kubeconfig, "wait", "--for=condition=Ready", "-n", scenario.NS,
                                 "applicationtoken/billing-api", "--timeout=30s")
    assert code == 0, output
    assert "condition met" in output
    code, output = await kubectl(kubeconfig, "get", "tokensync", "-A")
    assert code == 0, output
    header = output.splitlines()[0].split()
    for column in ("READY", "TOKEN", "SECRET", "EXPIRES", "NEXT", "REFRESH", "LAST", "SYNC", "AGE"):
        assert column in header, output
    assert "applicationtoken.tokensync.dev/billing-api" in output
    assert "clustercloudaccess.tokensync.dev/default" in output
    code, output = await kubectl(kubeconfig, "get", "apptoken", "-n", scenario.NS, "billing-api",
                                 "-o", "jsonpath={.status.secretName}")
    assert (code, output) == (0, "billing-api")


async def test_the_renewal_docs_kubectl_commands(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, kubeconfig: Path
) -> None:
    """What the README and docs/ram-policies.md tell a user to type about renewal."""
    scenario.standard_cluster(kube, cloud)
    code, output = await kubectl(kubeconfig, "explain", "applicationtoken.spec.renewal")
    assert code == 0, output
    for field in ("strategy", "lifetime", "retire", "retireAfter", "Extend", "Rotate"):
        assert field in output, output
    # An identity that may read but not extend: Ready stays True, the failure is a RenewalFailed Event.
    key = cloud.state.access_keys[scenario.AK_ID]
    key.allowed_actions = ["eiam:ObtainApplicationToken"]
    # Due at once: a third of 4h before expiry is already past for the demo's one-hour token.
    token = scenario.application_token(renewal={"strategy": "Extend", "lifetime": "4h"})
    code, output = await kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump(token))
    assert code == 0, output
    code, output = await kubectl(kubeconfig, "wait", "--for=condition=Ready", "-n", scenario.NS,
                                 "applicationtoken/billing-api", "--timeout=30s")
    assert code == 0, output
    for _ in range(60):
        code, output = await kubectl(kubeconfig, "get", "events", "-A", "--field-selector", "reason=RenewalFailed",
                                     "-o", "custom-columns=OBJECT:.involvedObject.name,MESSAGE:.message")
        if "billing-api" in output:
            break
        await asyncio.sleep(0.5)
    assert code == 0 and "billing-api" in output, output
    advice = "Grant the RAM identity of the CloudAccess the permission eiam:UpdateApplicationTokenExpirationTime"
    assert advice in output, output
    code, output = await kubectl(kubeconfig, "get", "apptoken", "-n", scenario.NS, "billing-api", "-o",
                                 "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
    assert (code, output) == (0, "True")
