"""CustomResourceDefinitions generated from the pydantic models (the one source of the API).

`python -m tokensync.api.crds [--check] [DIR]` writes the YAML files into DIR (default: crds/ at the
repository root) or, with --check, exits 1 when they differ from what the models produce.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import functools
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from tokensync.api.application_token import ApplicationTokenSpec, ApplicationTokenStatus
from tokensync.api.cloud_access import CloudAccessSpec, CloudAccessStatus, ClusterCloudAccessSpec
from tokensync.api.common import (
    APPLICATION_TOKEN,
    CLOUD_ACCESS,
    CLUSTER_CLOUD_ACCESS,
    GROUP,
    RAM_APPLICATION,
    VERSION,
    KindInfo,
)
from tokensync.api.ram_application import RamApplicationSpec, RamApplicationStatus

HEADER = "# Generated from the models in operator/tokensync/api by `python -m tokensync.api.crds`; do not edit.\n"

# JSON Schema keywords a structural CRD schema cannot hold, or that carry nothing for Kubernetes.
_DROPPED_KEYS = {"title", "$defs", "examples"}


def _ready_column(condition: str = "Ready") -> dict[str, Any]:
    return {
        "name": condition,
        "type": "string",
        "jsonPath": f'.status.conditions[?(@.type=="{condition}")].status',
        "description": f"Status of the {condition} condition.",
    }


def _date_column(name: str, path: str, description: str) -> dict[str, Any]:
    return {"name": name, "type": "date", "jsonPath": path, "description": description}


def _moment_column(name: str, path: str, description: str) -> dict[str, Any]:
    # A time that is usually in the future: kube-apiserver prints a future "date" column as
    # "<invalid>" (it shows ages only), so these show the RFC 3339 time itself.
    return {"name": name, "type": "string", "format": "date-time", "jsonPath": path, "description": description}


_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}

_ACCESS_COLUMNS = [
    _ready_column(),
    {"name": "Region", "type": "string", "jsonPath": ".spec.regionId", "description": "Region ID."},
    {
        "name": "Account",
        "type": "string",
        "jsonPath": ".status.identity.accountId",
        "description": "Account the credentials belong to.",
    },
    _AGE,
]

_KIND_DESCRIPTIONS = {
    "ApplicationToken": "An IDaaS EIAM application token (ObtainApplicationToken) kept in a Secret and read again "
    "before it expires.",
    "RamApplication": "A RAM OAuth application's configuration (GetApplication) mirrored into status and a "
    "ConfigMap, with an optional drift check.",
    "CloudAccess": "How resources in this namespace reach Alibaba Cloud: region, endpoints and credentials.",
    "ClusterCloudAccess": "How resources in the selected namespaces reach Alibaba Cloud: region, endpoints and "
    "credentials.",
}


class _KindSchema:
    def __init__(
        self,
        info: KindInfo,
        spec: type[BaseModel],
        status: type[BaseModel],
        columns: list[dict[str, Any]],
    ) -> None:
        self.info, self.spec, self.status, self.columns = info, spec, status, columns


KINDS: tuple[_KindSchema, ...] = (
    _KindSchema(
        APPLICATION_TOKEN,
        ApplicationTokenSpec,
        ApplicationTokenStatus,
        [
            _ready_column(),
            {"name": "Token", "type": "string", "jsonPath": ".status.tokenStatus", "description": "Token status."},
            {"name": "Secret", "type": "string", "jsonPath": ".status.secretName", "description": "Target Secret."},
            _moment_column("Expires", ".status.expirationTime", "When the token expires."),
            _moment_column("Next Refresh", ".status.nextRefreshTime", "When the next read is planned."),
            _date_column("Last Sync", ".status.lastSyncTime", "When the token was last read."),
            _AGE,
        ],
    ),
    _KindSchema(
        RAM_APPLICATION,
        RamApplicationSpec,
        RamApplicationStatus,
        [
            _ready_column(),
            _ready_column("InSync"),
            {
                "name": "App Name",
                "type": "string",
                "jsonPath": ".status.application.appName",
                "description": "Application name.",
            },
            {
                "name": "App Type",
                "type": "string",
                "jsonPath": ".status.application.appType",
                "description": "Application type.",
            },
            _date_column("Last Sync", ".status.lastSyncTime", "When the application was last read."),
            _AGE,
        ],
    ),
    _KindSchema(CLOUD_ACCESS, CloudAccessSpec, CloudAccessStatus, _ACCESS_COLUMNS),
    _KindSchema(CLUSTER_CLOUD_ACCESS, ClusterCloudAccessSpec, CloudAccessStatus, _ACCESS_COLUMNS),
)


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema rewritten into a Kubernetes structural schema."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.get("$defs", {})
    return _structural(raw, defs, context=model.__name__)


def _structural(node: dict[str, Any], defs: dict[str, Any], context: str) -> dict[str, Any]:
    node = dict(node)
    ref = node.pop("$ref", None)
    if ref is not None:
        target = copy.deepcopy(defs[ref.rsplit("/", 1)[-1]])
        node = {**target, **node}  # the field's description wins over the model's docstring
    if "anyOf" in node:
        branches = [b for b in node.pop("anyOf") if b.get("type") != "null"]
        if len(branches) != 1:
            raise ValueError(f"{context}: unions other than `X | None` cannot be expressed in a structural schema")
        outer = {k: v for k, v in node.items() if k != "default" or v is not None}
        return _structural({**branches[0], **outer}, defs, context)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS:
            continue
        if key == "default" and (value is None or isinstance(value, dict | list)):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out[key] = {name: _structural(sub, defs, f"{context}.{name}") for name, sub in value.items()}
        elif key == "items":
            out[key] = _structural(
                {"description": f"One item of the {context.rsplit('.', 1)[-1]} list.", **value}, defs, f"{context}[]"
            )
        elif key == "additionalProperties":
            if isinstance(value, dict) and "properties" not in node:
                out[key] = _structural(
                    {"description": f"One value of the {context.rsplit('.', 1)[-1]} map.", **value},
                    defs,
                    f"{context}{{}}",
                )
        elif key == "patternProperties":
            # Structural schemas know no patternProperties: the value schema goes to additionalProperties.
            # The key pattern is left to the model (the operator reports InvalidSpec): a CEL rule over
            # unbounded map keys risks exceeding the apiserver's static cost budget and the CRD being refused.
            ((_, value_schema),) = value.items()
            out["additionalProperties"] = _structural(
                {"description": f"One value of the {context.rsplit('.', 1)[-1]} map.", **value_schema},
                defs,
                f"{context}{{}}",
            )
        elif key == "propertyNames":
            continue
        elif key == "x-kubernetes-validations":
            out.setdefault(key, []).extend(value)
        else:
            out[key] = value
    if "type" not in out:
        raise ValueError(f"{context}: schema node without a type")
    # type and description first: the generated YAML reads like `kubectl explain`.
    return {key: out[key] for key in sorted(out, key=lambda k: (k != "type", k != "description", k))}


def _open_api_schema(kind: _KindSchema) -> dict[str, Any]:
    spec = structural_schema(kind.spec)
    status = structural_schema(kind.status)
    return {
        "type": "object",
        "description": _KIND_DESCRIPTIONS[kind.info.kind],
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "APIVersion defines the versioned schema of this representation of an object.",
            },
            "kind": {"type": "string", "description": "Kind is a string value representing the REST resource."},
            "metadata": {"type": "object", "description": "Standard object metadata."},
            "spec": spec,
            "status": status,
        },
    }


def crd_manifest(kind: _KindSchema) -> dict[str, Any]:
    info = kind.info
    names: dict[str, Any] = {
        "kind": info.kind,
        "listKind": f"{info.kind}List",
        "plural": info.plural,
        "singular": info.singular,
    }
    if info.short_names:
        names["shortNames"] = list(info.short_names)
    names["categories"] = list(info.categories)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": info.crd_name, "labels": {"app.kubernetes.io/name": "tokensync"}},
        "spec": {
            "group": GROUP,
            "names": names,
            "scope": "Namespaced" if info.namespaced else "Cluster",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": kind.columns,
                    "schema": {"openAPIV3Schema": _open_api_schema(kind)},
                }
            ],
        },
    }


def crd_manifests() -> dict[str, dict[str, Any]]:
    """File name ("applicationtokens.tokensync.dev.yaml") -> CustomResourceDefinition manifest (a fresh copy)."""
    return copy.deepcopy(_built_manifests())


@functools.cache
def _built_manifests() -> dict[str, dict[str, Any]]:
    return {f"{kind.info.crd_name}.yaml": crd_manifest(kind) for kind in KINDS}


def render(manifest: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=120)


def default_directory() -> Path:
    """crds/ at the repository root (found from this package), else ./crds."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent / "crds"
    return Path.cwd() / "crds"


def check(directory: Path) -> list[str]:
    """Problems found in directory: missing, stale or extra CRD files (empty when all agree)."""
    problems: list[str] = []
    expected = {name: render(m) for name, m in crd_manifests().items()}
    for name, text in expected.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        actual = path.read_text(encoding="utf-8")
        if actual != text:
            diff = difflib.unified_diff(actual.splitlines(), text.splitlines(), str(path), "models", lineterm="", n=1)
            lines = list(diff)
            problems.append(f"{path}: differs from the models ({len(lines)} diff lines):\n" + "\n".join(lines[:40]))
    problems.extend(
        f"{path}: not generated from any model"
        for path in sorted(directory.glob(f"*.{GROUP}.yaml"))
        if path.name not in expected
    )
    return problems


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, manifest in crd_manifests().items():
        path = directory / name
        path.write_text(render(manifest), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tokensync.api.crds", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    parser.add_argument("directory", nargs="?", type=Path, default=None, help="default: crds/ at the repo root")
    args = parser.parse_args(argv)
    directory: Path = args.directory or default_directory()
    if args.check:
        problems = check(directory)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run `python -m tokensync.api.crds` to regenerate", file=sys.stderr)
            return 1
        print(f"{directory}: {len(KINDS)} CRDs match the models")
        return 0
    for path in write(directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
