"""Which failure means what to the user: the classification table."""

from __future__ import annotations

import pytest

from tokensync.cloud.errors import (
    AccessDeniedError,
    BadRequestError,
    ClockSkewError,
    CloudError,
    CloudUnavailableError,
    InvalidCredentialsError,
    NotFoundError,
    QuotaExceededError,
    ThrottledError,
    TokenExpiredError,
    classify,
)


@pytest.mark.parametrize(
    ("status", "code", "expected", "reason", "retryable"),
    [
        (400, "Throttling", ThrottledError, "Throttled", True),
        (400, "Throttling.User", ThrottledError, "Throttled", True),
        (429, "TooManyRequests", ThrottledError, "Throttled", True),
        (503, "Throttling.Api", ThrottledError, "Throttled", True),
        (500, "InternalError", CloudUnavailableError, "CloudUnavailable", True),
        (503, "ServiceUnavailable", CloudUnavailableError, "CloudUnavailable", True),
        (502, None, CloudUnavailableError, "CloudUnavailable", True),
        (404, "InvalidAccessKeyId.NotFound", InvalidCredentialsError, "InvalidCredentials", False),
        (400, "InvalidAccessKeyId.Inactive", InvalidCredentialsError, "InvalidCredentials", False),
        (403, "SignatureDoesNotMatch", InvalidCredentialsError, "InvalidCredentials", False),
        (400, "InvalidSecurityToken.Expired", InvalidCredentialsError, "InvalidCredentials", False),
        (400, "IncompleteSignature", InvalidCredentialsError, "InvalidCredentials", False),
        (403, "Forbidden.RAM", AccessDeniedError, "AccessDenied", False),
        (403, "NoPermission", AccessDeniedError, "AccessDenied", False),
        (403, "SomethingElse", AccessDeniedError, "AccessDenied", False),
        (404, "EntityNotExist.Application", NotFoundError, "NotFound", False),
        (400, "EntityNotExists.Role", NotFoundError, "NotFound", False),
        (404, "Whatever", NotFoundError, "NotFound", False),
        (400, "InvalidApplicationToken.NotFound", NotFoundError, "NotFound", False),
        (400, "MissingParameter", BadRequestError, "InvalidSpec", False),
        (400, "InvalidParameter.ExpirationTime", BadRequestError, "InvalidSpec", False),
        (409, "Conflict", BadRequestError, "InvalidSpec", False),
        (400, "SignatureNonceUsed", CloudUnavailableError, "CloudUnavailable", True),
        (400, "Rejected.Throttling", ThrottledError, "Throttled", True),
        (400, "InvalidTimeStamp.Expired", ClockSkewError, "CloudUnavailable", True),
        (400, "InvalidTimeStamp.Format", BadRequestError, "InvalidSpec", False),
        (404, "ResourceNotFound.Instance", NotFoundError, "NotFound", False),
        (404, "ResourceNotFound.Application", NotFoundError, "NotFound", False),
        (404, "ResourceNotFound.ApplicationToken", NotFoundError, "NotFound", False),
        (400, "QuotaExceeded.ApplicationToken", QuotaExceededError, "CloudUnavailable", True),
        (400, "LimitExceeded.ApplicationToken", QuotaExceededError, "CloudUnavailable", True),
        (403, "ApplicationToken.ExceedLimit", QuotaExceededError, "CloudUnavailable", True),
        (400, "ResourceExpired.ApplicationToken", TokenExpiredError, "TokenExpired", False),
        (400, "ApplicationToken.Expired", TokenExpiredError, "TokenExpired", False),
        (400, "InvalidApplicationToken.Expired", TokenExpiredError, "TokenExpired", False),
        (400, "TokenExpired", TokenExpiredError, "TokenExpired", False),
        # "Expired" codes about the caller's credentials or clock are not an expired application token.
        (400, "AuthenticationFail.OIDCToken.Expired", BadRequestError, "InvalidSpec", False),
        (400, "InvalidSecurityToken.Expired", InvalidCredentialsError, "InvalidCredentials", False),
    ],
)
def test_classification(
    status: int, code: str | None, expected: type[CloudError], reason: str, retryable: bool
) -> None:
    error = classify(status, code, "msg", "REQ-1", None)
    assert type(error) is expected
    assert error.reason == reason
    assert error.retryable is retryable
    assert error.http_status == status
    assert error.code == (code or f"HTTP{status}")


def test_message_names_code_request_id_and_what_to_do() -> None:
    error = classify(403, "Forbidden.RAM", "User not authorized to operate on the specified resource.", "REQ-9", None)
    error.with_action("ObtainApplicationToken")
    text = str(error)
    assert text.startswith("ObtainApplicationToken failed: User not authorized")
    assert "Code: Forbidden.RAM" in text
    assert "RequestId: REQ-9" in text
    assert "Grant the RAM identity" in text


def test_retry_after_is_kept_and_long_messages_are_cut() -> None:
    error = classify(400, "Throttling", "x" * 2000, None, 7.5)
    assert error.retry_after == 7.5
    assert len(error.message) <= 300
    assert "RequestId: none" in str(error)


def test_an_error_with_the_retry_after_header_is_throttling_whatever_its_code() -> None:
    error = classify(503, "ServiceUnavailable", "busy", "R", 1.0, throttled=True)
    assert type(error) is ThrottledError and error.retry_after == 1.0 and not error.outcome_unknown
    plain = classify(503, "ServiceUnavailable", "busy", "R", 1.0)  # HTTP Retry-After alone: still a 503
    assert type(plain) is CloudUnavailableError and plain.outcome_unknown


def test_access_denied_advice_names_the_ram_action_when_known() -> None:
    error = classify(403, "Forbidden.RAM", "User not authorized.", "R", None)
    error.with_action("UpdateApplicationTokenExpirationTime", "eiam:UpdateApplicationTokenExpirationTime")
    assert error.ram_action == "eiam:UpdateApplicationTokenExpirationTime"
    assert str(error).endswith("Grant the RAM identity of the CloudAccess the permission "
                               "eiam:UpdateApplicationTokenExpirationTime on this resource.")
    assert str(error) in error.args


def test_quota_and_expiry_say_what_happens_next() -> None:
    quota = classify(400, "QuotaExceeded.ApplicationToken", "too many", "R", None)
    assert isinstance(quota, QuotaExceededError) and quota.quota_exceeded
    assert "token limit" in str(quota) and "retires tokens it replaced" in str(quota)
    expired = classify(400, "ResourceExpired.ApplicationToken", "expired", "R", None)
    assert "extend" in str(expired)
