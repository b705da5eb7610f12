"""Request verification as the real gateway does it: signature V3, date window, nonce, body hash.

The signature is recomputed with ``tokensync.cloud.signing`` (proven against the official
SDK) over the headers the request says it signed. Nothing secret is ever put in an error
message: not the secret, not the security token, not the canonical request (it holds the
token header).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from multidict import CIMultiDictProxy

from tokensync.cloud import signing
from tokensync.emulators.cloud.errors import ApiError
from tokensync.emulators.cloud.state import EmulatorState

DATE_WINDOW = timedelta(minutes=15)
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_MUST_SIGN = ("host", "x-acs-action", "x-acs-version", "x-acs-date")


@dataclass(frozen=True)
class Principal:
    """Who sent a verified request."""

    access_key_id: str
    account_id: str
    arn: str
    identity_type: str  # RAMUser | AssumedRoleUser
    principal_id: str
    user_id: str | None = None
    role_id: str | None = None
    allowed_actions: tuple[str, ...] = ("*",)

    def may(self, action: str) -> bool:
        """``action`` is ``product:Action``, e.g. ``eiam:ObtainApplicationToken``."""
        return any(fnmatchcase(action, pattern) for pattern in self.allowed_actions)


@dataclass
class NonceCache:
    """Nonces seen within the date window; a nonce seen again is a replay."""

    seen: dict[str, datetime] = field(default_factory=dict)
    _inserts: int = 0

    def check_and_add(self, nonce: str, until: datetime, now: datetime) -> bool:
        """Record ``nonce`` (remembered until ``until``); False if it was already used."""
        expiry = self.seen.get(nonce)
        if expiry is not None and expiry > now:
            return False
        self.seen[nonce] = until
        self._inserts += 1
        if self._inserts % 1024 == 0:
            self.seen = {n: t for n, t in self.seen.items() if t > now}
        return True


@dataclass(frozen=True)
class SignedRequest:
    method: str
    pathname: str
    query: Mapping[str, str]
    headers: CIMultiDictProxy[str]
    body: bytes


def verify(request: SignedRequest, *, state: EmulatorState, nonces: NonceCache, now: datetime,
           anonymous_ok: bool = False) -> Principal | None:
    """The request's principal, or ``None`` for an allowed anonymous request; raises ``ApiError``."""
    headers = request.headers
    authorization = headers.get("Authorization")
    if not authorization:
        if anonymous_ok:
            _check_body_hash(request)
            _check_date_and_nonce(request, nonces, now, required=False)
            return None
        raise ApiError(400, "IncompleteSignature", "The request has no Authorization header; sign it with "
                                                   f"{signing.ALGORITHM}.")
    try:
        parsed = signing.parse_authorization(authorization)
    except signing.MalformedAuthorization as exc:
        raise ApiError(400, "IncompleteSignature", str(exc)) from None
    signed_names = [name.lower() for name in parsed.signed_headers]
    for name in _MUST_SIGN:
        if name not in signed_names:
            raise ApiError(400, "IncompleteSignature", f"The header {name} must be signed.")
    for name in {n.lower() for n in headers}:
        if name.startswith("x-acs-") and name not in signed_names:
            raise ApiError(400, "IncompleteSignature", f"The header {name} is sent but not signed.")
    signed_values: dict[str, str | None] = {}
    for name in signed_names:
        values = headers.getall(name, [])
        if not values:
            raise ApiError(400, "IncompleteSignature", f"The signed header {name} is not in the request.")
        signed_values[name] = ",".join(values) if len(values) > 1 else values[0]

    secret, principal, expected_token = _credential(parsed.access_key_id, state, now)
    sent_token = headers.get("x-acs-security-token")
    if expected_token is None and sent_token:
        raise ApiError(400, "InvalidSecurityToken.Malformed",
                       "A security token was sent with a permanent AccessKey.")
    if expected_token is not None and not (sent_token and hmac.compare_digest(sent_token, expected_token)):
        raise ApiError(400, "InvalidSecurityToken.MismatchWithAccessKey",
                       "The security token does not belong to this AccessKey ID.")

    body_sha256 = headers.get("x-acs-content-sha256") or signing.EMPTY_BODY_SHA256
    canonical, _ = signing.canonical_request(
        method=request.method, pathname=request.pathname, query=dict(request.query),
        headers=signed_values, body_sha256=body_sha256,
    )
    expected = signing.signature(secret, canonical)
    if not hmac.compare_digest(expected, parsed.signature.lower()):
        string_to_sign = f"{signing.ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        raise ApiError(403, "SignatureDoesNotMatch",
                       f"Specified signature does not match our calculation. server string to sign is:"
                       f"{string_to_sign}")
    _check_body_hash(request)
    _check_date_and_nonce(request, nonces, now, required=True)
    return principal


def _credential(access_key_id: str, state: EmulatorState, now: datetime) -> tuple[str, Principal, str | None]:
    """``(secret, principal, expected security token or None)`` of an AccessKey ID."""
    key = state.access_keys.get(access_key_id)
    if key is not None:
        if not key.enabled:
            raise ApiError(400, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
        account_id = key.account_id or state.account_id
        principal = Principal(
            access_key_id=key.access_key_id, account_id=account_id,
            arn=key.arn or f"acs:ram::{account_id}:user/{key.access_key_id}",
            identity_type="RAMUser", principal_id=key.user_id, user_id=key.user_id,
            allowed_actions=tuple(key.allowed_actions),
        )
        return key.access_key_secret, principal, None
    sts = state.sts_credentials.get(access_key_id)
    if sts is not None:
        if sts.expiration <= now:
            raise ApiError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
        principal = Principal(
            access_key_id=sts.access_key_id, account_id=sts.account_id, arn=sts.arn,
            identity_type="AssumedRoleUser", principal_id=f"{sts.role_id}:{sts.session_name}",
            role_id=sts.role_id, allowed_actions=tuple(sts.allowed_actions),
        )
        return sts.access_key_secret, principal, sts.security_token
    raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")


def _check_body_hash(request: SignedRequest) -> None:
    declared = request.headers.get("x-acs-content-sha256")
    if declared is not None and declared.lower() != hashlib.sha256(request.body).hexdigest():
        raise ApiError(403, "SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the body.")


def _check_date_and_nonce(request: SignedRequest, nonces: NonceCache, now: datetime, *, required: bool) -> None:
    date_text = request.headers.get("x-acs-date")
    if date_text is None:
        if required:
            raise ApiError(400, "IncompleteSignature", "The header x-acs-date is required.")
        return
    try:
        sent = datetime.strptime(date_text, DATE_FORMAT).replace(tzinfo=now.tzinfo)
    except ValueError:
        raise ApiError(400, "InvalidTimeStamp.Format",
                       f"Specified time stamp or date value is not well formatted; expected {DATE_FORMAT}.") from None
    if abs(sent - now) > DATE_WINDOW:
        raise ApiError(400, "InvalidTimeStamp.Expired",
                       f"Specified time stamp or date value is expired: {date_text} is more than 15 minutes "
                       f"from the server time {now.strftime(DATE_FORMAT)}.")
    nonce = request.headers.get("x-acs-signature-nonce")
    if not nonce:
        if required:
            raise ApiError(400, "MissingSignatureNonce", "The header x-acs-signature-nonce is required.")
        return
    if not nonces.check_and_add(nonce, sent + DATE_WINDOW, now):
        raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
