"""`tokensync sandbox --exit-after-demo`: the README's "run it" command, as a new user runs it.

It must bring up both emulators and the operator, apply every example, and print each
resource Ready with Secret values masked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tokensync.emulators.cloud import demo_state
from tokensync.sandbox import example_documents


def test_the_sandbox_makes_every_example_ready_and_masks_values(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    result = subprocess.run(
        [sys.executable, "-m", "tokensync", "sandbox", "--exit-after-demo", "--kubeconfig", str(kubeconfig)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert kubeconfig.exists()
    kinds = {"ApplicationToken", "RamApplication", "CloudAccess", "ClusterCloudAccess"}
    for document in example_documents():
        if document["kind"] not in kinds:
            continue
        meta = document["metadata"]
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        line = next((x for x in output.splitlines() if x.startswith(f"{document['kind']} {where}{meta['name']}:")), "")
        assert "Ready=True" in line, f"{document['kind']} {where}{meta['name']} not Ready:\n{output}"
    assert "Secret demo/" in output and "ConfigMap demo/" in output
    for token in demo_state().token_values():
        assert token not in output  # masked
    assert "demo-access-key-secret" not in output
