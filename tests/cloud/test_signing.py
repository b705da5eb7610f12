"""Our signer against Alibaba's official implementation, over many generated requests."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from alibabacloud_tea_openapi.utils import Utils
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensync.cloud import signing


@dataclass
class _OfficialRequest:
    """The shape the official ``get_authorization`` reads: method, pathname, query, headers."""

    method: str
    pathname: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=30,
)
_tricky = st.sampled_from(["", " ", "a b", "/", "a/b", "~", "-_.~", "+", "=&?", "%20", "中文", "é", "*"])
_values = st.one_of(_text, _tricky)
_keys = st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x7A, exclude_characters="[\\]^`"),
                min_size=1, max_size=12)
_header_names = st.sampled_from(
    ["host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
     "x-acs-content-sha256", "x-acs-security-token", "content-type", "X-Acs-Custom", "accept"]
)
_header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    pathname=st.sampled_from(["/", ""]),
    query=st.dictionaries(_keys, _values, max_size=8),
    headers=st.dictionaries(_header_names, _header_values, min_size=1, max_size=8),
    body_sha=st.sampled_from([signing.EMPTY_BODY_SHA256, "ab" * 32]),
    ak=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=24),
    secret=_text,
)
def test_authorization_matches_official_sdk(
    method: str, pathname: str, query: dict[str, str], headers: dict[str, str],
    body_sha: str, ak: str, secret: str,
) -> None:
    official = Utils.get_authorization(
        _OfficialRequest(method, pathname, dict(query), dict(headers)), signing.ALGORITHM, body_sha, ak, secret
    )
    ours = signing.authorization(
        method=method, pathname=pathname, query=query, headers=headers,
        body_sha256=body_sha, access_key_id=ak, access_key_secret=secret,
    )
    assert ours == official


def test_encoding_leaves_only_unreserved_characters() -> None:
    assert signing.percent_encode("a b/c~d-e_f.g*h+") == "a%20b%2Fc~d-e_f.g%2Ah%2B"


def test_parse_authorization_round_trip() -> None:
    value = signing.authorization(
        method="POST", pathname="/", query={"A": "1"}, headers={"host": "h", "x-acs-date": "d"},
        body_sha256=signing.EMPTY_BODY_SHA256, access_key_id="AK", access_key_secret="s",
    )
    parsed = signing.parse_authorization(value)
    assert parsed.access_key_id == "AK"
    assert parsed.signed_headers == ("host", "x-acs-date")


@pytest.mark.parametrize(
    "value", ["", "HMAC-SHA1 Credential=a", "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host", "ACS3-HMAC-SHA256 x"]
)
def test_parse_authorization_rejects_malformed(value: str) -> None:
    with pytest.raises(signing.MalformedAuthorization):
        signing.parse_authorization(value)
