"""The built-in kinds a Kubernetes 1.32 cluster serves, as its discovery documents describe them.

The schemas (fields, types, merge keys) come from Kubernetes itself (builtin_schemas.py); what
they do not carry is here: resource (plural) names, scope, short names, categories, verbs and
subresources, as kube-apiserver's discovery lists them (kubernetes/kubernetes api/discovery/:
api__v1.json and aggregated_v2.json), for the groups a default 1.32 cluster enables (GA only:
beta and alpha APIs are off by default). ``generation`` is set for the kinds whose registry
strategy sets ``metadata.generation = 1`` on create and bumps it on spec changes
(pkg/registry/*/strategy.go).

The emulator serves every verb but ``deletecollection`` for the ordinary kinds and only the
``status`` subresource; the other subresources (scale, log, exec, ...) are listed in discovery
as a cluster lists them, and answer 404.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

CRUD = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)
READ_ONLY = ("get", "list")
GET_PATCH_UPDATE = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    """One subresource as discovery lists it; ``kind`` empty means the parent's kind."""

    name: str
    verbs: tuple[str, ...] = GET_PATCH_UPDATE
    kind: str = ""
    group: str | None = None  # the subresource's kind is from another group-version (Scale, Eviction)
    version: str | None = None


STATUS = Subresource("status")
SCALE = Subresource("scale", kind="Scale", group="autoscaling", version="v1")
_PROXY_VERBS = ("create", "delete", "get", "patch", "update")


@dataclass(frozen=True)
class BuiltinKind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    verbs: tuple[str, ...] = CRUD
    generation: bool = False

    @property
    def singular(self) -> str:
        return self.kind.lower()  # true of every built-in kind


def _in(group: str, version: str) -> Callable[..., BuiltinKind]:
    return functools.partial(BuiltinKind, group, version)


_core = _in("", "v1")
_POD_SUBRESOURCES = (
    Subresource("attach", ("create", "get"), "PodAttachOptions"),
    Subresource("binding", CREATE_ONLY, "Binding"),
    Subresource("ephemeralcontainers"),
    Subresource("eviction", CREATE_ONLY, "Eviction", "policy", "v1"),
    Subresource("exec", ("create", "get"), "PodExecOptions"),
    Subresource("log", ("get",)),
    Subresource("portforward", ("create", "get"), "PodPortForwardOptions"),
    Subresource("proxy", _PROXY_VERBS, "PodProxyOptions"),
    STATUS,
)
CORE = [
    _core("bindings", "Binding", verbs=CREATE_ONLY),
    _core("componentstatuses", "ComponentStatus", namespaced=False, short_names=("cs",), verbs=READ_ONLY),
    _core("configmaps", "ConfigMap", short_names=("cm",)),
    _core("endpoints", "Endpoints", short_names=("ep",)),
    _core("events", "Event", short_names=("ev",)),
    _core("limitranges", "LimitRange", short_names=("limits",)),
    _core("namespaces", "Namespace", namespaced=False, short_names=("ns",),
          subresources=(Subresource("finalize", ("update",)), STATUS)),
    _core("nodes", "Node", namespaced=False, short_names=("no",),
          subresources=(Subresource("proxy", _PROXY_VERBS, "NodeProxyOptions"), STATUS)),
    _core("persistentvolumeclaims", "PersistentVolumeClaim", short_names=("pvc",), subresources=(STATUS,)),
    _core("persistentvolumes", "PersistentVolume", namespaced=False, short_names=("pv",), subresources=(STATUS,)),
    _core("pods", "Pod", short_names=("po",), categories=("all",), subresources=_POD_SUBRESOURCES),
    _core("podtemplates", "PodTemplate"),
    _core("replicationcontrollers", "ReplicationController", short_names=("rc",), categories=("all",),
          subresources=(SCALE, STATUS), generation=True),
    _core("resourcequotas", "ResourceQuota", short_names=("quota",), subresources=(STATUS,)),
    _core("secrets", "Secret"),
    _core("serviceaccounts", "ServiceAccount", short_names=("sa",),
          subresources=(Subresource("token", CREATE_ONLY, "TokenRequest", "authentication.k8s.io", "v1"),)),
    _core("services", "Service", short_names=("svc",), categories=("all",),
          subresources=(Subresource("proxy", _PROXY_VERBS, "ServiceProxyOptions"), STATUS)),
]

_apps, _batch, _rbac = _in("apps", "v1"), _in("batch", "v1"), _in("rbac.authorization.k8s.io", "v1")
_networking, _storage = _in("networking.k8s.io", "v1"), _in("storage.k8s.io", "v1")
_admission, _authorization = _in("admissionregistration.k8s.io", "v1"), _in("authorization.k8s.io", "v1")
_authentication, _flowcontrol = _in("authentication.k8s.io", "v1"), _in("flowcontrol.apiserver.k8s.io", "v1")
EXTENSIONS = ("api-extensions",)
ALL = ("all",)
GROUPS = [
    _apps("controllerrevisions", "ControllerRevision"),
    _apps("daemonsets", "DaemonSet", short_names=("ds",), categories=ALL, subresources=(STATUS,), generation=True),
    _apps("deployments", "Deployment", short_names=("deploy",), categories=ALL, subresources=(SCALE, STATUS),
          generation=True),
    _apps("replicasets", "ReplicaSet", short_names=("rs",), categories=ALL, subresources=(SCALE, STATUS),
          generation=True),
    _apps("statefulsets", "StatefulSet", short_names=("sts",), categories=ALL, subresources=(SCALE, STATUS),
          generation=True),
    _batch("cronjobs", "CronJob", short_names=("cj",), categories=ALL, subresources=(STATUS,), generation=True),
    _batch("jobs", "Job", categories=ALL, subresources=(STATUS,), generation=True),
    _rbac("clusterrolebindings", "ClusterRoleBinding", namespaced=False),
    _rbac("clusterroles", "ClusterRole", namespaced=False),
    _rbac("rolebindings", "RoleBinding"),
    _rbac("roles", "Role"),
    BuiltinKind("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short_names=("pdb",),
          subresources=(STATUS,), generation=True),
    BuiltinKind("coordination.k8s.io", "v1", "leases", "Lease"),
    BuiltinKind("events.k8s.io", "v1", "events", "Event", short_names=("ev",)),
    _networking("ingressclasses", "IngressClass", namespaced=False, generation=True),
    _networking("ingresses", "Ingress", short_names=("ing",), subresources=(STATUS,), generation=True),
    _networking("networkpolicies", "NetworkPolicy", short_names=("netpol",), generation=True),
    BuiltinKind("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", generation=True),
    *(BuiltinKind("autoscaling", version, "horizontalpodautoscalers", "HorizontalPodAutoscaler",
                short_names=("hpa",), categories=ALL, subresources=(STATUS,)) for version in ("v2", "v1")),
    _storage("csidrivers", "CSIDriver", namespaced=False),
    _storage("csinodes", "CSINode", namespaced=False),
    _storage("csistoragecapacities", "CSIStorageCapacity"),
    _storage("storageclasses", "StorageClass", namespaced=False, short_names=("sc",)),
    _storage("volumeattachments", "VolumeAttachment", namespaced=False, subresources=(STATUS,)),
    _admission("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", namespaced=False,
               categories=EXTENSIONS, generation=True),
    _admission("validatingadmissionpolicies", "ValidatingAdmissionPolicy", namespaced=False, categories=EXTENSIONS,
               subresources=(STATUS,), generation=True),
    _admission("validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", namespaced=False,
               categories=EXTENSIONS, generation=True),
    _admission("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", namespaced=False,
               categories=EXTENSIONS, generation=True),
    BuiltinKind("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
               namespaced=False, short_names=("crd", "crds"), categories=EXTENSIONS, subresources=(STATUS,),
               generation=True),
    BuiltinKind("apiregistration.k8s.io", "v1", "apiservices", "APIService", namespaced=False,
               categories=EXTENSIONS, subresources=(STATUS,)),
    _authentication("selfsubjectreviews", "SelfSubjectReview", namespaced=False, verbs=CREATE_ONLY),
    _authentication("tokenreviews", "TokenReview", namespaced=False, verbs=CREATE_ONLY),
    _authorization("localsubjectaccessreviews", "LocalSubjectAccessReview", verbs=CREATE_ONLY),
    _authorization("selfsubjectaccessreviews", "SelfSubjectAccessReview", namespaced=False, verbs=CREATE_ONLY),
    _authorization("selfsubjectrulesreviews", "SelfSubjectRulesReview", namespaced=False, verbs=CREATE_ONLY),
    _authorization("subjectaccessreviews", "SubjectAccessReview", namespaced=False, verbs=CREATE_ONLY),
    BuiltinKind("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest",
                   namespaced=False, short_names=("csr",), subresources=(Subresource("approval"), STATUS)),
    _flowcontrol("flowschemas", "FlowSchema", namespaced=False, subresources=(STATUS,), generation=True),
    _flowcontrol("prioritylevelconfigurations", "PriorityLevelConfiguration", namespaced=False,
                 subresources=(STATUS,), generation=True),
    BuiltinKind("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", namespaced=False),
    BuiltinKind("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", namespaced=False, short_names=("pc",)),
]

BUILTIN_KINDS: list[BuiltinKind] = [*CORE, *GROUPS]

# The review kinds: POST answers with status filled in and stores nothing (kube-apiserver's
# authorization/authentication registries). Without authentication or RBAC, everything is allowed.
REVIEW_KINDS = frozenset({"SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview",
                          "SelfSubjectRulesReview", "TokenReview", "SelfSubjectReview"})
