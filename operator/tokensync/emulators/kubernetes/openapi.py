"""OpenAPI documents as kube-apiserver v1.32 serves them: v3 per group-version, v2 in one.

Built-in kinds are described by Kubernetes' own definitions (builtin_schemas.py); custom
resources by their CRD version's schema, with apiVersion, kind and metadata added as
apiextensions-apiserver publishes them.

What kubectl 1.32 reads:

- ``/openapi/v3`` and the group-version documents it lists. Every PATCH operation declares the
  ``fieldValidation`` parameter, so kubectl leaves validation to the server; its request body
  lists the patch types the server takes, and for built-in kinds that includes
  ``application/strategic-merge-patch+json``, so client-side ``kubectl apply`` computes its
  three-way strategic merge patch from these schemas (their ``x-kubernetes-patch-*``), as
  against a cluster. Custom resources get a JSON merge patch.
- ``kubectl explain`` renders the v3 document (the kind's schema, found by
  ``x-kubernetes-group-version-kind``, refs under ``#/components/schemas/``).
- ``/openapi/v2`` only in protobuf (client-go sends no other Accept), which the emulator does
  not produce: :func:`v2_document` is the JSON form, for clients that ask for JSON.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from . import builtin_schemas
from .resources import Registry, Resource

OPENAPI_VERSION = "v1.32.0"  # server.py's VERSION_INFO
_V3_REF = "#/components/schemas/"
_V2_REF = "#/definitions/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_COMMON_DEFINITIONS = [f"{_META}.{name}" for name in ("ObjectMeta", "Status", "DeleteOptions", "Patch",
                                                      "WatchEvent", "APIResourceList")]
PATCH_TYPES = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"]
STRATEGIC_PATCH = "application/strategic-merge-patch+json"


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


# -- naming ------------------------------------------------------------------------------------------


def _camel(group: str) -> str:
    """The group as kube-openapi names operations: "" -> Core, rbac.authorization.k8s.io -> RbacAuthorization."""
    if not group:
        return "Core"
    trimmed = group.removesuffix(".k8s.io")
    return "".join(part[:1].upper() + part[1:] for part in trimmed.replace("-", ".").split("."))


def custom_schema_name(resource: Resource) -> str:
    """A custom resource's schema name: the group reversed, version, kind (com.example.v1.Widget)."""
    return ".".join([*reversed(resource.group.split(".")), resource.version, resource.kind])


def schema_name(resource: Resource) -> str:
    return resource.definition or custom_schema_name(resource)


def _list_name(resource: Resource) -> str | None:
    if resource.definition:
        name = f"{resource.definition}List"
        return name if name in builtin_schemas.definitions() else None
    return None


# -- operations --------------------------------------------------------------------------------------


def _query(name: str, v3: bool, kind: str = "string") -> dict[str, Any]:
    schema = {"type": kind, "uniqueItems": True}
    return {"name": name, "in": "query", **({"schema": schema} if v3 else schema)}


_WRITE_QUERY = ("dryRun", "fieldManager", "fieldValidation")
_LIST_QUERY = (("allowWatchBookmarks", "boolean"), ("continue", "string"), ("fieldSelector", "string"),
               ("labelSelector", "string"), ("limit", "integer"), ("resourceVersion", "string"),
               ("resourceVersionMatch", "string"), ("timeoutSeconds", "integer"), ("watch", "boolean"))


class _Operations:
    """The operations of one resource, in v3 or v2 form."""

    def __init__(self, resource: Resource, *, v3: bool) -> None:
        self.resource = resource
        self.v3 = v3
        self.ref = (_V3_REF if v3 else _V2_REF) + schema_name(resource)
        self.gvk = {"group": resource.group, "version": resource.version, "kind": resource.kind}
        self.suffix = f"{_camel(resource.group)}{resource.version.capitalize()}"
        self.tag = f"{resource.group.removesuffix('.k8s.io').replace('.', '_') or 'core'}_{resource.version}"

    def _op(self, verb: str, action: str, scope: str, *, body: dict[str, Any] | None = None,
            query: tuple[str, ...] = (), response: str | None = None, listing: bool = False) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "description": f"{action} {'list of ' if listing else ''}{self.resource.kind}",
            "operationId": f"{verb}{self.suffix}{scope}{self.resource.kind}",
            "tags": [self.tag],
            "parameters": [_query(q, self.v3) for q in query],
            "responses": self._responses(response or self.ref),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": self.gvk,
        }
        if listing:
            operation["parameters"] += [_query(name, self.v3, kind) for name, kind in _LIST_QUERY]
        if body is not None:
            self._add_body(operation, body)
        return operation

    def _responses(self, ref: str) -> dict[str, Any]:
        if self.v3:
            return {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}},
                    "401": {"description": "Unauthorized"}}
        return {"200": {"description": "OK", "schema": {"$ref": ref}}, "401": {"description": "Unauthorized"}}

    def _add_body(self, operation: dict[str, Any], body: dict[str, Any]) -> None:
        media_types = body["types"]
        schema = {"$ref": body["ref"]}
        if self.v3:
            operation["requestBody"] = {"content": {t: {"schema": schema} for t in media_types}, "required": True}
        else:
            operation["consumes"] = media_types
            operation["parameters"].insert(0, {"name": "body", "in": "body", "required": True, "schema": schema})

    def _patch_body(self) -> dict[str, Any]:
        types = PATCH_TYPES + ([STRATEGIC_PATCH] if self.resource.builtin else [])
        return {"types": sorted(types), "ref": (_V3_REF if self.v3 else _V2_REF) + f"{_META}.Patch"}

    def paths(self) -> dict[str, dict[str, Any]]:
        resource, verbs = self.resource, set(self.resource.verbs)
        scope = "Namespaced" if resource.namespaced else ""
        base = f"{resource.base_path}{'/namespaces/{namespace}' if resource.namespaced else ''}/{resource.plural}"
        paths: dict[str, dict[str, Any]] = {}
        collection: dict[str, Any] = {}
        if "list" in verbs:
            collection["get"] = self._op("list", "list", scope, listing=True, response=self._list_ref())
        if "create" in verbs:
            collection["post"] = self._op("create", "post", scope, body={"types": ["*/*"], "ref": self.ref},
                                          query=_WRITE_QUERY)
        if collection:
            paths[base] = {**collection, "parameters": self._path_parameters(named=False)}
        item = self._item_operations(scope)
        if item:
            paths[f"{base}/{{name}}"] = {**item, "parameters": self._path_parameters(named=True)}
        if resource.status_subresource:
            status = self._status_operations(scope)
            paths[f"{base}/{{name}}/status"] = {**status, "parameters": self._path_parameters(named=True)}
        if resource.namespaced and "list" in verbs:
            everywhere = self._op("list", "list", "", listing=True, response=self._list_ref())
            everywhere["operationId"] += "ForAllNamespaces"
            paths[f"{resource.base_path}/{resource.plural}"] = {"get": everywhere}
        return paths

    def _item_operations(self, scope: str) -> dict[str, Any]:
        verbs, item = set(self.resource.verbs), {}
        if "get" in verbs:
            item["get"] = self._op("read", "get", scope)
        if "update" in verbs:
            item["put"] = self._op("replace", "put", scope, body={"types": ["*/*"], "ref": self.ref},
                                   query=_WRITE_QUERY)
        if "patch" in verbs:
            item["patch"] = self._op("patch", "patch", scope, body=self._patch_body(), query=(*_WRITE_QUERY, "force"))
        if "delete" in verbs:
            item["delete"] = self._op("delete", "delete", scope, query=("dryRun", "gracePeriodSeconds",
                                                                       "propagationPolicy"),
                                      response=(_V3_REF if self.v3 else _V2_REF) + f"{_META}.Status")
        return item

    def _status_operations(self, scope: str) -> dict[str, Any]:
        operations = {
            "get": self._op("read", "get", scope),
            "put": self._op("replace", "put", scope, body={"types": ["*/*"], "ref": self.ref}, query=_WRITE_QUERY),
            "patch": self._op("patch", "patch", scope, body=self._patch_body(), query=(*_WRITE_QUERY, "force")),
        }
        for operation in operations.values():
            operation["operationId"] += "Status"
        return operations

    def _list_ref(self) -> str:
        name = _list_name(self.resource)
        return (_V3_REF if self.v3 else _V2_REF) + name if name else self.ref

    def _path_parameters(self, *, named: bool) -> list[dict[str, Any]]:
        names = (["name"] if named else []) + (["namespace"] if self.resource.namespaced else [])
        parameters = []
        for name in names:
            schema = {"type": "string", "uniqueItems": True}
            parameters.append({"name": name, "in": "path", "required": True,
                               **({"schema": schema} if self.v3 else schema)})
        return [*parameters, _query("pretty", self.v3)]


# -- schemas -----------------------------------------------------------------------------------------


def _builtin_names(resources: list[Resource]) -> tuple[str, ...]:
    names = [r.definition for r in resources if r.definition]
    names += [n for n in (_list_name(r) for r in resources) if n]
    return tuple(builtin_schemas.referenced([*names, *_COMMON_DEFINITIONS]))


@functools.lru_cache(maxsize=64)
def _converted(names: tuple[str, ...], v3: bool) -> dict[str, Any]:
    """Definitions as served; the built-in ones never change, so each set is converted once."""
    prefix = _V3_REF if v3 else _V2_REF
    return {name: builtin_schemas.openapi_definition(name, prefix, v3=v3) for name in names}


def _custom_schema(resource: Resource, v3: bool) -> dict[str, Any]:
    """A CRD version's schema as apiextensions-apiserver publishes it: apiVersion, kind and
    metadata (ObjectMeta) added, the group-version-kind marked."""
    schema = dict(resource.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    properties = dict(schema.get("properties") or {})
    meta_ref = {"$ref": (_V3_REF if v3 else _V2_REF) + f"{_META}.ObjectMeta"}
    properties.update({
        "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this "
                                                        "representation of an object."},
        "kind": {"type": "string", "description": "Kind is a string value representing the REST resource this "
                                                  "object represents."},
        "metadata": {"allOf": [meta_ref]} if v3 else meta_ref,
    })
    schema["properties"] = properties
    schema["x-kubernetes-group-version-kind"] = [{"group": resource.group, "version": resource.version,
                                                  "kind": resource.kind}]
    return schema


def _schemas(resources: list[Resource], v3: bool) -> dict[str, Any]:
    schemas = dict(_converted(_builtin_names(resources), v3))
    for resource in resources:
        if not resource.definition:
            schemas[custom_schema_name(resource)] = _custom_schema(resource, v3)
    return schemas


# -- documents ---------------------------------------------------------------------------------------


def _served(registry: Registry, group: str, version: str) -> list[Resource]:
    return sorted((r for r in registry.all() if r.group == group and r.version == version), key=lambda r: r.plural)


def group_version_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    """``/openapi/v3/apis/<group>/<version>`` (``/openapi/v3/api/v1`` for the core group)."""
    served = _served(registry, group, version)
    if not served:
        return None
    paths: dict[str, Any] = {}
    for resource in served:
        paths.update(_Operations(resource, v3=True).paths())
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": OPENAPI_VERSION}, "paths": paths,
            "components": {"schemas": _schemas(served, v3=True),
                           "securitySchemes": {"BearerToken": {"type": "apiKey", "name": "authorization",
                                                               "in": "header",
                                                               "description": "Bearer Token authentication"}}}}


def _fingerprint(resources: list[Resource]) -> str:
    """What a document is made of; builds the ``hash`` kubectl caches documents by."""
    parts = [(r.group, r.version, r.plural, r.kind, r.namespaced, r.definition or "", list(r.verbs),
              r.status_subresource, None if r.definition else r.schema) for r in resources]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32].upper()


def root_document(registry: Registry) -> dict[str, Any]:
    """``/openapi/v3``: every group-version document, by a URL that changes when it does."""
    paths = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            digest = _fingerprint(_served(registry, group, version))
            paths[_gv_path(group, version)] = {"serverRelativeURL": f"/openapi/v3/{_gv_path(group, version)}"
                                                                    f"?hash={digest}"}
    return {"paths": paths}


def v2_document(registry: Registry) -> dict[str, Any]:
    """``/openapi/v2`` in JSON (``Accept: application/json``): every resource in one Swagger 2.0 document."""
    resources = sorted(registry.all(), key=lambda r: (r.group, r.version, r.plural))
    paths: dict[str, Any] = {}
    for resource in resources:
        paths.update(_Operations(resource, v3=False).paths())
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": OPENAPI_VERSION}, "paths": paths,
            "definitions": _schemas(resources, v3=False),
            "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}},
            "security": [{"BearerToken": []}]}


def v2_acceptable(accept: str) -> bool:
    """Whether a client asking ``/openapi/v2`` with this Accept header takes JSON (client-go asks
    only for protobuf: it gets 406 Not Acceptable and falls back as it does against a server
    without the document)."""
    if not accept.strip():
        return True
    media = [part.split(";")[0].strip() for part in accept.split(",")]
    return any(m in ("application/json", "*/*", "application/*") for m in media)
