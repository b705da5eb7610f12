"""Label and field selectors as LIST and WATCH accept them (``labelSelector``, ``fieldSelector``).

Grammar from the Kubernetes docs "Labels and Selectors": ``k=v``, ``k==v``, ``k!=v``,
``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists), ``!k`` (does not exist), ``k>1`` and ``k<5`` (integer
comparisons, apimachinery's labels.GreaterThan/LessThan), comma-joined.
Field selectors ("Field Selectors" docs) take ``=``, ``==``, ``!=`` on the fields each kind supports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import bad_request
from .event_conversion import as_core
from .resources import Resource

Matcher = Callable[[Mapping[str, str]], bool]
FieldGetter = Callable[[Mapping[str, Any]], str]

_SET_RE = re.compile(r"^\s*([^\s!=,()<>]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([^\s!=,()<>]+)\s*(==|=|!=)\s*([^\s!=,()<>]*)\s*$")
_CMP_RE = re.compile(r"^\s*([^\s!=,()<>]+)\s*([<>])\s*([^\s!=,()<>]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([^\s!=,()<>]+)\s*$")


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


def _integer(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64), or None."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def _comparison(key: str, op: str, raw: str) -> Matcher:
    """``Gt``/``Lt`` (labels.NewRequirement, Requirement.Matches): the value must be an integer; a label
    matches when present, an integer, and greater (less) than it."""
    bound = _integer(raw)
    if bound is None:
        raise bad_request(f'unable to parse requirement: values[0]: Invalid value: "{raw}": '
                          "for 'Gt', 'Lt' operators, the value must be an integer")

    def matches(labels: Mapping[str, str]) -> bool:
        value = _integer(labels[key]) if key in labels else None
        return value is not None and (value > bound if op == ">" else value < bound)

    return matches


def _requirement(text: str) -> Matcher:
    if match := _CMP_RE.match(text):
        return _comparison(*match.groups())
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


def _scalar(value: Any) -> str:
    """A field's value as a field selector compares it: Go's formatting of strings, numbers, booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _path(path: str) -> FieldGetter:
    def get(obj: Mapping[str, Any]) -> str:
        current: Any = obj
        for key in path.split("."):
            current = current.get(key) if isinstance(current, Mapping) else None
        return _scalar(current)

    return get


def _first(*paths: str) -> FieldGetter:
    """The first non-empty of several fields (an Event's ``source`` falls back to its reporter)."""
    getters = [_path(p) for p in paths]
    return lambda obj: next((v for v in (g(obj) for g in getters) if v), "")


def _on_core_event(getter: FieldGetter) -> FieldGetter:
    """A core Event field read from an Event of either group (a LIST answer is in the requested
    group's shape, a watch event in the stored core shape)."""
    return lambda obj: getter(as_core(obj))


_METADATA: dict[str, FieldGetter] = {"metadata.name": _path("metadata.name"),
                                     "metadata.namespace": _path("metadata.namespace")}
_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
# pkg/registry/core/event/strategy.go ToSelectableFields: what both groups' Events are selected by.
_CORE_EVENT_FIELDS: dict[str, FieldGetter] = {
    **_METADATA,
    **{f"involvedObject.{f}": _path(f"involvedObject.{f}") for f in _INVOLVED},
    "reason": _path("reason"), "type": _path("type"),
    "reportingComponent": _path("reportingComponent"),
    "source": _first("source.component", "reportingComponent"),
}
# pkg/apis/events/v1/conversion.go AddFieldLabelConversionsForEvent: the events.k8s.io labels are
# core labels under other names, matched on the stored core Event.
_EVENTS_V1_LABELS = {
    **{label: label for label in (*_METADATA, "reason", "type", "source")},
    **{f"regarding.{f}": f"involvedObject.{f}" for f in _INVOLVED},
    "reportingController": "reportingComponent",
}
# The per-kind field labels kube-apiserver accepts (the AddFieldLabelConversionsFor* functions of
# pkg/apis/core/v1 and pkg/apis/events/v1), for the kinds the emulator serves. Every other
# built-in kind falls back to runtime.DefaultMetaV1FieldSelectorConversion: metadata.name and
# metadata.namespace only, refused with a differently worded message.
_KIND_FIELDS: dict[tuple[str, str], dict[str, FieldGetter]] = {
    ("", "secrets"): {**_METADATA, "type": _path("type")},
    ("", "namespaces"): {"metadata.name": _path("metadata.name"), "status.phase": _path("status.phase")},
    ("", "events"): {label: _on_core_event(getter) for label, getter in _CORE_EVENT_FIELDS.items()},
    ("events.k8s.io", "events"): {label: _on_core_event(_CORE_EVENT_FIELDS[core])
                                  for label, core in _EVENTS_V1_LABELS.items()},
    ("", "pods"): {
        **_METADATA,
        **{f: _path(f) for f in ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                 "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                                 "status.nominatedNodeName")},
    },
}


def _supported_fields(resource: Resource) -> tuple[dict[str, FieldGetter], Callable[[str], str]]:
    """The field labels ``resource`` can be selected by, and the refusal message for any other."""
    if not resource.builtin:
        # apiextensions' crConverter: metadata.name, metadata.namespace when namespaced, and the
        # CRD version's selectableFields.
        fields = {"metadata.name": _path("metadata.name")}
        if resource.namespaced:
            fields["metadata.namespace"] = _path("metadata.namespace")
        fields.update({f: _path(f) for f in resource.selectable_fields})
        return fields, lambda label: f"field label not supported: {label}"
    if resource.key in _KIND_FIELDS:
        return _KIND_FIELDS[resource.key], lambda label: f"field label not supported: {label}"
    return dict(_METADATA), lambda label: (f'"{label}" is not a known field selector: only "metadata.name", '
                                           f'"metadata.namespace"')


def _field_terms(text: str) -> list[str]:
    """Terms split on commas not escaped with a backslash (apimachinery fields.ParseSelector)."""
    terms, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current + ("\\" if escaped else ""))
    return [t for t in terms if t.strip()]


def _split_field_term(term: str) -> tuple[str, str, str]:
    """``label op value`` at the first unescaped operator; the value may itself contain ``=``."""
    index = 0
    while index < len(term):
        if term[index] == "\\":
            index += 2
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, index):
                value = re.sub(r"\\(.)", r"\1", term[index + len(op):])
                return term[:index].strip(), op, value
        index += 1
    raise bad_request(f"invalid selector: '{term}'; can't understand '{term}'")


def parse_field_selector(text: str | None, resource: Resource) -> Callable[[Mapping[str, Any]], bool]:
    """Field selectors (``=``, ``==``, ``!=``) on the fields kube-apiserver indexes for the kind; any
    other field is a 400 BadRequest, as a real server answers it."""
    supported, refusal = _supported_fields(resource)
    checks: list[tuple[FieldGetter, bool, str]] = []
    for term in _field_terms(text or ""):
        label, op, value = _split_field_term(term)
        getter = supported.get(label)
        if getter is None:
            raise bad_request(refusal(label))
        checks.append((getter, op == "!=", value))

    def matches(obj: Mapping[str, Any]) -> bool:
        return all((getter(obj) == value) != negated for getter, negated, value in checks)

    return matches
