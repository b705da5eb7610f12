"""A local Kubernetes API server emulator: the test harness for operator tests and the cluster
behind ``tokensync sandbox``.

Why an own implementation instead of subclassing kmock's ``KubernetesEmulator``: kmock 0.8
stores bodies as sent and lacks resourceVersion/uid/generation, 201/409/422 codes, PUT, an
isolated /status subresource, label selectors, watch resourceVersion/timeout/bookmarks, CRD
registration, schema validation and garbage collection. Fixing that many gaps by overriding
its internals would leave little of it and tie us to its private API. A compact store plus
aiohttp.web (already a kopf dependency) keeps the semantics in our hands, in small modules:

- ``store``: objects, resourceVersion, generation, finalizers, GC, watch history;
- ``resources``: built-in kinds, CRD-declared kinds, discovery documents;
- ``schema``: structural-schema pruning, defaulting, validation and CEL rules;
- ``patching``: merge, JSON and strategic merge patches; ``selectors``: label/field selectors;
- ``server``: HTTP routes; ``openapi``/``tables``: what kubectl needs; ``faults``: test hooks.

See docs/kubernetes-emulator.md for what it does and does not emulate.
"""

from .emulator import KubernetesEmulator, running_kubernetes_emulator
from .errors import ApiError
from .faults import Fault
from .kubeconfig import CONTEXT_NAME, kubeconfig_document
from .resources import Resource

__all__ = [
    "CONTEXT_NAME",
    "ApiError",
    "Fault",
    "KubernetesEmulator",
    "Resource",
    "kubeconfig_document",
    "running_kubernetes_emulator",
]
