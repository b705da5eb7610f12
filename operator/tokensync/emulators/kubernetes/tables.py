"""``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``: server-side printing for ``kubectl get``.

kube-apiserver picks one table convertor per resource, and so does ``table``:

- a custom resource: the CRD version's additionalPrinterColumns, exactly those, or Age alone when
  it declares none (apiextensions-apiserver pkg/registry/customresource/tableconvertor/
  tableconvertor.go; serveDefaultColumnsIfEmpty in pkg/apiserver/customresource_handler.go);
- a built-in kind with a printer: its columns and cells from pkg/printers/internalversion/
  printers.go, always with the wide (priority 1) cells (pkg/printers/storage/storage.go asks for
  Wide; kubectl hides priority 1 columns unless ``-o wide``);
- any other built-in kind (CustomResourceDefinition itself, kinds added later): Name and Created At
  (staging/src/k8s.io/apiserver/pkg/registry/rest/table.go).

``includeObject`` then decides what each row carries (staging/src/k8s.io/apiserver/pkg/endpoints/
handlers/response.go, asTable): PartialObjectMetadata by default, the whole object for ``Object``
(what ``kubectl get --sort-by`` asks for: it sorts the rows by a JSONPath into each row's object),
nothing for ``None``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from tokensync.clock import Clock

from .errors import bad_request
from .resources import Resource

_Cells = Callable[[dict[str, Any], Clock], list[Any]]
_Conditions = Callable[[dict[str, Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class _Printer:
    """One table convertor: column definitions, a row's cells and (Pods only) a row's conditions."""

    columns: list[dict[str, Any]]
    cells: _Cells
    conditions: _Conditions | None = None


def table(resource: Resource, items: list[dict[str, Any]], resource_version: int | str, clock: Clock,
          include_object: str | None = None, *, no_headers: bool = False) -> dict[str, Any]:
    """The meta.k8s.io/v1 Table for a LIST, or for one object (``items`` = [it]): a GET or a watch event.

    ``resource_version`` is the list's, or the object's: a convertor copies the ListMeta of a list and
    the resourceVersion of a single object (rest/table.go, tableconvertor.go, tablegenerator.go).
    ``no_headers`` leaves out the column definitions (null), as kube-apiserver does for every watch
    event after the first one of a ``kubectl get --watch`` (handlers/response.go, watchEmbeddedEncoder).
    """
    check_include_object(include_object)
    printer = _printer_for(resource)
    columns = None if no_headers else [dict(column) for column in printer.columns]
    metadata = {"resourceVersion": str(resource_version)} if str(resource_version) else {}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
            "columnDefinitions": columns, "rows": [_row(printer, item, clock, include_object) for item in items]}


def _printer_for(resource: Resource) -> _Printer:
    if not resource.builtin:
        return _crd_printer(resource)
    return _PRINTERS.get((resource.group, resource.kind), _DEFAULT_PRINTER)


def _row(printer: _Printer, item: dict[str, Any], clock: Clock, include_object: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"cells": printer.cells(item, clock)}
    conditions = printer.conditions(item) if printer.conditions else []
    if conditions:
        row["conditions"] = conditions
    row["object"] = _row_object(item, include_object)
    return row


# -- includeObject (endpoints/handlers/response.go; meta/v1beta1/validation ValidateTableOptions) ---------------

def check_include_object(include_object: str | None) -> None:
    """includeObject must be one of the TableOptions values (400 BadRequest otherwise)."""
    if include_object not in (None, "", "Metadata", "Object", "None"):
        raise bad_request(f'Unable to convert to Table as requested: includeObject: Invalid value: "{include_object}": '
                          "must be 'Metadata', 'Object', 'None', or empty")


def _row_object(item: dict[str, Any], include_object: str | None) -> dict[str, Any] | None:
    if include_object == "Object":
        return item
    if include_object == "None":
        return None  # RawExtension with no object: JSON null
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item.get("metadata") or {}}


# -- JSONPath: the subset printer columns use (client-go util/jsonpath, AllowMissingKeys) ----------------------

_STEP_RE = re.compile(r'\.?([^.\[]+)|\[\?\(@\.([^=]+)==["\']?([^"\')]*)["\']?\)\]|\[(-?\d+)\]')
_MISSING: Any = object()


def json_path(obj: Any, path: str) -> Any:
    """Evaluate the JSONPath subset printer columns use; None when a step is missing."""
    found = _find(obj, path)
    return None if found is _MISSING else found


def _find(obj: Any, path: str) -> Any:
    """The first result of ``path`` in ``obj``, or _MISSING: a JSON null is a result, not a miss."""
    current = obj
    for match in _STEP_RE.finditer(path.strip().removeprefix("{").removesuffix("}").removeprefix("$")):
        current = _step(current, *match.groups())
        if current is _MISSING:
            return _MISSING
    return current


def _step(current: Any, key: str | None, filter_key: str | None, filter_value: str | None, index: str | None) -> Any:
    if key is not None:
        return current.get(key, _MISSING) if isinstance(current, dict) else _MISSING
    if not isinstance(current, list):
        return _MISSING
    if index is not None:
        return current[int(index)] if -len(current) <= int(index) < len(current) else _MISSING
    return next((item for item in current if isinstance(item, dict) and str(item.get(filter_key)) == filter_value),
                _MISSING)


# -- custom resources (tableconvertor.go) -----------------------------------------------------------------------

def _crd_printer(resource: Resource) -> _Printer:
    columns = _crd_columns(resource)

    def cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
        return [_name(obj)] + [_crd_cell(obj, column, clock) for column in columns]

    return _Printer([_NAME] + [_crd_header(column) for column in columns], cells)


def _crd_columns(resource: Resource) -> list[dict[str, Any]]:
    """Exactly the declared columns; Age only when none are (serveDefaultColumnsIfEmpty)."""
    if not resource.printer_columns:
        return [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp", "description": _CREATED}]
    return [column for column in resource.printer_columns if column.get("jsonPath")]


def _crd_header(column: dict[str, Any]) -> dict[str, Any]:
    description = column.get("description") or \
        f"Custom resource definition column (in JSONPath format): {column['jsonPath']}"
    return _column(str(column.get("name", "")), description, column.get("type", "string"), column.get("priority", 0),
                   column.get("format", ""))


def _crd_cell(obj: dict[str, Any], column: dict[str, Any], clock: Clock) -> Any:
    """A cell the convertor cannot fill is null (kubectl leaves it blank), never an error for the LIST."""
    value = _find(obj, column["jsonPath"])
    if value is _MISSING:
        return None
    column_type = column.get("type", "string")
    if column_type == "string":
        return _go_text(value)
    return _typed_cell(column_type, value, clock)


def _typed_cell(column_type: str, value: Any, clock: Clock) -> Any:
    """cellForJSONValue: a value of the wrong JSON type is null; an unreadable date is "<invalid>"."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if column_type == "integer" and is_number:
        return int(value)
    if column_type == "number" and is_number:
        return int(value) if float(value).is_integer() and abs(value) < 1e21 else float(value)  # Go's JSON for 2.0
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        return _date_cell(value, clock)
    return None


# -- how Go prints a value into a "string" column (jsonpath PrintResults, fmt.Fprint, encoding/json) ------------

def _go_text(value: Any) -> str:
    if value is None:
        return "<no value>"  # text/template's printableValue of a nil
    if isinstance(value, dict | list):
        return _go_json(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value, json_style=False)
    return str(value)


def _go_json(value: Any) -> str:
    """encoding/json.Marshal: sorted keys, no spaces, <, > and & escaped, Go's float text."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_json(str(k))}:{_go_json(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_go_json(item) for item in value) + "]"
    if isinstance(value, float):
        return _go_float(value, json_style=True)
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _go_float(value: float, *, json_style: bool) -> str:
    """A float64 as fmt's %v (exponent from 1e+06 or below 1e-04) or as encoding/json (from 1e+21,
    below 1e-06); both with the shortest digits that read back, like Python's repr."""
    if value == 0:
        return "0"
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + int(exponent)  # value = 0.<digits> x 10**point
    scientific = (abs(value) < 1e-6 or abs(value) >= 1e21) if json_style else not -4 <= point - 1 < 6
    text = _scientific(digits, point - 1, json_style) if scientific else _positional(digits, point)
    return "-" + text if value < 0 else text


def _scientific(digits: str, exp: int, json_style: bool) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    width = 1 if json_style and exp < 0 else 2  # encoding/json turns e-07 into e-7
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):0{width}d}"


def _positional(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


# -- times: metav1.Time.UnmarshalQueryParameter, duration.HumanDuration ------------------------------------------

_RFC3339_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})")


def _parse_time(text: str) -> datetime | None:
    """time.Parse(time.RFC3339, text): None where Go refuses the text (Python's fromisoformat takes more)."""
    match = _RFC3339_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        offset = timedelta() if zone == "Z" else \
            (-1 if zone[0] == "-" else 1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        int((fraction or "0")[:6].ljust(6, "0")), tzinfo=timezone(offset))
    except ValueError:
        return None


def _date_cell(text: str, clock: Clock) -> str:
    """A "date" column: the age of the time, "<unknown>" for none, "<invalid>" for an unreadable one."""
    if text in ("", "null"):
        return "<unknown>"
    when = _parse_time(text)
    return "<invalid>" if when is None else human_duration((clock.now() - when).total_seconds())


def _since(clock: Clock, timestamp: Any) -> str:
    """printers.go translateTimestampSince: "<unknown>" for an unset time."""
    return _date_cell(timestamp if isinstance(timestamp, str) else "", clock)


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


# -- small readers shared by the built-in printers -----------------------------------------------------------------

def _at(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _name(obj: dict[str, Any]) -> str:
    return _text(_at(obj, "metadata", "name"))


def _age(obj: dict[str, Any], clock: Clock) -> str:
    return _since(clock, _at(obj, "metadata", "creationTimestamp"))


def _replicas(obj: dict[str, Any]) -> int:
    """spec.replicas, which apps/v1 defaulting sets to 1 when a Deployment or StatefulSet omits it."""
    replicas = _at(obj, "spec", "replicas")
    return replicas if isinstance(replicas, int) else 1


def _containers(obj: dict[str, Any]) -> list[str]:
    """layoutContainerCells: the template's container names, then their images, comma-joined."""
    containers = [c for c in _at(obj, "spec", "template", "spec", "containers") or [] if isinstance(c, dict)]
    return [",".join(_text(c.get("name")) for c in containers), ",".join(_text(c.get("image")) for c in containers)]


def _format_labels(labels: Any) -> str:
    """labels.FormatLabels: sorted k=v pairs, "<none>" for none."""
    pairs = [f"{k}={v}" for k, v in sorted((labels or {}).items())] if isinstance(labels, dict) else []
    return ",".join(pairs) or "<none>"


def _label_selector(selector: Any) -> str | None:
    """metav1.LabelSelectorAsSelector(selector).String(): requirements sorted by key; None when invalid."""
    if not isinstance(selector, dict):
        return ""
    requirements = [(str(k), f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        text = _requirement(expression)
        if text is None:
            return None
        requirements.append((str(expression.get("key")), text))
    return ",".join(text for _, text in sorted(requirements, key=lambda requirement: requirement[0]))


def _format_selector(selector: Any) -> str:
    """metav1.FormatLabelSelector: "<none>" for an empty selector, "<error>" for an invalid one."""
    text = _label_selector(selector)
    return "<error>" if text is None else text or "<none>"


def _requirement(expression: Any) -> str | None:
    if not isinstance(expression, dict):
        return None
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    if operator in ("In", "NotIn") and values:
        return f"{key} {operator.lower()} ({','.join(sorted(map(str, values)))})"
    if operator in ("Exists", "DoesNotExist") and not values:
        return f"{'!' if operator == 'DoesNotExist' else ''}{key}"
    return None


# -- built-in printers (pkg/printers/internalversion/printers.go) ------------------------------------------------

def _namespace_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    return [_name(obj), _text(_at(obj, "status", "phase")), _age(obj, clock)]


def _secret_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    return [_name(obj), _text(obj.get("type")), len(obj.get("data") or {}), _age(obj, clock)]


def _config_map_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    return [_name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), _age(obj, clock)]


def _service_account_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    return [_name(obj), len(obj.get("secrets") or []), _age(obj, clock)]


def _lease_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    return [_name(obj), _text(_at(obj, "spec", "holderIdentity")), _age(obj, clock)]


def _default_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    """rest/table.go: the creation time in UTC as RFC 3339, Go's zero time when unset."""
    created = _parse_time(_text(_at(obj, "metadata", "creationTimestamp")))
    moment = created.astimezone(UTC) if created else datetime(1, 1, 1, tzinfo=UTC)
    return [_name(obj), f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"]


def _deployment_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    status = obj.get("status") or {}
    selector = _label_selector(_at(obj, "spec", "selector"))
    return [_name(obj), f"{_int(status.get('readyReplicas'))}/{_replicas(obj)}", _int(status.get("updatedReplicas")),
            _int(status.get("availableReplicas")), _age(obj, clock), *_containers(obj),
            "<invalid>" if selector is None else selector]


def _stateful_set_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    ready = _int(_at(obj, "status", "readyReplicas"))
    return [_name(obj), f"{ready}/{_replicas(obj)}", _age(obj, clock), *_containers(obj)]


def _daemon_set_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    status = obj.get("status") or {}
    counts = [_int(status.get(field)) for field in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                                    "updatedNumberScheduled", "numberAvailable")]
    return [_name(obj), *counts, _format_labels(_at(obj, "spec", "template", "spec", "nodeSelector")),
            _age(obj, clock), *_containers(obj), _format_selector(_at(obj, "spec", "selector"))]


def _replica_set_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    status = obj.get("status") or {}
    return [_name(obj), _replicas(obj), _int(status.get("replicas")), _int(status.get("readyReplicas")),
            _age(obj, clock), *_containers(obj), _format_selector(_at(obj, "spec", "selector"))]


def _job_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    succeeded, parallelism = _int(status.get("succeeded")), _int(spec.get("parallelism"))
    if isinstance(spec.get("completions"), int):
        completions = f"{succeeded}/{spec['completions']}"
    else:
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    return [_name(obj), _job_status(obj), completions, _job_duration(status, clock), _age(obj, clock),
            *_containers(obj), _format_selector(spec.get("selector"))]


def _job_status(obj: dict[str, Any]) -> str:
    """The first condition of a type decides whether it holds (hasJobCondition)."""
    holds: dict[Any, bool] = {}
    for condition in _conditions(obj.get("status") or {}):
        holds.setdefault(condition.get("type"), condition.get("status") == "True")
    if holds.get("Complete") or holds.get("Failed"):
        return "Complete" if holds.get("Complete") else "Failed"
    if _at(obj, "metadata", "deletionTimestamp"):
        return "Terminating"
    return next((kind for kind in ("Suspended", "FailureTarget") if holds.get(kind)), "Running")


def _job_duration(status: dict[str, Any], clock: Clock) -> str:
    start = _parse_time(_text(status.get("startTime")))
    if start is None:
        return ""
    end = _parse_time(_text(status.get("completionTime"))) or clock.now()
    return human_duration((end - start).total_seconds())


def _cron_job_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    """printCronJob; an unset suspend prints as batch/v1 defaulting leaves it: False."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    template = spec.get("jobTemplate") or {}
    last = _since(clock, status["lastScheduleTime"]) if status.get("lastScheduleTime") else "<none>"
    time_zone = spec.get("timeZone")
    return [_name(obj), _text(spec.get("schedule")), time_zone if isinstance(time_zone, str) else "<none>",
            "True" if spec.get("suspend") is True else "False", len(status.get("active") or []), last,
            _age(obj, clock), *_containers(template), _format_selector(_at(template, "spec", "selector"))]


def _role_binding_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    """printRoleBinding and printClusterRoleBinding: the role, then users, groups and service accounts."""
    role = obj.get("roleRef") or {}
    subjects: dict[str, list[str]] = {"User": [], "Group": [], "ServiceAccount": []}
    for subject in obj.get("subjects") or []:
        kind, name = _at(subject, "kind"), _text(_at(subject, "name"))
        if kind in subjects:  # SubjectsStrings
            subjects[kind].append(f"{_text(subject.get('namespace'))}/{name}" if kind == "ServiceAccount" else name)
    return [_name(obj), f"{_text(role.get('kind'))}/{_text(role.get('name'))}", _age(obj, clock),
            *(", ".join(names) for names in subjects.values())]


def _service_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    spec = obj.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or [spec.get("clusterIP")]
    ports = ",".join(_service_port(port) for port in spec.get("ports") or [] if isinstance(port, dict))
    return [_name(obj), _text(spec.get("type")) or "ClusterIP", cluster_ips[0] or "<none>", _external_ip(obj),
            ports or "<none>", _age(obj, clock), _format_labels(spec.get("selector"))]


def _service_port(port: dict[str, Any]) -> str:
    """makePortString: port[:nodePort]/protocol (TCP when defaulting left it unset)."""
    node_port = f":{port['nodePort']}" if _int(port.get("nodePort")) > 0 else ""
    return f"{port.get('port')}{node_port}/{port.get('protocol') or 'TCP'}"


def _external_ip(obj: dict[str, Any]) -> str:
    """getServiceExternalIP (wide)."""
    spec = obj.get("spec") or {}
    service_type, external = spec.get("type") or "ClusterIP", [str(ip) for ip in spec.get("externalIPs") or []]
    if service_type in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if service_type == "ExternalName":
        return _text(spec.get("externalName"))
    if service_type != "LoadBalancer":
        return "<unknown>"
    ingress = [i.get("ip") or i.get("hostname") for i in _at(obj, "status", "loadBalancer", "ingress") or []
               if isinstance(i, dict)]
    return ",".join([*dict.fromkeys(str(address) for address in ingress if address), *external]) or "<pending>"


def _event_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    """printEvent: LAST SEEN from the series when there is one, else lastTimestamp, else the first time."""
    first = _since(clock, obj.get("firstTimestamp") or obj.get("eventTime"))
    last = _since(clock, obj["lastTimestamp"]) if obj.get("lastTimestamp") else first
    count = _int(obj.get("count")) or 1  # singleton events of the new API carry no count
    series = obj.get("series")
    if isinstance(series, dict):
        last, count = _since(clock, series.get("lastObservedTime")), _int(series.get("count"))
    involved = obj.get("involvedObject") or {}
    kind = _text(involved.get("kind")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [last, _text(obj.get("type")), _text(obj.get("reason")), target, _text(involved.get("fieldPath")),
            _event_source(obj), _text(obj.get("message")).strip(), first, count, _name(obj)]


def _event_source(obj: dict[str, Any]) -> str:
    """formatEventSource: component (or reportingController), then ", host" (or reportingInstance)."""
    source = obj.get("source") or {}
    component = _text(source.get("component")) or _text(obj.get("reportingController"))
    host = _text(source.get("host")) or _text(obj.get("reportingInstance"))
    return f"{component}, {host}" if host else component


def _events_v1_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    """events.k8s.io Events are printed as core Events (pkg/apis/events/v1/conversion.go)."""
    core = {**obj, "involvedObject": obj.get("regarding"), "source": obj.get("deprecatedSource"),
            "message": obj.get("note"), "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
            "lastTimestamp": obj.get("deprecatedLastTimestamp"), "count": obj.get("deprecatedCount")}
    return _event_cells(core, clock)


def _pod_cells(obj: dict[str, Any], clock: Clock) -> list[Any]:
    """printPod, without the init containers' progress (Init:N/M)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    reason, ready, restarts, last_restart = _pod_containers(status)
    if _at(obj, "metadata", "deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    sidecars = [c for c in spec.get("initContainers") or [] if _at(c, "restartPolicy") == "Always"]
    restart_text = f"{restarts} ({_since(clock, last_restart)} ago)" if restarts and last_restart else str(restarts)
    pod_ips = status.get("podIPs") or [{}]
    return [_name(obj), f"{ready}/{len(spec.get('containers') or []) + len(sidecars)}", reason, restart_text,
            _age(obj, clock), _at(pod_ips[0], "ip") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", _readiness_gates(spec, status)]


def _pod_containers(status: dict[str, Any]) -> tuple[str, int, int, str]:
    """The pod's STATUS, ready containers, restarts and the latest restart time, from containerStatuses."""
    reason = _text(status.get("reason")) or _text(status.get("phase"))
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in _conditions(status)):
        reason = "SchedulingGated"
    ready = restarts = 0
    last_restart, running = "", False
    for container in reversed([c for c in status.get("containerStatuses") or [] if isinstance(c, dict)]):
        restarts += _int(container.get("restartCount"))
        finished = _text(_at(container, "lastState", "terminated", "finishedAt"))
        last_restart = max(last_restart, finished, key=lambda t: _parse_time(t) or datetime.min.replace(tzinfo=UTC))
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif isinstance(terminated, dict):
            reason = terminated.get("reason") or (f"Signal:{terminated['signal']}" if terminated.get("signal")
                                                  else f"ExitCode:{_int(terminated.get('exitCode'))}")
        elif container.get("ready") and state.get("running") is not None:
            running, ready = True, ready + 1
    if reason == "Completed" and running:
        ready_condition = any(c.get("type") == "Ready" and c.get("status") == "True" for c in _conditions(status))
        reason = "Running" if ready_condition else "NotReady"
    return reason, ready, restarts, last_restart


def _conditions(status: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in status.get("conditions") or [] if isinstance(c, dict)]


def _readiness_gates(spec: dict[str, Any], status: dict[str, Any]) -> str:
    gates = [g for g in spec.get("readinessGates") or [] if isinstance(g, dict)]
    if not gates:
        return "<none>"
    first_status: dict[Any, Any] = {}  # the first condition of a type decides, as printPod's loop breaks on it
    for condition in _conditions(status):
        first_status.setdefault(condition.get("type"), condition.get("status"))
    true = sum(1 for gate in gates if first_status.get(gate.get("conditionType")) == "True")
    return f"{true}/{len(gates)}"


def _pod_row_conditions(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """A finished pod's row is marked Completed (podSuccessConditions, podFailedConditions)."""
    phase = _at(obj, "status", "phase")
    messages = {"Succeeded": "The pod has completed successfully.", "Failed": "The pod failed."}
    if phase not in messages:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": messages[phase]}]


# -- column definitions, with the descriptions the printers take from the API types' swagger docs -----------------

def _column(name: str, description: str, column_type: str = "string", priority: int = 0,
            column_format: str = "") -> dict[str, Any]:
    return {"name": name, "type": column_type, "format": column_format, "description": description,
            "priority": priority}


_CREATED = ("CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
            "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. "
            "It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. "
            "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata")
_NAME = _column("Name", "Name must be unique within a namespace. Is required when creating resources, although some "
                "resources may allow a client to request the generation of an appropriate name automatically. Name "
                "is primarily intended for creation idempotence and configuration definition. Cannot be updated. "
                "More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
                column_format="name")
_AGE = _column("Age", _CREATED)  # built-in printers declare Age a string: they send it ready-made
_CONTAINERS = _column("Containers", "Names of each container in the template.", priority=1)
_IMAGES = _column("Images", "Images referenced by each container in the template.", priority=1)
_K8S_DOCS = "https://kubernetes.io/docs/concepts"
_LABEL_SELECTORS = f"{_K8S_DOCS}/overview/working-with-objects/labels/#label-selectors"

_EVENT_COLUMNS = [
    _column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    _column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    _column("Reason", "This should be a short, machine understandable string that gives the reason for the "
                      "transition into the object's current status."),
    _column("Object", "The object that this event is about."),
    _column("Subobject", "If referring to a piece of an object instead of an entire object, this string should "
                         "contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. "
                         "For example, if the object reference is to a container within a pod, this would take on a "
                         'value like: "spec.containers{name}" (where "name" refers to the name of the container that '
                         'triggered the event) or if no container name is specified "spec.containers[2]" (container '
                         "with index 2 in this pod). This syntax is chosen only to have some well-defined way of "
                         "referencing a part of an object.", priority=1),
    _column("Source", "The component reporting this event. Should be a short machine understandable string.",
            priority=1),
    _column("Message", "A human-readable description of the status of this operation."),
    _column("First Seen", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
            priority=1),
    _column("Count", "The number of times this event has occurred.", priority=1),
    {**_NAME, "priority": 1},
]

_SERVICE_ACCOUNT_SECRETS = (
    "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed "
    'to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets"'
    ' annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. '
    "Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find "
    "auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly "
    "using the TokenRequest API, or service account token secrets can be manually created. More info: "
    f"{_K8S_DOCS}/configuration/secret")

_SERVICE_COLUMNS = [
    _NAME,
    _column("Type", (
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, "
        'NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal IP address for load-balancing to '
        "endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an "
        'Endpoints object or EndpointSlice objects. If clusterIP is "None", no virtual IP is allocated and the '
        'endpoints are published as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and '
        "allocates a "
        'port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" builds on NodePort and '
        "creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as "
        'the clusterIP. "ExternalName" aliases this service to the specified externalName. Several other fields do '
        "not apply to ExternalName services. More info: "
        f"{_K8S_DOCS}/services-networking/service/#publishing-services-service-types")),
    _column("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly. If an address "
                          "is specified manually, is in-range (as per system configuration), and is not in use, it "
                          "will be allocated to the service; otherwise creation of the service will fail. This field "
                          "may not be changed through updates unless the type field is also being changed to "
                          "ExternalName (which requires this field to be blank) or the type field is being changed "
                          "from ExternalName (in which case this field may optionally be specified, as describe "
                          "above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting "
                          "this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct "
                          "endpoint connections are preferred and proxying is not required.  Only applies to types "
                          "ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service "
                          "of type ExternalName, creation will fail. This field will be wiped when updating a Service "
                          "to type ExternalName. More info: "
                          f"{_K8S_DOCS}/services-networking/service/#virtual-ips-and-service-proxies"),
    _column("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
                           "traffic for this service.  These IPs are not managed by Kubernetes.  The user is "
                           "responsible for ensuring that traffic arrives at a node with this IP.  A common example is "
                           "external load-balancers that are not part of the Kubernetes system."),
    _column("Port(s)", "The list of ports that are exposed by this service. More info: "
                       f"{_K8S_DOCS}/services-networking/service/#virtual-ips-and-service-proxies"),
    _AGE,
    _column("Selector", "Route service traffic to pods with label keys and values matching this selector. If empty or "
                        "not present, the service is assumed to have an external process managing its endpoints, "
                        "which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and "
                        "LoadBalancer. Ignored if type is ExternalName. More info: "
                        f"{_K8S_DOCS}/services-networking/service/", priority=1),
]

_POD_COLUMNS = [
    _NAME,
    _column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    _column("Status", "The aggregate status of the containers in this pod."),
    _column("Restarts", "The number of times the containers in this pod have been restarted and when the last "
                        "container in this pod has restarted."),
    _AGE,
    _column("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet "
                  "allocated.", priority=1),
    _column("Node", "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for "
                    "scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for "
                    "this node becomes responsible for the lifecycle of this pod. This field should not be used to "
                    "express a desire for the pod to be scheduled on a specific node. "
                    f"{_K8S_DOCS}/scheduling-eviction/assign-pod-node/#nodename",
            priority=1),
    _column("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
                              "cannot be scheduled right away as preemption victims receive their graceful termination "
                              "periods. This field does not guarantee that the pod will be scheduled on this node. "
                              "Scheduler may decide to place the pod elsewhere if other nodes become available sooner. "
                              "Scheduler may also decide to give the resources on this node to a higher priority pod "
                              "that is created after preemption. As a result, this field may be different than "
                              "PodSpec.nodeName when the pod is scheduled.", priority=1),
    _column("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready "
                               "when all its containers are ready AND all conditions specified in the readiness gates "
                               "have status equal to \"True\" More info: "
                               "https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates", priority=1),
]

_DAEMON_SET_COLUMNS = [
    _NAME,
    _column("Desired", "The total number of nodes that should be running the daemon pod (including nodes correctly "
                       f"running the daemon pod). More info: {_K8S_DOCS}/workloads/controllers/daemonset/", "integer"),
    _column("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon "
                       f"pod. More info: {_K8S_DOCS}/workloads/controllers/daemonset/", "integer"),
    _column("Ready", "numberReady is the number of nodes that should be running the daemon pod and have one or more of "
                     "the daemon pod running with a Ready Condition.", "integer"),
    _column("Up-to-date", "The total number of nodes that are running updated daemon pod", "integer"),
    _column("Available", "The number of nodes that should be running the daemon pod and have one or more of the daemon "
                         "pod running and available (ready for at least spec.minReadySeconds)", "integer"),
    _column("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node. Selector "
                             "which must match a node's labels for the pod to be scheduled on that node. More info: "
                             f"{_K8S_DOCS}/configuration/assign-pod-node/"),
    _AGE, _CONTAINERS, _IMAGES,
    _column("Selector", "A label query over pods that are managed by the daemon set. Must match in order to be "
                        f"controlled. It must match the pod template's labels. More info: {_LABEL_SELECTORS}",
            priority=1),
]

_JOB_SELECTOR = _column("Selector", "A label query over pods that should match the pod count. Normally, the system "
                        f"sets this field for you. More info: {_LABEL_SELECTORS}", priority=1)

_REPLICA_SET_COLUMNS = [
    _NAME,
    _column("Desired", "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero "
                       f"and unspecified. Defaults to 1. More info: {_K8S_DOCS}/workloads/controllers/replicaset",
            "integer"),
    _column("Current", "Replicas is the most recently observed number of non-terminating pods. More info: "
                       f"{_K8S_DOCS}/workloads/controllers/replicaset", "integer"),
    _column("Ready", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.",
            "integer"),
    _AGE, _CONTAINERS, _IMAGES,
    _column("Selector", "Selector is a label query over pods that should match the replica count. Label keys and "
                        "values that must match in order to be controlled by this replica set. It must match the pod "
                        f"template's labels. More info: {_LABEL_SELECTORS}", priority=1),
]

_JOB_COLUMNS = [
    _NAME, _column("Status", "Status of the job."),
    _column("Completions", "The number of pods which reached phase Succeeded. The value increases monotonically for a "
                           "given spec. However, it may decrease in reaction to scale down of elastic indexed jobs."),
    _column("Duration", "Time required to complete the job."), _AGE, _CONTAINERS, _IMAGES, _JOB_SELECTOR,
]

_CRON_JOB_COLUMNS = [
    _NAME, _column("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    _column("Timezone", "The time zone name for the given schedule, see "
                        "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will "
                        "default to the time zone of the kube-controller-manager process. The set of valid time zone "
                        "names and the time zone offset is loaded from the system-wide time zone database by the API "
                        "server during CronJob validation and the controller manager during execution. If no "
                        "system-wide time zone database can be found a bundled version of the database is used "
                        "instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a "
                        "change in host configuration, the controller will stop creating new new Jobs and will create "
                        "a system event with the reason UnknownTimeZone. More information can be found in "
                        f"{_K8S_DOCS}/workloads/controllers/cron-jobs/#time-zones"),
    _column("Suspend", "This flag tells the controller to suspend subsequent executions, it does not apply to already "
                       "started executions.  Defaults to false.", "boolean"),
    _column("Active", "A list of pointers to currently running jobs.", "integer"),
    _column("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    _AGE, _CONTAINERS, _IMAGES, _JOB_SELECTOR,
]


def _binding_columns(kind: str, role_ref: str) -> list[dict[str, Any]]:
    binding = kind[0].lower() + kind[1:]
    return [_NAME, _column("Role", role_ref), _AGE,
            *(_column(who, f"{who} in the {binding}", priority=1) for who in ("Users", "Groups", "ServiceAccounts"))]


_PRINTERS: dict[tuple[str, str], _Printer] = {
    ("", "Namespace"): _Printer([_NAME, _column("Status", "The status of the namespace"), _AGE], _namespace_cells),
    ("", "Secret"): _Printer([
        _NAME,
        _column("Type", "Used to facilitate programmatic handling of secret data. More info: "
                        f"{_K8S_DOCS}/configuration/secret/#secret-types"),
        _column("Data", "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or "
                        "'.'. The serialized form of the secret data is a base64 encoded string, representing the "
                        "arbitrary (possibly non-string) data value here. Described in "
                        "https://tools.ietf.org/html/rfc4648#section-4"),
        _AGE], _secret_cells),
    ("", "ConfigMap"): _Printer([
        _NAME,
        _column("Data", "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', "
                        "'_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys "
                        "stored in Data must not overlap with the keys in the BinaryData field, this is enforced "
                        "during validation process."),
        _AGE], _config_map_cells),
    ("", "ServiceAccount"): _Printer([_NAME, _column("Secrets", _SERVICE_ACCOUNT_SECRETS), _AGE],
                                     _service_account_cells),
    ("", "Event"): _Printer(_EVENT_COLUMNS, _event_cells),
    ("events.k8s.io", "Event"): _Printer(_EVENT_COLUMNS, _events_v1_cells),
    ("", "Pod"): _Printer(_POD_COLUMNS, _pod_cells, _pod_row_conditions),
    ("", "Service"): _Printer(_SERVICE_COLUMNS, _service_cells),
    ("apps", "Deployment"): _Printer([
        _NAME, _column("Ready", "Number of the pod with ready state"),
        _column("Up-to-date", "Total number of non-terminating pods targeted by this deployment that have the desired "
                              "template spec."),
        _column("Available", "Total number of available non-terminating pods (ready for at least minReadySeconds) "
                             "targeted by this deployment."),
        _AGE, _CONTAINERS, _IMAGES,
        _column("Selector", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the "
                            "ones affected by this deployment. It must match the pod template's labels.", priority=1),
    ], _deployment_cells),
    ("apps", "StatefulSet"): _Printer([_NAME, _column("Ready", "Number of the pod with ready state"), _AGE,
                                       _CONTAINERS, _IMAGES], _stateful_set_cells),
    ("apps", "DaemonSet"): _Printer(_DAEMON_SET_COLUMNS, _daemon_set_cells),
    ("apps", "ReplicaSet"): _Printer(_REPLICA_SET_COLUMNS, _replica_set_cells),
    ("batch", "Job"): _Printer(_JOB_COLUMNS, _job_cells),
    ("batch", "CronJob"): _Printer(_CRON_JOB_COLUMNS, _cron_job_cells),
    ("rbac.authorization.k8s.io", "RoleBinding"): _Printer(_binding_columns(
        "RoleBinding", "roleRef can reference a Role in the current namespace or a ClusterRole in the global "
                       "namespace. If the RoleRef cannot be resolved, the Authorizer must return an error."),
        _role_binding_cells),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _Printer(_binding_columns(
        "ClusterRoleBinding", "roleRef can only reference a ClusterRole in the global namespace. If the RoleRef "
                              "cannot be resolved, the Authorizer must return an error."), _role_binding_cells),
    ("coordination.k8s.io", "Lease"): _Printer([
        _NAME,
        _column("Holder", "holderIdentity contains the identity of the holder of a current lease. If Coordinated "
                          "Leader Election is used, the holder identity must be equal to the elected "
                          "LeaseCandidate.metadata.name field."),
        _AGE], _lease_cells),
}

_DEFAULT_PRINTER = _Printer([_NAME, _column("Created At", _CREATED, "date")], _default_cells)
