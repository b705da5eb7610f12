"""Label and field selectors as LIST and WATCH accept them (``labelSelector``, ``fieldSelector``).

Grammar from the Kubernetes docs "Labels and Selectors": ``k=v``, ``k==v``, ``k!=v``,
``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists) and ``!k`` (does not exist), comma-joined.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import bad_request

Matcher = Callable[[Mapping[str, str]], bool]

_SET_RE = re.compile(r"^\s*([^\s!=,()]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([^\s!=,()]+)\s*(==|=|!=)\s*([^\s!=,()]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([^\s!=,()]+)\s*$")


def _split_requirements(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def _requirement(text: str) -> Matcher:
    if match := _SET_RE.match(text):
        key, op, raw = match.groups()
        values = {v.strip() for v in raw.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_RE.match(text):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS_RE.match(text):
        negated, key = match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise bad_request(f"unable to parse requirement: {text!r}")


def parse_label_selector(text: str | None) -> Matcher:
    matchers = [_requirement(part) for part in _split_requirements(text or "")]
    return lambda labels: all(m(labels) for m in matchers)


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    current: Any = obj
    for key in path.split("."):
        current = current.get(key) if isinstance(current, Mapping) else None
    return "" if current is None else str(current)


def parse_field_selector(text: str | None) -> Callable[[Mapping[str, Any]], bool]:
    """Field selectors: ``metadata.name`` / ``metadata.namespace`` (every kind) and, more leniently
    than kube-apiserver's per-kind allowlists, any dotted scalar path (``involvedObject.uid`` for
    ``kubectl describe``'s Events, ``status.phase``)."""
    checks: list[tuple[str, str, str]] = []
    for part in _split_requirements(text or ""):
        match = _EQ_RE.match(part)
        if not match:
            raise bad_request(f"invalid field selector: {part!r}")
        checks.append(match.groups())  # type: ignore[arg-type]

    def matches(obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, field) == value) != (op == "!=") for field, op, value in checks)

    return matches
