"""Fault injection and write accounting for tests and benchmarks."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .errors import ApiError

_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
            410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
            503: "ServiceUnavailable", 504: "Timeout"}


@dataclass
class Fault:
    method: str  # "*" or an HTTP method
    path: re.Pattern[str]  # searched in the request path (without the query)
    status: int
    remaining: int
    message: str

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method in ("*", method.upper()) and bool(self.path.search(path))

    def error(self) -> ApiError:
        return ApiError(self.status, _REASONS.get(self.status, "Unknown"), self.message)


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.write_counts: Counter[tuple[str, str]] = Counter()

    def add(self, method: str, path_pattern: str, status: int, times: int, message: str | None) -> Fault:
        fault = Fault(method.upper(), re.compile(path_pattern), status, times,
                      message or f"injected fault: {status}")
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> ApiError | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                return fault.error()
        return None

    def clear(self) -> None:
        self._faults.clear()
