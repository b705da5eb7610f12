"""``application/vnd.kubernetes.protobuf`` request bodies, read into the JSON object a JSON body would be.

client-go's typed clients (``kubectl create secret|deployment|...``, Helm's release Secrets, Go
controllers' Events and Leases) send built-in kinds as protobuf and never fall back to JSON. Such
a body is the magic ``k8s\\x00`` and a ``runtime.Unknown`` whose typeMeta names the kind and whose
``raw`` is that kind's message. The result is what Go's ``json.Marshal`` gives for the same object
(the emulator stores JSON as sent), so fields without ``omitempty`` keep their zero values and Go
structs are never omitted; unknown field numbers are skipped, as the Go decoder skips them.

Why a hand-written reader and not the ``protobuf`` package: that package also needs compiled
descriptors of every message, which would be generated code from the .proto files; the wire
format here is only varints and length-delimited fields, and the field tables
(``protobuf_fields``) are the one piece of Kubernetes knowledge either way.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError, bad_request
from .protobuf_fields import ANY_VERSION_KINDS, KINDS, MESSAGES

MAGIC = b"k8s\x00"
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
_SCALAR_ZERO: dict[str, Any] = {"s": "", "i": 0, "b": False, "y": ""}
_SPECIAL_ZERO: dict[str, Any] = {"Time": None, "MicroTime": None, "FieldsV1": None, "RawExtension": None,
                                 "ExtraValue": None, "Quantity": "0", "IntOrString": 0}
_TOKEN = re.compile(r"(\d+)\.(\^|\w+)([*!]*)(?::(\[\]|\{\})?([\w.]+))?")

WireValue = tuple[int, int | bytes]  # (wire type, varint or bytes)


class ProtobufError(ValueError):
    """A body that is not well-formed protobuf for the message it claims to be."""


@dataclass(frozen=True)
class Field:
    """One row of a message table (see ``protobuf_fields`` for the notation)."""

    number: int
    name: str  # "^": inlined into the parent object
    type: str  # s, i, b, y, a message name or a special message
    label: str  # "", "[]" (repeated) or "{}" (map with string keys)
    pointer: bool
    always: bool  # no omitempty: JSON has the zero value or null


def decode(raw: bytes) -> dict[str, Any]:
    """The JSON object of a whole protobuf request body (magic, ``runtime.Unknown``, message)."""
    if not raw.startswith(MAGIC):
        raise bad_request("the object provided is unrecognized: provided data does not appear to be a protobuf "
                          "message, expected prefix [107 56 115 0]")
    if len(raw) == len(MAGIC):
        raise bad_request("empty body")
    try:
        api_version, kind, payload = _unknown(raw[len(MAGIC):])
    except ProtobufError as exc:
        raise bad_request(f"the object provided is unrecognized: {exc}") from exc
    message = KINDS.get((api_version, kind)) or ANY_VERSION_KINDS.get(kind)
    if message is None:
        # kube-apiserver reads protobuf for built-in kinds only; a custom resource's endpoint
        # answers exactly this (apiextensions-apiserver serves JSON and YAML). CRDs and
        # APIServices, built-in but without tables here, get it too: a client can send JSON.
        raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                                                    "media types include: application/json, application/yaml")
    try:
        obj = decode_message(message, payload)
    except ProtobufError as exc:
        version = api_version.rpartition("/")[2]
        raise bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: {exc}') from exc
    return {"kind": kind, "apiVersion": api_version, **obj}


def _unknown(data: bytes) -> tuple[str, str, bytes]:
    """apiVersion, kind and raw of a ``runtime.Unknown`` (k8s.io/apimachinery pkg/runtime/generated.proto:
    typeMeta = 1 {apiVersion = 1, kind = 2}, raw = 2; contentEncoding = 3 and contentType = 4 are
    ignored, as kube-apiserver ignores them)."""
    type_meta, payload = b"", b""
    for number, wire, value in read_fields(data):
        if number == 1:
            type_meta += _bytes(wire, value, "typeMeta")
        elif number == 2:
            payload = _bytes(wire, value, "raw")
    api_version = kind = ""
    for number, wire, value in read_fields(type_meta):
        if number == 1:
            api_version = _bytes(wire, value, "apiVersion").decode("utf-8", "replace")
        elif number == 2:
            kind = _bytes(wire, value, "kind").decode("utf-8", "replace")
    if not kind or not api_version:
        missing = "Kind" if not kind else "apiVersion"
        raise ProtobufError(f"Object '{missing}' is missing in 'runtime.TypeMeta{{APIVersion:\"{api_version}\", "
                            f"Kind:\"{kind}\"}}'")
    return api_version, kind, payload


# -- the wire format ---------------------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while pos < len(data) and shift < 70:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise ProtobufError("proto: unexpected EOF" if pos >= len(data) else "proto: integer overflow")


def read_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of each field of one message: a varint as an int, anything
    else as its bytes (fixed-width values are only skipped: no Kubernetes field we read has one)."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("proto: illegal tag 0")
        value: int | bytes
        if wire == _VARINT:
            value, pos = _varint(data, pos)
        elif wire in (_BYTES, _FIXED64, _FIXED32):
            size, pos = (_varint(data, pos) if wire == _BYTES else (8 if wire == _FIXED64 else 4, pos))
            if pos + size > len(data):
                raise ProtobufError("proto: unexpected EOF")
            value, pos = data[pos:pos + size], pos + size
        else:
            raise ProtobufError(f"proto: illegal wireType {wire} for field {number}")
        yield number, wire, value


def _bytes(wire: int, value: int | bytes, name: str) -> bytes:
    if wire != _BYTES or not isinstance(value, bytes):
        raise ProtobufError(f"proto: wrong wireType = {wire} for field {name}")
    return value


def _int(wire: int, value: int | bytes, name: str) -> int:
    if wire != _VARINT or not isinstance(value, int):
        raise ProtobufError(f"proto: wrong wireType = {wire} for field {name}")
    return value - (1 << 64) if value >= 1 << 63 else value  # int32 and int64 are two's complement


# -- messages ----------------------------------------------------------------------------------------


@functools.cache
def fields_of(message: str) -> dict[int, Field]:
    """The parsed table of one message, by field number, in the table's order."""
    fields: dict[int, Field] = {}
    for token in MESSAGES[message].split():
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise ValueError(f"bad field token {token!r} in {message}")
        number, name, flags, label, kind = match.groups()
        fields[int(number)] = Field(int(number), name, kind or "s", label or "", "*" in flags, "!" in flags)
    return fields


def decode_message(message: str, data: bytes) -> dict[str, Any]:
    """The JSON object of one message of ``protobuf_fields.MESSAGES``."""
    fields = fields_of(message)
    seen: dict[int, list[WireValue]] = {}
    for number, wire, value in read_fields(data):
        if number in fields:
            seen.setdefault(number, []).append((wire, value))
    obj: dict[str, Any] = {}
    for field in fields.values():
        _put(obj, field, seen.get(field.number, []))
    return obj


def _put(obj: dict[str, Any], field: Field, occurrences: list[WireValue]) -> None:
    """Set one field the way Go's encoding/json writes it: ``omitempty`` leaves out an empty list,
    map or pointer and a zero scalar, but never a struct; without it, nil is ``null``."""
    if field.label:
        collection = _repeated(field, occurrences) if field.label == "[]" else _map(field, occurrences)
        if collection or field.always:
            obj[field.name] = collection or None
    elif field.name == "^":
        obj.update(_single(field, occurrences) if occurrences else _zero(field.type))
    elif occurrences:
        value = _single(field, occurrences)
        if field.pointer or field.always or not _is_zero_scalar(field.type, value):
            obj[field.name] = value
    elif field.pointer:
        if field.always:
            obj[field.name] = None
    elif field.always or field.type not in _SCALAR_ZERO:
        obj[field.name] = _zero(field.type)


def _is_zero_scalar(kind: str, value: Any) -> bool:
    return kind in _SCALAR_ZERO and value == _SCALAR_ZERO[kind]


def _single(field: Field, occurrences: list[WireValue]) -> Any:
    """A scalar's last occurrence wins; a message's occurrences merge (their bytes concatenate)."""
    if field.type in _SCALAR_ZERO:
        wire, value = occurrences[-1]
        return _scalar(field, wire, value)
    return _value(field.type, b"".join(_bytes(wire, value, field.name) for wire, value in occurrences))


def _repeated(field: Field, occurrences: list[WireValue]) -> list[Any]:
    items: list[Any] = []
    for wire, value in occurrences:
        if field.type in ("i", "b") and wire == _BYTES and isinstance(value, bytes):
            items.extend(_scalar(field, _VARINT, number) for number in _packed(value))
        elif field.type in _SCALAR_ZERO:
            items.append(_scalar(field, wire, value))
        else:
            items.append(_value(field.type, _bytes(wire, value, field.name)))
    return items


def _packed(data: bytes) -> Iterator[int]:
    pos = 0
    while pos < len(data):
        number, pos = _varint(data, pos)
        yield number


def _map(field: Field, occurrences: list[WireValue]) -> dict[str, Any]:
    """A proto map is a repeated entry message: key = 1, value = 2."""
    entries: dict[str, Any] = {}
    for wire, value in occurrences:
        key, item = "", _zero(field.type)
        for number, entry_wire, entry_value in read_fields(_bytes(wire, value, field.name)):
            if number == 1:
                key = _bytes(entry_wire, entry_value, field.name).decode("utf-8", "replace")
            elif number == 2 and field.type in _SCALAR_ZERO:
                item = _scalar(field, entry_wire, entry_value)
            elif number == 2:
                item = _value(field.type, _bytes(entry_wire, entry_value, field.name))
        entries[key] = item
    return entries


def _scalar(field: Field, wire: int, value: int | bytes) -> Any:
    if field.type == "i":
        return _int(wire, value, field.name)
    if field.type == "b":
        return bool(_int(wire, value, field.name))
    raw = _bytes(wire, value, field.name)
    return base64.b64encode(raw).decode() if field.type == "y" else raw.decode("utf-8", "replace")


def _zero(kind: str) -> Any:
    """What Go's JSON has for a field the wire did not carry."""
    if kind in _SCALAR_ZERO:
        return _SCALAR_ZERO[kind]
    if kind in _SPECIAL_ZERO:
        return _SPECIAL_ZERO[kind]
    return decode_message(kind, b"")


def _value(kind: str, data: bytes) -> Any:
    """A message field's JSON value: the special apimachinery types have their own JSON forms."""
    special = _SPECIALS.get(kind)
    return special(data) if special is not None else decode_message(kind, data)


def _special_fields(data: bytes) -> dict[int, int | bytes]:
    return {number: value for number, _, value in read_fields(data)}


def _time(data: bytes) -> str | None:
    """metav1.Time {seconds = 1, nanos = 2}: RFC 3339 in seconds (Go drops the nanos); empty is
    the zero time, ``null`` in JSON."""
    if not data:
        return None
    return _timestamp(data, micro=False)


def _micro_time(data: bytes) -> str | None:
    """metav1.MicroTime: like Time, to the microsecond."""
    if not data:
        return None
    return _timestamp(data, micro=True)


def _timestamp(data: bytes, *, micro: bool) -> str:
    values = _special_fields(data)
    seconds = _int(_VARINT, values.get(1, 0), "seconds")
    nanos = _int(_VARINT, values.get(2, 0), "nanos") if micro else 0
    try:
        moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=max(nanos, 0) // 1000)
    except (OverflowError, OSError, ValueError) as exc:
        raise ProtobufError(f"time out of range: {seconds}s") from exc
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _quantity(data: bytes) -> str:
    """resource.Quantity {string = 1}: already the canonical string Go's JSON would carry."""
    value = _special_fields(data).get(1, b"0")
    return _bytes(_BYTES, value, "string").decode("utf-8", "replace")


def _int_or_string(data: bytes) -> int | str:
    """intstr.IntOrString {type = 1 (0 int, 1 string), intVal = 2, strVal = 3}."""
    values = _special_fields(data)
    if _int(_VARINT, values.get(1, 0), "type") == 1:
        return _bytes(_BYTES, values.get(3, b""), "strVal").decode("utf-8", "replace")
    return _int(_VARINT, values.get(2, 0), "intVal")


def _raw_json(data: bytes) -> Any:
    """metav1.FieldsV1 and runtime.RawExtension {raw = 1}: JSON bytes, which Go's JSON embeds as they
    are (managedFields' fieldsV1; ControllerRevision's data, which controllers write as JSON)."""
    raw = _special_fields(data).get(1)
    if raw is None:
        return None
    try:
        return json.loads(_bytes(_BYTES, raw, "raw"))
    except ValueError as exc:
        raise ProtobufError("embedded raw data is not JSON") from exc


def _extra_value(data: bytes) -> list[str]:
    """ExtraValue {repeated items = 1} of authentication, authorization and certificates: a list of
    strings in JSON (``type ExtraValue []string``)."""
    return [_bytes(wire, value, "items").decode("utf-8", "replace")
            for number, wire, value in read_fields(data) if number == 1]


_SPECIALS = {"Time": _time, "MicroTime": _micro_time, "Quantity": _quantity, "IntOrString": _int_or_string,
             "FieldsV1": _raw_json, "RawExtension": _raw_json, "ExtraValue": _extra_value}
