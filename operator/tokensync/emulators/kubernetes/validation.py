"""What kube-apiserver checks on a built-in kind's body, as pure functions.

Two stages, as in kube-apiserver:

1. Decoding (:class:`Decoder`): the JSON body becomes the kind's Go struct. A value of the wrong
   JSON type is a 400 BadRequest with encoding/json's message (``json: cannot unmarshal number
   into Go struct field ConfigMap.data of type string``); fields the struct does not have are
   dropped and reported (``fieldValidation``: Strict refuses them, Warn warns, Ignore drops them
   silently); ``null`` leaves a field unset.
2. Validation (:func:`builtin_causes`), 422 Invalid: required fields (the schema's ``required``,
   where Go's validation enforces them), name rules per kind (pkg/apis/*/validation), annotation
   keys and their total size, and what the kinds users touch most enforce: Secret and ConfigMap
   ``immutable``, Secret ``type`` immutable and the keys each Secret type requires, a CRD's name.

Messages follow k8s.io/apimachinery (pkg/util/validation, pkg/api/validation) and
k8s.io/kubernetes pkg/apis/core/validation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from . import builtin_schemas
from .builtin_schemas import INT_OR_STRING, QUANTITY, Schema, resolve, types_of
from .errors import ApiError
from .resources import Resource

Cause = dict[str, str]

# -- names (k8s.io/apimachinery pkg/util/validation, pkg/api/validation/path) -----------------------

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + "(\\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    shown = "".join((" or " if i else "") + f"'{e}', " for i, e in enumerate(examples))  # Go's spacing
    return f"{message} (e.g. {shown}regex used for validation is '{pattern}')"


def _full(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def dns1123_subdomain(name: str) -> list[str]:
    errors = ["must be no more than 253 characters"] if len(name) > 253 else []
    if not _full(_DNS1123_SUBDOMAIN, name):
        errors.append(_regex_error("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                                   "characters, '-' or '.', and must start and end with an alphanumeric character",
                                   _DNS1123_SUBDOMAIN, "example.com"))
    return errors


def dns1123_label(name: str) -> list[str]:
    errors = ["must be no more than 63 characters"] if len(name) > 63 else []
    if not _full(_DNS1123_LABEL, name):
        errors.append("must not contain dots" if _full(_DNS1123_SUBDOMAIN, name) else _regex_error(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
            "and end with an alphanumeric character", _DNS1123_LABEL, "my-name", "123-abc"))
    return errors


def dns1035_label(name: str) -> list[str]:
    errors = ["must be no more than 63 characters"] if len(name) > 63 else []
    if not _full(_DNS1035_LABEL, name):
        errors.append(_regex_error("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                                   "start with an alphabetic character, and end with an alphanumeric character",
                                   _DNS1035_LABEL, "my-name", "abc-123"))
    return errors


def path_segment(name: str) -> list[str]:
    """RBAC objects (names like ``system:controller:...``): anything a URL path segment can hold."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def cron_job_name(name: str) -> list[str]:
    # Jobs get the CronJob's name plus an 11-character suffix, within a 63-character label.
    return dns1123_subdomain(name) + (["must be no more than 52 characters"] if len(name) > 52 else [])


def _any_name(name: str) -> list[str]:
    return []


NameRule = Callable[[str], list[str]]
# (group, kind) -> the ValidateNameFunc its registry uses; every other kind, custom resources
# included, takes a DNS subdomain (NameIsDNSSubdomain).
NAME_RULES: dict[tuple[str, str], NameRule] = {
    ("", "Namespace"): dns1123_label,
    ("", "Service"): dns1035_label,
    ("batch", "CronJob"): cron_job_name,
    ("certificates.k8s.io", "CertificateSigningRequest"): _any_name,
    **{("rbac.authorization.k8s.io", kind): path_segment
       for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
}


def name_causes(resource: Resource, name: str) -> list[Cause]:
    if not name:
        return [{"reason": "FieldValueRequired", "field": "metadata.name",
                 "message": "Required value: name or generateName is required"}]
    rule = NAME_RULES.get((resource.group, resource.kind), dns1123_subdomain)
    return [_invalid("metadata.name", name, message) for message in rule(name)]


def _invalid(field: str, value: Any, message: str) -> Cause:
    shown = json.dumps(value) if isinstance(value, str) else str(value)
    return {"reason": "FieldValueInvalid", "field": field, "message": f"Invalid value: {shown}: {message}"}


def _required(field: str) -> Cause:
    return {"reason": "FieldValueRequired", "field": field, "message": "Required value"}


def _forbidden(field: str, message: str) -> Cause:
    return {"reason": "FieldValueForbidden", "field": field, "message": f"Forbidden: {message}"}


# -- annotations (ValidateAnnotations) ---------------------------------------------------------------

TOTAL_ANNOTATION_SIZE = 256 * 1024


def qualified_name(key: str) -> list[str]:
    parts = key.split("/")
    if len(parts) > 2:
        return ["a qualified name " + _regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character", _QUALIFIED_NAME, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errors: list[str] = []
    if len(parts) == 2:
        prefix = parts[0]
        errors += ["prefix part must be non-empty"] if not prefix else [f"prefix part {m}" for m in
                                                                          dns1123_subdomain(prefix)]
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _full(_QUALIFIED_NAME, name):
        errors.append("name part " + _regex_error(
            "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character", _QUALIFIED_NAME, "MyName", "my.name", "123-abc"))
    return errors


def annotation_causes(annotations: Any) -> list[Cause]:
    if not isinstance(annotations, dict):
        return []
    causes = [_invalid("metadata.annotations", key, message)
              for key in annotations for message in qualified_name(str(key).lower())]
    size = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE:
        causes.append({"reason": "FieldValueTooLong", "field": "metadata.annotations",
                       "message": f"Too long: may not be more than {TOTAL_ANNOTATION_SIZE} bytes"})
    return causes


# -- decoding --------------------------------------------------------------------------------------

_INT_RANGES = {"int32": (-(2 ** 31), 2 ** 31 - 1), "int64": (-(2 ** 63), 2 ** 63 - 1)}
# resource.Quantity's parse error (k8s.io/apimachinery pkg/api/resource ErrFormatWrong).
_QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_QUANTITY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)(([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?")
_RFC3339 = "2006-01-02T15:04:05Z07:00"


class DecodeError(Exception):
    """The body does not decode into the kind's Go struct (kube-apiserver answers 400)."""


class Decoder:
    """Walks a body along the kind's OpenAPI definition like Go's JSON decoding would."""

    def __init__(self) -> None:
        self.unknown: list[str] = []

    def object(self, value: Any, definition: str) -> Any:
        return self.value(value, {"$ref": f"#/$defs/{definition}"}, "", "", "")

    def value(self, value: Any, node: Schema, path: str, fields: str, struct: str) -> Any:
        """``path`` (with indices) names unknown fields; ``fields`` and ``struct`` are what
        encoding/json names in its errors: the JSON field path without indices, and the Go
        struct holding the field."""
        resolved, name = resolve(node)
        if name == INT_OR_STRING:
            return self._int_or_string(value, fields, struct)
        if name == QUANTITY:
            return self._quantity(value)
        kinds = types_of(resolved)
        if "object" in kinds:
            return self._object(value, resolved, name, path, fields, struct)
        if "array" in kinds:
            return self._array(value, resolved, path, fields, struct)
        if kinds:
            self._scalar(value, resolved, kinds[0], fields, struct)
        return value

    def _object(self, value: Any, node: Schema, name: str | None, path: str, fields: str, struct: str) -> Any:
        if not isinstance(value, dict):
            raise self._type_error(value, fields, struct, _go_type(node, name))
        properties: dict[str, Schema] = node.get("properties") or {}
        extra = node.get("additionalProperties")
        if not properties and not isinstance(extra, dict):
            return value  # free-form (RawExtension-like): kept as sent
        inner = builtin_schemas.short_type_name(name) if name else struct
        result: dict[str, Any] = {}
        for key, item in value.items():
            child_path = f"{path}.{key}" if path else key
            if item is None:
                continue  # null leaves the Go field at its zero value: omitted
            if key in properties:
                child_fields = f"{fields}.{key}" if fields else key
                result[key] = self.value(item, properties[key], child_path, child_fields, inner)
            elif isinstance(extra, dict):
                result[key] = self.value(item, extra, child_path, fields, struct)
            else:
                self.unknown.append(child_path)
        return result

    def _array(self, value: Any, node: Schema, path: str, fields: str, struct: str) -> Any:
        items = node.get("items")
        if not isinstance(value, list):
            raise self._type_error(value, fields, struct, _go_type(node, None))
        if not isinstance(items, dict):
            return value
        return [self.value(item, items, f"{path}[{i}]", fields, struct) for i, item in enumerate(value)
                if item is not None]

    def _scalar(self, value: Any, node: Schema, kind: str, fields: str, struct: str) -> None:
        go_type = _go_type(node, None)
        if kind == "string":
            if not isinstance(value, str):
                raise self._type_error(value, fields, struct, go_type)
            if node.get("format") == "date-time":
                _parse_time(value)
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise self._type_error(value, fields, struct, go_type)
        elif kind == "integer":
            self._integer(value, go_type, fields, struct)
        elif kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self._type_error(value, fields, struct, go_type)

    def _integer(self, value: Any, go_type: str, fields: str, struct: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._type_error(value, fields, struct, go_type)
        low, high = _INT_RANGES.get(go_type, _INT_RANGES["int64"])
        if isinstance(value, float) or not low <= value <= high:
            raise self._type_error(value, fields, struct, go_type, literal=True)

    def _int_or_string(self, value: Any, fields: str, struct: str) -> Any:
        if isinstance(value, str):
            return value
        # IntOrString.UnmarshalJSON decodes anything but a string into an int32.
        self._integer(value, "int32", fields, struct)
        return value

    def _quantity(self, value: Any) -> Any:
        text = value if isinstance(value, str) else json.dumps(value)
        if isinstance(value, bool) or not _QUANTITY.fullmatch(text.strip()):
            raise DecodeError(_QUANTITY_ERROR)
        return value

    def _type_error(self, value: Any, fields: str, struct: str, go_type: str, *, literal: bool = False) -> DecodeError:
        json_type = _json_type(value)
        if literal:
            json_type += f" {json.dumps(value)}"
        where = f"Go struct field {struct}.{fields}" if fields else "Go value"
        return DecodeError(f"json: cannot unmarshal {json_type} into {where} of type {go_type}")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _go_type(node: Schema, name: str | None) -> str:
    """How Go prints the field's type: v1.Container, []string, map[string]string, int32, ..."""
    if name == INT_OR_STRING:
        return "intstr.IntOrString"
    if name == QUANTITY:
        return "resource.Quantity"
    if name and "object" in types_of(node) and node.get("properties"):
        return builtin_schemas.go_type_name(name)
    kinds = types_of(node)
    kind = kinds[0] if kinds else ""
    if kind == "array":
        items = node.get("items")
        return "[]" + (_go_type(*resolve(items)) if isinstance(items, dict) else "interface {}")
    if kind == "object":
        extra = node.get("additionalProperties")
        return "map[string]" + (_go_type(*resolve(extra)) if isinstance(extra, dict) else "interface {}")
    formats = {"int32": "int32", "int64": "int64", "double": "float64", "byte": "[]uint8"}
    return formats.get(str(node.get("format")), {"string": "string", "boolean": "bool", "integer": "int64",
                                                 "number": "float64"}.get(kind, "interface {}"))


def _parse_time(value: str) -> None:
    """metav1.Time parses RFC 3339 (time.RFC3339); anything else fails the decoding."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
        raise DecodeError(f'parsing time "{value}" as "{_RFC3339}": cannot parse "{value}" as "2006"')
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DecodeError(f'parsing time "{value}": {exc}') from exc


def decode(resource: Resource, obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the object as its Go struct holds it, the unknown fields' paths); raises 400 BadRequest
    (``<Kind> in version "<v>" cannot be handled as a <Kind>: ...``) when it does not decode."""
    if not resource.definition:
        return obj, []
    decoder = Decoder()
    try:
        decoded = decoder.object(obj, resource.definition)
    except DecodeError as error:
        raise ApiError(400, "BadRequest", f'{resource.kind} in version "{resource.version}" cannot be handled as a '
                                          f"{resource.kind}: {error}") from error
    return decoded, decoder.unknown


# -- validation ------------------------------------------------------------------------------------

# Fields the OpenAPI lists as required only because their Go field has no omitempty, and which
# Go's validation does not require: an absent value decodes to "" and is accepted.
_NOT_ENFORCED = {("io.k8s.api.apps.v1.StatefulSetSpec", "serviceName"),
                 # pkg/apis/core/validation/events.go requires no Event field but eventTime, and that
                 # only on a create through events.k8s.io (_events_v1_causes): an Event stored by
                 # either group is then written through the other without them.
                 ("io.k8s.api.core.v1.Event", "involvedObject"), ("io.k8s.api.events.v1.Event", "eventTime")}


def required_causes(value: Any, node: Schema, path: str) -> list[Cause]:
    """Missing required strings, objects and lists (a missing number or bool decodes to its zero
    value, which Go's validation judges on its own terms), outside status."""
    resolved, name = resolve(node)
    causes: list[Cause] = []
    if isinstance(value, dict):
        properties: dict[str, Schema] = resolved.get("properties") or {}
        for key in resolved.get("required") or []:
            if key not in value and (name, key) not in _NOT_ENFORCED and key in properties and \
                    _enforced(properties[key]):
                causes.append(_required(f"{path}.{key}" if path else key))
        for key, item in value.items():
            if key in properties and not (not path and key in ("status", "metadata")):
                causes += required_causes(item, properties[key], f"{path}.{key}" if path else key)
    elif isinstance(value, list) and isinstance(resolved.get("items"), dict):
        for index, item in enumerate(value):
            causes += required_causes(item, resolved["items"], f"{path}[{index}]")
    return causes


def _enforced(node: Schema) -> bool:
    resolved, name = resolve(node)
    return name not in (INT_OR_STRING, QUANTITY) and not {"boolean", "integer", "number"} & set(types_of(resolved))


def builtin_causes(resource: Resource, obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    """422 causes for a decoded built-in object (``old``: the stored one, on updates)."""
    causes = required_causes(obj, {"$ref": f"#/$defs/{resource.definition}"}, "") if resource.definition else []
    check = _KIND_CHECKS.get((resource.group, resource.kind))
    if check is not None:
        causes += check(obj, old)
    return causes


def _data_equal(new: Any, old: Any) -> bool:
    return (new or {}) == (old or {})


def _immutable_data(obj: Mapping[str, Any], old: Mapping[str, Any] | None, sections: tuple[str, ...]) -> list[Cause]:
    """ValidateSecretUpdate / ValidateConfigMapUpdate: once ``immutable: true``, it stays, and so
    does the data."""
    if old is None or old.get("immutable") is not True:
        return []
    message = "field is immutable when `immutable` is set"
    causes = [] if obj.get("immutable") is True else [_forbidden("immutable", message)]
    return causes + [_forbidden(s, message) for s in sections if not _data_equal(obj.get(s), old.get(s))]


# Secret types and the data keys they require (core/v1 types.go; ValidateSecret).
_TLS, _DOCKER_JSON, _DOCKER_CFG = "kubernetes.io/tls", "kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"
_BASIC_AUTH, _SSH_AUTH = "kubernetes.io/basic-auth", "kubernetes.io/ssh-auth"
_SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"


def _secret_causes(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    causes: list[Cause] = []
    if old is not None and obj.get("type") != old.get("type"):
        causes.append(_invalid("type", obj.get("type"), "field is immutable"))
    causes += _immutable_data(obj, old, ("data",))
    return causes + _secret_type_causes(str(obj.get("type") or ""), obj.get("data") or {}, obj)


def _secret_type_causes(secret_type: str, data: Mapping[str, Any], obj: Mapping[str, Any]) -> list[Cause]:
    if secret_type == _SERVICE_ACCOUNT_TOKEN:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            return [_required("metadata.annotations[kubernetes.io/service-account.name]")]
        return []
    if secret_type in (_DOCKER_CFG, _DOCKER_JSON):
        key = ".dockercfg" if secret_type == _DOCKER_CFG else ".dockerconfigjson"
        if key not in data:
            return [_required(f"data[{key}]")]
        error = _json_object_error(data[key])
        return [_invalid(f"data[{key}]", "<secret contents redacted>", error)] if error else []
    if secret_type == _BASIC_AUTH and "username" not in data and "password" not in data:
        return [_required("data[username]"), _required("data[password]")]
    if secret_type == _SSH_AUTH and not data.get("ssh-privatekey"):
        return [_required("data[ssh-privatekey]")]
    if secret_type == _TLS:
        return [_required(f"data[{key}]") for key in ("tls.crt", "tls.key") if key not in data]
    return []


def _json_object_error(encoded: Any) -> str | None:
    """Docker config Secrets must hold a JSON object (encoding/json's error text otherwise)."""
    try:
        text = base64.b64decode(str(encoded), validate=True).decode()
        parsed = json.loads(text)
    except (binascii.Error, UnicodeDecodeError):
        return "illegal base64 data"
    except ValueError:
        stripped = text.lstrip()
        return f"invalid character {stripped[0]!r} looking for beginning of value" if stripped \
            else "unexpected end of JSON input"
    return None if isinstance(parsed, dict) else f"json: cannot unmarshal {_json_type(parsed)} into Go value of " \
                                                   "type map[string]interface {}"


def _config_map_causes(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    causes = _immutable_data(obj, old, ("data", "binaryData"))
    data = obj.get("data") or {}
    return causes + [_invalid(f"binaryData[{key}]", key, "duplicate of key present in data")
                     for key in obj.get("binaryData") or {} if key in data]


def _crd_causes(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    spec = obj.get("spec") or {}
    wanted = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"
    name = (obj.get("metadata") or {}).get("name", "")
    return [] if name == wanted else [_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group')]


def _events_v1_causes(obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    """ValidateEventCreate for events.k8s.io/v1 (pkg/apis/core/validation/events.go): eventTime is
    required on create; updates run the legacy checks only, which do not require it."""
    return [_required("eventTime")] if old is None and not obj.get("eventTime") else []


_KIND_CHECKS: dict[tuple[str, str], Callable[[Mapping[str, Any], Mapping[str, Any] | None], list[Cause]]] = {
    ("events.k8s.io", "Event"): _events_v1_causes,
    ("", "Secret"): _secret_causes,
    ("", "ConfigMap"): _config_map_causes,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd_causes,
}


# -- fieldValidation=Warn ----------------------------------------------------------------------------


def unknown_field_warnings(unknown: list[str]) -> list[str]:
    """The ``Warning`` header values kube-apiserver sends for dropped unknown fields (RFC 7234
    warn-code 299, agent "-"), what kubectl prints as ``Warning: unknown field "spec.foo"``."""
    return ["299 - " + json.dumps(f'unknown field "{path}"') for path in unknown]
