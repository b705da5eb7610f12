"""``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``: server-side printing for ``kubectl get``.

Columns are Name, the CRD's ``additionalPrinterColumns`` (simple JSONPath: dotted fields and
``[?(@.k=="v")]`` filters) and Age, like kube-apiserver's default table convertor for CRs.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tokensync.clock import Clock

from .resources import Resource

_STEP_RE = re.compile(r'\.?([^.\[]+)|\[\?\(@\.([^=]+)==["\']?([^"\')]*)["\']?\)\]|\[(\d+)\]')


def json_path(obj: Any, path: str) -> Any:
    """Evaluate the JSONPath subset printer columns use; None when a step is missing."""
    path = path.strip().removeprefix("{").removesuffix("}").removeprefix("$")
    current = obj
    for match in _STEP_RE.finditer(path):
        key, filter_key, filter_value, index = match.groups()
        if key is not None:
            current = current.get(key) if isinstance(current, dict) else None
        elif index is not None:
            current = current[int(index)] if isinstance(current, list) and int(index) < len(current) else None
        else:
            current = next((item for item in current or [] if isinstance(item, dict)
                            and str(item.get(filter_key)) == filter_value), None) if isinstance(current, list) \
                else None
        if current is None:
            return None
    return current


def _age(clock: Clock, timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    return human_duration((clock.now() - datetime.fromisoformat(timestamp.replace("Z", "+00:00"))).total_seconds())


def human_duration(seconds_since: float) -> str:
    """What kube-apiserver prints for a "date" column: k8s.io/apimachinery/pkg/util/duration
    HumanDuration, including "<invalid>" for a time more than a second in the future."""
    seconds = int(seconds_since)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24 % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _cell(value: Any, column_type: str, clock: Clock) -> Any:
    if value is None:
        return None
    if column_type == "date":
        return _age(clock, str(value))
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, separators=(",", ":"))
    return value


def table(resource: Resource, items: list[dict[str, Any]], resource_version: int, clock: Clock,
          include_object: str | None = None) -> dict[str, Any]:
    columns: list[dict[str, Any]] = [{"name": "Name", "type": "string", "format": "name", "priority": 0,
                                      "description": "Name must be unique within a namespace."}]
    printer = [c for c in resource.printer_columns if c.get("jsonPath")]
    has_age = any(c.get("jsonPath") == ".metadata.creationTimestamp" for c in printer)
    for column in printer:
        columns.append({"name": column["name"], "type": column.get("type", "string"),
                        "format": column.get("format", ""), "description": column.get("description", ""),
                        "priority": column.get("priority", 0)})
    if not has_age:
        columns.append({"name": "Age", "type": "date", "format": "", "priority": 0,
                        "description": "CreationTimestamp is a timestamp representing the server time when this "
                                       "object was created."})
    rows = []
    for item in items:
        cells: list[Any] = [item["metadata"]["name"]]
        cells += [_cell(json_path(item, c["jsonPath"]), c.get("type", "string"), clock) for c in printer]
        if not has_age:
            cells.append(_age(clock, item["metadata"].get("creationTimestamp")))
        rows.append({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                                 "metadata": item["metadata"]}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(resource_version)},
            "columnDefinitions": columns, "rows": rows}
