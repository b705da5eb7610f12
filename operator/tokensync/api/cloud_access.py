"""CloudAccess (namespaced) and ClusterCloudAccess (cluster-scoped): how to reach and sign in to Alibaba Cloud."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tokensync.api.common import (
    CONDITIONS_LIST_EXTRA,
    Condition,
    DnsSubdomain,
    SpecModel,
    StatusModel,
)

DEFAULT_RRSA_TOKEN_FILE = "/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token"
DEFAULT_SESSION_NAME = "tokensync"
ROLE_ARN_PATTERN = r"^acs:ram::[0-9]*:role/.+$"
SESSION_NAME_PATTERN = r"^[-._@a-zA-Z0-9]{2,64}$"
URL_PATTERN = r"^https?://.+$"

# --- label selectors ---------------------------------------------------------------------------


class LabelSelectorRequirement(SpecModel):
    """One rule on a label: key, operator and values."""

    key: str = Field(min_length=1, description="The label key the rule applies to.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(
        description="In, NotIn (values must be non-empty), Exists or DoesNotExist (values must be empty)."
    )
    values: list[str] = Field(default_factory=list, description="Label values for In and NotIn.")

    @model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self


class LabelSelector(SpecModel):
    """A metav1.LabelSelector; all rules must hold. {} selects everything."""

    match_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels that must all be present with exactly these values."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, description="Rules on labels that must all hold."
    )


def selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics: an absent selector matches nothing, an empty one everything."""
    if selector is None:
        return False
    if any(labels.get(key) != value for key, value in selector.match_labels.items()):
        return False
    for rule in selector.match_expressions:
        present = rule.key in labels
        if rule.operator == "In" and not (present and labels[rule.key] in rule.values):
            return False
        if rule.operator == "NotIn" and present and labels[rule.key] in rule.values:
            return False
        if rule.operator == "Exists" and not present:
            return False
        if rule.operator == "DoesNotExist" and present:
            return False
    return True


# --- spec ------------------------------------------------------------------------------------------


class Endpoints(SpecModel):
    """Full URLs overriding the public endpoints of the region (VPC endpoints, proxies, emulators)."""

    eiam: str | None = Field(default=None, pattern=URL_PATTERN, description="IDaaS EIAM endpoint URL.")
    ims: str | None = Field(default=None, pattern=URL_PATTERN, description="RAM IMS endpoint URL.")
    sts: str | None = Field(default=None, pattern=URL_PATTERN, description="STS endpoint URL.")


class SecretKeyRef(SpecModel):
    """A Secret in this resource's namespace holding an AccessKey (and optionally an STS token)."""

    name: DnsSubdomain = Field(description="Name of the Secret.")
    access_key_id_key: str = Field(default="accessKeyId", min_length=1, description="Key holding the AccessKey ID.")
    access_key_secret_key: str = Field(
        default="accessKeySecret", min_length=1, description="Key holding the AccessKey secret."
    )
    security_token_key: str | None = Field(
        default="securityToken",
        description="Key holding an STS security token, used when the Secret has it (temporary credentials).",
    )


class ClusterSecretKeyRef(SecretKeyRef):
    """A Secret holding an AccessKey (and optionally an STS token), in a namespace named here."""

    namespace: DnsSubdomain = Field(description="Namespace of the Secret, e.g. tokensync-system.")


class AccessKeyAuth(SpecModel):
    """Sign in with an AccessKey read from a Secret."""

    secret_ref: SecretKeyRef = Field(description="The Secret holding the AccessKey.")


class ClusterAccessKeyAuth(SpecModel):
    """Sign in with an AccessKey read from a Secret."""

    secret_ref: ClusterSecretKeyRef = Field(description="The Secret holding the AccessKey.")


class RrsaAuth(SpecModel):
    """Sign in with RRSA (ACK's OIDC service-account tokens) via AssumeRoleWithOIDC."""

    role_arn: str = Field(pattern=ROLE_ARN_PATTERN, description="RAM role to assume, acs:ram::<account>:role/<name>.")
    oidc_provider_arn: str = Field(
        pattern=r"^acs:ram::[0-9]*:oidc-provider/.+$",
        description="The cluster's OIDC provider, acs:ram::<account>:oidc-provider/<name>.",
    )
    token_file: str = Field(
        default=DEFAULT_RRSA_TOKEN_FILE, min_length=1, description="Path of the projected OIDC token in the operator."
    )
    session_name: str = Field(
        default=DEFAULT_SESSION_NAME, pattern=SESSION_NAME_PATTERN, description="Role session name (2-64 characters)."
    )


NAMESPACED_TOKEN_FILE_MESSAGE = ("a namespaced CloudAccess cannot choose the token file: it always uses the "
                                 "operator's own projected token; remove tokenFile")


class NamespacedRrsaAuth(SpecModel):
    """RRSA for a namespaced CloudAccess: AssumeRoleWithOIDC with the operator's own projected token.

    The token file is the operator's (ALIBABA_CLOUD_OIDC_TOKEN_FILE, else the ACK default): a
    namespace may not name a file in the operator's pod. ``tokenFile`` is accepted, as PRODUCT.md
    shows it, only with ACK's default path, so manifests written for either kind apply.
    """

    role_arn: str = Field(pattern=ROLE_ARN_PATTERN, description="RAM role to assume, acs:ram::<account>:role/<name>.")
    oidc_provider_arn: str = Field(
        pattern=r"^acs:ram::[0-9]*:oidc-provider/.+$",
        description="The cluster's OIDC provider, acs:ram::<account>:oidc-provider/<name>.",
    )
    token_file: str | None = Field(
        default=None,
        description=f"Only {DEFAULT_RRSA_TOKEN_FILE} (or unset): a namespaced CloudAccess always uses the "
        "operator's own projected token.",
        json_schema_extra={"x-kubernetes-validations": [{
            "rule": f"self == '{DEFAULT_RRSA_TOKEN_FILE}'", "message": NAMESPACED_TOKEN_FILE_MESSAGE,
        }]},
    )
    session_name: str = Field(
        default=DEFAULT_SESSION_NAME, pattern=SESSION_NAME_PATTERN, description="Role session name (2-64 characters)."
    )

    @field_validator("token_file")
    @classmethod
    def _only_the_operators_token(cls, value: str | None) -> str | None:
        if value is not None and value != DEFAULT_RRSA_TOKEN_FILE:
            raise ValueError(NAMESPACED_TOKEN_FILE_MESSAGE)
        return value


class AmbientAuth(SpecModel):
    """Use the operator's own credential chain: environment, RRSA environment, ECS RAM role."""


def _exactly_one(*fields: str) -> dict[str, Any]:
    presence = " + ".join(f"(has(self.{name}) ? 1 : 0)" for name in fields)
    return {
        "oneOf": [{"required": [name]} for name in fields],
        "x-kubernetes-validations": [
            {"rule": f"{presence} == 1", "message": f"set exactly one of {', '.join(fields)}"}
        ],
    }


class AuthSpec(SpecModel):
    """How to sign in; exactly one of accessKey (a Secret in this namespace) or rrsa.

    rrsa signs in as the operator itself (its projected OIDC token), so any RAM role that trusts
    the operator's ServiceAccount would be open to every namespace: the operator refuses it on a
    namespaced CloudAccess unless started with --allow-namespaced-rrsa (as cert-manager refuses
    ambient credentials to namespaced Issuers). ambient is ClusterCloudAccess only.
    """

    model_config = SpecModel.model_config | {"json_schema_extra": _exactly_one("accessKey", "rrsa")}

    access_key: AccessKeyAuth | None = Field(default=None, description="An AccessKey from a Secret in this namespace.")
    rrsa: NamespacedRrsaAuth | None = Field(
        default=None,
        description="RRSA with the operator's projected token; only if the operator runs with --allow-namespaced-rrsa.",
    )

    @model_validator(mode="after")
    def _exactly_one_method(self) -> AuthSpec:
        chosen = [name for name in ("accessKey", "rrsa") if getattr(self, _snake(name)) is not None]
        if len(chosen) != 1:
            raise ValueError(f"auth needs exactly one of accessKey, rrsa; got {chosen or 'none'}")
        return self

class ClusterAuthSpec(SpecModel):
    """How to sign in; exactly one of accessKey, rrsa or ambient."""

    model_config = SpecModel.model_config | {"json_schema_extra": _exactly_one("accessKey", "rrsa", "ambient")}

    access_key: ClusterAccessKeyAuth | None = Field(default=None, description="An AccessKey from a Secret.")
    rrsa: RrsaAuth | None = Field(default=None, description="RRSA: AssumeRoleWithOIDC with a projected token.")
    ambient: AmbientAuth | None = Field(
        default=None, description="The operator's own credential chain (environment, RRSA environment, ECS RAM role)."
    )

    @model_validator(mode="after")
    def _exactly_one_method(self) -> ClusterAuthSpec:
        chosen = [name for name in ("accessKey", "rrsa", "ambient") if getattr(self, _snake(name)) is not None]
        if len(chosen) != 1:
            raise ValueError(f"auth needs exactly one of accessKey, rrsa, ambient; got {chosen or 'none'}")
        return self


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


class AssumeRoleSpec(SpecModel):
    """A RAM role assumed (STS AssumeRole) with the credentials from auth."""

    role_arn: str = Field(pattern=ROLE_ARN_PATTERN, description="RAM role to assume, acs:ram::<account>:role/<name>.")
    external_id: str | None = Field(
        default=None, min_length=2, max_length=1224, description="External ID, if the role's trust policy requires one."
    )
    session_name: str = Field(
        default=DEFAULT_SESSION_NAME, pattern=SESSION_NAME_PATTERN, description="Role session name (2-64 characters)."
    )
    duration_seconds: int = Field(
        default=3600, ge=900, le=43200, description="Lifetime of the assumed-role credentials, 900-43200 seconds."
    )


RRSA_ENDPOINTS_MESSAGE = ("auth.rrsa on a CloudAccess cannot set endpoints: the operator's OIDC token and the "
                          "role's credentials would be sent there; remove endpoints (the region's are used)")
REGION_DESCRIPTION = "Alibaba Cloud region ID, e.g. cn-hangzhou or ap-southeast-1."
REGION_PATTERN = r"^[a-z]{2,}(-[a-z0-9]+)+$"


class CloudAccessSpec(SpecModel):
    """Region, endpoints and credentials for resources in this namespace."""

    model_config = SpecModel.model_config | {"json_schema_extra": {"x-kubernetes-validations": [{
        "rule": "!has(self.auth.rrsa) || !has(self.endpoints)",
        "message": RRSA_ENDPOINTS_MESSAGE,
    }]}}

    region_id: str = Field(pattern=REGION_PATTERN, max_length=64, description=REGION_DESCRIPTION)
    endpoints: Endpoints | None = Field(default=None, description="Optional full URLs replacing the public endpoints.")
    auth: AuthSpec = Field(description="How to sign in: an AccessKey from a Secret in this namespace, or rrsa "
                          "(ambient is for a ClusterCloudAccess).")
    assume_role: AssumeRoleSpec | None = Field(default=None, description="Optional RAM role assumed on top of auth.")

    @model_validator(mode="after")
    def _rrsa_uses_the_operators_endpoints(self) -> CloudAccessSpec:
        if self.auth.rrsa is not None and self.endpoints is not None:
            raise ValueError(RRSA_ENDPOINTS_MESSAGE)
        return self


class ClusterCloudAccessSpec(SpecModel):
    """Region, endpoints and credentials for resources in the namespaces namespaceSelector matches."""

    region_id: str = Field(pattern=REGION_PATTERN, max_length=64, description=REGION_DESCRIPTION)
    endpoints: Endpoints | None = Field(default=None, description="Optional full URLs replacing the public endpoints.")
    auth: ClusterAuthSpec = Field(description="How to sign in: exactly one of accessKey, rrsa or ambient.")
    assume_role: AssumeRoleSpec | None = Field(default=None, description="Optional RAM role assumed on top of auth.")
    namespace_selector: LabelSelector = Field(
        description="Namespaces whose resources may use this ClusterCloudAccess (by namespace labels); "
        "{} means every namespace."
    )


# --- status ----------------------------------------------------------------------------------------


class Identity(StatusModel):
    """Who the credentials sign in as (STS GetCallerIdentity)."""

    account_id: str | None = Field(default=None, description="The Alibaba Cloud account ID.")
    arn: str | None = Field(default=None, description="The ARN of the calling identity.")


class CloudAccessStatus(StatusModel):
    """What the operator last observed about the credentials."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation the operator last acted on."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready: the credentials could be loaded (and checked), or why not.",
        json_schema_extra=CONDITIONS_LIST_EXTRA,
    )
    identity: Identity | None = Field(default=None, description="Who the credentials are, once checked.")


ClusterCloudAccessStatus = CloudAccessStatus
