"""The tokensync API: pydantic models of every kind's spec and status, the one source of the CRDs."""

from tokensync.api.application_token import (
    ApplicationTokenSpec,
    ApplicationTokenStatus,
    RefreshSpec,
    RolloutRestartTarget,
    SecretTargetSpec,
)
from tokensync.api.cloud_access import (
    CloudAccessSpec,
    CloudAccessStatus,
    ClusterCloudAccessSpec,
    ClusterCloudAccessStatus,
    LabelSelector,
    selector_matches,
)
from tokensync.api.common import (
    ALL_KINDS,
    API_VERSION,
    APPLICATION_TOKEN,
    CLOUD_ACCESS,
    CLUSTER_CLOUD_ACCESS,
    GROUP,
    RAM_APPLICATION,
    VERSION,
    CloudAccessRef,
    Condition,
    KindInfo,
    parse_duration,
    rfc3339,
)
from tokensync.api.ram_application import ApplicationInfo, ExpectSpec, RamApplicationSpec, RamApplicationStatus

__all__ = [
    "ALL_KINDS",
    "API_VERSION",
    "APPLICATION_TOKEN",
    "CLOUD_ACCESS",
    "CLUSTER_CLOUD_ACCESS",
    "GROUP",
    "RAM_APPLICATION",
    "VERSION",
    "ApplicationInfo",
    "ApplicationTokenSpec",
    "ApplicationTokenStatus",
    "CloudAccessRef",
    "CloudAccessSpec",
    "CloudAccessStatus",
    "ClusterCloudAccessSpec",
    "ClusterCloudAccessStatus",
    "Condition",
    "ExpectSpec",
    "KindInfo",
    "LabelSelector",
    "RamApplicationSpec",
    "RamApplicationStatus",
    "RefreshSpec",
    "RolloutRestartTarget",
    "SecretTargetSpec",
    "parse_duration",
    "rfc3339",
    "selector_matches",
]
