"""PATCH with ``Content-Type: application/apply-patch+yaml``: server-side apply as kube-apiserver
serves it (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go, ``applyPatcher``).

- the body is YAML or JSON (a JSON document is YAML); ``fieldValidation=Strict`` also refuses
  duplicate keys ("error strict decoding YAML");
- the configuration must be of the endpoint's kind and version (versioncheck.go: 400
  "invalid object type"), carry no managedFields (400), and fit the schema (the typed converter's
  errors are plain errors: 500, e.g. ".spec.x: field not declared in schema");
- a missing object is created (201 Created; the status subresource never creates: 404);
- conflicts are 409 with one ``FieldManagerConflict`` cause per field (conflict.go).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from .apply import apply_configuration
from .errors import ApiError, bad_request, conflict, not_found
from .field_types import root_node
from .fieldpath import path_string
from .managed_fields import UPDATE, ApplyConflicts, ManagerKey, encode, of_object
from .resources import Resource
from .store import Store, timestamp
from .structured_merge import TypedError, to_field_set, undeclared_fields


@dataclass(frozen=True)
class ApplyRequest:
    namespace: str
    name: str
    subresource: str | None
    manager: str
    force: bool
    dry_run: bool


class _Loader(yaml.SafeLoader):
    """YAML read as sigs.k8s.io/yaml reads it into JSON: timestamps stay strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _StrictLoader(_Loader):
    """Refuses a mapping that repeats a key (yaml.UnmarshalStrict)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f'key "{key}" already set in map', key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def decode_configuration(raw: bytes, *, strict: bool) -> dict[str, Any]:
    """The applied configuration; 400 when it is not a YAML (or JSON) object."""
    try:
        config = yaml.load(raw.decode() or "{}", Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise bad_request(f"error decoding YAML: {exc}") from exc
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise bad_request(f"error decoding YAML: cannot unmarshal {type(config).__name__} into an object")
    if strict:
        try:
            yaml.load(raw.decode(), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise bad_request(f"error strict decoding YAML: {exc}") from exc
    return config


def _gvk(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}, Kind={kind}"


def _check_configuration(resource: Resource, config: Mapping[str, Any], request: ApplyRequest) -> None:
    api_version, kind = str(config.get("apiVersion") or ""), str(config.get("kind") or "")
    if (api_version, kind) != (resource.api_version, resource.kind):
        raise bad_request(f"invalid object type: {_gvk(api_version, kind)}")
    metadata = config.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise bad_request("metadata must be an object")
    if (metadata or {}).get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    node = root_node(resource)
    try:
        unknown = list(undeclared_fields(node, config))
        to_field_set(node, config)
    except TypedError as exc:
        raise _typed_failure(resource, request, str(exc)) from exc
    if unknown:
        messages = [f"{path_string(path)}: field not declared in schema" for path in unknown]
        raise _typed_failure(resource, request, messages[0] if len(messages) == 1 else "\n".join(
            ["errors:", *(f"  {message}" for message in messages)]))


class _ServerError(ApiError):
    """A plain (non-Status) error inside kube-apiserver: 500 and no reason."""

    def status(self) -> dict[str, Any]:
        body = super().status()
        body.pop("reason", None)
        return body


def _typed_failure(resource: Resource, request: ApplyRequest, message: str) -> ApiError:
    where = f"{request.namespace}/{request.name}; {_gvk(resource.api_version, resource.kind)}"
    return _ServerError(500, "", f"failed to create typed patch object ({where}): {message}")


def _manager_label(key: ManagerKey) -> str:
    """conflict.go printManager."""
    label = f'"{key.manager}"'
    if key.subresource:
        label += f' with subresource "{key.subresource}"'
    return f"{label} using {key.api_version}" if key.operation == UPDATE else label


def conflict_error(conflicts: ApplyConflicts) -> ApiError:
    """409 Conflict as NewConflictError writes it."""
    listed = [(key, path) for key in sorted(conflicts.conflicts, key=lambda k: (k.manager, k.operation))
              for path in sorted(conflicts.conflicts[key], key=path_string)]
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {_manager_label(key)}",
               "field": path_string(path)} for key, path in listed]
    if len(listed) == 1:
        key, path = listed[0]
        message = f"Apply failed with 1 conflict: conflict with {_manager_label(key)}: {path_string(path)}"
    else:
        lines = []
        for key in sorted({key for key, _ in listed}, key=_manager_label):
            lines.append(f"conflicts with {_manager_label(key)}:")
            lines += [f"- {path_string(path)}" for owner, path in listed if owner == key]
        message = f"Apply failed with {len(listed)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, details={"causes": causes})


def serve_apply(store: Store, resource: Resource, config: dict[str, Any], request: ApplyRequest
                ) -> tuple[dict[str, Any], bool]:
    """Apply ``config``; the answer and whether the object was created."""
    _check_configuration(resource, config, request)
    live = store.stored(resource, request.namespace, request.name)
    if live is None:
        if request.subresource:
            raise not_found(resource.group, resource.plural, request.name)
        if (config.get("metadata") or {}).get("uid"):
            raise conflict(resource.group, resource.plural, request.name,
                           f"uid mismatch: the provided object specified uid {config['metadata']['uid']}, and no "
                           "existing object was found")
    try:
        applied = apply_configuration(resource, live, config, of_object(live), manager=request.manager,
                                      subresource=request.subresource, force=request.force,
                                      now=timestamp(store.clock))
    except ApplyConflicts as conflicts:
        raise conflict_error(conflicts) from None
    except TypedError as exc:
        raise _typed_failure(resource, request, str(exc)) from exc
    body = applied.obj
    body.setdefault("metadata", {})["managedFields"] = encode(applied.managed)
    if live is None:
        _check_name(body, request.name)
        return store.create(resource, request.namespace, body, dry_run=request.dry_run,
                            managed_fields=body["metadata"]["managedFields"]), True
    return store.update(resource, request.namespace, request.name, body, subresource=request.subresource,
                        dry_run=request.dry_run, managed_fields=body["metadata"]["managedFields"]), False


def _check_name(obj: Mapping[str, Any], name: str) -> None:
    """patch.go checkName, for an apply that creates."""
    found = (obj.get("metadata") or {}).get("name") or ""
    if not found:
        raise bad_request(f"the name of the object ({name} based on URL) was undeterminable: name must be provided")
    if found != name:
        raise bad_request(f"the name of the object ({found}) does not match the name on the URL ({name})")

