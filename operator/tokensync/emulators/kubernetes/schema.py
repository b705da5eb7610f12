"""Structural-schema handling for custom resources: pruning, defaulting, validation, CEL rules.

Follows "Extend the Kubernetes API with CustomResourceDefinitions": unknown fields are pruned
unless ``x-kubernetes-preserve-unknown-fields``; ``default`` fills missing fields; the
OpenAPI v3 keywords a structural schema allows are checked, ``format`` included (the formats
kube-apiserver knows, kube-openapi's strfmt); ``x-kubernetes-validations`` CEL rules run with
``self`` (and ``oldSelf`` on updates, for transition rules) via cel-python.

:func:`process_object` is the one entry for every kind: built-in kinds are decoded and
validated as their Go types are (validation.py), custom resources by their CRD's schema.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import ipaddress
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from . import validation

if TYPE_CHECKING:
    from .resources import Resource

_MISSING = object()
_ROOT_KEEP = {"apiVersion", "kind", "metadata"}


def _type_matches(value: Any, type_name: str) -> bool:
    if type_name == "object":
        return isinstance(value, dict)
    if type_name == "array":
        return isinstance(value, list)
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return '"object"'
    if isinstance(value, list):
        return '"array"'
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).lower() if isinstance(value, bool) else str(value)


@functools.lru_cache(maxsize=512)
def _cel_program(rule: str) -> Any:
    import celpy  # cel-python; imported lazily so the emulator starts without it.

    env = celpy.Environment()
    return env.program(env.compile(rule))


def _cel_check(rule: str, value: Any, old: Any) -> tuple[bool, str | None]:
    """Evaluate one rule; returns (ok, error text). Unsupported CEL counts as an error."""
    try:
        from celpy.adapter import json_to_cel
    except ImportError:  # pragma: no cover - dependency missing: behave like no rules.
        return True, None
    try:
        activation = {"self": json_to_cel(value)}
        if old is not _MISSING:
            activation["oldSelf"] = json_to_cel(old)
        result = _cel_program(rule).evaluate(activation)
    except Exception as exc:
        return False, f"compilation or evaluation error: {type(exc).__name__}"
    if isinstance(result, Exception):
        return False, f"evaluation error: {result}"
    return bool(result), None


class SchemaWalker:
    """One pass over an object: prunes, defaults and collects ``causes`` (field, reason, message)."""

    def __init__(self) -> None:
        self.causes: list[dict[str, str]] = []
        self.unknown_fields: list[str] = []  # pruned paths, for fieldValidation=Strict

    def fail(self, field: str, reason: str, message: str) -> None:
        self.causes.append({"reason": reason, "message": message, "field": field})

    def walk(self, value: Any, schema: dict[str, Any], field: str, old: Any = _MISSING, root: bool = False) -> Any:
        if value is None:
            if schema.get("nullable"):
                return None
            if "default" in schema:
                return copy.deepcopy(schema["default"])
            self.fail(field, "FieldValueTypeNotSupported", f'Invalid value: "null": {field} in body must be of type '
                      f'{schema.get("type", "object")}: "null"')
            return None
        type_name = schema.get("type")
        int_or_string = schema.get("x-kubernetes-int-or-string")
        if int_or_string:
            if not (_type_matches(value, "integer") or _type_matches(value, "string")):
                self.fail(field, "FieldValueInvalid", f"Invalid value: {_describe(value)}: {field} in body must be "
                          "of type integer or string")
                return value
        elif type_name and not _type_matches(value, type_name):
            actual = "object" if isinstance(value, dict) else "array" if isinstance(value, list) else \
                type(value).__name__.replace("str", "string").replace("int", "integer").replace("bool", "boolean")
            self.fail(field, "FieldValueTypeNotSupported", f'Invalid value: "{actual}": {field} in body must be of '
                      f"type {type_name}: \"{actual}\"")
            return value

        if isinstance(value, dict):
            value = self._walk_object(value, schema, field, old, root)
        elif isinstance(value, list):
            value = self._walk_array(value, schema, field, old)
        self._check_scalar(value, schema, field)
        self._check_rules(value, schema, field, old)
        return value

    def _walk_object(self, value: dict[str, Any], schema: dict[str, Any], field: str, old: Any, root: bool) -> Any:
        properties: dict[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
        if root and field == "" and "metadata" in value:
            pass  # metadata is the server's, not the schema's.
        result: dict[str, Any] = {}
        old_map = old if isinstance(old, dict) else {}
        for key, item in value.items():
            child = f"{field}.{key}" if field else key
            if root and key in _ROOT_KEEP:
                result[key] = item
            elif key in properties:
                result[key] = self.walk(item, properties[key], child, old_map.get(key, _MISSING))
            elif isinstance(additional, dict):
                result[key] = self.walk(item, additional, child, old_map.get(key, _MISSING))
            elif preserve or additional is True:
                result[key] = item
            else:  # pruned, like a structural schema does.
                self.unknown_fields.append(child)
        for key, prop in properties.items():
            if key not in result and "default" in prop:
                result[key] = self.walk(copy.deepcopy(prop["default"]), prop, f"{field}.{key}" if field else key)
        for key in schema.get("required") or []:
            if key not in result:
                self.fail(f"{field}.{key}" if field else key, "FieldValueRequired", "Required value")
        if "minProperties" in schema and len(result) < schema["minProperties"]:
            self.fail(field, "FieldValueInvalid", f"Invalid value: {len(result)}: {field} in body should have at least "
                      f"{schema['minProperties']} properties")
        if "maxProperties" in schema and len(result) > schema["maxProperties"]:
            self.fail(field, "FieldValueTooMany", f"Too many: {len(result)}: must have at most "
                      f"{schema['maxProperties']} items")
        return result

    def _walk_array(self, value: list[Any], schema: dict[str, Any], field: str, old: Any) -> Any:
        items = schema.get("items")
        result = [self.walk(item, items, f"{field}[{i}]") for i, item in enumerate(value)] if isinstance(items, dict) \
            else list(value)
        if "minItems" in schema and len(result) < schema["minItems"]:
            self.fail(field, "FieldValueInvalid", f"Invalid value: {len(result)}: {field} in body should have at least "
                      f"{schema['minItems']} items")
        if "maxItems" in schema and len(result) > schema["maxItems"]:
            self.fail(field, "FieldValueTooMany", f"Too many: {len(result)}: must have at most {schema['maxItems']} "
                      "items")
        if schema.get("uniqueItems") or schema.get("x-kubernetes-list-type") == "set":
            seen: list[Any] = []
            for item in result:
                if item in seen:
                    self.fail(field, "FieldValueDuplicate", f"Duplicate value: {_describe(item)}")
                seen.append(item)
        return result

    def _check_scalar(self, value: Any, schema: dict[str, Any], field: str) -> None:
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(_describe(v) for v in schema["enum"])
            self.fail(field, "FieldValueNotSupported", f"Unsupported value: {_describe(value)}: supported values: "
                      f"{allowed}")
        if isinstance(value, str):
            self._check_format(value, schema, field)
            if "pattern" in schema and not re.search(_go_anchors(schema["pattern"]), value):
                self.fail(field, "FieldValueInvalid", f"Invalid value: {_describe(value)}: {field} in body should "
                          f"match '{schema['pattern']}'")
            if "minLength" in schema and len(value) < schema["minLength"]:
                self.fail(field, "FieldValueInvalid", f"Invalid value: {_describe(value)}: {field} in body should be "
                          f"at least {schema['minLength']} chars long")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                self.fail(field, "FieldValueTooLong", f"Too long: may not be more than {schema['maxLength']} bytes")
        if isinstance(value, int | float) and not isinstance(value, bool):
            minimum, maximum = schema.get("minimum"), schema.get("maximum")
            if minimum is not None and (value < minimum or (schema.get("exclusiveMinimum") and value == minimum)):
                self.fail(field, "FieldValueInvalid", f"Invalid value: {value}: {field} in body should be greater than "
                          f"or equal to {minimum}")
            if maximum is not None and (value > maximum or (schema.get("exclusiveMaximum") and value == maximum)):
                self.fail(field, "FieldValueInvalid", f"Invalid value: {value}: {field} in body should be less than "
                          f"or equal to {maximum}")

    def _check_format(self, value: str, schema: dict[str, Any], field: str) -> None:
        format_name = schema.get("format")
        check = _FORMATS.get(str(format_name)) if format_name else None
        if check is not None and not check(value):
            # go-openapi's errors.InvalidType, as kube-apiserver words a format failure.
            self.fail(field, "FieldValueInvalid", f"Invalid value: {_describe(value)}: {field} in body must be of "
                      f"type {format_name}: {_describe(value)}")

    def _check_rules(self, value: Any, schema: dict[str, Any], field: str, old: Any) -> None:
        for rule in schema.get("x-kubernetes-validations") or []:
            expression = rule.get("rule", "")
            if "oldSelf" in expression and old is _MISSING:
                continue  # transition rules only run on updates.
            ok, error = _cel_check(expression, value, old)
            if not ok:
                target = field
                if rule.get("fieldPath"):
                    target = f"{field}{rule['fieldPath']}" if field else rule["fieldPath"].lstrip(".")
                message = error or rule.get("message") or f"failed rule: {expression}"
                self.fail(target, "FieldValueInvalid", f"Invalid value: {_describe(value)}: {message}")


def process_object(resource: Resource, obj: dict[str, Any], old: dict[str, Any] | None = None
                   ) -> tuple[dict[str, Any], list[dict[str, str]], list[str]]:
    """Decode, prune, default and validate one object of ``resource`` (a built-in kind or a custom
    resource): (the object to store, 422 causes, unknown fields' paths for fieldValidation).
    A body that does not decode into a built-in kind raises 400 BadRequest."""
    metadata = obj.get("metadata") or {}
    causes = validation.name_causes(resource, str(metadata.get("name") or ""))
    causes += validation.annotation_causes(metadata.get("annotations"))
    if resource.builtin:
        decoded, unknown = validation.decode(resource, obj)
        return decoded, causes + validation.builtin_causes(resource, decoded, old), unknown
    result, schema_causes, unknown = process(obj, resource.schema, old)
    return result, causes + schema_causes, unknown


def process(obj: dict[str, Any], schema: dict[str, Any] | None, old: dict[str, Any] | None = None
            ) -> tuple[dict[str, Any], list[dict[str, str]], list[str]]:
    """Prune, default and validate a whole custom resource; returns (object, causes, pruned paths)."""
    if not schema:
        return obj, [], []
    walker = SchemaWalker()
    result = walker.walk(obj, schema, "", _MISSING if old is None else old, root=True)
    return result, walker.causes, walker.unknown_fields


def _go_anchors(pattern: str) -> str:
    """The API server matches patterns with Go's regexp, whose ``$`` (without the m flag) is the
    end of the text; Python's also matches before a final newline."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + r"\Z"
    return pattern


# -- formats (kube-openapi pkg/validation/strfmt, the formats a CRD schema may use) --------------------

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})")
_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}"
                       r"[A-Za-z0-9])?)*\.?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_MAC = re.compile(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}")
_DURATION = re.compile(r"(\d+(\.\d+)?\s*(ns|us|µs|ms|s|m|h|d|w)\s*)+")


def _parses(parse: Callable[[str], object]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            parse(value)
        except ValueError:
            return False
        return True
    return check


def _date_time(value: str) -> bool:
    if not _DATE_TIME.fullmatch(value):
        return False
    return _parses(lambda v: datetime.fromisoformat(re.sub(r"[Zz]$", "+00:00", v.replace("t", "T"))))(value)


def _base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _uuid(version: int | None) -> Callable[[str], bool]:
    pattern = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")

    def check(value: str) -> bool:
        return bool(pattern.fullmatch(value)) and (version is None or uuid.UUID(value).version == version)
    return check


_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _date_time,
    "datetime": _date_time,
    "date": lambda v: bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)) and _parses(date.fromisoformat)(v),
    "byte": _base64,
    "uuid": _uuid(None), "uuid3": _uuid(3), "uuid4": _uuid(4), "uuid5": _uuid(5),
    "ipv4": _parses(ipaddress.IPv4Address),
    "ipv6": _parses(ipaddress.IPv6Address),
    "cidr": _parses(lambda v: ipaddress.ip_network(v, strict=False)),
    "hostname": lambda v: bool(_HOSTNAME.fullmatch(v)),
    "email": lambda v: bool(_EMAIL.fullmatch(v)),
    "mac": lambda v: bool(_MAC.fullmatch(v)),
    "duration": lambda v: bool(_DURATION.fullmatch(v)),
}
