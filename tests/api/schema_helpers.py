"""Validating objects against the generated CRDs with the jsonschema package."""

from collections.abc import Iterator
from typing import Any

import jsonschema

from tokensync.api.crds import crd_manifests


def crd_for(kind: str) -> dict[str, Any]:
    return next(m for m in crd_manifests().values() if m["spec"]["names"]["kind"] == kind)


def open_api_schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def schema_errors(kind: str, obj: dict[str, Any]) -> list[str]:
    """Messages for every place the object breaks its CRD's openAPIV3Schema (CEL rules are not evaluated)."""
    validator = jsonschema.Draft7Validator(open_api_schema(kind))
    return [f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]


def schema_nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node that describes data (not the value-only branches of oneOf/not)."""
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from schema_nodes(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from schema_nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from schema_nodes(node["additionalProperties"], f"{path}{{}}")
