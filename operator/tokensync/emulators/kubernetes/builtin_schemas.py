"""Kubernetes' own schemas for the built-in kinds, as kube-apiserver v1.32 publishes them.

They come from the ``kubernetes-validate`` package (a runtime dependency), which carries the
OpenAPI definitions of Kubernetes 1.25-1.37 converted to JSON Schema: one ``_definitions.json``
per release with every definition kube-apiserver's ``/openapi/v2`` has, the Go types' merge keys
and patch strategies (``x-kubernetes-patch-merge-key``, ``x-kubernetes-patch-strategy``), list
semantics (``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``) and the kinds each
definition is (``x-kubernetes-group-version-kind``). The conversion made optional fields
nullable (``"type": ["string", "null"]``), added ``enum`` to apiVersion/kind and wrote
IntOrString and Quantity as ``oneOf``; :func:`openapi_node` undoes that for the documents served.

Loaded once per process, on first use (about 15 ms); nothing is read at import.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

KUBERNETES_VERSION = "1.32"  # the release server.py's VERSION_INFO reports
_DATA = f"kubernetes-json-schema/v{KUBERNETES_VERSION}.0-local/_definitions.json"
_REF_PREFIX = "#/$defs/"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

Schema = dict[str, Any]


class SchemasUnavailable(RuntimeError):
    """kubernetes-validate is missing, or carries no schemas for this Kubernetes release."""


def _data_file() -> Path:
    # find_spec locates the package without importing it (its __init__ pulls in jsonschema).
    spec = importlib.util.find_spec("kubernetes_validate")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / _DATA
        if path.is_file():
            return path
    raise SchemasUnavailable(
        f"the Kubernetes emulator serves the built-in kinds from Kubernetes {KUBERNETES_VERSION}'s own schemas, "
        f"which come from the kubernetes-validate package ({_DATA} inside it); install it with "
        "`pip install 'kubernetes-validate>=1.32'` (tokensync's dependencies include it)")


@functools.cache
def definitions() -> dict[str, Schema]:
    """Every definition by its OpenAPI name (``io.k8s.api.core.v1.Secret``), as stored (``$ref``s kept)."""
    with _data_file().open(encoding="utf-8") as handle:
        loaded: dict[str, Schema] = json.load(handle)["$defs"]
    return loaded


@functools.cache
def _by_gvk() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, definition in definitions().items():
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            # DeleteOptions, WatchEvent and the like name every group: the first definition wins.
            index.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return index


def definition_name(group: str, version: str, kind: str) -> str | None:
    """The definition a kind's objects follow, or None when Kubernetes has no such kind."""
    return _by_gvk().get((group, version, kind))


def ref_name(node: Schema) -> str | None:
    ref = node.get("$ref")
    return ref[len(_REF_PREFIX):] if isinstance(ref, str) and ref.startswith(_REF_PREFIX) else None


def resolve(node: Schema) -> tuple[Schema, str | None]:
    """A property node with its ``$ref`` followed: (the definition, its name), or (node, None).

    The node's own keys (description, x-kubernetes-patch-*) describe the field; the definition
    describes the type. Callers read patch metadata from the node and structure from the result.
    """
    name = ref_name(node)
    if name is None:
        return node, None
    return definitions()[name], name


def types_of(node: Schema) -> list[str]:
    """The JSON types a node allows, without the "null" the conversion added to optional fields."""
    declared = node.get("type")
    if declared is None:
        return []
    listed = declared if isinstance(declared, list) else [declared]
    return [t for t in listed if t != "null"]


def short_type_name(definition: str) -> str:
    """``io.k8s.api.core.v1.Container`` -> ``Container`` (the Go struct's name)."""
    return definition.rsplit(".", 1)[-1]


def go_type_name(definition: str) -> str:
    """``io.k8s.api.core.v1.Container`` -> ``v1.Container`` (how Go's reflect prints the type)."""
    return ".".join(definition.rsplit(".", 2)[-2:])


# -- structural schemas (Resource.schema) -----------------------------------------------------------


@functools.cache
def structural_schema(definition: str) -> Schema:
    """A kind's schema with every ``$ref`` inlined, in the form CRDs use: one ``type`` string,
    ``x-kubernetes-int-or-string`` for IntOrString, the ``x-kubernetes-*`` list and patch
    markers where Kubernetes puts them. Definitions are shared between the kinds that use them
    (treat the result as read-only). A type that contains itself (JSONSchemaProps, in CRDs) is
    cut where it recurs: ``{"type": "object", "x-kubernetes-preserve-unknown-fields": true}``.
    """
    return _inliner().definition(definition)


@functools.cache
def _inliner() -> _Inliner:
    return _Inliner()  # one for the process: kinds share the definitions they have in common


class _Inliner:
    def __init__(self) -> None:
        self._done: dict[str, Schema] = {}
        self._open: set[str] = set()

    def definition(self, name: str) -> Schema:
        if name in self._done:
            return self._done[name]
        if name in self._open:
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        self._open.add(name)
        converted = self.node(definitions()[name], name)
        self._open.discard(name)
        self._done[name] = converted
        return converted

    def node(self, node: Schema, name: str | None = None) -> Schema:
        target = ref_name(node)
        if target is not None:
            inlined = dict(self.definition(target))
            inlined.update({k: v for k, v in node.items() if k != "$ref"})
            return inlined
        if name == INT_OR_STRING:
            return {"x-kubernetes-int-or-string": True, "description": node.get("description", "")}
        result: Schema = {}
        for key, value in node.items():
            if key == "type":
                kinds = types_of(node)
                if kinds:
                    result["type"] = kinds[0]
            elif key == "properties":
                result["properties"] = {k: self.node(v) for k, v in value.items()}
                for prop in ("apiVersion", "kind"):  # their enum came with the JSON Schema conversion
                    if prop in result["properties"]:
                        result["properties"][prop].pop("enum", None)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                result[key] = self.node(value)
            elif key == "oneOf":
                result["oneOf"] = [self.node(v) for v in value]
            else:
                result[key] = value
        return result


# -- OpenAPI documents ----------------------------------------------------------------------------


def openapi_node(node: Any, ref_prefix: str, *, v3: bool) -> Any:
    """A stored definition (or part) as kube-apiserver's OpenAPI documents write it: one type,
    no added nulls and enums, refs under ``ref_prefix``; IntOrString and Quantity as v2 (string
    with format int-or-string / string) or v3 (oneOf) describe them."""
    if isinstance(node, list):
        return [openapi_node(item, ref_prefix, v3=v3) for item in node]
    if not isinstance(node, dict):
        return node
    result: Schema = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            result[key] = ref_prefix + value[len(_REF_PREFIX):]
        elif key == "type":
            kinds = types_of(node)
            if kinds:
                result["type"] = kinds[0]
        elif key == "properties" and isinstance(value, dict):
            result[key] = {k: _without_type_meta_enum(k, openapi_node(v, ref_prefix, v3=v3)) for k, v in value.items()}
        else:
            result[key] = openapi_node(value, ref_prefix, v3=v3)
    if "$ref" in result and v3 and len(result) > 1:
        # kube-openapi v3 wraps a reference with siblings (description, default) in allOf.
        result = {"allOf": [{"$ref": result.pop("$ref")}], **result}
    return result


def _without_type_meta_enum(key: str, node: Schema) -> Schema:
    if key in ("apiVersion", "kind"):
        node.pop("enum", None)
    return node


def openapi_definition(name: str, ref_prefix: str, *, v3: bool) -> Schema:
    definition = definitions()[name]
    if name == INT_OR_STRING:
        if v3:
            return {"description": definition.get("description", ""), "format": "int-or-string",
                    "oneOf": [{"type": "integer"}, {"type": "string"}]}
        return {"description": definition.get("description", ""), "type": "string", "format": "int-or-string"}
    if name == QUANTITY:
        if v3:
            return {"description": definition.get("description", ""),
                    "oneOf": [{"type": "string"}, {"type": "number"}]}
        return {"description": definition.get("description", ""), "type": "string"}
    converted: Schema = openapi_node(definition, ref_prefix, v3=v3)
    return converted


def referenced(names: list[str]) -> list[str]:
    """``names`` and every definition they reference, transitively (for a self-contained document)."""
    seen: dict[str, None] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen or name not in definitions():
            continue
        seen[name] = None
        pending.extend(_refs_in(definitions()[name]))
    return sorted(seen)


def _refs_in(node: Any) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _refs_in(item)]
    if not isinstance(node, dict):
        return []
    found = [name] if (name := ref_name(node)) else []
    return found + [ref for key, value in node.items() if key != "$ref" for ref in _refs_in(value)]
