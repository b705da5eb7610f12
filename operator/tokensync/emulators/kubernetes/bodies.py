"""Request bodies as kube-apiserver reads them, by their Content-Type."""

from __future__ import annotations

import json
from typing import Any

from .errors import bad_request


def decode_body(content_type: str, raw: bytes) -> Any:
    """The JSON value of a request body; ``content_type`` is the header's media type, without parameters."""
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
    if not isinstance(body, dict | list):
        raise bad_request("the request body must be a JSON object")
    return body
