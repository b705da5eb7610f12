"""Request bodies as kube-apiserver reads them, by their Content-Type.

kube-apiserver picks the decoder by the exact media type (NegotiateInputSerializer): JSON, YAML
and, for built-in kinds, protobuf; anything else is 415 before the body is read. An absent
Content-Type means JSON, the first type it serves. PATCH bodies come here too: the patch types are
JSON (the server checks which patch type a resource takes), and server-side apply's is YAML.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from . import protobuf
from .errors import ApiError, bad_request

PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_TYPES = frozenset({"", "application/json", "application/merge-patch+json", "application/json-patch+json",
                        "application/strategic-merge-patch+json"})
YAML_TYPES = frozenset({"application/yaml", "application/apply-patch+yaml"})
ACCEPTED = f"application/json, application/yaml, {PROTOBUF}"


class _YamlLoader(yaml.SafeLoader):
    """YAML as sigs.k8s.io/yaml reads it into JSON: a timestamp-looking scalar stays a string
    (PyYAML would make it a ``datetime``, which is not JSON)."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def unsupported_media_type() -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types include: {ACCEPTED}")


def decode_body(content_type: str, raw: bytes) -> Any:
    """The JSON value of a request body; ``content_type`` is the header's media type, without parameters.

    An empty body is ``{}`` whatever its type: a DELETE without DeleteOptions is never negotiated.
    """
    if not raw:
        return {}
    media_type = content_type.strip().lower()
    if media_type == PROTOBUF:
        return protobuf.decode(raw)
    if media_type in JSON_TYPES:
        body = _json(raw)
    elif media_type in YAML_TYPES:
        body = _yaml(raw)
    else:
        raise unsupported_media_type()
    if not isinstance(body, dict | list):
        raise bad_request("the request body must be a JSON object")
    return body


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


def _yaml(raw: bytes) -> Any:
    """YAML converted to JSON values: keys become strings and a value JSON cannot hold (``.inf``,
    ``!!binary``) is an error, as sigs.k8s.io/yaml's YAMLToJSON has them."""
    try:
        loaded = yaml.load(raw, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader subclass
        return json.loads(json.dumps(loaded, allow_nan=False))
    except (yaml.YAMLError, TypeError, ValueError) as exc:
        raise bad_request(f"error converting YAML to JSON: {exc}") from exc
