"""What an ApplicationToken's Secret holds: its keys (default or templated), its marks, and the
fingerprint that tells a new value from the last one without storing it. ``target_writer``
writes it; this module only says what to write."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydantic import SecretStr

from tokensync.api.application_token import ApplicationTokenSpec
from tokensync.cloud.models import ApplicationToken
from tokensync.controllers.status_report import rfc3339
from tokensync.controllers.target_writer import EXPIRES_AT_ANNOTATION, DesiredTarget
from tokensync.controllers.templates import render_templates
from tokensync.kube.resources import SECRETS

DEFAULT_KEYS = ("token", "tokenType", "expiresAt")


@dataclass(frozen=True)
class CachedToken:
    """The last token written, in memory only: repairs a deleted Secret without a cloud read."""

    token: ApplicationToken
    fingerprint: str


def token_fingerprint(uid: str, token: SecretStr) -> str:
    """Detects a changed token value across restarts without storing the value."""
    return hashlib.sha256(uid.encode() + b"\0" + token.get_secret_value().encode()).hexdigest()[:32]


def secret_values(token: ApplicationToken) -> dict[str, str]:
    """What a Secret template may see; nothing else is reachable from the sandbox."""
    return {
        "token": token.token.get_secret_value(),
        "tokenType": token.token_type,
        "expiresAt": rfc3339(token.expiration_time) or "",
        "expirationTime": str(int(token.expiration_time.timestamp() * 1000)),
        "applicationTokenId": token.application_token_id,
        "applicationId": token.application_id,
        "instanceId": token.instance_id,
    }


def desired_secret(spec: ApplicationTokenSpec, secret_name: str, token: ApplicationToken) -> DesiredTarget:
    """The Secret as spec.secret describes it, holding ``token``. Raises TemplateError."""
    values = secret_values(token)
    target = spec.secret
    data = render_templates(target.template, values) if target.template else {k: values[k] for k in DEFAULT_KEYS}
    return DesiredTarget(
        resource=SECRETS,
        name=secret_name,
        data=data,
        creation_policy=target.creation_policy,
        deletion_policy=target.deletion_policy,
        secret_type=target.type,
        labels=dict(target.labels or {}),
        annotations={**dict(target.annotations or {}), EXPIRES_AT_ANNOTATION: values["expiresAt"]},
    )
