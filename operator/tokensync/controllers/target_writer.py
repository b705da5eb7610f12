"""Writes the Secret (or ConfigMap) a resource targets — the only place tokensync writes one.

Rules, the same for every kind:
- Written only when its content changes: a refresh that returns the same token costs no write.
- ``Owner``: tokensync creates the object (with an ownerReference unless deletionPolicy is
  Retain) and never takes over one it did not create -> ``TargetConflict``.
- ``Merge``: tokensync adds its keys to an object someone else created; other keys are kept.
- ``Orphan``: created without an ownerReference, so it outlives the resource.
- A failed sync never calls this, so the last good data is never blanked.
Each written object carries a hash of the data tokensync wrote (``tokensync.dev/data-hash``),
so an edit by someone else is seen from the object alone, without keeping the token anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tokensync.kube.client import KubeClient
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import Resource

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "tokensync"
SOURCE_ANNOTATION = "tokensync.dev/source"
EXPIRES_AT_ANNOTATION = "tokensync.dev/expires-at"
DATA_HASH_ANNOTATION = "tokensync.dev/data-hash"
MANAGED_KEYS_ANNOTATION = "tokensync.dev/managed-keys"  # under Merge only: which keys are ours
# The uid of the resource that writes the object: a name is reused, a uid never is (a resource
# deleted and created again under its name is another resource).
SOURCE_UID_ANNOTATION = "tokensync.dev/source-uid"
_OUR_ANNOTATIONS = (SOURCE_ANNOTATION, SOURCE_UID_ANNOTATION, EXPIRES_AT_ANNOTATION, DATA_HASH_ANNOTATION,
                    MANAGED_KEYS_ANNOTATION)

CreationPolicy = Literal["Owner", "Merge", "Orphan"]
DeletionPolicy = Literal["Delete", "Retain"]


class TargetConflict(Exception):
    """The object exists and is not tokensync's to write (or, under Merge, does not exist)."""


class TargetRefused(Exception):
    """The API server refused the object as written (invalid or too large): trying again
    unchanged cannot help, unlike a conflict or a 5xx."""


_REFUSED_FOR_GOOD = (400, 413, 422)


@dataclass(frozen=True)
class Owner:
    api_version: str
    kind: str
    name: str
    namespace: str
    uid: str

    @property
    def source(self) -> str:
        return f"{self.kind}/{self.name}"

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Owner:
        meta = body["metadata"]
        return cls(body["apiVersion"], body["kind"], meta["name"], meta["namespace"], str(meta.get("uid", "")))


@dataclass(frozen=True)
class DesiredTarget:
    resource: Resource  # SECRETS or CONFIG_MAPS
    name: str
    data: dict[str, str]
    creation_policy: CreationPolicy = "Owner"
    deletion_policy: DeletionPolicy = "Delete"
    secret_type: str | None = "Opaque"  # None for ConfigMaps
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # What the user can do when a same-named object that is not ours is in the way.
    conflict_hint: str = "delete it, choose another secret name, or set creationPolicy: Merge"

    @property
    def is_secret(self) -> bool:
        return self.resource.plural == "secrets"


@dataclass(frozen=True)
class WriteOutcome:
    created: bool = False
    updated: bool = False

    @property
    def written(self) -> bool:
        return self.created or self.updated


def data_hash(data: dict[str, str], owner: Owner) -> str:
    """A short, owner-salted digest of the data: detects edits, reveals nothing usable."""
    digest = hashlib.sha256(owner.uid.encode() + b"\0" + json.dumps(data, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def source_of(target: dict[str, Any]) -> tuple[str, str] | None:
    """The (kind, name) of the resource that wrote this Secret or ConfigMap: its source annotation,
    else its controller ownerReference (should someone have stripped the annotation)."""
    meta = target.get("metadata") or {}
    kind, _, name = str((meta.get("annotations") or {}).get(SOURCE_ANNOTATION, "")).partition("/")
    if kind and name:
        return kind, name
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller") and str(ref.get("apiVersion", "")).startswith("tokensync.dev/"):
            return str(ref.get("kind")), str(ref.get("name"))
    return None


def is_ours(existing: dict[str, Any], owner: Owner) -> bool:
    """Written by this very resource (by uid): its source-uid annotation or its controller
    ownerReference. An object written before uids were recorded is known by its source name."""
    meta = existing.get("metadata", {})
    annotations = meta.get("annotations") or {}
    owned = any(ref.get("controller") and ref.get("uid") == owner.uid for ref in meta.get("ownerReferences") or [])
    recorded = annotations.get(SOURCE_UID_ANNOTATION)
    if recorded:
        return bool(recorded == owner.uid) or owned
    return bool(annotations.get(SOURCE_ANNOTATION) == owner.source) or owned


def writer_of(existing: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """(kind, name, uid or None) of the resource that wrote the object, from its annotations."""
    annotations = (existing.get("metadata") or {}).get("annotations") or {}
    kind, _, name = str(annotations.get(SOURCE_ANNOTATION) or "").partition("/")
    if not (kind and name):
        return None
    uid = annotations.get(SOURCE_UID_ANNOTATION)
    return kind, name, str(uid) if uid else None


# Whether the resource (kind, name, uid or None) that wrote an object is still there.
WriterAlive = Callable[[str, str, str | None], Awaitable[bool]]


async def _nobody(_kind: str, _name: str, _uid: str | None) -> bool:
    return False


def conflict_with(existing: dict[str, Any], owner: Owner, desired: DesiredTarget, *, writer_alive: bool) -> str | None:
    """Pure: why this resource may not write ``existing`` (None: it may).

    Another live resource writing it always conflicts (two writers would flip its data). Under
    Merge the object is someone else's by design. Otherwise only an object tokensync wrote whole,
    for a resource that is gone, is taken over (a Secret a deleted resource left behind)."""
    if is_ours(existing, owner):
        return None
    kind = "Secret" if desired.is_secret else "ConfigMap"
    writer = writer_of(existing)
    if writer is not None and writer_alive:
        return (f"{kind} {desired.name!r} is written by {writer[0]} {owner.namespace}/{writer[1]}; two resources "
                f"cannot write one {kind}: point this one at another name (or delete the other)")
    if desired.creation_policy == "Merge":
        return None
    annotations = (existing.get("metadata") or {}).get("annotations") or {}
    labels = (existing.get("metadata") or {}).get("labels") or {}
    left_behind = (writer is not None and MANAGED_KEYS_ANNOTATION not in annotations
                   and labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE)
    if left_behind:
        return None
    return (f"{kind} {desired.name!r} already exists and was not created by {owner.source}; tokensync will not "
            f"overwrite it ({desired.conflict_hint})")


def read_data(existing: dict[str, Any], is_secret: bool) -> dict[str, str]:
    raw: dict[str, str] = existing.get("data") or {}
    if not is_secret:
        return dict(raw)
    decoded: dict[str, str] = {}
    for key, value in raw.items():
        try:
            decoded[key] = base64.b64decode(value).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            decoded[key] = ""  # unreadable: treated as drift
    return decoded


def has_drifted(existing: dict[str, Any] | None, owner: Owner, *, is_secret: bool) -> bool:
    """True when the object is gone, its data no longer hashes to what tokensync wrote, or the
    label and annotation that mark it as tokensync's were removed (kubectl, GitOps tools and
    policy engines rely on them)."""
    if existing is None or existing.get("metadata", {}).get("deletionTimestamp"):
        return True
    labels = existing.get("metadata", {}).get("labels") or {}
    annotations = existing.get("metadata", {}).get("annotations") or {}
    if annotations.get(SOURCE_ANNOTATION) != owner.source:
        return True
    # Under Merge the object is someone else's (often labelled managed-by: Helm by a GitOps tool
    # that puts it back): a label change alone is not ours to fight over.
    merged = MANAGED_KEYS_ANNOTATION in annotations
    if not merged and labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
        return True
    recorded = annotations.get(DATA_HASH_ANNOTATION)
    if not recorded:
        return True
    data = read_data(existing, is_secret)
    listed = annotations.get(MANAGED_KEYS_ANNOTATION)
    keys = listed.split(",") if listed else list(data)
    return bool(data_hash({k: data[k] for k in keys if k in data}, owner) != recorded)


def _encode(data: dict[str, str], is_secret: bool) -> dict[str, str]:
    if not is_secret:
        return dict(data)
    return {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in data.items()}


def _metadata(desired: DesiredTarget, owner: Owner) -> tuple[dict[str, str], dict[str, str]]:
    labels = {**desired.labels, MANAGED_BY_LABEL: MANAGED_BY_VALUE}
    annotations = {
        **desired.annotations,
        SOURCE_ANNOTATION: owner.source,
        SOURCE_UID_ANNOTATION: owner.uid,
        DATA_HASH_ANNOTATION: data_hash(desired.data, owner),
    }
    if desired.creation_policy == "Merge":
        annotations[MANAGED_KEYS_ANNOTATION] = ",".join(sorted(desired.data))
    return labels, annotations


def _owner_references(desired: DesiredTarget, owner: Owner) -> list[dict[str, Any]]:
    if desired.creation_policy != "Owner" or desired.deletion_policy == "Retain":
        return []
    return [
        {
            "apiVersion": owner.api_version,
            "kind": owner.kind,
            "name": owner.name,
            "uid": owner.uid,
            "controller": True,
            "blockOwnerDeletion": False,
        }
    ]


async def write_target(
    kube: KubeClient, owner: Owner, desired: DesiredTarget, existing: dict[str, Any] | None,
    writer_alive: WriterAlive = _nobody,
) -> WriteOutcome:
    """Create or update the target to hold ``desired``; no request at all when it already does.
    ``writer_alive`` tells whether the resource that wrote an object not ours still exists."""
    labels, annotations = _metadata(desired, owner)
    owner_refs = _owner_references(desired, owner)
    if existing is None:
        if desired.creation_policy == "Merge":
            raise TargetConflict(
                f"{desired.resource.plural[:-1].capitalize()} {desired.name!r} does not exist; creationPolicy Merge "
                "only adds keys to an existing one (create it, or use creationPolicy Owner)"
            )
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Secret" if desired.is_secret else "ConfigMap",
            "metadata": {"name": desired.name, "namespace": owner.namespace, "labels": labels,
                         "annotations": annotations},
            "data": _encode(desired.data, desired.is_secret),
        }
        if owner_refs:
            body["metadata"]["ownerReferences"] = owner_refs
        if desired.is_secret and desired.secret_type:
            body["type"] = desired.secret_type
        try:
            await kube.create(desired.resource, owner.namespace, body)
        except KubeApiError as exc:
            raise _refused(desired, exc) if exc.status in _REFUSED_FOR_GOOD else exc from None
        return WriteOutcome(created=True)

    if not is_ours(existing, owner):
        writer = writer_of(existing)
        alive = writer is not None and await writer_alive(*writer)
        conflict = conflict_with(existing, owner, desired, writer_alive=alive)
        if conflict is not None:
            raise TargetConflict(conflict)
    existing_type = existing.get("type") or "Opaque"
    if desired.is_secret and desired.creation_policy != "Merge" and desired.secret_type not in (None, existing_type):
        # A Secret's type is immutable: a patch would be refused. The old Secret stays as it is.
        raise TargetRefused(
            f"Secret {desired.name!r} has type {existing_type} and spec.secret.type is {desired.secret_type}; a "
            "Secret's type cannot change: delete the Secret (tokensync writes it again with the new type) or "
            "set spec.secret.type back"
        )

    patch = _difference(existing, desired, owner, labels, annotations, owner_refs)
    if not patch:
        return WriteOutcome()
    try:
        await kube.patch(desired.resource, owner.namespace, desired.name, patch)
    except KubeApiError as exc:
        raise _refused(desired, exc) if exc.status in _REFUSED_FOR_GOOD else exc from None
    return WriteOutcome(updated=True)


def merge_cleanup_wanted(creation_policy: CreationPolicy, deletion_policy: DeletionPolicy) -> bool:
    """Keys merged into someone else's object are removed when the resource goes, unless Retain."""
    return creation_policy == "Merge" and deletion_policy != "Retain"


def target_outlives(existing: dict[str, Any] | None, owner: Owner, *, keys_removed: bool) -> bool:
    """Pure: whether the object stays, holding what ``owner`` wrote, once ``owner`` is deleted: it
    is there, not being deleted, still ``owner``'s, carries no ownerReference to it (the garbage
    collector would take it along) and its keys are not removed with it (Merge)."""
    if existing is None or (existing.get("metadata") or {}).get("deletionTimestamp") or keys_removed:
        return False
    refs = (existing.get("metadata") or {}).get("ownerReferences") or []
    return is_ours(existing, owner) and not any(ref.get("uid") == owner.uid for ref in refs)


async def remove_merged(kube: KubeClient, owner: Owner, resource: Resource, name: str) -> bool:
    """The resource that merged into the object is deleted: remove its keys, and the label and
    annotations it added; the owner's other keys stay. False when the object is not (or no longer)
    this resource's to clean (gone, or written by another since)."""
    existing = await kube.get(resource, owner.namespace, name)
    if existing is None or not is_ours(existing, owner):
        return False
    meta = existing.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    keys = [k for k in str(annotations.get(MANAGED_KEYS_ANNOTATION) or "").split(",") if k]
    patch: dict[str, Any] = {"metadata": {"annotations": {k: None for k in _OUR_ANNOTATIONS if k in annotations}}}
    if (meta.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE:
        patch["metadata"]["labels"] = {MANAGED_BY_LABEL: None}
    if keys:
        patch["data"] = {k: None for k in keys if k in (existing.get("data") or {})}
    await kube.patch(resource, owner.namespace, name, patch)
    return True


def _refused(desired: DesiredTarget, exc: KubeApiError) -> TargetRefused:
    kind = "Secret" if desired.is_secret else "ConfigMap"
    size = sum(len(value.encode()) for value in desired.data.values())
    return TargetRefused(
        f"the Kubernetes API refused {kind} {desired.name!r} ({exc.status} {exc.reason}: {exc.message}); its data "
        f"is {size} bytes (at most 1 MiB in all); check the labels, annotations, type and template"
    )


def _difference(
    existing: dict[str, Any],
    desired: DesiredTarget,
    owner: Owner,
    labels: dict[str, str],
    annotations: dict[str, str],
    owner_refs: list[dict[str, Any]],
) -> dict[str, Any]:
    """The merge patch that makes ``existing`` hold what is desired, or {} if it already does."""
    patch: dict[str, Any] = {}
    meta = existing.get("metadata", {})
    label_changes = {k: v for k, v in labels.items() if (meta.get("labels") or {}).get(k) != v}
    annotation_changes = {k: v for k, v in annotations.items() if (meta.get("annotations") or {}).get(k) != v}
    meta_patch: dict[str, Any] = {}
    if label_changes:
        meta_patch["labels"] = label_changes
    if annotation_changes:
        meta_patch["annotations"] = annotation_changes
    present = meta.get("ownerReferences") or []
    if owner_refs and not any(r.get("uid") == owner_refs[0]["uid"] for r in present):
        others = [r for r in present if not r.get("controller")]
        meta_patch["ownerReferences"] = others + owner_refs
    elif not owner_refs and any(r.get("uid") == owner.uid for r in present):
        # deletionPolicy Retain (or creationPolicy Orphan/Merge) now: the reference that would let
        # the garbage collector delete the object with the resource must go.
        meta_patch["ownerReferences"] = [r for r in present if r.get("uid") != owner.uid]
    if meta_patch:
        patch["metadata"] = meta_patch

    current = existing.get("data") or {}
    wanted = _encode(desired.data, desired.is_secret)
    data_patch: dict[str, Any] = {k: v for k, v in wanted.items() if current.get(k) != v}
    if desired.creation_policy != "Merge":
        # A fully owned object holds exactly our keys: drop keys a template no longer makes.
        data_patch.update({k: None for k in current if k not in wanted})
    if data_patch:
        patch["data"] = data_patch
    return patch
