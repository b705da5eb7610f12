"""The structure server-side apply reads from a kind's schema: which map keys are declared
fields, which lists are atomic, sets or maps keyed by some fields, which maps are atomic.

kube-apiserver builds this (an SMD ``schema.Schema``) from the OpenAPI models: for a custom
resource from its CRD's openAPIV3Schema (apiextensions-apiserver, "managedfields
NewTypeConverter"), for built-in kinds from the compiled-in OpenAPI definitions (kube-openapi
pkg/schemaconv). The rules modelled here:

- ``properties`` are declared fields (struct fields); ``additionalProperties`` gives the type of
  the other keys (map elements); ``x-kubernetes-preserve-unknown-fields`` makes the rest
  "deduced" (maps granular, lists atomic, anything accepted);
- ``x-kubernetes-list-type``: ``atomic`` (the default), ``set`` (items by value), ``map`` with
  ``x-kubernetes-list-map-keys``; without a list type, ``x-kubernetes-patch-strategy: merge``
  with ``x-kubernetes-patch-merge-key`` is a map keyed by that field (schemaconv's fallback);
- ``x-kubernetes-map-type: atomic`` (or ``granular``), ``x-kubernetes-embedded-resource``;
- ``metadata`` is always ObjectMeta: ownerReferences keyed by uid, finalizers a set.

Built-in kinds read Kubernetes' own schemas (``Resource.schema``, from builtin_schemas.py),
which lack the ``+default`` of list-map key fields: ``protocol`` defaults to TCP as in
kube-apiserver's OpenAPI v3. A built-in kind without a schema (a Registry built by hand) gets
:class:`FallbackNode`: every key a declared field except in the well-known string maps (labels,
data, ...), and lists keyed by the ``patchMergeKey``/``listMapKey`` of the k8s.io/api types.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from .resources import Resource

_MISSING = object()


class TypeNode:
    """The schema of one value (SMD's schema.Atom), asked only what apply needs.

    The base class is SMD's "deduced" type (``__untyped_deduced_``): every map key is an
    undeclared element, maps are granular, lists atomic.
    """

    map_atomic = False
    list_type = "atomic"  # "atomic", "set" or "map"
    list_keys: tuple[str, ...] = ()

    def child(self, name: str) -> tuple[TypeNode, bool]:
        """The type of map key ``name`` and whether it is a declared (struct) field."""
        return DEDUCED, False

    def accepts(self, name: str) -> bool:
        """False when ``name`` is neither declared nor allowed as an extra key."""
        return True

    def item(self) -> TypeNode:
        return DEDUCED

    def key_default(self, name: str) -> Any:
        """The schema default of list-map key field ``name`` (``_MISSING`` when none)."""
        return _MISSING


DEDUCED = TypeNode()


def key_default_missing(value: Any) -> bool:
    return value is _MISSING


Resolver = Callable[[str], Mapping[str, Any] | None]


class OpenApiNode(TypeNode):
    """A node read from an OpenAPI v3 (or CRD structural) schema."""

    def __init__(self, schema: Mapping[str, Any], resolve: Resolver, *, overrides: Mapping[str, TypeNode] | None = None,
                 builtin: bool = False) -> None:
        self.schema = _flatten(schema, resolve)
        self.resolve = resolve
        # A built-in kind's schema (converted from Kubernetes' OpenAPI) comes without the +default
        # markers of list-map key fields, and may show a type it cannot describe (RawExtension)
        # as a bare object: both are read leniently.
        self.builtin = builtin
        self.overrides = dict(overrides or {})
        self._children: dict[str, tuple[TypeNode, bool]] = {}
        self._item: TypeNode | None = None
        schema = self.schema
        self.map_atomic = schema.get("x-kubernetes-map-type") == "atomic"
        self.list_type, self.list_keys = _list_semantics(schema)
        if schema.get("x-kubernetes-embedded-resource"):
            self.overrides.setdefault("metadata", object_meta())
        self._preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))

    def child(self, name: str) -> tuple[TypeNode, bool]:
        cached = self._children.get(name)
        if cached is None:
            cached = self._child(name)
            self._children[name] = cached
        return cached

    def _child(self, name: str) -> tuple[TypeNode, bool]:
        if name in self.overrides:
            return self.overrides[name], True
        properties = self.schema.get("properties") or {}
        if name in properties:
            return _node(properties[name], self.resolve, self.builtin), True
        extra = self.schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            return _node(extra, self.resolve, self.builtin), False
        return DEDUCED, False

    def accepts(self, name: str) -> bool:
        if name in self.overrides or name in (self.schema.get("properties") or {}):
            return True
        extra = self.schema.get("additionalProperties")
        return self._preserve or extra is True or isinstance(extra, Mapping) or not self._closed()

    def _closed(self) -> bool:
        """Whether keys the schema does not declare are refused: a struct with properties, or a
        CRD's bare ``type: object`` (an empty struct). A built-in schema may show a type it cannot
        describe (RawExtension) as a bare object, and a schema without a type says nothing."""
        if self.schema.get("properties"):
            return True
        return self.schema.get("type") == "object" and not self.builtin

    def item(self) -> TypeNode:
        if self._item is None:
            items = self.schema.get("items")
            self._item = _node(items, self.resolve, self.builtin) if isinstance(items, Mapping) else DEDUCED
        return self._item

    def key_default(self, name: str) -> Any:
        items = self.schema.get("items")
        if not isinstance(items, Mapping):
            return _MISSING
        prop = (_flatten(items, self.resolve).get("properties") or {}).get(name)
        if isinstance(prop, Mapping):
            prop = _flatten(prop, self.resolve)
            if "default" in prop:
                return prop["default"]
        return _KEY_DEFAULTS.get(name, _MISSING) if self.builtin else _MISSING


def _node(schema: Mapping[str, Any], resolve: Resolver, builtin: bool) -> TypeNode:
    flat = _flatten(schema, resolve)
    if not flat or (flat.get("x-kubernetes-preserve-unknown-fields") and not flat.get("properties")
                    and flat.get("type") in (None, "object") and "additionalProperties" not in flat):
        return DEDUCED
    return OpenApiNode(flat, resolve, builtin=builtin)


def _flatten(schema: Mapping[str, Any], resolve: Resolver) -> Mapping[str, Any]:
    """A schema with its ``$ref`` and single-branch ``allOf`` (how OpenAPI v3 wraps refs) inlined."""
    seen = 0
    while seen < 32:
        seen += 1
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = resolve(ref)
            if target is None:
                return {}
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            continue
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            schema = {**all_of[0], **{k: v for k, v in schema.items() if k != "allOf"}}
            continue
        return schema
    return schema


def _list_semantics(schema: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "map":
        return "map", tuple(schema.get("x-kubernetes-list-map-keys") or ())
    if list_type in ("set", "atomic"):
        return str(list_type), ()
    strategy = str(schema.get("x-kubernetes-patch-strategy") or "")
    if "merge" in strategy.split(","):
        key = schema.get("x-kubernetes-patch-merge-key")
        return ("map", (str(key),)) if key else ("set", ())
    return "atomic", ()


def _no_refs(ref: str) -> Mapping[str, Any] | None:
    return None


def _string_map() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": {"type": "string"}}


_OWNER_REFERENCE = {"type": "object", "properties": {
    name: {"type": kind} for name, kind in (("apiVersion", "string"), ("kind", "string"), ("name", "string"),
                                            ("uid", "string"), ("controller", "boolean"),
                                            ("blockOwnerDeletion", "boolean"))}}
# k8s.io/apimachinery ObjectMeta, with the list and map semantics its Go tags declare.
OBJECT_META_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    **{name: {"type": "string"} for name in ("name", "generateName", "namespace", "selfLink", "uid",
                                             "resourceVersion", "creationTimestamp", "deletionTimestamp")},
    "generation": {"type": "integer"},
    "deletionGracePeriodSeconds": {"type": "integer"},
    "labels": _string_map(),
    "annotations": _string_map(),
    "ownerReferences": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["uid"],
                        "items": _OWNER_REFERENCE},
    "finalizers": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
    "managedFields": {"type": "array", "x-kubernetes-list-type": "atomic", "items": {"type": "object"}},
}}
_OBJECT_META: list[TypeNode] = []


def object_meta() -> TypeNode:
    if not _OBJECT_META:
        _OBJECT_META.append(OpenApiNode(OBJECT_META_SCHEMA, _no_refs))
    return _OBJECT_META[0]


def _resolver(document: Mapping[str, Any]) -> Resolver:
    """``#/components/schemas/X`` or ``#/definitions/X`` looked up in the schema's own document."""
    tables = [document.get("components", {}).get("schemas") if isinstance(document.get("components"), Mapping)
              else None, document.get("definitions")]

    def resolve(ref: str) -> Mapping[str, Any] | None:
        name = ref.rsplit("/", 1)[-1]
        for table in tables:
            if isinstance(table, Mapping) and isinstance(table.get(name), Mapping):
                return table[name]  # type: ignore[no-any-return]
        return None

    return resolve


_TOP_LEVEL = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}


def root_node(resource: Resource) -> TypeNode:
    """The type of a whole object of ``resource``'s kind."""
    if resource.schema:
        overrides: dict[str, TypeNode] = {"metadata": object_meta()}
        for name, schema in _TOP_LEVEL.items():
            overrides[name] = OpenApiNode(schema, _no_refs)
        return OpenApiNode(resource.schema, _resolver(resource.schema), overrides=overrides,
                           builtin=resource.builtin)
    return FallbackNode(resource, ())


# -- built-in kinds without a schema ---------------------------------------------------------------

# Maps whose keys are data, not fields (map[string]string / map[string]Quantity in k8s.io/api).
_STRING_MAPS = frozenset({"labels", "annotations", "data", "binaryData", "stringData", "nodeSelector",
                          "matchLabels", "limits", "requests", "capacity", "allocatable"})
# metav1.LabelSelector is +structType=atomic.
_LABEL_SELECTORS = frozenset({"selector", "labelSelector", "namespaceSelector", "podSelector"})
# Field name -> list-map keys, from the listMapKey/patchMergeKey tags of k8s.io/api (core, apps,
# coordination, events); defaults of key fields from their OpenAPI ``default``.
_LIST_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",), "env": ("name",),
    "volumes": ("name",), "volumeMounts": ("mountPath",), "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",), "conditions": ("type",), "ownerReferences": ("uid",), "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"), "secrets": ("name",),
    "resourceClaims": ("name",), "ports": ("containerPort", "protocol"),
}
_SERVICE_PORT_KEYS = ("port", "protocol")
_KEY_DEFAULTS = {"protocol": "TCP"}
_SET_LISTS = frozenset({"finalizers"})


class FallbackNode(TypeNode):
    """Built-in kinds before their OpenAPI schema is known: declared fields everywhere except the
    string maps above, lists by the merge keys above (atomic otherwise)."""

    def __init__(self, resource: Resource, path: tuple[str, ...], *, string_map: bool = False,
                 atomic: bool = False) -> None:
        self.resource = resource
        self.path = path
        self.string_map = string_map
        self.map_atomic = atomic
        name = path[-1] if path else ""
        if name in _SET_LISTS:
            self.list_type = "set"
        elif name == "ports" and resource.key == ("", "services"):
            self.list_type, self.list_keys = "map", _SERVICE_PORT_KEYS
        elif name in _LIST_KEYS:
            self.list_type, self.list_keys = "map", _LIST_KEYS[name]

    def child(self, name: str) -> tuple[TypeNode, bool]:
        if self.string_map:
            return DEDUCED, False
        if name == "metadata":
            return object_meta(), True
        path = (*self.path, name)
        if name in _STRING_MAPS or (name == "selector" and self.resource.key == ("", "services")):
            return FallbackNode(self.resource, path, string_map=True), True
        return FallbackNode(self.resource, path, atomic=name in _LABEL_SELECTORS), True

    def item(self) -> TypeNode:
        return FallbackNode(self.resource, (*self.path, "[]"))

    def key_default(self, name: str) -> Any:
        return _KEY_DEFAULTS.get(name, _MISSING)


# What a built-in kind's Go zero value holds (non-pointer structs serialize as {}): the "old
# object" kube-apiserver compares a create against, so these are not owned as new fields.
_POD_TEMPLATE: dict[str, Any] = {"template": {"metadata": {}, "spec": {}}}
_ZERO_VALUES: dict[tuple[str, str], dict[str, Any]] = {
    ("", "pods"): {"spec": {}, "status": {}},
    ("", "services"): {"spec": {}, "status": {"loadBalancer": {}}},
    ("", "namespaces"): {"spec": {}, "status": {}},
    ("apps", "deployments"): {"spec": {**_POD_TEMPLATE, "strategy": {}}, "status": {}},
    ("apps", "statefulsets"): {"spec": {**_POD_TEMPLATE, "updateStrategy": {}}, "status": {}},
    ("apps", "daemonsets"): {"spec": {**_POD_TEMPLATE, "updateStrategy": {}}, "status": {}},
    ("coordination.k8s.io", "leases"): {"spec": {}},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"spec": {"names": {}},
                                                            "status": {"acceptedNames": {}}},
}


def zero_value(resource: Resource) -> dict[str, Any]:
    """The empty object of ``resource``'s kind, as its Go type serializes it."""
    if not resource.builtin:
        return {}
    return copy.deepcopy({"metadata": {}, **_ZERO_VALUES.get(resource.key, {})})
