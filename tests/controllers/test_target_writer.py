"""What makes a target "drifted", and which patch brings it back — without any I/O."""

from __future__ import annotations

import base64
from typing import Any

from tokensync.controllers.target_writer import (
    DATA_HASH_ANNOTATION,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    MANAGED_KEYS_ANNOTATION,
    SOURCE_ANNOTATION,
    DesiredTarget,
    Owner,
    _difference,
    _metadata,
    conflict_with,
    data_hash,
    has_drifted,
    is_ours,
)
from tokensync.kube.resources import SECRETS

OWNER = Owner("tokensync.dev/v1alpha1", "ApplicationToken", "app", "ns", "uid-1")


def _secret(data: dict[str, str], annotations: dict[str, str],
            labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "ns", "annotations": annotations,
                     "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE} if labels is None else labels},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def test_an_untouched_secret_has_not_drifted() -> None:
    data = {"token": "t", "tokenType": "bearer_token"}
    secret = _secret(data, {SOURCE_ANNOTATION: OWNER.source, DATA_HASH_ANNOTATION: data_hash(data, OWNER)})
    assert not has_drifted(secret, OWNER, is_secret=True)


def test_an_edited_or_missing_secret_has_drifted() -> None:
    data = {"token": "t"}
    edited = _secret({"token": "edited"}, {DATA_HASH_ANNOTATION: data_hash(data, OWNER)})
    assert has_drifted(edited, OWNER, is_secret=True)
    assert has_drifted(None, OWNER, is_secret=True)
    assert has_drifted(_secret(data, {}), OWNER, is_secret=True)  # not written by us


def test_under_merge_only_our_keys_count() -> None:
    ours = {"token": "t"}
    secret = _secret({**ours, "other": "theirs, changed"},
                     {DATA_HASH_ANNOTATION: data_hash(ours, OWNER), MANAGED_KEYS_ANNOTATION: "token",
                      SOURCE_ANNOTATION: OWNER.source})
    assert not has_drifted(secret, OWNER, is_secret=True)


def test_the_hash_depends_on_the_owner_so_it_cannot_be_matched_across_resources() -> None:
    other = Owner("tokensync.dev/v1alpha1", "ApplicationToken", "app", "ns", "uid-2")
    assert data_hash({"token": "t"}, OWNER) != data_hash({"token": "t"}, other)


def test_no_patch_when_nothing_changed_and_stale_keys_removed_when_owned() -> None:
    desired = DesiredTarget(resource=SECRETS, name="s", data={"token": "t"})
    labels, annotations = _metadata(desired, OWNER)
    existing = _secret({"token": "t"}, annotations)
    existing["metadata"]["labels"] = labels
    assert _difference(existing, desired, OWNER, labels, annotations, []) == {}
    existing["data"]["old"] = "eA=="
    assert _difference(existing, desired, OWNER, labels, annotations, []) == {"data": {"old": None}}


def test_merge_never_removes_keys_it_does_not_own() -> None:
    desired = DesiredTarget(resource=SECRETS, name="s", data={"token": "t"}, creation_policy="Merge")
    labels, annotations = _metadata(desired, OWNER)
    existing = _secret({"token": "t", "theirs": "x"}, annotations)
    existing["metadata"]["labels"] = labels
    assert _difference(existing, desired, OWNER, labels, annotations, []) == {}


def test_a_stripped_label_or_source_annotation_is_drift_and_still_ours_by_owner_reference() -> None:
    data = {"token": "t"}
    marks = {SOURCE_ANNOTATION: OWNER.source, DATA_HASH_ANNOTATION: data_hash(data, OWNER)}
    assert has_drifted(_secret(data, marks, labels={}), OWNER, is_secret=True)
    unmarked = _secret(data, {DATA_HASH_ANNOTATION: data_hash(data, OWNER)})
    assert has_drifted(unmarked, OWNER, is_secret=True)
    assert not is_ours(unmarked, OWNER)  # a same-named Secret someone else made: a conflict
    unmarked["metadata"]["ownerReferences"] = [{"kind": "ApplicationToken", "uid": OWNER.uid, "controller": True}]
    assert is_ours(unmarked, OWNER)  # tokensync's own, with its annotation removed: repaired, not a conflict


def test_under_merge_someone_elses_label_is_not_fought_over() -> None:
    # A Secret Helm or Argo CD manages (managed-by: Helm) that tokensync merges a key into: if
    # tokensync "repaired" the label, the GitOps tool would put it back, and so on for ever.
    ours = {"token": "t"}
    secret = _secret({**ours, "password": "theirs"},
                     {DATA_HASH_ANNOTATION: data_hash(ours, OWNER), MANAGED_KEYS_ANNOTATION: "token",
                      SOURCE_ANNOTATION: OWNER.source},
                     labels={MANAGED_BY_LABEL: "Helm"})
    assert not has_drifted(secret, OWNER, is_secret=True)


def test_ownership_is_by_uid_not_by_name() -> None:
    _, annotations = _metadata(DesiredTarget(SECRETS, "s", {"token": "x"}), OWNER)
    written = _secret({"token": "x"}, annotations)
    assert is_ours(written, OWNER)
    reborn = Owner(OWNER.api_version, OWNER.kind, OWNER.name, OWNER.namespace, "uid-2")  # same name, new resource
    assert not is_ours(written, reborn)


def test_a_live_writer_conflicts_and_only_a_whole_left_behind_object_is_taken_over() -> None:
    other = Owner(OWNER.api_version, OWNER.kind, "other", "ns", "uid-9")
    owned = DesiredTarget(SECRETS, "s", {"token": "x"})
    merge = DesiredTarget(SECRETS, "s", {"token": "x"}, creation_policy="Merge")
    whole = _secret({"token": "y"}, _metadata(owned, other)[1])
    merged = _secret({"token": "y", "password": "p"}, _metadata(merge, other)[1])
    users = _secret({"password": "p"}, {}, labels={})
    for target in (whole, merged):
        for desired in (owned, merge):
            problem = conflict_with(target, OWNER, desired, writer_alive=True)
            assert problem is not None and "ApplicationToken ns/other" in problem
    assert conflict_with(whole, OWNER, owned, writer_alive=False) is None  # left behind whole: taken over
    assert conflict_with(merged, OWNER, owned, writer_alive=False) is not None  # someone's Secret: never
    assert conflict_with(merged, OWNER, merge, writer_alive=False) is None
    assert conflict_with(users, OWNER, owned, writer_alive=False) is not None
    assert conflict_with(users, OWNER, merge, writer_alive=False) is None
