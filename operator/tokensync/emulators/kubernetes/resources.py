"""Served resources: the built-in kinds tokensync touches, CRD-registered kinds, discovery documents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
SUBRESOURCE_VERBS = ["get", "patch", "update"]


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
    schema: dict[str, Any] | None = None
    printer_columns: list[dict[str, Any]] = field(default_factory=list)
    storage: bool = True
    # A CRD version's spec.selectableFields, as field labels ("spec.color" for jsonPath ".spec.color").
    selectable_fields: list[str] = field(default_factory=list)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> tuple[str, str]:
        """Objects are stored per (group, plural): all versions of a kind share one store."""
        return (self.group, self.plural)

    @property
    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"

    def discovery_entries(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": ALL_VERBS,
        }
        if self.short_names:
            entry["shortNames"] = self.short_names
        if self.categories:
            entry["categories"] = self.categories
        entries = [entry]
        if self.status_subresource:
            # Subresources carry no shortNames/categories, so kubectl never matches them by name.
            entries.append({"name": f"{self.plural}/status", "singularName": "", "namespaced": self.namespaced,
                            "kind": self.kind, "verbs": SUBRESOURCE_VERBS})
        return entries


def _core(plural: str, singular: str, kind: str, namespaced: bool = True, **kw: Any) -> Resource:
    return Resource("", "v1", plural, singular, kind, namespaced, **kw)


BUILTIN_RESOURCES: list[Resource] = [
    _core("namespaces", "namespace", "Namespace", False, short_names=["ns"], status_subresource=True),
    _core("secrets", "secret", "Secret"),
    _core("configmaps", "configmap", "ConfigMap", short_names=["cm"]),
    _core("events", "event", "Event", short_names=["ev"]),
    _core("serviceaccounts", "serviceaccount", "ServiceAccount", short_names=["sa"]),
    _core("pods", "pod", "Pod", short_names=["po"], categories=["all"], status_subresource=True),
    _core("services", "service", "Service", short_names=["svc"], categories=["all"], status_subresource=True),
    Resource("apps", "v1", "deployments", "deployment", "Deployment", True, short_names=["deploy"],
             categories=["all"], status_subresource=True, has_generation=True),
    Resource("apps", "v1", "statefulsets", "statefulset", "StatefulSet", True, short_names=["sts"],
             categories=["all"], status_subresource=True, has_generation=True),
    Resource("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, short_names=["ds"],
             categories=["all"], status_subresource=True, has_generation=True),
    Resource("events.k8s.io", "v1", "events", "event", "Event", True, short_names=["ev"]),
    Resource("coordination.k8s.io", "v1", "leases", "lease", "Lease", True),
    Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
             "CustomResourceDefinition", False, short_names=["crd", "crds"], categories=["api-extensions"],
             status_subresource=True, has_generation=True),
]


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

    def __init__(self, resources: Iterable[Resource] = BUILTIN_RESOURCES) -> None:
        self._resources: dict[tuple[str, str, str], Resource] = {}
        for resource in resources:
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

    def api_group_list_doc(self) -> dict[str, Any]:
        groups = []
        for group, versions in sorted(self.group_versions().items()):
            if not group:
                continue
            ordered = sorted(versions, key=_version_priority)
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
        served = [r for r in self._resources.values() if r.group == group and r.version == version]
        if not served:
            return None
        entries = [entry for r in sorted(served, key=lambda r: r.plural) for entry in r.discovery_entries()]
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": entries}


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version priority: GA > beta > alpha, higher numbers first."""
    import re

    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (3, 0, 0)
    major, stage, minor = match.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0))
