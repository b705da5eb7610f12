"""The query options of a write (CreateOptions, UpdateOptions, PatchOptions) and who the writer is.

Validation as k8s.io/apimachinery/pkg/apis/meta/v1/validation does it (ValidateCreateOptions,
ValidateUpdateOptions, ValidatePatchOptions): every problem is one cause of a single 422 Invalid
on ``<Kind>.meta.k8s.io ""``. The manager of a write is its ``fieldManager``, else the part of the
User-Agent before the first "/" (kube-apiserver handlers' managerOrUserAgent/prefixFromUserAgent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import bad_request, invalid

FIELD_MANAGER_MAX_LENGTH = 128
FIELD_VALIDATIONS = ("", "Ignore", "Strict", "Warn")


@dataclass(frozen=True)
class WriteOptions:
    manager: str  # the fieldManager, or the User-Agent's prefix; may be "" (recorded as "unknown")
    dry_run: bool
    field_validation: str
    force: bool | None  # PATCH only; None when not sent

    @property
    def strict(self) -> bool:
        return self.field_validation == "Strict"


def prefix_from_user_agent(user_agent: str) -> str:
    """The User-Agent up to its first "/", printable characters only, at most 128 bytes."""
    prefix = ""
    for char in user_agent.split("/", 1)[0]:
        if not char.isprintable():
            continue
        if len((prefix + char).encode()) > FIELD_MANAGER_MAX_LENGTH:
            break
        prefix += char
    return prefix


def _quoted(text: str) -> str:
    """Go's %q, near enough: double quotes, control characters escaped."""
    return '"' + text.encode("unicode_escape").decode().replace('"', '\\"') + '"'


def _field_manager_causes(manager: str) -> list[dict[str, str]]:
    causes = []
    if len(manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        causes.append({"reason": "FieldValueTooLong", "field": "fieldManager",
                       "message": f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"})
    for position, char in enumerate(manager):
        if not char.isprintable():
            causes.append({"reason": "FieldValueInvalid", "field": "fieldManager",
                           "message": f"Invalid value: {_quoted(manager)}: invalid character U+{ord(char):04X} "
                                      f"(at position {position})"})
    return causes


def _dry_run_causes(values: list[str]) -> list[dict[str, str]]:
    if all(value == "All" for value in values):
        return []
    listed = ", ".join(f'"{value}"' for value in values)
    return [{"reason": "FieldValueNotSupported", "field": "dryRun",
             "message": f'Unsupported value: []string{{{listed}}}: supported values: "All"'}]


def _field_validation_causes(value: str) -> list[dict[str, str]]:
    if value in FIELD_VALIDATIONS:
        return []
    supported = ", ".join(f'"{option}"' for option in FIELD_VALIDATIONS)
    return [{"reason": "FieldValueNotSupported", "field": "fieldValidation",
             "message": f'Unsupported value: "{value}": supported values: {supported}'}]


def _force(query: Mapping[str, str]) -> bool | None:
    raw = query.get("force")
    if raw is None:
        return None
    if raw.lower() in ("true", "1", "t"):
        return True
    if raw.lower() in ("false", "0", "f", ""):
        return False
    raise bad_request(f'strconv.ParseBool: parsing "{raw}": invalid syntax')


def write_options(options_kind: str, query: Mapping[str, str], dry_run_values: list[str], user_agent: str, *,
                  apply: bool = False) -> WriteOptions:
    """Parse and validate a write's options; ``options_kind`` is CreateOptions, UpdateOptions or
    PatchOptions, ``apply`` tells a server-side apply PATCH from the other patches."""
    field_manager = query.get("fieldManager", "")
    field_validation = query.get("fieldValidation", "")
    force = _force(query) if options_kind == "PatchOptions" else None
    causes: list[dict[str, str]] = []
    if options_kind == "PatchOptions" and not apply and force is not None:
        causes.append({"reason": "FieldValueForbidden", "field": "force",
                       "message": "Forbidden: may not be specified for non-apply patch"})
    if apply and not field_manager:
        causes.append({"reason": "FieldValueRequired", "field": "fieldManager",
                       "message": "Required value: is required for apply patch"})
    causes += _field_manager_causes(field_manager)
    causes += _dry_run_causes(dry_run_values)
    causes += _field_validation_causes(field_validation)
    if causes:
        raise invalid("meta.k8s.io", options_kind, "", causes)
    manager = field_manager or prefix_from_user_agent(user_agent)
    return WriteOptions(manager, bool(dry_run_values), field_validation, force)
