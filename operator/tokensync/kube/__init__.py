"""A small async Kubernetes client: connection config, resource paths, errors, Events.

tokensync talks to the API server from the same event loop as kopf (and, in tests, as the
Kubernetes emulator), so that fast-forwarded time stays consistent. The `kubernetes`
package loads kubeconfig and in-cluster settings; httpx carries the requests.
"""

from tokensync.kube.client import KubeClient
from tokensync.kube.config import ConnectionSettings, load_connection_settings
from tokensync.kube.errors import KubeApiError
from tokensync.kube.resources import Resource

__all__ = ["ConnectionSettings", "KubeApiError", "KubeClient", "Resource", "load_connection_settings"]
