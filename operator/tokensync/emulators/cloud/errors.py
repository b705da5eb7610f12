"""Errors the emulated services answer, in Alibaba Cloud's shape.

Body: ``{RequestId, HostId, Code, Message, Recommend}``; status and codes as the real
gateway and services use them (see docs/cloud-emulator.md for the list).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer. ``message`` must never contain secret material."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: float | None = None) -> None:
        """``retry_after``: seconds (the answer's ``x-acs-retry-after`` header carries milliseconds)."""
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def error_body(error: ApiError, *, request_id: str, host_id: str) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=emulator&requestId={request_id}",
    }


def missing(name: str) -> ApiError:
    return ApiError(400, "MissingParameter", f"The input parameter \"{name}\" that is mandatory for processing "
                                             "this request is not supplied.")


def invalid(name: str, why: str) -> ApiError:
    return ApiError(400, f"InvalidParameter.{name}", f"The parameter {name} is invalid: {why}")


def required(params: dict[str, str], *names: str) -> list[str]:
    """The values of ``names`` in ``params``; MissingParameter for the first absent or empty one."""
    values = []
    for name in names:
        value = params.get(name)
        if not value:
            raise missing(name)
        values.append(value)
    return values
