"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch.

Strategic merge is served for built-in kinds only; for custom resources a real server answers
415, and so does the emulator (the caller checks). Lists are merged by the same keys Kubernetes'
Go types declare (``patchMergeKey``) for the fields tokensync and kubectl touch.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError

# Field name -> merge key, from the ``patchMergeKey`` tags of k8s.io/api types.
STRATEGIC_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "ports": "containerPort",
    "ownerReferences": "uid",
    "conditions": "type",
    "secrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}
# Lists of scalars that strategic merge unions instead of replacing.
STRATEGIC_SET_LISTS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _invalid_patch(message: str) -> ApiError:
    # kube-apiserver maps a JSON-patch apply error to 422 Invalid with one cause.
    return ApiError(
        422,
        "Invalid",
        message,
        details={"causes": [{"reason": "FieldValueInvalid", "message": message}]},
    )


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _invalid_patch(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc: Any, tokens: list[str], path: str) -> Any:
    for token in tokens:
        if isinstance(doc, dict) and token in doc:
            doc = doc[token]
        elif isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
            doc = doc[int(token)]
        else:
            raise _invalid_patch(f"doc is missing path: {path}")
    return doc


def _add(doc: Any, tokens: list[str], value: Any, path: str) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1], path)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _invalid_patch(f"add operation index out of bounds: {path}")
    else:
        raise _invalid_patch(f"doc is missing path: {path}")
    return doc


def _remove(doc: Any, tokens: list[str], path: str) -> Any:
    parent = _resolve(doc, tokens[:-1], path)
    last = tokens[-1] if tokens else ""
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise _invalid_patch(f"unable to remove nonexistent key: {last}: missing value")


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902. A failed ``test`` raises 422 like kube-apiserver does."""
    if not isinstance(operations, list):
        raise ApiError(400, "BadRequest", "json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiError(400, "BadRequest", f"invalid JSON patch operation: {op!r}")
        kind, path = op["op"], op["path"]
        tokens = _pointer(path)
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")), path)
        elif kind == "remove":
            _remove(doc, tokens, path)
        elif kind == "replace":
            _resolve(doc, tokens, path)
            if tokens:
                _remove(doc, tokens, path)
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")), path)
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = copy.deepcopy(_resolve(doc, source, op.get("from", "")))
            if kind == "move":
                _remove(doc, source, op.get("from", ""))
            doc = _add(doc, tokens, value, path)
        elif kind == "test":
            try:
                actual = _resolve(doc, tokens, path)
            except ApiError:
                actual = None
            if actual != op.get("value"):
                raise _invalid_patch(f"testing value {path} failed: test failed")
        else:
            raise ApiError(400, "BadRequest", f"unexpected JSON patch operation: {kind!r}")
    return doc


def strategic_merge_patch(target: Any, patch: Any, field: str = "") -> Any:
    """Strategic merge for built-in kinds: maps merge, keyed lists merge by key, ``$patch`` directives."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue  # $setElementOrder/..., $retainKeys, $deleteFromPrimitiveList/...: ordering hints.
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, key)
        else:
            result[key] = strategic_merge_patch(result.get(key), value, key)
    return result


def _merge_list(current: Any, patch: list[Any], field: str) -> list[Any]:
    if field in STRATEGIC_SET_LISTS and isinstance(current, list):
        return list(current) + [item for item in patch if item not in current]
    key = STRATEGIC_MERGE_KEYS.get(field)
    if key is None or not isinstance(current, list):
        return [strategic_merge_patch(None, item) if isinstance(item, dict) else item for item in patch
                if not (isinstance(item, dict) and item.get("$patch") == "delete")]
    merged = [copy.deepcopy(item) for item in current]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            merged.append(copy.deepcopy(item))
            continue
        index = next((i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
        elif index is None:
            merged.append(strategic_merge_patch(None, item))
        else:
            merged[index] = strategic_merge_patch(merged[index], item)
    return merged
