"""Connection settings from a kubeconfig or the in-cluster service account.

The `kubernetes` package does the loading (contexts, exec plugins, token files); we keep
only what an HTTP client needs, and refresh rotating service-account tokens on use.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import kubernetes.config
from kubernetes.client import Configuration

AUTHORIZATION_REREAD = 10.0  # seconds; kubelet refreshes projected tokens long before they expire


@dataclass
class ConnectionSettings:
    server: str
    verify: bool | str = True
    client_cert: tuple[str, str] | None = None
    _configuration: Any = field(default=None, repr=False)
    _static_authorization: str | None = field(default=None, repr=False)
    _cached_authorization: tuple[float, str | None] | None = field(default=None, repr=False, compare=False)

    def authorization(self) -> str | None:
        """The Authorization header, re-read every 10 s so rotating tokens keep working (the
        client's refresh hook re-reads the kubeconfig: too costly for every request)."""
        configuration = self._configuration
        if configuration is None:
            return self._static_authorization
        now = time.monotonic()
        if self._cached_authorization is not None and now - self._cached_authorization[0] < AUTHORIZATION_REREAD:
            return self._cached_authorization[1]
        value = self._read_authorization(configuration)
        self._cached_authorization = (now, value)
        return value

    @staticmethod
    def _read_authorization(configuration: Any) -> str | None:
        hook = getattr(configuration, "refresh_api_key_hook", None)
        if hook is not None:
            hook(configuration)
        value = configuration.api_key.get("authorization") or configuration.api_key.get("BearerToken")
        if value and not value.lower().startswith(("bearer ", "basic ")):
            prefix = configuration.api_key_prefix.get("authorization", "Bearer")
            value = f"{prefix} {value}"
        return str(value) if value else None


def load_connection_settings(kubeconfig: str | None = None, context: str | None = None) -> ConnectionSettings:
    """In-cluster when running in a pod and no kubeconfig is named; the kubeconfig otherwise."""
    configuration = Configuration()
    if kubeconfig is None and "KUBERNETES_SERVICE_HOST" in os.environ and not os.environ.get("KUBECONFIG"):
        kubernetes.config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context, client_configuration=configuration, persist_config=False
        )
    verify: bool | str = bool(configuration.verify_ssl)
    if verify and configuration.ssl_ca_cert:
        verify = str(configuration.ssl_ca_cert)
    cert = (str(configuration.cert_file), str(configuration.key_file)) if configuration.cert_file else None
    return ConnectionSettings(
        server=str(configuration.host).rstrip("/"), verify=verify, client_cert=cert, _configuration=configuration
    )
