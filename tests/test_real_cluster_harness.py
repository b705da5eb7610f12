"""The e2e suite (tests/test_real_cluster.py) itself, run as a user with a cluster would run it.

No real cluster can run here, so the Kubernetes API emulator plays one: in a process of its own,
reached over HTTP through a kubeconfig, with no CRDs (the suite installs them) and real time.
This keeps ``KUBECONFIG=... pytest -m e2e`` working; what it proves about a real API server is
only what the emulator proves (docs/kubernetes-emulator.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVE = """
import asyncio, sys
from pathlib import Path
from tokensync.emulators.kubernetes import running_kubernetes_emulator

async def main(path: str) -> None:
    async with running_kubernetes_emulator() as kube:
        kube.write_kubeconfig(Path(path))
        print("serving", flush=True)
        await asyncio.Event().wait()

asyncio.run(main(sys.argv[1]))
"""


@pytest.fixture
def emulated_cluster(tmp_path: Path) -> Iterator[Path]:
    kubeconfig = tmp_path / "kubeconfig"
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(kubeconfig)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "serving"
        yield kubeconfig
    finally:
        server.kill()
        server.wait(timeout=30)


def test_the_e2e_suite_passes_against_an_api_server_in_another_process(emulated_cluster: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "e2e", "tests/test_real_cluster.py"],
        cwd=Path(__file__).resolve().parent.parent, env={**os.environ, "KUBECONFIG": str(emulated_cluster)},
        capture_output=True, text=True, timeout=300, check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert " passed" in output and "skipped" not in output and "failed" not in output, output
