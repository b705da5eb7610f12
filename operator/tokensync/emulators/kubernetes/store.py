"""Object store with kube-apiserver semantics: server-set metadata, resourceVersion, generation,
finalizers, garbage collection, the status subresource and a bounded watch-event history.

Everything here is synchronous and in-process (no awaits), so one write and the events it emits
are atomic with respect to the event loop; the HTTP layer (server.py) and the Python accessors
(emulator.py) both call it.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import re
import secrets
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tokensync.clock import Clock

from . import event_conversion, namespaces, validation, workloads
from . import managed_fields as managed_fields_module
from . import schema as schemas
from .errors import ApiError, already_exists, bad_request, conflict, gone, invalid, not_found
from .resources import Registry, Resource, resources_from_crd
from .structured_merge import TypedError

ObjectKey = tuple[str, str]  # (namespace or "", name)
ManagedEntries = list[dict[str, Any]]  # metadata.managedFields
StoreKey = tuple[str, str]  # (group, plural)
_SERVER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation",
                    "deletionGracePeriodSeconds", "managedFields", "selfLink")
CRD_KEY: StoreKey = ("apiextensions.k8s.io", "customresourcedefinitions")
# Writes made through the Python accessors (KubernetesEmulator.create/apply/patch...) rather than
# HTTP: kube-apiserver always has a manager (fieldManager or User-Agent), so they get this one.
IN_PROCESS_MANAGER = "emulator"
# What the server's own writes are recorded as: the CRD controllers' status updates run inside
# kube-apiserver, the garbage collector in kube-controller-manager.
APISERVER_MANAGER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"
NAMESPACE_KEY: StoreKey = ("", "namespaces")
_ABSENT = object()


@dataclass(frozen=True)
class WatchEvent:
    resource_version: int
    key: StoreKey
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict[str, Any]
    old: dict[str, Any] | None = None  # the previous state, for MODIFIED (selector transitions)


@dataclass(eq=False)
class Watcher:
    """A subscriber: receives matching events; ``None`` in the queue means "stream closed by server"."""

    key: StoreKey
    namespace: str | None
    queue: asyncio.Queue[WatchEvent | None] = field(default_factory=asyncio.Queue)

    def wants(self, event: WatchEvent) -> bool:
        if event.key != self.key:
            return False
        return self.namespace is None or event.obj.get("metadata", {}).get("namespace") == self.namespace


def timestamp(clock: Clock) -> str:
    """RFC 3339 to the second, as metav1.Time serializes."""
    return clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def _without(obj: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys}


def _omit_empty_metadata(metadata: dict[str, Any]) -> None:
    """ObjectMeta's maps and lists are ``omitempty`` (apimachinery pkg/apis/meta/v1/types.go), so a
    null or emptied one is not stored: ``annotations: {}`` comes back without ``annotations``."""
    for key, empty in (("labels", {}), ("annotations", {}), ("finalizers", []), ("ownerReferences", [])):
        if key in metadata and metadata[key] in (None, empty):
            del metadata[key]


class Store:
    def __init__(self, registry: Registry, clock: Clock, *, history_size: int = 1000) -> None:
        self.registry = registry
        self.clock = clock
        self.resource_version = 1
        self._objects: dict[StoreKey, dict[ObjectKey, dict[str, Any]]] = {}
        self._history: deque[WatchEvent] = deque(maxlen=history_size)
        self._history_floor = 1  # events after this resourceVersion are all in the history
        self._watchers: set[Watcher] = set()
        self.on_removed: list[Callable[[Resource, dict[str, Any]], None]] = []
        self.warnings: list[str] = []  # Warning header values of the last write (unknown fields dropped)
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(self._ns_resource(), "", {"metadata": {"name": name}})

    # -- helpers -----------------------------------------------------------------------------------

    def _ns_resource(self) -> Resource:
        resource = self.registry.get("", "v1", "namespaces")
        assert resource is not None
        return resource

    def _bucket(self, resource: Resource) -> dict[ObjectKey, dict[str, Any]]:
        return self._objects.setdefault(resource.storage_key, {})

    def _next_rv(self) -> int:
        self.resource_version += 1
        return self.resource_version

    def present(self, resource: Resource, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A stored object as served at ``resource``'s version (no conversion: only apiVersion changes,
        but for Events, stored once for two groups: event_conversion.py)."""
        result = event_conversion.convert(copy.deepcopy(dict(obj)), resource.api_version)
        result["apiVersion"] = resource.api_version
        result["kind"] = resource.kind
        return result

    def _emit(self, resource: Resource, event_type: str, obj: dict[str, Any],
              old: dict[str, Any] | None = None) -> None:
        event = WatchEvent(int(obj["metadata"]["resourceVersion"]), resource.storage_key, event_type,
                           copy.deepcopy(obj), old)
        if len(self._history) == self._history.maxlen:
            self._history_floor = self._history[0].resource_version
        self._history.append(event)
        for watcher in list(self._watchers):
            if watcher.wants(event):
                watcher.queue.put_nowait(event)

    def _check_namespace(self, resource: Resource, namespace: str, *, creating: bool = False) -> None:
        if not resource.namespaced:
            return
        if not namespace:
            raise bad_request("the server could not find the requested resource: a namespace is required")
        found = self._bucket(self._ns_resource()).get(("", namespace))
        if found is None:
            raise not_found("", "namespaces", namespace)
        if creating and found["metadata"].get("deletionTimestamp"):
            # The NamespaceLifecycle admission plugin: nothing new in a namespace being deleted.
            why = f"unable to create new content in namespace {namespace} because it is being terminated"
            raise ApiError(403, "Forbidden", f'{resource.plural} is forbidden: {why}', details={
                "group": resource.group, "kind": resource.plural,
                "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace", "message": why}]})

    def _validate(self, resource: Resource, obj: dict[str, Any], old: dict[str, Any] | None,
                  strict: bool = False) -> dict[str, Any]:
        name = obj["metadata"].get("name", "")
        _omit_empty_metadata(obj["metadata"])
        causes: list[dict[str, str]] = []
        for section in ("labels", "annotations"):
            values = obj["metadata"].get(section)
            if values is not None and (not isinstance(values, dict)
                                       or not all(isinstance(v, str) for v in values.values())):
                causes.append({"reason": "FieldValueInvalid", "field": f"metadata.{section}",
                               "message": "Invalid value: must be a map of string to string"})
        causes.extend(_label_causes(obj["metadata"].get("labels")))
        if resource.key in (("", "secrets"), ("", "configmaps")):
            causes.extend(_data_causes(obj))
        # Every kind: names per kind, built-in kinds decoded and validated as their Go types are,
        # custom resources by their CRD schema (schema.process_object).
        obj, schema_causes, unknown = schemas.process_object(resource, obj, old)
        if strict and unknown:
            # fieldValidation=Strict (kubectl's default): unknown fields are a decoding error.
            listed = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise bad_request(f'{resource.kind} in version "{resource.version}" cannot be handled as a '
                              f"{resource.kind}: strict decoding error: {listed}")
        self.warnings = validation.unknown_field_warnings(unknown)  # fieldValidation=Warn (the default)
        causes.extend(schema_causes)
        if causes:
            raise invalid(resource.group, resource.kind, name, causes)
        return obj

    def _normalize_builtin(self, resource: Resource, obj: dict[str, Any]) -> None:
        if resource.key == ("", "secrets"):
            string_data = obj.pop("stringData", None) or {}
            if string_data:
                data = obj.setdefault("data", {}) or {}
                for key, value in string_data.items():
                    data[key] = base64.b64encode(str(value).encode()).decode()
                obj["data"] = data
            obj.setdefault("type", "Opaque")
            for key, value in (obj.get("data") or {}).items():
                try:
                    base64.b64decode(value, validate=True)
                except (ValueError, TypeError) as exc:
                    raise invalid("", "Secret", obj["metadata"]["name"], [{
                        "reason": "FieldValueInvalid", "field": f"data[{key}]",
                        "message": "Invalid value: illegal base64 data"}]) from exc
        elif resource.key == NAMESPACE_KEY:
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif workloads.is_workload(resource):
            workloads.default_spec(resource, obj)

    def _spec_part(self, resource: Resource, obj: Mapping[str, Any]) -> dict[str, Any]:
        skip = ("metadata", "status") if resource.status_subresource else ("metadata",)
        return _without(obj, *skip, "apiVersion", "kind")

    # -- managedFields -----------------------------------------------------------------------------

    def _own(self, resource: Resource, old: Mapping[str, Any] | None, new: dict[str, Any],
             managed: managed_fields_module.Managed, *, manager: str | None, subresource: str | None) -> None:
        """Record an Update by ``manager`` from ``old`` (None: a create) to ``new`` in new's managedFields.

        An object the schema cannot type (a keyed list item without its key) keeps the live
        managedFields, as FieldManager.UpdateNoErrors does: the write itself goes through."""
        try:
            managed = managed_fields_module.record_update(
                resource, old, new, managed, manager=IN_PROCESS_MANAGER if manager is None else manager,
                subresource=subresource, now=timestamp(self.clock))
        except TypedError:
            managed = managed_fields_module.of_object(old)
        self._set_managed(new, managed_fields_module.encode(managed))

    @staticmethod
    def _set_managed(obj: dict[str, Any], entries: ManagedEntries) -> None:
        if entries:
            obj["metadata"]["managedFields"] = entries
        else:
            obj["metadata"].pop("managedFields", None)

    def _accept_crd_owned(self, crd: dict[str, Any]) -> None:
        """Register the CRD and set its status as the apiextensions controllers do: through the
        status subresource, as manager kube-apiserver."""
        old = dict(crd)  # _accept_crd replaces crd["status"]: this keeps the status before
        self._accept_crd(crd)
        self._own(self._crd_resource(), old, crd, managed_fields_module.of_object(crd), manager=APISERVER_MANAGER,
                  subresource="status")

    def _crd_resource(self) -> Resource:
        resource = self.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert resource is not None
        return resource

    # -- reads -------------------------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        obj = self._bucket(resource).get((namespace if resource.namespaced else "", name))
        if obj is None:
            raise not_found(resource.group, resource.plural, name)
        return self.present(resource, obj)

    def stored(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        """A copy of the stored object, or None: for writes that must know whether it exists."""
        obj = self._bucket(resource).get((namespace if resource.namespaced else "", name))
        return copy.deepcopy(event_conversion.for_write(obj, resource.api_version)) if obj is not None else None

    def list(self, resource: Resource, namespace: str | None,
             label_match: Callable[[Mapping[str, str]], bool] = lambda _: True,
             field_match: Callable[[Mapping[str, Any]], bool] = lambda _: True) -> tuple[list[dict[str, Any]], int]:
        items = [
            self.present(resource, obj) for (ns, _), obj in sorted(self._bucket(resource).items())
            if (namespace is None or not resource.namespaced or ns == namespace)
            and label_match(obj["metadata"].get("labels") or {}) and field_match(obj)
        ]
        return items, self.resource_version

    # -- writes ------------------------------------------------------------------------------------

    def create(self, resource: Resource, namespace: str, body: Mapping[str, Any], *,
               strict: bool = False, dry_run: bool = False, manager: str | None = None,
               managed_fields: ManagedEntries | None = None) -> dict[str, Any]:
        """POST semantics. ``dry_run`` (``dryRun=All``): every check and default, the would-be object
        returned, nothing stored (no resourceVersion, no event, no CRD registration).

        ``manager`` is recorded in managedFields as the creator (an Update); a server-side apply
        passes the ``managed_fields`` it computed instead."""
        obj = copy.deepcopy(dict(body))
        if not isinstance(obj.get("metadata", {}), dict):
            raise bad_request("metadata must be an object")
        metadata = obj.setdefault("metadata", {})
        requested = event_conversion.requested_managed_fields(metadata.get("managedFields"), resource.kind,
                                                              resource.api_version)
        for key in _SERVER_METADATA:
            metadata.pop(key, None)
        if resource.namespaced:
            body_ns = metadata.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                                  "request")
            namespace = namespace or body_ns or ""
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
            namespace = ""
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + "".join(
                secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        if not metadata.get("name"):
            raise invalid(resource.group, resource.kind, "", [{
                "reason": "FieldValueRequired", "field": "metadata.name", "message": "Required value: name or "
                                                                                    "generateName is required"}])
        self._check_namespace(resource, namespace, creating=True)
        if (namespace, metadata["name"]) in self._bucket(resource):
            raise already_exists(resource.group, resource.plural, metadata["name"])
        if resource.status_subresource and resource.key != NAMESPACE_KEY:
            obj.pop("status", None)  # status is the controller's: dropped on create.
        obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
        if resource.key == NAMESPACE_KEY:
            namespaces.prepare_for_create(obj)
        self._normalize_builtin(resource, obj)
        obj = self._validate(resource, obj, None, strict)
        metadata = obj["metadata"]
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = timestamp(self.clock)
        if resource.has_generation:
            metadata["generation"] = 1
        if managed_fields is None:
            managed = managed_fields_module.live_or_requested(None, requested, None)
            self._own(resource, None, obj, managed, manager=manager, subresource=None)
        else:
            self._set_managed(obj, copy.deepcopy(managed_fields))
        obj = event_conversion.for_storage(obj, resource.api_version)
        metadata = obj["metadata"]
        if dry_run:
            # A real server's dry-run create answers with uid and timestamps but no resourceVersion.
            return self.present(resource, obj)
        if resource.key == CRD_KEY:
            self._accept_crd_owned(obj)
        metadata["resourceVersion"] = str(self._next_rv())
        self._bucket(resource)[(namespace, metadata["name"])] = obj
        self._emit(resource, "ADDED", obj)
        answer = self.present(resource, obj)
        self._collect_if_dangling(resource, obj)
        self._controllers_after(resource, namespace, metadata["name"])
        return answer

    def update(self, resource: Resource, namespace: str, name: str, body: Mapping[str, Any], *,
               subresource: str | None = None, require_resource_version: bool = False,
               strict: bool = False, dry_run: bool = False, manager: str | None = None,
               managed_fields: ManagedEntries | None = None) -> dict[str, Any]:
        """PUT semantics (also the last step of every PATCH). ``dry_run``: the would-be object (at the
        current resourceVersion) is returned and nothing is stored.

        ``manager`` takes ownership of what it changes (managedFields, an Update); the body's own
        managedFields replace the live ones when given (``[]`` resets them); a server-side apply
        passes the ``managed_fields`` it computed instead."""
        namespace = namespace if resource.namespaced else ""
        stored = self._bucket(resource).get((namespace, name))
        if stored is None:
            raise not_found(resource.group, resource.plural, name)
        current = event_conversion.for_write(stored, resource.api_version)
        new = copy.deepcopy(dict(body))
        metadata = new.get("metadata")
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        requested = event_conversion.requested_managed_fields(metadata.get("managedFields", _ABSENT), resource.kind,
                                                              resource.api_version)
        if metadata.get("name", name) != name:
            raise bad_request(f'the name of the object ({metadata.get("name")}) does not match the name on the URL '
                              f"({name})")
        if resource.namespaced and metadata.get("namespace", namespace) != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        sent_rv = metadata.get("resourceVersion")
        if sent_rv not in (None, "") and str(sent_rv) != current["metadata"]["resourceVersion"]:
            raise conflict(resource.group, resource.plural, name)
        if sent_rv in (None, "") and require_resource_version:
            raise invalid(resource.group, resource.kind, name, [{
                "reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                "message": "Invalid value: 0x0: must be specified for an update"}])

        if subresource == "status":
            # Writes to /status change only status (API conventions, "Spec and Status").
            new = {**copy.deepcopy(current), "status": new.get("status")}
            if new["status"] is None:
                new.pop("status")
        else:
            for key in _SERVER_METADATA:
                metadata.pop(key, None)
                if key in current["metadata"]:
                    metadata[key] = copy.deepcopy(current["metadata"][key])
            metadata["name"] = name
            if resource.namespaced:
                metadata["namespace"] = namespace
            else:
                metadata.pop("namespace", None)
            if resource.status_subresource:
                new.pop("status", None)
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
            if resource.key == NAMESPACE_KEY:
                namespaces.prepare_for_update(new, current)
        new["apiVersion"], new["kind"] = resource.api_version, resource.kind
        self._normalize_builtin(resource, new)
        if current["metadata"].get("deletionTimestamp"):
            added = set(new["metadata"].get("finalizers") or []) - set(current["metadata"].get("finalizers") or [])
            if added:
                raise ApiError(422, "Forbidden", f"no new finalizers can be added if the object is being deleted, "
                                                 f"found new finalizers {sorted(added)}")
        new = self._validate(resource, new, current, strict and subresource is None)
        if managed_fields is None:
            managed = managed_fields_module.live_or_requested(
                current, None if requested is _ABSENT else requested, subresource)
            self._own(resource, current, new, managed, manager=manager, subresource=subresource)
        else:
            self._set_managed(new, copy.deepcopy(managed_fields))
        new, current = event_conversion.for_storage(new, resource.api_version), stored
        if new == current:
            return self.present(resource, current)  # a no-op write: no new resourceVersion, no event.
        if resource.has_generation and self._spec_part(resource, new) != self._spec_part(resource, current):
            new["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
        if dry_run:
            return self.present(resource, new)
        if resource.key == CRD_KEY:
            self._accept_crd_owned(new)
        new["metadata"]["resourceVersion"] = str(self._next_rv())
        self._bucket(resource)[(namespace, name)] = new
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self._remove(resource, new)
            return self.present(resource, new)
        self._emit(resource, "MODIFIED", new, current)
        answer = self.present(resource, new)
        if new["metadata"].get("ownerReferences") != current["metadata"].get("ownerReferences"):
            self._collect_if_dangling(resource, new)
        self._controllers_after(resource, namespace, name)
        return answer

    def delete(self, resource: Resource, namespace: str, name: str, *,
               preconditions: Mapping[str, Any] | None = None, propagation: str = "Background",
               dry_run: bool = False) -> tuple[dict[str, Any], bool]:
        """Returns (object, removed). With finalizers the object stays, marked with deletionTimestamp.
        ``dry_run``: the same answer, and nothing changes (no mark, no removal, no GC)."""
        namespace = namespace if resource.namespaced else ""
        current = self._bucket(resource).get((namespace, name))
        if current is None:
            raise not_found(resource.group, resource.plural, name)
        for field_name in ("uid", "resourceVersion"):
            expected = (preconditions or {}).get(field_name)
            if expected and current["metadata"].get(field_name) != expected:
                raise conflict(resource.group, resource.plural, name,
                               f"Precondition failed: {field_name.title()} in precondition: {expected}, "
                               f"{field_name.title()} in object meta: {current['metadata'].get(field_name)}")
        if dry_run:
            return self._dry_run_delete(resource, current)
        if resource.key == NAMESPACE_KEY and (current.get("spec") or {}).get("finalizers"):
            return self._terminate_namespace(resource, current)
        if propagation == "Orphan":
            # The garbage collector strips the owner from its dependents before the owner goes
            # (the "orphan" finalizer's work, done synchronously here).
            self._orphan_dependents(current["metadata"]["uid"])
        if current["metadata"].get("finalizers"):
            if not current["metadata"].get("deletionTimestamp"):
                marked = self._marked_for_deletion(resource, current)
                marked["metadata"]["resourceVersion"] = str(self._next_rv())
                self._bucket(resource)[(namespace, name)] = marked
                self._emit(resource, "MODIFIED", marked, current)
                return self.present(resource, marked), False
            return self.present(resource, current), False
        removed = copy.deepcopy(current)
        removed["metadata"]["resourceVersion"] = str(self._next_rv())
        self._remove(resource, removed)
        return self.present(resource, removed), True

    # -- kube-controller-manager's reactions (at once, each its own write after the one that caused it)

    def _controllers_after(self, resource: Resource, namespace: str, name: str) -> None:
        """What the controllers do after a write: the serviceaccount controller gives a new namespace
        its `default` ServiceAccount; the workload controllers write the status of pods all ready
        (workloads.py). Each is a separate write with its own resourceVersion and watch event."""
        obj = self._bucket(resource).get((namespace, name))
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return
        if resource.key == NAMESPACE_KEY:
            self._ensure_default_service_account(name)
        status = workloads.settled_status(resource, obj, timestamp(self.clock))
        if status is not None and status != obj.get("status"):
            self._controller_status_write(resource, (namespace, name), obj, status)

    def _controller_status_write(self, resource: Resource, key: ObjectKey, current: dict[str, Any],
                                 status: Mapping[str, Any]) -> None:
        """An update of ``/status`` by kube-controller-manager (never bumps generation)."""
        new = workloads.with_status(current, status)
        self._own(resource, current, new, managed_fields_module.of_object(current), manager=CONTROLLER_MANAGER,
                  subresource="status")
        new["metadata"]["resourceVersion"] = str(self._next_rv())
        self._bucket(resource)[key] = new
        self._emit(resource, "MODIFIED", new, current)

    def _ensure_default_service_account(self, namespace: str) -> None:
        """serviceaccounts_controller.go: every active namespace has a ServiceAccount `default`; it
        is created again when deleted."""
        accounts = self.registry.get("", "v1", "serviceaccounts")
        found = self._bucket(self._ns_resource()).get(("", namespace))
        if accounts is None or found is None or found["metadata"].get("deletionTimestamp"):
            return
        if (namespace, namespaces.DEFAULT_SERVICE_ACCOUNT) not in self._bucket(accounts):
            self.create(accounts, namespace, namespaces.default_service_account(namespace),
                        manager=CONTROLLER_MANAGER)

    def _report_namespace_deletion(self, name: str) -> None:
        """The namespace controller's conditions on a namespace whose content is deleted but some of
        it still held by finalizers (namespace/deletion/status_condition_utils.go)."""
        resource = self._ns_resource()
        current = self._bucket(resource).get(("", name))
        if current is None:
            return
        remaining: Counter[str] = Counter()
        held: Counter[str] = Counter()
        for key, bucket in self._objects.items():
            content = self._resource_for_key(key)
            if content is None or not content.namespaced:
                continue
            for (ns, _), obj in bucket.items():
                if ns == name:
                    remaining[f"{content.plural}.{content.group}" if content.group else content.plural] += 1
                    held.update(obj["metadata"].get("finalizers") or [])
        status = {**(current.get("status") or {}),
                  "conditions": namespaces.deletion_conditions(remaining, held, timestamp(self.clock))}
        self._controller_status_write(resource, ("", name), current, status)

    def _marked_for_deletion(self, resource: Resource, current: Mapping[str, Any]) -> dict[str, Any]:
        marked = copy.deepcopy(dict(current))
        marked["metadata"]["deletionTimestamp"] = timestamp(self.clock)
        marked["metadata"]["deletionGracePeriodSeconds"] = 0
        if resource.has_generation:
            marked["metadata"]["generation"] = int(marked["metadata"].get("generation", 1)) + 1
        return marked

    def _dry_run_delete(self, resource: Resource, current: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        if current["metadata"].get("finalizers"):
            if current["metadata"].get("deletionTimestamp"):
                return self.present(resource, current), False
            return self.present(resource, self._marked_for_deletion(resource, current)), False
        return self.present(resource, current), True

    def _orphan_dependents(self, owner_uid: str) -> None:
        """Orphan propagation: every dependent loses its ownerReference to ``owner_uid`` (a metadata
        write: new resourceVersion, MODIFIED event, no generation bump) and is kept."""
        for key, bucket in list(self._objects.items()):
            resource = self._resource_for_key(key)
            if resource is None:
                continue
            for object_key, obj in list(bucket.items()):
                owners = obj["metadata"].get("ownerReferences") or []
                kept = [o for o in owners if o.get("uid") != owner_uid]
                if len(kept) == len(owners):
                    continue
                orphan = copy.deepcopy(obj)
                if kept:
                    orphan["metadata"]["ownerReferences"] = kept
                else:
                    orphan["metadata"].pop("ownerReferences", None)
                self._own(resource, obj, orphan, managed_fields_module.of_object(obj), manager=CONTROLLER_MANAGER,
                          subresource=None)
                orphan["metadata"]["resourceVersion"] = str(self._next_rv())
                bucket[object_key] = orphan
                self._emit(resource, "MODIFIED", orphan, obj)

    def _remove(self, resource: Resource, obj: dict[str, Any]) -> None:
        metadata = obj["metadata"]
        self._bucket(resource).pop((metadata.get("namespace", "") if resource.namespaced else "", metadata["name"]),
                                   None)
        self._emit(resource, "DELETED", obj)
        if resource.key == CRD_KEY:
            self._drop_crd(obj)
        if resource.key == NAMESPACE_KEY:
            self._empty_namespace(metadata["name"])
        self._collect_garbage(metadata["uid"])
        if resource.namespaced and metadata.get("namespace"):
            self._finish_namespace(metadata["namespace"])  # the last object of a terminating one
        for callback in self.on_removed:
            callback(resource, obj)
        if resource.key == ("", "serviceaccounts") and metadata["name"] == namespaces.DEFAULT_SERVICE_ACCOUNT:
            self._ensure_default_service_account(metadata.get("namespace", ""))

    def _resource_for_key(self, key: StoreKey) -> Resource | None:
        candidates = [r for r in self.registry.all() if r.key == key]
        return next((r for r in candidates if r.storage), candidates[0] if candidates else None)

    def _collect_garbage(self, owner_uid: str) -> None:
        """Background propagation: dependents whose every owner is gone are deleted."""
        live_uids = {o["metadata"]["uid"] for bucket in self._objects.values() for o in bucket.values()}
        for key, bucket in list(self._objects.items()):
            resource = self._resource_for_key(key)
            if resource is None:
                continue
            for (ns, name), obj in list(bucket.items()):
                owners = obj["metadata"].get("ownerReferences") or []
                orphaned = any(o.get("uid") == owner_uid for o in owners) and not any(
                    o.get("uid") in live_uids for o in owners)
                if orphaned and (ns, name) in bucket:
                    self.delete(resource, ns, name)

    def _collect_if_dangling(self, resource: Resource, obj: dict[str, Any]) -> None:
        """kube-controller-manager's garbage collector also deletes an object whose every owner is
        absent (no object of that kind and name with that uid: deleted before, or never there).
        It does so within moments of the write; here at once, after the write's answer. An owner
        of a kind the server does not serve is unresolvable and keeps the object, as there."""
        owners = obj["metadata"].get("ownerReferences") or []
        if not owners or obj["metadata"].get("deletionTimestamp"):
            return
        for owner in owners:
            owner_resource = self.registry.find(str(owner.get("apiVersion") or ""), str(owner.get("kind") or ""))
            if owner_resource is None:
                return
            namespace = obj["metadata"].get("namespace", "") if owner_resource.namespaced else ""
            found = self._bucket(owner_resource).get((namespace, str(owner.get("name") or "")))
            if found is not None and found["metadata"].get("uid") == owner.get("uid"):
                return
        name = obj["metadata"]["name"]
        if (obj["metadata"].get("namespace", ""), name) in self._bucket(resource):
            self.delete(resource, obj["metadata"].get("namespace", ""), name)

    def _terminate_namespace(self, resource: Resource, current: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """kube-apiserver marks the namespace (Terminating); kube-controller-manager's namespace
        controller then deletes everything in it, each object honouring its finalizers, and
        removes the namespace once it is empty. Here the marking and the deletions happen at once."""
        name = current["metadata"]["name"]
        if not current["metadata"].get("deletionTimestamp"):
            marked = self._marked_for_deletion(resource, current)
            marked.setdefault("status", {})["phase"] = "Terminating"
            marked["metadata"]["resourceVersion"] = str(self._next_rv())
            self._bucket(resource)[("", name)] = marked
            self._emit(resource, "MODIFIED", marked, current)
        for key, bucket in list(self._objects.items()):
            content = self._resource_for_key(key)
            if content is None or not content.namespaced:
                continue
            for (ns, object_name), obj in list(bucket.items()):
                if ns == name and (ns, object_name) in bucket and not obj["metadata"].get("deletionTimestamp"):
                    self.delete(content, ns, object_name)
        removed = self._finish_namespace(name)
        if not removed:
            self._report_namespace_deletion(name)
        left = self._bucket(resource).get(("", name))
        return self.present(resource, left if left is not None else current), removed

    def _finish_namespace(self, name: str) -> bool:
        """Remove a terminating namespace once nothing is left in it; True when it is gone."""
        resource = self._ns_resource()
        namespace = self._bucket(resource).get(("", name))
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return namespace is None
        for key, bucket in self._objects.items():
            content = self._resource_for_key(key)
            if content is not None and content.namespaced and any(ns == name for ns, _ in bucket):
                return False
        gone_obj = copy.deepcopy(namespace)
        gone_obj["metadata"]["resourceVersion"] = str(self._next_rv())
        self._remove(resource, gone_obj)
        return True

    def _empty_namespace(self, namespace: str) -> None:
        for key, bucket in list(self._objects.items()):
            resource = self._resource_for_key(key)
            if resource is None or not resource.namespaced:
                continue
            for (ns, _name), obj in list(bucket.items()):
                if ns == namespace:
                    gone_obj = copy.deepcopy(obj)
                    gone_obj["metadata"]["resourceVersion"] = str(self._next_rv())
                    self._remove(resource, gone_obj)

    # -- CustomResourceDefinitions -----------------------------------------------------------------

    def _accept_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        now = timestamp(self.clock)
        names = dict(spec.get("names") or {})
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", f"{names.get('kind', '')}List")
        crd["status"] = {
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now},
            ],
        }
        group, plural = spec.get("group", ""), names.get("plural", "")
        self.registry.remove_group_plural(group, plural)
        for resource in resources_from_crd(crd):
            self.registry.add(resource)

    def _drop_crd(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        key = (group, plural)
        resource = self._resource_for_key(key)
        for (_, _), obj in list(self._objects.get(key, {}).items()):
            if resource is not None:
                gone_obj = copy.deepcopy(obj)
                gone_obj["metadata"]["resourceVersion"] = str(self._next_rv())
                self._remove(resource, gone_obj)
        self._objects.pop(key, None)
        self.registry.remove_group_plural(group, plural)

    # -- watches -----------------------------------------------------------------------------------

    def subscribe(self, resource: Resource, namespace: str | None, since: str | None) -> Watcher:
        """A watcher primed like kube-apiserver: rv unset/"0" replays current objects as ADDED;
        a given rv replays history after it, or 410 Gone if the history no longer reaches back."""
        watcher = Watcher(resource.storage_key, namespace if resource.namespaced else None)
        if since in (None, "", "0"):
            items, _ = self.list(resource, watcher.namespace)
            for item in items:
                watcher.queue.put_nowait(WatchEvent(int(item["metadata"]["resourceVersion"]), resource.storage_key,
                                                    "ADDED", item))
        else:
            try:
                since_rv = int(since)
            except ValueError as exc:
                raise bad_request(f"invalid resource version: {since!r}") from exc
            if since_rv < self._history_floor:
                raise gone(f"too old resource version: {since_rv} ({self._history_floor})")
            for event in self._history:
                if event.resource_version > since_rv and watcher.wants(event):
                    watcher.queue.put_nowait(event)
        self._watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def close_watches(self) -> None:
        for watcher in list(self._watchers):
            watcher.queue.put_nowait(None)

    def expire_history(self) -> None:
        """Forget the event history: watches resuming from any older resourceVersion get 410 Gone."""
        self._history.clear()
        self._history_floor = self.resource_version


# What a real API server checks on labels and on Secret/ConfigMap data (apimachinery's validation).
_LABEL_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_PREFIX_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CONFIG_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
MAX_DATA_BYTES = 1024 * 1024


def _label_causes(labels: Any) -> list[dict[str, str]]:
    if not isinstance(labels, dict):
        return []
    causes = []
    for key, value in labels.items():
        prefix, _, label_name = str(key).rpartition("/")
        if (len(label_name) > 63 or not _LABEL_NAME_RE.match(label_name)
                or (prefix and (len(prefix) > 253 or not _LABEL_PREFIX_RE.match(prefix)))):
            causes.append({"reason": "FieldValueInvalid", "field": "metadata.labels",
                           "message": f'Invalid value: "{key}": name part must consist of alphanumeric characters, '
                                      "'-', '_' or '.', and must start and end with an alphanumeric character"})
        if isinstance(value, str) and value and (len(value) > 63 or not _LABEL_NAME_RE.match(value)):
            causes.append({"reason": "FieldValueInvalid", "field": f"metadata.labels[{key}]",
                           "message": f'Invalid value: "{value}": a valid label must be an empty string or consist '
                                      "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                      "alphanumeric character (at most 63 characters)"})
    return causes


def _data_causes(obj: Mapping[str, Any]) -> list[dict[str, str]]:
    causes = []
    total = 0
    is_secret = obj.get("kind") == "Secret"
    for section in ("data", "binaryData"):
        for key, value in (obj.get(section) or {}).items():
            if len(key) > 253 or not _CONFIG_KEY_RE.match(key):
                causes.append({"reason": "FieldValueInvalid", "field": f"{section}[{key}]",
                               "message": f'Invalid value: "{key}": a valid config key must consist of alphanumeric '
                                          "characters, '-', '_' or '.'"})
            encoded = is_secret or section == "binaryData"
            total += (len(str(value)) * 3) // 4 if encoded else len(str(value).encode())
    if total > MAX_DATA_BYTES:
        field = "data" if is_secret else ""
        causes.append({"reason": "FieldValueTooLong", "field": field,
                       "message": f"Too long: must have at most {MAX_DATA_BYTES} bytes"})
    return causes
