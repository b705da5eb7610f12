"""Typed operations on objects, as sigs.k8s.io/structured-merge-diff's ``typed`` package does them:
the field set a value sets (tofieldset.go), the comparison of two values (compare.go), the merge
of an applied configuration into a live object (merge.go, rule "keep RHS"), removing a set of
fields (remove.go), and ``Set.EnsureNamedFieldsAreMembers`` (fieldpath/set.go).

Values are plain JSON (dicts, lists, scalars); :data:`MISSING` stands for "absent", which SMD
tells apart from ``null``. The shape of a value decides how it is walked (map, list, leaf); its
:class:`~.field_types.TypeNode` decides the semantics (declared fields, atomic or keyed lists,
atomic maps).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .field_types import TypeNode, key_default_missing
from .fieldpath import FieldSet, Path, PathElement, key_element, path_string, value_element
from .fieldpath import field as field_element


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class TypedError(Exception):
    """A value that does not fit its type (SMD's ValidationError): ``<path>: <message>``."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path_string(path)}: {message}")


def same(left: Any, right: Any) -> bool:
    """JSON equality that, unlike ``==``, keeps ``true`` apart from ``1`` (value.Equals)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and bool(left == right)


def list_element(node: TypeNode, item: Any, path: Path) -> PathElement:
    """The path element naming a list item (listItemToPathElement): its key fields, or its value."""
    if node.list_type == "map":
        if not isinstance(item, dict):
            raise TypedError(path, "associative list with keys may not have non-map elements")
        keys: dict[str, Any] = {}
        for name in node.list_keys:
            if name in item:
                keys[name] = item[name]
                continue
            default = node.key_default(name)
            if key_default_missing(default):
                raise TypedError(path, f'associative list with keys has an element that omits key field "{name}" '
                                       "(and doesn't have default value)")
            keys[name] = default
        return key_element(keys)
    if isinstance(item, dict):
        raise TypedError(path, "associative list without keys has an element that's a map type")
    if isinstance(item, list):
        raise TypedError(path, "not supported: associative list with lists as elements")
    return value_element(item)


def _elements(node: TypeNode, items: list[Any], path: Path) -> list[PathElement]:
    return [list_element(node, item, path) for item in items]


# -- ToFieldSet -----------------------------------------------------------------------------------


def to_field_set(node: TypeNode, value: Any) -> FieldSet:
    """The fields ``value`` sets: leaves, list items, map entries that are not declared fields,
    empty or null values, atomic lists and maps as a whole."""
    out: set[Path] = set()
    _collect_fields(node, value, (), out)
    return frozenset(out)


def _collect_fields(node: TypeNode, value: Any, path: Path, out: set[Path]) -> None:
    if isinstance(value, dict):
        if node.map_atomic:
            out.add(path)
            return
        for key, child in value.items():
            child_node, declared = node.child(key)
            child_path = (*path, field_element(key))
            _collect_fields(child_node, child, child_path, out)
            if child is None or child is EMPTIED or (isinstance(child, dict) and not child) or not declared:
                out.add(child_path)
    elif isinstance(value, list):
        if node.list_type == "atomic":
            out.add(path)
            return
        elements = _elements(node, value, path)
        counts = Counter(elements)
        item_node = node.item()
        for element, item in zip(elements, value, strict=True):
            item_path = (*path, element)
            out.add(item_path)
            if counts[element] == 1:
                _collect_fields(item_node, item, item_path, out)
    else:
        out.add(path)


def undeclared_fields(node: TypeNode, value: Any, path: Path = ()) -> Iterator[Path]:
    """Keys the schema neither declares nor allows (SMD: "field not declared in schema")."""
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = (*path, field_element(key))
            if not node.accepts(key):
                yield child_path
            else:
                yield from undeclared_fields(node.child(key)[0], child, child_path)
    elif isinstance(value, list):
        item_node = node.item()
        for index, item in enumerate(value):
            element = ("i", index) if node.list_type == "atomic" else list_element(node, item, path)
            yield from undeclared_fields(item_node, item, (*path, element))


# -- Compare --------------------------------------------------------------------------------------


@dataclass
class Comparison:
    """What changed from lhs to rhs; a path is in at most one of the three sets."""

    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)

    def changed(self) -> FieldSet:
        return frozenset(self.added | self.modified)


def compare(node: TypeNode, lhs: Any, rhs: Any) -> Comparison:
    result = Comparison()
    _compare(node, lhs, rhs, (), result)
    return result


def _compare(node: TypeNode, lhs: Any, rhs: Any, path: Path, result: Comparison) -> None:
    if lhs is not MISSING and rhs is not MISSING and type(lhs) is type(rhs) and lhs == rhs:
        return  # equal subtrees change nothing (Python's == is exact enough here and much faster)
    if _shaped(lhs, rhs, dict):
        as_leaf = _compare_map(node, lhs, rhs, path, result)
    elif _shaped(lhs, rhs, list):
        as_leaf = _compare_list(node, lhs, rhs, path, result)
    else:
        _compare_leaf(lhs, rhs, path, result)
        return
    if not as_leaf:
        if lhs is MISSING:
            result.added.add(path)
        elif rhs is MISSING:
            result.removed.add(path)


def _shaped(lhs: Any, rhs: Any, kind: type) -> bool:
    """Both sides are ``kind`` (or absent, or null on one side only)."""
    sides = [side for side in (lhs, rhs) if side is not MISSING and side is not None]
    return bool(sides) and all(isinstance(side, kind) for side in sides)


def _compare_leaf(lhs: Any, rhs: Any, path: Path, result: Comparison) -> None:
    if lhs is MISSING:
        if rhs is not MISSING:
            result.added.add(path)
    elif rhs is MISSING:
        result.removed.add(path)
    elif not same(lhs, rhs):
        result.modified.add(path)


def _compare_map(node: TypeNode, lhs: Any, rhs: Any, path: Path, result: Comparison) -> bool:
    left = lhs if isinstance(lhs, dict) else {}
    right = rhs if isinstance(rhs, dict) else {}
    if node.map_atomic or (not left and not right):
        _compare_leaf(lhs, rhs, path, result)
        return True
    for key in [*left, *(k for k in right if k not in left)]:
        _compare(node.child(key)[0], left.get(key, MISSING), right.get(key, MISSING),
                 (*path, field_element(key)), result)
    return False


def _grouped(node: TypeNode, items: list[Any], path: Path) -> dict[PathElement, list[Any]]:
    groups: dict[PathElement, list[Any]] = {}
    for element, item in zip(_elements(node, items, path), items, strict=True):
        groups.setdefault(element, []).append(item)
    return groups


def _compare_list(node: TypeNode, lhs: Any, rhs: Any, path: Path, result: Comparison) -> bool:
    left = lhs if isinstance(lhs, list) else []
    right = rhs if isinstance(rhs, list) else []
    if node.list_type == "atomic" or (not left and not right):
        _compare_leaf(lhs, rhs, path, result)
        return True
    left_groups, right_groups = _grouped(node, left, path), _grouped(node, right, path)
    item_node = node.item()
    for element in [*left_groups, *(e for e in right_groups if e not in left_groups)]:
        before, after = left_groups.get(element, []), right_groups.get(element, [])
        item_path = (*path, element)
        if len(before) <= 1 and len(after) <= 1:
            _compare(item_node, before[0] if before else MISSING, after[0] if after else MISSING, item_path, result)
        elif len(before) >= 2 and len(after) >= 2:
            if not same(before, after):
                result.modified.add(item_path)
        elif len(before) >= 2:  # duplicates resolved: the single new item is added, the duplicates go
            if after:
                _compare(item_node, MISSING, after[0], item_path, result)
            result.removed.add(item_path)
        else:  # new duplicates
            if before:
                _compare(item_node, before[0], MISSING, item_path, result)
            result.added.add(item_path)
    return False


# -- Merge ----------------------------------------------------------------------------------------


def merge(node: TypeNode, lhs: Any, rhs: Any) -> Any:
    """``rhs`` (an applied configuration) merged into ``lhs`` (the live object): rhs's leaves win,
    maps merge by key, keyed and set lists by item, atomic lists and maps are replaced."""
    return _merge(node, lhs, rhs, ())


def _merge(node: TypeNode, lhs: Any, rhs: Any, path: Path) -> Any:
    if rhs is MISSING:
        return lhs
    if _shaped(lhs, rhs, dict):
        return _merge_map(node, lhs, rhs, path)
    if _shaped(lhs, rhs, list):
        return _merge_list(node, lhs, rhs, path)
    if isinstance(rhs, list) and node.list_type != "atomic":
        _check_no_duplicates(node, rhs, path)
    return rhs


def _merge_map(node: TypeNode, lhs: Any, rhs: Any, path: Path) -> Any:
    left = lhs if isinstance(lhs, dict) else {}
    right = rhs if isinstance(rhs, dict) else {}
    if node.map_atomic or (not left and not right):
        return rhs
    merged: dict[str, Any] = {}
    for key in [*left, *(k for k in right if k not in left)]:
        value = _merge(node.child(key)[0], left.get(key, MISSING), right.get(key, MISSING),
                       (*path, field_element(key)))
        if value is not MISSING:
            merged[key] = value
    return merged


def _check_no_duplicates(node: TypeNode, items: list[Any], path: Path) -> list[PathElement]:
    elements = _elements(node, items, path)
    seen: set[PathElement] = set()
    for element in elements:
        if element in seen:
            raise TypedError(path, f"duplicate entries for key {path_string((element,))}")
        seen.add(element)
    return elements


def _merge_list(node: TypeNode, lhs: Any, rhs: Any, path: Path) -> Any:
    left = lhs if isinstance(lhs, list) else []
    right = rhs if isinstance(rhs, list) else []
    if node.list_type == "atomic" or (not left and not right):
        return rhs
    right_elements = _check_no_duplicates(node, right, path)
    left_elements = _elements(node, left, path)
    return _ListMerge(node, path, left, left_elements, right, right_elements).run()


class _ListMerge:
    """merge.go's visitListItems: the live list's items in their order, the applied items in
    theirs; an item both have is placed where the applied list puts it among the shared ones."""

    def __init__(self, node: TypeNode, path: Path, left: list[Any], left_elements: list[PathElement],
                 right: list[Any], right_elements: list[PathElement]) -> None:
        self.node, self.path, self.item_node = node, path, node.item()
        self.left, self.left_elements, self.right_elements = left, left_elements, right_elements
        self.right_items = dict(zip(right_elements, right, strict=True))
        counts = Counter(left_elements)
        # A duplicated live item is not merged with the applied one (it counts as null).
        self.left_items = {e: (i if counts[e] == 1 else None) for e, i in zip(left_elements, left, strict=True)}
        self.shared = [e for e in right_elements if e in counts]
        self.shared_index = 0
        self.next_shared = self._pop_shared()
        self.merged: set[PathElement] = set()
        self.out: list[Any] = []

    def _pop_shared(self) -> PathElement | None:
        if self.shared_index < len(self.shared):
            self.shared_index += 1
            return self.shared[self.shared_index - 1]
        return None

    def _emit(self, element: PathElement, left: Any, right: Any) -> None:
        value = _merge(self.item_node, left, right, (*self.path, element))
        if value is not MISSING:
            self.out.append(value)

    def run(self) -> list[Any]:
        li = ri = 0
        while li < len(self.left_elements) or ri < len(self.right_elements):
            if li < len(self.left_elements) and ri < len(self.right_elements):
                element = self.left_elements[li]
                if element == self.right_elements[ri]:
                    self.merged.add(element)
                    self._emit(element, self.left_items[element], self.right_items[element])
                    li, ri = li + 1, ri + 1
                    self.next_shared = self._pop_shared()
                    continue
                if element in self.right_items and self.next_shared not in (None, element):
                    li += 1  # shared, but placed later by the applied list
                    continue
            if li < len(self.left_elements):
                element = self.left_elements[li]
                if element not in self.right_items:
                    self._emit(element, self.left[li], MISSING)
                    li += 1
                    continue
                if element in self.merged:
                    li += 1
            if ri < len(self.right_elements):
                element = self.right_elements[ri]
                self.merged.add(element)
                self._emit(element, self.left_items.get(element, MISSING), self.right_items[element])
                ri += 1
                if self.next_shared == element:
                    self.next_shared = self._pop_shared()
        return self.out


# -- RemoveItems and EnsureNamedFieldsAreMembers --------------------------------------------------


def _split(paths: FieldSet) -> tuple[set[PathElement], dict[PathElement, set[Path]]]:
    """A set's first level: the elements owned there, and what is owned beneath each element."""
    members: set[PathElement] = set()
    children: dict[PathElement, set[Path]] = {}
    for path in paths:
        if len(path) == 1:
            members.add(path[0])
        elif path:
            children.setdefault(path[0], set()).add(path[1:])
    return members, children


class _Emptied:
    def __repr__(self) -> str:
        return "EMPTIED"


# What remove.go leaves where it removed everything from a map or list: a null (not an absent
# field), so the field still counts as set until the result is cleaned with strip_emptied().
EMPTIED: Any = _Emptied()


def remove_items(node: TypeNode, value: Any, paths: FieldSet) -> Any:
    """``value`` without the fields in ``paths``; a map or list left empty becomes EMPTIED, and
    so does an atomic one anything beneath was to be removed from (remove.go)."""
    if not paths:
        return value
    members, children = _split(paths)
    if isinstance(value, dict):
        if node.map_atomic or not value:
            return EMPTIED
        kept: dict[str, Any] = {}
        for key, child in value.items():
            element = field_element(key)
            if element not in members:
                below = children.get(element)
                kept[key] = remove_items(node.child(key)[0], child, frozenset(below)) if below else child
        return kept if kept else EMPTIED
    if isinstance(value, list):
        if node.list_type == "atomic" or not value:
            return EMPTIED
        items: list[Any] = []
        for item in value:
            element = list_element(node, item, ())
            if element not in members:
                below = children.get(element)
                item = remove_items(node.item(), item, frozenset(below)) if below else item
                if item is not EMPTIED:
                    items.append(item)
        return items if items else EMPTIED
    return value


def strip_emptied(value: Any) -> Any:
    """``value`` without the fields remove_items() emptied (the typed converter drops such nulls)."""
    if isinstance(value, dict):
        return {key: strip_emptied(child) for key, child in value.items() if child is not EMPTIED}
    if isinstance(value, list):
        return [strip_emptied(item) for item in value if item is not EMPTIED]
    return value


def ensure_named_fields_are_members(node: TypeNode, paths: FieldSet) -> FieldSet:
    """``paths`` plus every declared field that has owned fields beneath it."""
    out = set(paths)
    _add_named_parents(node, frozenset(paths), (), out)
    return frozenset(out)


def _add_named_parents(node: TypeNode, paths: FieldSet, prefix: Path, out: set[Path]) -> None:
    _, children = _split(paths)
    for element, below in children.items():
        if element[0] == "f":
            child_node, declared = node.child(element[1])
            if declared:
                out.add((*prefix, element))
        else:
            child_node = node.item()
        _add_named_parents(child_node, frozenset(below), (*prefix, element), out)
