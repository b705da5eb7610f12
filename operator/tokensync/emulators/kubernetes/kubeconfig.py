"""A kubeconfig pointing at the emulator, accepted by kubectl and the kubernetes Python client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONTEXT_NAME = "tokensync-sandbox"


def kubeconfig_document(server_url: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT_NAME, "cluster": {"server": server_url}}],
        # A token kubectl sends and the emulator ignores: there is no authentication here.
        "users": [{"name": CONTEXT_NAME, "user": {"token": "emulator-has-no-auth"}}],
        "contexts": [{"name": CONTEXT_NAME,
                      "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME, "namespace": namespace}}],
        "current-context": CONTEXT_NAME,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig_document(server_url), sort_keys=False))
    path.chmod(0o600)
    return path
