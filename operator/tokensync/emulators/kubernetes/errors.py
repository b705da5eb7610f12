"""API errors rendered as ``Status`` objects, the way kube-apiserver answers failures."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A failure the server answers with a ``Status`` body and an HTTP code."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            # StatusDetails' fields are omitempty in Go: an empty group (the core API) is left out.
            body["details"] = {k: v for k, v in self.details.items() if v not in ("", None)}
        return body


def _qualified(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{_qualified(group, plural)} "{name}" not found',
        details={"name": name, "group": group, "kind": plural},
    )


def already_exists(group: str, plural: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{_qualified(group, plural)} "{name}" already exists',
        details={"name": name, "group": group, "kind": plural},
    )


def conflict(group: str, plural: str, name: str, why: str | None = None) -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(group, plural)} "{name}": {why}',
        details={"name": name, "group": group, "kind": plural},
    )


def invalid(group: str, kind: str, name: str, causes: list[dict[str, str]]) -> ApiError:
    summary = ", ".join(f"{c.get('field', '')}: {c['message']}".lstrip(": ") for c in causes)
    label = f"{kind}.{group}" if group else kind
    return ApiError(
        422,
        "Invalid",
        f'{label} "{name}" is invalid: {summary}',
        details={"name": name, "group": group, "kind": kind, "causes": causes},
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)
