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
    seconds = int((clock.now() - datetime.fromisoformat(timestamp.replace("Z", "+00:00"))).total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _cell(value: Any, column_type: str, clock: Clock) -> Any:
    if value is None:
        return None
    if column_type == "date":
        return _age(clock, str(value))
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, separators=(",", ":"))
    return value


def table(resource: Resource, items: list[dict[str, Any]], resource_version: int, clock: Clock) -> dict[str, Any]:
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
