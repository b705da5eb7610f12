"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch.

Strategic merge is served for built-in kinds only; for custom resources a real server answers
415, and so does the emulator (the caller checks). It follows apimachinery's
pkg/util/strategicpatch (``StrategicMergeMapPatch``, as kube-apiserver applies a PATCH): lists
merge by the ``x-kubernetes-patch-merge-key`` of the field when its
``x-kubernetes-patch-strategy`` is ``merge`` (the Go types' ``patchMergeKey``/``patchStrategy``
tags, read from Kubernetes' own schemas) and are replaced otherwise; the directives ``$patch``
(``delete``, ``replace``, ``merge``), ``$retainKeys``, ``$deleteFromPrimitiveList/<field>`` and
``$setElementOrder/<field>`` are honoured, with the same ordering rules.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from . import builtin_schemas
from .errors import ApiError


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


# -- strategic merge patch ---------------------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
_SET_ELEMENT_ORDER = "$setElementOrder"


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _server_error(message: str) -> ApiError:
    # Errors strategicpatch does not classify reach the client as a 500 with no reason.
    return ApiError(500, "", message)


Resolver = Callable[[dict[str, Any]], tuple[dict[str, Any], str | None]]


class PatchMeta:
    """What strategic merge needs of a value's schema: the schema of a field (of a struct or map)
    and a field's patch strategies and merge key. ``None`` knows nothing: maps merge, lists are
    replaced (what kube-apiserver does with fields its types do not declare)."""

    def __init__(self, schema: dict[str, Any] | None, resolve: Resolver = builtin_schemas.resolve) -> None:
        self._resolve = resolve
        self.schema = resolve(schema)[0] if schema else None

    def field(self, key: str) -> tuple[PatchMeta, list[str], str]:
        """(the field's value schema, its patch strategies, its merge key)."""
        node = self._field_node(key)
        if node is None:
            return PatchMeta(None, self._resolve), [], ""
        strategies = [s for s in str(node.get("x-kubernetes-patch-strategy") or "").split(",") if s]
        return PatchMeta(node, self._resolve), strategies, str(node.get("x-kubernetes-patch-merge-key") or "")

    def items(self) -> PatchMeta:
        items = self.schema.get("items") if self.schema else None
        return PatchMeta(items if isinstance(items, dict) else None, self._resolve)

    def _field_node(self, key: str) -> dict[str, Any] | None:
        if not self.schema:
            return None
        properties = self.schema.get("properties") or {}
        if key in properties:
            node: dict[str, Any] = properties[key]
            return node
        extra = self.schema.get("additionalProperties")
        return extra if isinstance(extra, dict) else None


def patch_meta_for(obj: Any) -> PatchMeta:
    """The built-in kind of ``obj`` (by apiVersion and kind), or no schema for any other."""
    if not isinstance(obj, dict):
        return PatchMeta(None)
    group, _, version = str(obj.get("apiVersion") or "").rpartition("/")
    name = builtin_schemas.definition_name(group, version, str(obj.get("kind") or ""))
    return PatchMeta(builtin_schemas.definitions()[name] if name else None)


def strategic_merge_patch(target: Any, patch: Any, meta: PatchMeta | None = None) -> Any:
    """Apply a strategic merge patch as kube-apiserver does. ``meta``: the kind's schema; by
    default the built-in kind ``target`` is (its apiVersion and kind)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    original = copy.deepcopy(target) if isinstance(target, dict) else {}
    return _merge_map(original, copy.deepcopy(patch), meta or patch_meta_for(target))


def _merge_map(original: dict[str, Any] | None, patch: dict[str, Any], meta: PatchMeta) -> dict[str, Any]:
    if _DIRECTIVE in patch:
        return _map_directive(patch)
    original = {} if original is None else original
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, meta)
    for key, value in list(patch.items()):
        delete_list = key.startswith(_DELETE_FROM_PRIMITIVE_LIST)
        if delete_list:
            key = _directive_key(key, _DELETE_FROM_PRIMITIVE_LIST)
        if value is None:
            original.pop(key, None)
            continue
        current = original.get(key)
        if key not in original or _json_kind(current) != _json_kind(value):
            if not delete_list:
                _set_without_directives(original, key, _without_nulls(value))
            continue
        if isinstance(value, dict):
            child, strategies, _ = meta.field(key)
            original[key] = value if _strategy(strategies) == "replace" else _merge_map(current, value, child)
        elif isinstance(value, list) and isinstance(current, list):
            child, strategies, merge_key = meta.field(key)
            original[key] = _merge_list_field(current, value, child.items(), _strategy(strategies), merge_key,
                                              delete_list)
        else:
            original[key] = value
    return original


def _map_directive(patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch[_DIRECTIVE]
    if directive == "replace":
        return {k: v for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "delete":
        return {}  # strategicpatch empties the map; the key stays
    raise _server_error(f"unknown patch type: {directive} in map: {patch}")


def _strategy(strategies: list[str]) -> str:
    """The strategy besides retainKeys (which only matters when a client builds a patch)."""
    others = [s for s in strategies if s != "retainKeys"]
    if len(others) > 1 or len(strategies) > 2:
        raise _server_error(f"unexpected patch strategy: {strategies}")
    return others[0] if others else ""


def _directive_key(key: str, prefix: str) -> str:
    head, _, rest = key.partition("/")
    if head != prefix or not rest:
        which = "primitive list" if prefix == _DELETE_FROM_PRIMITIVE_LIST else "setElementOrder list"
        raise _bad_request(f"invalid patch format of {which}")
    return rest


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """``$retainKeys``: fields of the live map not listed are cleared; the patch may set only listed ones."""
    if _RETAIN_KEYS not in patch:
        return
    retained = patch.pop(_RETAIN_KEYS)
    if not isinstance(retained, list):
        raise _bad_request("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is not None and not key.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER)) \
                and key not in retained:
            raise _bad_request("invalid patch format of retainKeys")
    for key in [k for k in original if k not in retained]:
        del original[key]


def _merge_ordered_lists(original: dict[str, Any], patch: dict[str, Any], meta: PatchMeta) -> None:
    """``$setElementOrder/<field>``: merge the field's list (if patched) and order the result: the
    listed items in the listed order, the live-only items where they were (mergePatchIntoOriginal)."""
    for key in [k for k in patch if k.startswith(_SET_ELEMENT_ORDER)]:
        order = patch.pop(key)
        field_name = _directive_key(key, _SET_ELEMENT_ORDER)
        live, patched = original.get(field_name), patch.pop(field_name, None)
        if not isinstance(order, list) or (live is not None and not isinstance(live, list)) or (
                patched is not None and not isinstance(patched, list)):
            raise _bad_request("invalid patch format of setElementOrder list")
        child, strategies, merge_key = meta.field(field_name)
        _check_order(patched or [], order, merge_key)
        if live is None and patched is None:
            continue
        if patched is None:
            merged: list[Any] = live or []
        elif live is None:
            merged = _remove_list_directives(patched)
        else:
            merged = _merge_list_field(live, patched, child.items(), _strategy(strategies), merge_key, False)
        _element_kind([*(live or []), *patched] if patched else list(live or []))
        original[field_name] = _normalize_order(merged, order, live or [], merge_key)


def _check_order(patched: list[Any], order: list[Any], merge_key: str) -> None:
    """The patch list's items must appear in ``$setElementOrder`` in the same relative order."""
    if not patched or not order:
        return
    items = [i for i in patched if not _is_delete(i)] if merge_key else patched
    at_item = at_order = 0
    while at_item < len(items) and at_order < len(order):
        if isinstance(items[at_item], dict) and _DIRECTIVE in items[at_item]:
            at_item += 1
            continue
        if _same_item(items[at_item], order[at_order], merge_key):
            at_item += 1
        at_order += 1
    if at_item < len(items):
        raise _server_error(f"The order in patch list:\n{patched}\n doesn't match $setElementOrder list:\n{order}\n")


def _merge_list_field(live: list[Any], patched: list[Any], items: PatchMeta, strategy: str, merge_key: str,
                      delete_list: bool) -> list[Any]:
    if strategy == "merge" or delete_list:
        return _merge_list(live, patched, items, merge_key, delete_list)
    return patched


def _merge_list(live: list[Any], patched: list[Any], items: PatchMeta, merge_key: str,
                delete_list: bool) -> list[Any]:
    if not live and not patched:
        return live
    if _element_kind([*live, *patched]) != "object":
        if delete_list:
            doomed = {_scalar_key(v) for v in patched}
            return [v for v in live if _scalar_key(v) not in doomed]
        return _normalize_order(_unique_scalars([*live, *patched]), patched, live, "")
    if not merge_key:
        raise _server_error("cannot merge lists without merge key")
    return _merge_keyed_list(live, patched, items, merge_key)


def _merge_keyed_list(live: list[Any], patched: list[Any], items: PatchMeta, merge_key: str) -> list[Any]:
    """mergeSlice for lists of objects. ``live`` is changed in place the way Go's deletions and
    appends change the live slice's array (mergeSliceWithSpecialElements shifts items left, new
    items are appended into the freed slots): $setElementOrder orders by what it then holds."""
    length, plain, replace = len(live), [], False
    for item in patched:
        directive = item.get(_DIRECTIVE)
        if directive is None:
            plain.append(item)
        elif directive == "delete":
            if merge_key not in item:
                raise _server_error(f"map: {item} does not contain declared merge key: {merge_key}")
            length = _delete_matching(live, length, merge_key, item[merge_key])
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _server_error("merging lists cannot yet be specified in the patch")
        else:
            raise _server_error(f"unknown patch type: {directive} in map: {item}")
    if replace:
        return plain  # {"$patch": "replace"}: the list is the patch's other items
    server_order, merged = live[:length], live[:length]
    for item in plain:
        if merge_key not in item:
            raise _server_error(f"map: {item} does not contain declared merge key: {merge_key}")
        index = _find(merged, merge_key, item[merge_key])
        if index is not None:
            merged[index] = _merge_map(merged[index], item, items)
            continue
        if len(merged) < len(live):
            live[len(merged)] = item  # within the live array's capacity: Go appends in place
        merged.append(item)
    return _normalize_order(merged, plain, server_order, merge_key)


def _delete_matching(live: list[Any], length: int, merge_key: str, value: Any) -> int:
    """deleteMatchingEntries: every item with that key goes, the rest shift left in the array."""
    while (index := _find(live[:length], merge_key, value)) is not None:
        live[index:length - 1] = live[index + 1:length]
        length -= 1
    return length


def _normalize_order(merged: list[Any], order: list[Any], live: list[Any], merge_key: str) -> list[Any]:
    """The patch's items (those in ``order``) in its order, interleaved with the live-only items in
    their live order: a live-only item goes before a patch item only if it came before it in the
    live list (normalizeElementOrder + mergeSortedSlice)."""
    ordered = [i for i in merged if _position(order, i, merge_key) is not None]
    server_only = [i for i in merged if _position(order, i, merge_key) is None]
    ordered.sort(key=lambda i: _position(order, i, merge_key) or 0)
    server_only.sort(key=lambda i: _sort_position(live, i, merge_key))
    result: list[Any] = []
    while server_only and ordered:
        left, right = _position(live, server_only[0], merge_key), _position(live, ordered[0], merge_key)
        take_left = left is not None and right is not None and left < right
        result.append(server_only.pop(0) if take_left else ordered.pop(0))
    return result + ordered + server_only


def _sort_position(items: list[Any], item: Any, merge_key: str) -> int:
    position = _position(items, item, merge_key)
    return len(items) if position is None else position


def _position(items: list[Any], item: Any, merge_key: str) -> int | None:
    wanted = _scalar_key(item.get(merge_key) if merge_key and isinstance(item, dict) else item)
    for index, candidate in enumerate(items):
        value = candidate.get(merge_key) if merge_key and isinstance(candidate, dict) else candidate
        if merge_key and not isinstance(candidate, dict):
            value = None
        if _scalar_key(value) == wanted:
            return index
    return None


def _find(items: list[Any], merge_key: str, value: Any) -> int | None:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _server_error(f"value for key {index} is not a map")
        if merge_key in item and _scalar_key(item[merge_key]) == _scalar_key(value):
            return index
    return None


def _same_item(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _scalar_key(left) == _scalar_key(right)
    if not isinstance(left, dict) or not isinstance(right, dict) or merge_key not in left or merge_key not in right:
        raise _server_error(f"map: {left} does not contain declared merge key: {merge_key}")
    return _scalar_key(left[merge_key]) == _scalar_key(right[merge_key])


def _is_delete(item: Any) -> bool:
    return isinstance(item, dict) and item.get(_DIRECTIVE) == "delete"


def _element_kind(items: list[Any]) -> str:
    """All items of a merged list are of one JSON type, not lists (sliceElementType)."""
    kinds = {_json_kind(item) for item in items}
    if "array" in kinds:
        raise ApiError(422, "", "lists of lists are not supported")
    if len(kinds) > 1:
        raise _server_error(f"list element types are not identical: {items}")
    if not kinds:
        raise _server_error("no elements in any of the given slices")
    return kinds.pop()


def _unique_scalars(items: list[Any]) -> list[Any]:
    seen: set[tuple[str, Any]] = set()
    unique = []
    for item in items:
        if _scalar_key(item) not in seen:
            seen.add(_scalar_key(item))
            unique.append(item)
    return unique


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def _scalar_key(value: Any) -> tuple[str, Any]:
    """Go compares decoded JSON values: all numbers are float64, and true is not 1."""
    kind = _json_kind(value)
    if kind == "number":
        return kind, float(value)
    return kind, value if kind in ("string", "boolean") else repr(value)


def _without_nulls(value: Any) -> Any:
    """A value added where nothing was: its null fields are dropped (discardNullValuesFromPatch)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _set_without_directives(target: dict[str, Any], key: str, value: Any) -> None:
    if isinstance(value, dict) and _DIRECTIVE in value:
        target.pop(key, None)  # a directive with nothing to apply to leaves nothing
    else:
        target[key] = _remove_directives(value)


def _remove_directives(value: Any) -> Any:
    """A patch value put where nothing was: ``$patch`` maps go (removeDirectives). So do
    ``$retainKeys`` and the parallel lists, which strategicpatch leaves in but which have nothing
    to apply to: on a real server they hardly ever get here, as defaulting has filled the fields
    they refer to (a Deployment's strategy), which the emulator does not."""
    if isinstance(value, dict):
        return {k: _remove_directives(v) for k, v in value.items()
                if not (isinstance(v, dict) and _DIRECTIVE in v)
                and not k.startswith((_RETAIN_KEYS, _SET_ELEMENT_ORDER, _DELETE_FROM_PRIMITIVE_LIST))}
    if isinstance(value, list):
        return _remove_list_directives(value)
    return value


def _remove_list_directives(items: list[Any]) -> list[Any]:
    return [_remove_directives(item) for item in items if not (isinstance(item, dict) and _DIRECTIVE in item)]
