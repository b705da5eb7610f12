"""How a controller says what it watches: the kind it is for, and the kinds it owns or reads.

The runtime builds the watches from these declarations (runtime/operator.py), so a kind is
registered in one place, next to the controller that handles it, as controller-runtime's
``For``/``Owns`` do. Several controllers may watch one kind; each event reaches them in the
order they were declared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from tokensync.kube.resources import Resource

Observer = Callable[[str | None, dict[str, Any]], None]


@dataclass(frozen=True)
class Watch:
    """Every event of ``resource`` (its type, the object) goes to ``observe``."""

    resource: Resource
    observe: Observer


class Registered(Protocol):
    """A controller, as the runtime sees it."""

    def watches(self) -> list[Watch]: ...


def observers_by_resource(watches: Iterable[Watch]) -> dict[Resource, list[Observer]]:
    """The watches grouped by kind, in declaration order: one API watch per kind."""
    grouped: dict[Resource, list[Observer]] = {}
    for watch in watches:
        grouped.setdefault(watch.resource, []).append(watch.observe)
    return grouped
