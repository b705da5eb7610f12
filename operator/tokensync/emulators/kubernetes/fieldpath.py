"""Field paths and field sets as structured-merge-diff (SMD) spells them, and their FieldsV1 form.

A path names one field of an object: ``.spec.replicas``, a list item by its key fields
``.spec.containers[name="app"]``, a set-list item by value ``.metadata.finalizers[="x"]``, or by
index. A field set is a plain ``frozenset`` of paths: a path in the set is *owned*; its prefixes
are not, unless they are in the set too (SMD's "members" vs "children", sigs.k8s.io/
structured-merge-diff fieldpath/set.go).

FieldsV1 (metadata.managedFields[].fieldsV1) is the JSON trie of a set: ``f:<field>``,
``k:<JSON of the key fields>``, ``v:<JSON value>``, ``i:<index>``, and ``".": {}`` where a path is
owned and has owned descendants (fieldpath/serialize.go, serialize-pe.go).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

PathElement = tuple[str, Any]  # ("f", name) | ("k", key JSON) | ("v", value JSON) | ("i", index)
Path = tuple[PathElement, ...]
FieldSet = frozenset[Path]
EMPTY: FieldSet = frozenset()


def canonical_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: compact, map keys sorted, <, > and & escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def field(name: str) -> PathElement:
    return ("f", name)


def key_element(fields: Mapping[str, Any]) -> PathElement:
    """A list-map item's element: its key fields, sorted by name (value.FieldList.Sort)."""
    return ("k", canonical_json(dict(sorted(fields.items()))))


def value_element(value: Any) -> PathElement:
    return ("v", canonical_json(value))


def make_path(*names: str) -> Path:
    return tuple(field(name) for name in names)


# -- set algebra ----------------------------------------------------------------------------------


def with_prefix(paths: Iterable[Path], element: PathElement) -> FieldSet:
    """The paths under ``element``, relative to it (Set.WithPrefix)."""
    return frozenset(path[1:] for path in paths if len(path) > 1 and path[0] == element)


def has_prefix_in(path: Path, paths: FieldSet) -> bool:
    return any(path[:length] in paths for length in range(1, len(path) + 1))


def recursive_difference(paths: FieldSet, removed: FieldSet) -> FieldSet:
    """``paths`` without the paths in ``removed`` and everything beneath them (Set.RecursiveDifference)."""
    if not removed:
        return paths
    return frozenset(path for path in paths if not has_prefix_in(path, removed))


# -- text forms -----------------------------------------------------------------------------------


def _value_string(value: Any) -> str:
    """value.ToString: strings quoted Go-style, everything else as Go prints it."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def element_string(element: PathElement) -> str:
    """PathElement.String: ``.name``, ``[k=v,...]``, ``[=v]``, ``[i]``."""
    tag, payload = element
    if tag == "f":
        return f".{payload}"
    if tag == "k":
        keys = json.loads(payload)
        return "[" + ",".join(f"{name}={_value_string(keys[name])}" for name in keys) + "]"
    if tag == "v":
        return f"[={_value_string(json.loads(payload))}]"
    return f"[{payload}]"


def path_string(path: Path) -> str:
    return "".join(element_string(element) for element in path)


def _element_key(element: PathElement) -> str:
    tag, payload = element
    return f"{tag}:{payload}"


def _parse_element(text: str) -> PathElement:
    tag, separator, payload = text.partition(":")
    if separator != ":" or tag not in ("f", "k", "v", "i"):
        raise ValueError(f"unknown path element {text!r}")
    if tag == "f":
        return ("f", payload)
    if tag == "i":
        return ("i", int(payload))
    parsed = json.loads(payload)
    if tag == "k":
        if not isinstance(parsed, dict):
            raise ValueError(f"a key element must be a JSON object: {text!r}")
        return key_element(parsed)
    return value_element(parsed)


def _sort_key(element: PathElement) -> tuple[int, Any]:
    """PathElement.Compare: field names, then keys, then values, then indexes."""
    tag, payload = element
    rank = {"f": 0, "k": 1, "v": 2, "i": 3}[tag]
    if tag in ("k", "v"):
        return rank, _comparable(json.loads(payload))
    return rank, payload


def _comparable(value: Any) -> Any:
    """An order for JSON values close to value.Compare (type first, then value)."""
    if isinstance(value, dict):
        return (5, tuple((name, _comparable(value[name])) for name in sorted(value)))
    if isinstance(value, list):
        return (4, tuple(_comparable(item) for item in value))
    if isinstance(value, str):
        return (3, value)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    return (0, 0)


def to_fields_v1(paths: FieldSet) -> dict[str, Any]:
    """The FieldsV1 trie of a set (Set.ToJSON)."""
    trie: dict[Any, Any] = {}  # PathElement -> subtrie; None -> owned here
    for path in paths:
        node = trie
        for element in path:
            node = node.setdefault(element, {})
        node[None] = True  # the path itself is owned
    return _emit(trie)


def _emit(node: dict[Any, Any]) -> dict[str, Any]:
    children = sorted((element for element in node if element is not None), key=_sort_key)
    result: dict[str, Any] = {}
    if None in node and children:
        result["."] = {}
    for element in children:
        result[_element_key(element)] = _emit(node[element])
    return result


def from_fields_v1(fields: Mapping[str, Any]) -> FieldSet:
    """The set a FieldsV1 trie stands for (Set.FromJSON); ValueError when it is not one."""
    paths: set[Path] = set()
    _collect(fields, (), paths)
    return frozenset(paths)


def _collect(node: Mapping[str, Any], prefix: Path, paths: set[Path]) -> None:
    if not isinstance(node, Mapping):
        raise ValueError("a FieldsV1 node must be a JSON object")
    for text, child in node.items():
        if text == ".":
            paths.add(prefix)
            continue
        path = (*prefix, _parse_element(text))
        if child:
            _collect(child, path, paths)
        else:
            paths.add(path)
