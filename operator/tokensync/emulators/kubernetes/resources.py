"""Served resources: the built-in kinds of a Kubernetes 1.32 cluster, CRD-registered kinds, discovery documents."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from . import builtin_schemas
from .builtin_kinds import BUILTIN_KINDS, CRUD, STATUS, BuiltinKind, Subresource

ALL_VERBS = list(CRUD)  # what the emulator serves on an ordinary kind, as a cluster lists them
AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
# Resources kube-apiserver keeps in another's storage (pkg/kubeapiserver/default_storage_factory_builder.go,
# AddCohabitatingResources): events.k8s.io Events are core Events (event_conversion.py converts).
STORAGE_ALIASES: dict[tuple[str, str], tuple[str, str]] = {("events.k8s.io", "events"): ("", "events")}


def wants_aggregated_discovery(accept: str) -> bool:
    """Whether an Accept header asks /api or /apis for aggregated discovery (apidiscovery.k8s.io/v2,
    which kubectl 1.32 and client-go list first)."""
    for media_type in accept.split(","):
        params = dict(p.strip().partition("=")[::2] for p in media_type.split(";")[1:])
        if (params.get("g"), params.get("v"), params.get("as")) == ("apidiscovery.k8s.io", "v2",
                                                                      "APIGroupDiscoveryList"):
            return True
    return False


@dataclass
class Resource:
    """One (group, version, plural) the server serves."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    status_subresource: bool = False
    has_generation: bool = False
    builtin: bool = True
    # Custom resources: the CRD version's openAPIV3Schema. Built-in kinds: Kubernetes' own
    # schema in the same structural form (builtin_schemas.structural_schema), with the list and
    # patch markers (x-kubernetes-list-type, -list-map-keys, -patch-merge-key, -patch-strategy).
    schema: dict[str, Any] | None = None
    printer_columns: list[dict[str, Any]] = field(default_factory=list)
    storage: bool = True
    # A CRD version's spec.selectableFields, as field labels ("spec.color" for jsonPath ".spec.color").
    selectable_fields: list[str] = field(default_factory=list)
    verbs: list[str] = field(default_factory=lambda: list(ALL_VERBS))
    # Subresources other than status, as discovery lists them (status, scale and serviceaccounts/token are served).
    subresources: list[Subresource] = field(default_factory=list)
    # Built-in kinds: the OpenAPI definition (io.k8s.api.core.v1.Secret) their objects follow.
    definition: str | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Objects are stored per (group, plural): all versions of a kind share one store."""
        return (self.group, self.plural)

    @property
    def storage_key(self) -> tuple[str, str]:
        """The store the objects live in: ``key``, or the resource it shares storage with."""
        return STORAGE_ALIASES.get(self.key, self.key)

    @property
    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"

    def _all_subresources(self) -> list[Subresource]:
        listed = list(self.subresources)
        if self.status_subresource and not any(s.name == "status" for s in listed):
            listed.append(STATUS)
        return sorted(listed, key=lambda s: s.name)

    def discovery_entries(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = self.short_names
        if self.categories:
            entry["categories"] = self.categories
        entries = [entry]
        for sub in self._all_subresources():
            # Subresources carry no shortNames/categories, so kubectl never matches them by name.
            sub_entry: dict[str, Any] = {"name": f"{self.plural}/{sub.name}", "singularName": "",
                                         "namespaced": self.namespaced, "kind": sub.kind or self.kind,
                                         "verbs": list(sub.verbs)}
            if sub.group is not None:
                sub_entry.update(group=sub.group, version=sub.version)
            entries.append(sub_entry)
        return entries

    def aggregated_entry(self) -> dict[str, Any]:
        """This resource in aggregated discovery (apidiscovery.k8s.io/v2 APIResourceDiscovery)."""
        entry: dict[str, Any] = {
            "resource": self.plural,
            "responseKind": {"group": "", "version": "", "kind": self.kind},
            "scope": "Namespaced" if self.namespaced else "Cluster",
            "singularResource": self.singular,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = self.short_names
        if self.categories:
            entry["categories"] = self.categories
        subresources = [{"subresource": sub.name, "verbs": list(sub.verbs),
                         "responseKind": {"group": sub.group or "", "version": sub.version or "",
                                          "kind": sub.kind or self.kind}}
                        for sub in self._all_subresources()]
        if subresources:
            entry["subresources"] = subresources
        return entry


def builtin_resource(kind: BuiltinKind) -> Resource:
    definition = builtin_schemas.definition_name(kind.group, kind.version, kind.kind)
    return Resource(
        kind.group, kind.version, kind.plural, kind.singular, kind.kind, kind.namespaced,
        short_names=list(kind.short_names), categories=list(kind.categories),
        status_subresource=any(s.name == "status" for s in kind.subresources), has_generation=kind.generation,
        schema=builtin_schemas.structural_schema(definition) if definition else None,
        verbs=list(kind.verbs), subresources=[s for s in kind.subresources if s.name != "status"],
        definition=definition)


@functools.cache
def _builtin_resources() -> tuple[Resource, ...]:
    return tuple(builtin_resource(kind) for kind in BUILTIN_KINDS)


def builtin_resources() -> list[Resource]:
    """The built-in kinds of a Kubernetes 1.32 cluster (loads their schemas on the first call)."""
    return list(_builtin_resources())


class _BuiltinResources(Sequence[Resource]):
    """``BUILTIN_RESOURCES`` as a sequence that loads the schemas when first read, not at import."""

    @overload
    def __getitem__(self, index: int) -> Resource: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Resource]: ...
    def __getitem__(self, index: int | slice) -> Resource | Sequence[Resource]:
        return _builtin_resources()[index]

    def __len__(self) -> int:
        return len(_builtin_resources())


BUILTIN_RESOURCES: Sequence[Resource] = _BuiltinResources()


def resources_from_crd(crd: dict[str, Any]) -> list[Resource]:
    """The resources a CustomResourceDefinition (apiextensions.k8s.io/v1) declares, one per served version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    result = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        result.append(Resource(
            group=spec.get("group", ""),
            version=version["name"],
            plural=names.get("plural", ""),
            singular=names.get("singular") or names.get("kind", "").lower(),
            kind=names.get("kind", ""),
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=list(names.get("shortNames") or []),
            categories=list(names.get("categories") or []),
            status_subresource="status" in subresources,
            has_generation=True,
            builtin=False,
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
            printer_columns=list(version.get("additionalPrinterColumns") or []),
            storage=bool(version.get("storage", False)),
            selectable_fields=[str(f.get("jsonPath", "")).lstrip(".") for f in version.get("selectableFields") or []
                               if isinstance(f, dict) and f.get("jsonPath")],
        ))
    return result


class Registry:
    """Resources by group/version/plural and by kind; produces the discovery documents kubectl reads."""

    def __init__(self, resources: Iterable[Resource] | None = None) -> None:
        self._resources: dict[tuple[str, str, str], Resource] = {}
        for resource in builtin_resources() if resources is None else resources:
            self.add(resource)

    def add(self, resource: Resource) -> None:
        self._resources[(resource.group, resource.version, resource.plural)] = resource

    def remove_group_plural(self, group: str, plural: str) -> None:
        for key in [k for k in self._resources if k[0] == group and k[2] == plural]:
            del self._resources[key]

    def all(self) -> list[Resource]:
        return list(self._resources.values())

    def get(self, group: str, version: str, plural: str) -> Resource | None:
        return self._resources.get((group, version, plural))

    def find(self, api_version: str, kind_or_plural: str) -> Resource | None:
        group, _, version = api_version.rpartition("/")
        for resource in self._resources.values():
            if resource.group == group and resource.version == version and kind_or_plural in (
                    resource.kind, resource.plural, resource.singular):
                return resource
        return None

    def group_versions(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for resource in self._resources.values():
            versions = groups.setdefault(resource.group, [])
            if resource.version not in versions:
                versions.append(resource.version)
        return groups

    def api_versions_doc(self, server_address: str) -> dict[str, Any]:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}

    def _ordered_groups(self) -> list[tuple[str, list[str]]]:
        """Named groups as kube-apiserver lists them: built-in groups in its priority order, then
        the others by name; each group's versions by version priority (the preferred one first)."""
        found = self.group_versions()
        found.pop("", None)
        names = sorted(found, key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER), g))
        return [(name, sorted(found[name], key=_version_priority)) for name in names]

    def api_group_list_doc(self) -> dict[str, Any]:
        groups = []
        for group, ordered in self._ordered_groups():
            groups.append({
                "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in ordered],
                "preferredVersion": {"groupVersion": f"{group}/{ordered[0]}", "version": ordered[0]},
            })
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def api_group_doc(self, group: str) -> dict[str, Any] | None:
        for entry in self.api_group_list_doc()["groups"]:
            if entry["name"] == group:
                return {"kind": "APIGroup", "apiVersion": "v1", **entry}
        return None

    def resource_list_doc(self, group: str, version: str) -> dict[str, Any] | None:
        served = self._served(group, version)
        if not served:
            return None
        entries = [entry for r in sorted(served, key=lambda r: r.plural) for entry in r.discovery_entries()]
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": entries}

    def aggregated_discovery_doc(self, core: bool) -> dict[str, Any]:
        """Aggregated discovery (apidiscovery.k8s.io/v2), what kubectl 1.32 asks /api and /apis for
        first (Accept: AGGREGATED_DISCOVERY, ...): every group, version and resource in one answer.
        ``core``: the /api document (the legacy group, unnamed), else the /apis one."""
        groups = [("", ["v1"])] if core else self._ordered_groups()
        items = []
        for group, versions in groups:
            metadata: dict[str, Any] = {"creationTimestamp": None}
            if group:
                metadata["name"] = group
            items.append({"metadata": metadata, "versions": [
                {"version": version, "freshness": "Current", "resources": [
                    r.aggregated_entry() for r in sorted(self._served(group, version), key=lambda r: r.plural)]}
                for version in versions]})
        return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
                "items": items}

    def _served(self, group: str, version: str) -> list[Resource]:
        return [r for r in self._resources.values() if r.group == group and r.version == version]


# kube-apiserver's group order in discovery (its priority list; kubernetes/kubernetes
# api/discovery/aggregated_v2.json shows it), which kubectl's RESTMapper follows.
GROUP_ORDER = [
    "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
    "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io", "policy", "rbac.authorization.k8s.io",
    "storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
    "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "flowcontrol.apiserver.k8s.io",
]


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA > beta > alpha, higher numbers first."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (3, 0, 0)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0))
