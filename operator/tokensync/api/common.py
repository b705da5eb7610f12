"""Names, base models and value types shared by every tokensync kind."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel

GROUP = "tokensync.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "tokensync"


@dataclass(frozen=True)
class KindInfo:
    """How a kind is named in the API (what a CRD's `names` holds)."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    namespaced: bool

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def categories(self) -> tuple[str, ...]:
        return (CATEGORY,)


APPLICATION_TOKEN = KindInfo("ApplicationToken", "applicationtokens", "applicationtoken", ("apptoken",), True)
RAM_APPLICATION = KindInfo("RamApplication", "ramapplications", "ramapplication", ("ramapp",), True)
CLOUD_ACCESS = KindInfo("CloudAccess", "cloudaccesses", "cloudaccess", (), True)
CLUSTER_CLOUD_ACCESS = KindInfo("ClusterCloudAccess", "clustercloudaccesses", "clustercloudaccess", ("cca",), False)
ALL_KINDS = (APPLICATION_TOKEN, RAM_APPLICATION, CLOUD_ACCESS, CLUSTER_CLOUD_ACCESS)

# --- durations ---------------------------------------------------------------------------------

# Go's time.ParseDuration units (what cert-manager's renewBefore accepts), without a sign.
DURATION_PATTERN = r"^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_DURATION_PART_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_HELP = (
    "a duration is one or more <number><unit> parts with unit h, m, s, ms, us or ns "
    "(for example 10m, 1h30m, 90s, 720h; no sign, no spaces, no days)"
)


def parse_duration(text: str) -> timedelta:
    """Parse a Go-style duration ("10m", "1h30m", "2h45m30s", "720h") into a timedelta."""
    if not isinstance(text, str) or not _DURATION_RE.fullmatch(text):
        raise ValueError(f"invalid duration {text!r}: {_DURATION_HELP}")
    if text == "0":
        return timedelta(0)
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART_RE.findall(text))
    if seconds > _MAX_DURATION_SECONDS:
        raise ValueError(f"invalid duration {text!r}: longer than the longest duration Kubernetes tools accept "
                         "(about 292 years, 2562047h)")
    return timedelta(seconds=seconds)


_MAX_DURATION_SECONDS = (2**63 - 1) / 1e9  # Go's time.Duration, which kubectl and controllers use


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


# Checked by parse_duration (for its clearer message); the pattern is for the CRD schema.
Duration = Annotated[
    str, AfterValidator(_check_duration), WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN})
]
"""A duration string as users write it; `parse_duration` turns it into a timedelta."""

# --- names and times -----------------------------------------------------------------------------

DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DnsSubdomain = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN_PATTERN)]
"""An object name as Kubernetes accepts it for Secrets, ConfigMaps, Deployments and custom resources."""


def as_utc(value: datetime) -> datetime:
    """Timestamps without a zone are taken as UTC; every stored timestamp is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    """RFC 3339 in UTC with a 'Z' suffix, whole seconds unless the value has a fraction."""
    value = as_utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


Timestamp = Annotated[datetime, AfterValidator(as_utc), PlainSerializer(rfc3339, return_type=str, when_used="always")]
"""A point in time, serialized as RFC 3339 UTC ('2026-01-02T03:04:05Z')."""

# --- base models ---------------------------------------------------------------------------------


class SpecModel(BaseModel):
    """Base of what users write: camelCase names, unknown fields rejected (typos fail loudly)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class StatusModel(BaseModel):
    """Base of what the operator writes: camelCase names, unknown fields ignored (older/newer operators)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Condition(StatusModel):
    """One observation of the resource's state, in the shape of metav1.Condition."""

    type: str = Field(
        max_length=316,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
        description="Type of condition in CamelCase: Ready (usable and up to date) or InSync (RamApplication: "
        "the application matches spec.expect).",
    )
    status: Literal["True", "False", "Unknown"] = Field(description="Status of the condition: True, False or Unknown.")
    reason: str = Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        description="Machine-readable CamelCase reason for the last transition, e.g. Synced, TokenExpired, "
        "AccessDenied, CloudUnavailable.",
    )
    message: str = Field(default="", max_length=32768, description="Human-readable explanation of the last transition.")
    last_transition_time: Timestamp = Field(
        description="When the condition last changed from one status to another (RFC 3339, UTC)."
    )
    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation of the resource this condition was computed for."
    )


CONDITIONS_LIST_EXTRA: dict[str, Any] = {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}


class CloudAccessRef(SpecModel):
    """Which CloudAccess or ClusterCloudAccess supplies the region, endpoints and credentials."""

    kind: Literal["CloudAccess", "ClusterCloudAccess"] = Field(
        default="ClusterCloudAccess",
        description="CloudAccess (in the same namespace as this resource) or ClusterCloudAccess (cluster-wide, "
        "usable only from namespaces its namespaceSelector matches).",
    )
    name: DnsSubdomain = Field(default="default", description="Name of the CloudAccess or ClusterCloudAccess.")


CLOUD_ACCESS_REF_DESCRIPTION = (
    "The CloudAccess or ClusterCloudAccess to reach Alibaba Cloud with. Default: the ClusterCloudAccess named "
    '"default".'
)
