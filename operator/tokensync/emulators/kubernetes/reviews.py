"""The create-only review kinds (authorization.k8s.io, authentication.k8s.io): a POST is answered
with the review's status filled in, 201 Created, and nothing is stored; every other verb is 405.

The emulator has no authentication and no authorization: every request is allowed, as with
kube-apiserver's AlwaysAllow authorizer, and the requester is anonymous. ``kubectl auth can-i``
therefore says yes to everything, ``kubectl auth whoami`` names system:anonymous.
"""

from __future__ import annotations

import copy
from typing import Any

from .builtin_kinds import REVIEW_KINDS
from .errors import invalid
from .resources import Resource
from .validation import builtin_causes, decode

_ANONYMOUS = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
_STATUS: dict[str, dict[str, Any]] = {
    "SelfSubjectAccessReview": {"allowed": True},
    "SubjectAccessReview": {"allowed": True},
    "LocalSubjectAccessReview": {"allowed": True},
    "SelfSubjectRulesReview": {
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        "incomplete": False,
    },
    # No authenticator is configured: no token authenticates.
    "TokenReview": {"user": {}},
    "SelfSubjectReview": {"userInfo": _ANONYMOUS},
}


def is_review(resource: Resource) -> bool:
    return resource.builtin and resource.kind in REVIEW_KINDS


def review_response(resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
    """The answer to POSTing ``body`` to a review kind: decoded and checked like any built-in
    body (400 on a type error, 422 on a missing spec), then returned with its status."""
    decoded, _unknown = decode(resource, {**body, "apiVersion": resource.api_version, "kind": resource.kind})
    causes = builtin_causes(resource, decoded, None)
    if causes:
        raise invalid(resource.group, resource.kind, "", causes)
    answer = copy.deepcopy(decoded)
    answer["metadata"] = {"creationTimestamp": None, **{k: v for k, v in (decoded.get("metadata") or {}).items()
                                                         if k in ("name", "namespace", "labels", "annotations")}}
    answer["status"] = copy.deepcopy(_STATUS[resource.kind])
    return answer
