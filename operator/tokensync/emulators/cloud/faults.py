"""Injected faults: latency, error answers (any status and Code), throttling, broken bodies,
connection resets. Each fault matches an action (or all), fires with a probability, and
can be limited to a number of hits. The first matching fault that fires wins; latencies of
every firing fault add up.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

BodyFault = Literal["malformed", "truncated", "empty"]
_ids = itertools.count(1)


@dataclass
class Fault:
    action: str | None = None  # None: every API action (never the admin API)
    status: int | None = None  # with code: answer this error instead of calling the service
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None  # seconds; sent with the error as x-acs-retry-after in milliseconds
    latency_ms: float = 0.0  # added before answering
    body: BodyFault | None = None  # break the (otherwise real) answer's body
    reset: bool = False  # drop the connection without an answer
    rate: float = 1.0  # probability that the fault fires on a matching request
    times: int | None = None  # fire at most this many more times (None: until cleared)
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0

    def __post_init__(self) -> None:
        if (self.status is None) != (self.code is None):
            raise ValueError("an error fault needs both status and code")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be a 4xx or 5xx HTTP status")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if self.latency_ms < 0 or (self.times is not None and self.times < 0):
            raise ValueError("latency_ms and times cannot be negative")
        if self.body not in (None, "malformed", "truncated", "empty"):
            raise ValueError("body must be malformed, truncated or empty")

    @property
    def is_error(self) -> bool:
        return self.status is not None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {_camel(k): v for k, v in data.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def fault_from_json(data: dict[str, Any]) -> Fault:
    """A fault from the admin API's camelCase JSON."""
    names = {_camel(n): n for n in Fault.__dataclass_fields__ if n not in ("id", "hits")}
    unknown = set(data) - set(names)
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    return Fault(**{names[k]: v for k, v in data.items()})


@dataclass
class Outcome:
    """What the faults decided for one request."""

    latency_seconds: float = 0.0
    error: Fault | None = None
    body: BodyFault | None = None
    reset: bool = False


class FaultSet:
    def __init__(self, seed: int | None = None) -> None:
        self.faults: list[Fault] = []
        self._random = random.Random(seed)  # noqa: S311 - fault dice, not cryptography

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        return len(self.faults) != before

    def clear(self) -> None:
        self.faults.clear()

    def draw(self, action: str | None) -> Outcome:
        outcome = Outcome()
        for fault in list(self.faults):
            if fault.action is not None and fault.action != action:
                continue
            if fault.times is not None and fault.times <= 0:
                continue
            if fault.rate < 1.0 and self._random.random() >= fault.rate:
                continue
            decisive = fault.is_error or fault.reset or fault.body is not None
            if decisive and (outcome.error or outcome.reset or outcome.body):
                continue  # one decisive fault per request; the others wait for the next
            fault.hits += 1
            if fault.times is not None:
                fault.times -= 1
            outcome.latency_seconds += fault.latency_ms / 1000
            if fault.is_error:
                outcome.error = fault
            outcome.reset = outcome.reset or fault.reset
            outcome.body = outcome.body or fault.body
        self.faults = [f for f in self.faults if f.times is None or f.times > 0]
        return outcome
