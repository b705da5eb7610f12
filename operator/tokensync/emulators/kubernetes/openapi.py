"""OpenAPI documents, just enough for kubectl.

kubectl 1.32 asks ``/openapi/v3`` whether PATCH of a kind accepts the ``fieldValidation``
query parameter; when it does, kubectl leaves validation to the server (this emulator validates
custom resources against their CRD schema) instead of downloading ``/openapi/v2`` (protobuf).
Each group-version document lists, per resource, the item path with a PATCH operation tagged
``x-kubernetes-group-version-kind`` and the ``fieldValidation`` parameter. Request bodies are
not declared, so ``kubectl apply`` computes patches from its compiled-in types (strategic merge
for built-ins) or falls back to JSON merge patch for custom resources, as with a real CRD.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .resources import Registry, Resource


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _item_path(resource: Resource) -> str:
    namespace = "/namespaces/{namespace}" if resource.namespaced else ""
    return f"{resource.base_path}{namespace}/{resource.plural}/{{name}}"


# Operation-level parameters, where kube-apiserver declares them and kubectl looks for them.
_PATCH_PARAMETERS = [
    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
]


def group_version_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    served = [r for r in registry.all() if r.group == group and r.version == version]
    if not served:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for resource in served:
        gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
        schema_name = f"{resource.group or 'core'}.{resource.version}.{resource.kind}"
        schemas[schema_name] = {**(resource.schema or {"type": "object"}), "x-kubernetes-group-version-kind": [gvk]}
        paths[_item_path(resource)] = {
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"operationId": f"read{resource.kind}", "x-kubernetes-group-version-kind": gvk,
                    "x-kubernetes-action": "get",
                    "responses": {"200": {"description": "OK", "content": {"application/json": {
                        "schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}}},
            "patch": {"operationId": f"patch{resource.kind}", "x-kubernetes-group-version-kind": gvk,
                      "x-kubernetes-action": "patch", "parameters": _PATCH_PARAMETERS,
                      "responses": {"200": {"description": "OK"}}},
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths,
            "components": {"schemas": schemas}}


def root_document(registry: Registry) -> dict[str, Any]:
    paths = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            document = group_version_document(registry, group, version)
            digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32].upper()
            paths[_gv_path(group, version)] = {"serverRelativeURL": f"/openapi/v3/{_gv_path(group, version)}"
                                                                    f"?hash={digest}"}
    return {"paths": paths}
