"""Request bodies by Content-Type: JSON, YAML, Kubernetes protobuf, and 415 for anything else.

The protobuf bodies are built here by a tiny encoder with the field numbers of the published
generated.proto files, in the shape client-go sends: every non-pointer field on the wire, zero
or not; pointers only when set. What comes back must be what Go's JSON of the same object is.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tokensync.emulators.kubernetes import ApiError, KubernetesEmulator, bodies, protobuf, protobuf_fields

from .conftest import KubeApi

PROTOBUF = "application/vnd.kubernetes.protobuf"

# -- a tiny protobuf encoder -------------------------------------------------------------------------


def varint(number: int) -> bytes:
    number &= (1 << 64) - 1  # negative int32/int64: ten bytes of two's complement, as Go writes them
    out = bytearray()
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def f(number: int, value: int | bool | str | bytes) -> bytes:
    """One field: an int or bool as a varint, a str or bytes length-delimited."""
    if isinstance(value, bool | int):
        return varint(number << 3) + varint(int(value))
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def m(*fields: bytes) -> bytes:
    return b"".join(fields)


def entry(number: int, key: str, value: str | bytes) -> bytes:
    """One map entry (key = 1, value = 2)."""
    return f(number, m(f(1, key), f(2, value)))


def body(api_version: str, kind: str, raw: bytes) -> bytes:
    """The magic, then runtime.Unknown{typeMeta{apiVersion = 1, kind = 2} = 1, raw = 2, contentEncoding = 3,
    contentType = 4}."""
    return b"k8s\x00" + m(f(1, m(f(1, api_version), f(2, kind))), f(2, raw), f(3, ""), f(4, ""))


def object_meta(name: str, *extra: bytes) -> bytes:
    """ObjectMeta as client-go writes a new object's: every string and int, empty or not; the
    creationTimestamp (8) as an empty message (the zero time)."""
    return m(f(1, name), f(2, ""), f(3, ""), f(4, ""), f(5, ""), f(6, ""), f(7, 0), f(8, b""), *extra)


def decode(api_version: str, kind: str, raw: bytes) -> Any:
    return bodies.decode_body(PROTOBUF, body(api_version, kind, raw))


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


# -- protobuf: Secret, ConfigMap, Namespace, ServiceAccount in full -----------------------------------


def test_secret_with_full_metadata_reads_as_its_json() -> None:
    owner = m(f(1, "Deployment"), f(3, "web"), f(4, "u-1"), f(5, "apps/v1"), f(6, True), f(7, False))
    meta = m(f(1, "creds"), f(2, "creds-"), f(3, "team-a"), f(4, ""), f(5, ""), f(6, ""), f(7, 0),
             f(8, m(f(1, 1_700_000_000))), f(9, m(f(1, 1_700_000_060))), f(10, 30),
             entry(11, "app", "web"), entry(11, "tier", ""), entry(12, "note", "a\nb"),
             f(13, owner), f(14, "example.com/keep"), f(14, "example.com/also"))
    secret = m(f(1, meta), entry(2, "token", b"\x00\xffsecret"), entry(2, "empty", b""),
               f(3, "example.com/token"), entry(4, "plain", "text"), f(5, True))
    assert decode("v1", "Secret", secret) == {
        "kind": "Secret", "apiVersion": "v1",
        "metadata": {
            "name": "creds", "generateName": "creds-", "namespace": "team-a",
            "creationTimestamp": "2023-11-14T22:13:20Z", "deletionTimestamp": "2023-11-14T22:14:20Z",
            "deletionGracePeriodSeconds": 30,
            "labels": {"app": "web", "tier": ""}, "annotations": {"note": "a\nb"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u-1",
                                 "controller": True, "blockOwnerDeletion": False}],
            "finalizers": ["example.com/keep", "example.com/also"],
        },
        "immutable": True,
        "data": {"token": b64(b"\x00\xffsecret"), "empty": ""},
        "stringData": {"plain": "text"},
        "type": "example.com/token",
    }


def test_new_object_zero_fields_are_left_out_as_json_omits_them() -> None:
    # A new Secret from client-go: empty strings and a zero generation on the wire, no data.
    assert decode("v1", "Secret", m(f(1, object_meta("s")), f(3, ""))) == {
        "kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s", "creationTimestamp": None}}


def test_configmap_data_binary_data_and_a_false_immutable_pointer() -> None:
    configmap = m(f(1, object_meta("settings")), entry(2, "mode", "fast"), entry(3, "blob", b"\x01\x02"),
                  f(4, False))
    assert decode("v1", "ConfigMap", configmap) == {
        "kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "settings", "creationTimestamp": None},
        "immutable": False, "data": {"mode": "fast"}, "binaryData": {"blob": b64(b"\x01\x02")}}


def test_namespace_spec_and_status_are_structs_json_always_has() -> None:
    assert decode("v1", "Namespace", m(f(1, object_meta("team-a")), f(2, b""), f(3, b""))) == {
        "kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "team-a", "creationTimestamp": None},
        "spec": {}, "status": {}}
    condition = m(f(1, "NamespaceDeletionDiscoveryFailure"), f(2, "False"), f(4, b""), f(5, ""), f(6, ""))
    namespace = m(f(1, object_meta("b")), f(2, m(f(1, "kubernetes"))), f(3, m(f(1, "Active"), f(2, condition))))
    assert decode("v1", "Namespace", namespace)["spec"] == {"finalizers": ["kubernetes"]}
    assert decode("v1", "Namespace", namespace)["status"] == {
        "phase": "Active",
        "conditions": [{"type": "NamespaceDeletionDiscoveryFailure", "status": "False", "lastTransitionTime": None}]}


def test_service_account_references() -> None:
    reference = m(f(1, "Secret"), f(2, "default"), f(3, "sa-token"), f(4, ""), f(5, "v1"), f(6, ""), f(7, ""))
    account = m(f(1, object_meta("builder")), f(2, reference), f(3, m(f(1, "registry"))), f(4, False))
    assert decode("v1", "ServiceAccount", account) == {
        "kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": "builder", "creationTimestamp": None},
        "secrets": [{"kind": "Secret", "namespace": "default", "name": "sa-token", "apiVersion": "v1"}],
        "imagePullSecrets": [{"name": "registry"}], "automountServiceAccountToken": False}


# -- protobuf: workloads, services, RBAC, policy -----------------------------------------------------


def quantity(text: str) -> bytes:
    return m(f(1, text))


def int_or_string(value: int | str) -> bytes:
    """IntOrString{type = 1 (0 int, 1 string), intVal = 2, strVal = 3}."""
    if isinstance(value, int):
        return m(f(1, 0), f(2, value), f(3, ""))
    return m(f(1, 1), f(2, 0), f(3, value))


def container() -> bytes:
    port = m(f(1, "http"), f(2, 0), f(3, 8080), f(4, "TCP"), f(5, ""))
    env = m(f(1, "MODE"), f(2, "fast"))
    env_from_secret = m(f(1, "TOKEN"), f(2, ""), f(3, m(f(4, m(f(1, m(f(1, "creds"))), f(2, "token"))))))
    resources = m(entry(1, "cpu", quantity("500m")), entry(2, "memory", quantity("64Mi")))
    probe = m(f(1, m(f(2, m(f(1, "/healthz"), f(2, int_or_string("http")), f(3, ""), f(4, "HTTP"))))),
              f(2, 0), f(3, 1), f(4, 10), f(5, 1), f(6, 3))
    mount = m(f(1, "data"), f(2, False), f(3, "/data"), f(4, ""), f(6, ""))
    return m(f(1, "web"), f(2, "nginx:1.27"), f(3, "nginx"), f(4, "-g"), f(4, "daemon off;"), f(5, ""),
             f(6, port), f(7, env), f(7, env_from_secret), f(8, resources), f(9, mount), f(11, probe),
             f(13, "/dev/termination-log"), f(14, "IfNotPresent"), f(16, False), f(17, False), f(18, False))


def test_deployment_template_with_containers_env_ports_resources_volumes() -> None:
    volumes = [m(f(1, "data"), f(2, m(f(2, m(f(1, ""), f(2, quantity("1Gi"))))))),  # emptyDir (VolumeSource inlined)
               m(f(1, "creds"), f(2, m(f(6, m(f(1, "creds"), f(3, 0o400))))))]
    pod_spec = m(*(f(1, v) for v in volumes), f(2, container()), f(3, "Always"), f(8, "runner"),
                 f(11, False), f(14, m(f(2, 1000), f(4, varint(1000) + varint(2000)))))  # packed supplementalGroups
    template = m(f(1, object_meta("", entry(11, "app", "web"))), f(2, pod_spec))
    strategy = m(f(1, "RollingUpdate"), f(2, m(f(1, int_or_string("25%")), f(2, int_or_string(1)))))
    selector = m(entry(1, "app", "web"))
    spec = m(f(1, 0), f(2, selector), f(3, template), f(4, strategy), f(5, 0), f(7, False), f(9, 600))
    deployment = decode("apps/v1", "Deployment", m(f(1, object_meta("web")), f(2, spec), f(3, b"")))
    assert deployment["status"] == {}
    assert deployment["spec"] == {
        "replicas": 0,  # a pointer: zero is kept
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
            "spec": {
                "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
                            {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}}],
                "containers": [{
                    "name": "web", "image": "nginx:1.27", "command": ["nginx"], "args": ["-g", "daemon off;"],
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                    "env": [{"name": "MODE", "value": "fast"},
                            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
                    "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                                       "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                                       "failureThreshold": 3},
                    "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent",
                }],
                "restartPolicy": "Always", "serviceAccountName": "runner",
                "securityContext": {"runAsUser": 1000, "supplementalGroups": [1000, 2000]},
            },
        },
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}},
        "progressDeadlineSeconds": 600,
    }


def test_cronjob_with_job_template_and_times() -> None:
    job_spec = m(f(6, m(f(1, object_meta("")), f(2, m(f(2, m(f(1, "run"), f(2, "busybox"))), f(3, "OnFailure"))))))
    spec = m(f(1, "@hourly"), f(3, "Forbid"), f(4, True), f(5, m(f(1, object_meta("")), f(2, job_spec))))
    status = m(f(4, m(f(1, 0))), f(5, m(f(1, 86_400))))
    cronjob = decode("batch/v1", "CronJob", m(f(1, object_meta("nightly")), f(2, spec), f(3, status)))
    assert cronjob["spec"]["schedule"] == "@hourly" and cronjob["spec"]["suspend"] is True
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"] == [
        {"name": "run", "image": "busybox", "resources": {}}]
    # A non-empty Time message is the epoch second it holds (nanos dropped, as Go drops them).
    assert cronjob["status"] == {"lastScheduleTime": "1970-01-01T00:00:00Z",
                                 "lastSuccessfulTime": "1970-01-02T00:00:00Z"}


def test_service_ports_target_port_as_int_or_string() -> None:
    ports = [m(f(1, "http"), f(2, "TCP"), f(3, 80), f(4, int_or_string(8080)), f(5, 0)),
             m(f(1, "https"), f(2, "TCP"), f(3, 443), f(4, int_or_string("https")), f(5, 0))]
    spec = m(*(f(1, p) for p in ports), entry(2, "app", "web"), f(3, "None"), f(4, "ClusterIP"))
    service = decode("v1", "Service", m(f(1, object_meta("web")), f(2, spec), f(3, m(f(1, b"")))))
    assert service["spec"] == {
        "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                  {"name": "https", "protocol": "TCP", "port": 443, "targetPort": "https"}],
        "selector": {"app": "web"}, "clusterIP": "None", "type": "ClusterIP"}
    assert service["status"] == {"loadBalancer": {}}


def test_rbac_rules_subjects_and_role_ref() -> None:
    rule = m(f(1, "get"), f(1, "list"), f(2, ""), f(3, "secrets"), f(4, "creds"))
    role = decode("rbac.authorization.k8s.io/v1", "Role", m(f(1, object_meta("reader")), f(2, rule)))
    assert role["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["secrets"],
                              "resourceNames": ["creds"]}]
    subject = m(f(1, "ServiceAccount"), f(2, ""), f(3, "builder"), f(4, "ci"))
    binding = m(f(1, object_meta("reader")), f(2, subject),
                f(3, m(f(1, "rbac.authorization.k8s.io"), f(2, "Role"), f(3, "reader"))))
    assert decode("rbac.authorization.k8s.io/v1", "RoleBinding", binding) == {
        "kind": "RoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": {"name": "reader", "creationTimestamp": None},
        "subjects": [{"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}}
    aggregated = m(f(1, object_meta("agg")), f(3, m(f(1, m(entry(1, "aggregate", "true"))))))
    # ``rules`` has no omitempty: a ClusterRole without rules says null, as Go's JSON does.
    assert decode("rbac.authorization.k8s.io/v1", "ClusterRole", aggregated)["rules"] is None


def test_pdb_priority_class_quota_and_ingress() -> None:
    pdb = decode("policy/v1", "PodDisruptionBudget", m(f(1, object_meta("web")), f(2, m(
        f(1, int_or_string("50%")), f(2, m(entry(1, "app", "web")))))))
    assert pdb["spec"] == {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}
    assert pdb["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
    priority = decode("scheduling.k8s.io/v1", "PriorityClass", m(f(1, object_meta("high")), f(2, -5),
                                                                  f(3, False), f(4, "d"), f(5, "Never")))
    assert priority == {"kind": "PriorityClass", "apiVersion": "scheduling.k8s.io/v1",
                        "metadata": {"name": "high", "creationTimestamp": None},
                        "value": -5, "description": "d", "preemptionPolicy": "Never"}
    quota = decode("v1", "ResourceQuota", m(f(1, object_meta("q")), f(2, m(
        entry(1, "cpu", quantity("1")), entry(1, "pods", quantity("2")), f(2, "BestEffort")))))
    assert quota["spec"] == {"hard": {"cpu": "1", "pods": "2"}, "scopes": ["BestEffort"]}
    backend = m(f(4, m(f(1, "web"), f(2, m(f(1, ""), f(2, 80))))))
    path = m(f(1, "/api"), f(3, "Prefix"), f(2, backend))
    rule = m(f(1, "example.com"), f(2, m(f(1, m(f(1, path))))))  # IngressRuleValue is inlined
    ingress = decode("networking.k8s.io/v1", "Ingress", m(f(1, object_meta("web")), f(2, m(
        f(4, "nginx"), f(2, m(f(1, "example.com"), f(2, "tls"))), f(3, rule)))))
    assert ingress["spec"] == {
        "ingressClassName": "nginx", "tls": [{"hosts": ["example.com"], "secretName": "tls"}],
        "rules": [{"host": "example.com", "http": {"paths": [
            {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}


def test_lease_micro_time_and_delete_options_of_any_group_version() -> None:
    renew = m(f(1, 1_700_000_000), f(2, 123_456_789))
    lease = decode("coordination.k8s.io/v1", "Lease", m(f(1, object_meta("leader")), f(2, m(
        f(1, "pod-a"), f(2, 15), f(4, renew), f(5, 0)))))
    assert lease["spec"] == {"holderIdentity": "pod-a", "leaseDurationSeconds": 15,
                             "renewTime": "2023-11-14T22:13:20.123456Z", "leaseTransitions": 0}
    for api_version in ("meta.k8s.io/v1", "v1", "apps/v1"):
        options = decode(api_version, "DeleteOptions", m(f(2, m(f(1, "u-1"))), f(4, "Foreground"), f(5, "All")))
        assert options == {"kind": "DeleteOptions", "apiVersion": api_version,
                           "preconditions": {"uid": "u-1"}, "propagationPolicy": "Foreground", "dryRun": ["All"]}


def test_wire_details_unknown_fields_merged_messages_negative_numbers() -> None:
    # Unknown field numbers (a newer client's fields) are skipped, as the Go decoder skips them,
    # in every wire type; a repeated non-repeated message merges; the last scalar wins.
    fixed = varint(98 << 3 | 1) + bytes(8) + varint(97 << 3 | 5) + bytes(4)
    secret = m(f(1, m(f(1, "first"), entry(11, "a", "1"))), f(99, "future"), fixed, f(1, m(f(1, "second"))),
               f(3, "A"), f(3, "B"))
    assert decode("v1", "Secret", secret) == {
        "kind": "Secret", "apiVersion": "v1", "metadata": {"name": "second", "labels": {"a": "1"},
                                                           "creationTimestamp": None},
        "type": "B"}
    assert decode("v1", "Pod", m(f(2, m(f(25, -1)))))["spec"]["priority"] == -1


# -- protobuf: what kube-apiserver refuses ---------------------------------------------------------


def refused(content_type: str, raw: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        bodies.decode_body(content_type, raw)
    return caught.value


def test_protobuf_of_a_kind_without_a_protobuf_form_is_415_as_for_a_custom_resource() -> None:
    error = refused(PROTOBUF, body("example.com/v1", "Widget", m(f(1, object_meta("w")))))
    assert (error.code, error.reason) == (415, "UnsupportedMediaType")
    assert error.message == ("the body of the request was in an unknown format - accepted media types include: "
                             "application/json, application/yaml")


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"kind": "Secret"}', "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"),
    (b"k8s\x00", "empty body"),
    (body("v1", "", b""), "Object 'Kind' is missing in"),
    (body("v1", "Secret", f(1, object_meta("s"))[:-3]), 'Secret in version "v1" cannot be handled as a Secret: '
                                                         "proto: unexpected EOF"),
    (body("v1", "Secret", f(3, 7)), 'Secret in version "v1" cannot be handled as a Secret: proto: wrong wireType'),
])
def test_malformed_protobuf_is_400(raw: bytes, message: str) -> None:
    error = refused(PROTOBUF, raw)
    assert (error.code, error.reason) == (400, "BadRequest")
    assert message in error.message


def test_every_table_parses_and_names_only_known_messages() -> None:
    special = {"Time", "MicroTime", "Quantity", "IntOrString", "FieldsV1", "RawExtension", "ExtraValue"}
    for message in protobuf_fields.MESSAGES:
        for field in protobuf.fields_of(message).values():
            assert field.type in {"s", "i", "b", "y"} | special | protobuf_fields.MESSAGES.keys(), (message, field)
    for message in [*protobuf_fields.KINDS.values(), *protobuf_fields.ANY_VERSION_KINDS.values()]:
        assert message in protobuf_fields.MESSAGES


# -- JSON, YAML and everything else ------------------------------------------------------------------

SECRET_JSON = b'{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "labels": {"on": "yes"}}}'
SECRET_YAML = b"""
apiVersion: v1
kind: Secret
metadata:
  name: s
  labels: {"on": "yes"}
"""


@pytest.mark.parametrize("content_type", ["", "application/json", "application/merge-patch+json",
                                          "application/json-patch+json", "application/strategic-merge-patch+json",
                                          "Application/JSON"])
def test_json_types(content_type: str) -> None:
    assert bodies.decode_body(content_type, SECRET_JSON)["metadata"]["labels"] == {"on": "yes"}


@pytest.mark.parametrize("content_type", ["application/yaml", "application/apply-patch+yaml"])
def test_yaml_is_the_same_object_as_json(content_type: str) -> None:
    assert bodies.decode_body(content_type, SECRET_YAML) == bodies.decode_body("application/json", SECRET_JSON)


def test_yaml_scalars_read_as_sigs_yaml_reads_them() -> None:
    # A date-like value stays a string; non-string keys become strings; YAML 1.1 booleans are bools.
    decoded = bodies.decode_body("application/yaml", b"data:\n  when: 2024-01-02\n  1: one\nflag: yes\n")
    assert decoded == {"data": {"when": "2024-01-02", "1": "one"}, "flag": True}


@pytest.mark.parametrize(("content_type", "raw", "message"), [
    ("application/json", b"{not json", "couldn't get version/kind; json parse error"),
    ("application/yaml", b"a: [1, 2", "error converting YAML to JSON"),
    ("application/yaml", b"a: .inf", "error converting YAML to JSON"),
    ("application/json", b'"just a string"', "the request body must be a JSON object"),
])
def test_unreadable_json_or_yaml_is_400(content_type: str, raw: bytes, message: str) -> None:
    error = refused(content_type, raw)
    assert error.code == 400 and message in error.message


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/cbor",
                                          "application/json-seq", "*/*"])
def test_other_media_types_are_415(content_type: str) -> None:
    error = refused(content_type, SECRET_JSON)
    assert (error.code, error.reason) == (415, "UnsupportedMediaType")
    assert error.message == ("the body of the request was in an unknown format - accepted media types include: "
                             "application/json, application/yaml, application/vnd.kubernetes.protobuf")


def test_an_empty_body_is_an_empty_object_whatever_its_type() -> None:
    assert bodies.decode_body("text/plain", b"") == {}


# -- through the HTTP server -------------------------------------------------------------------------


async def test_protobuf_create_over_http_stores_the_secret(kube_api: KubeApi,
                                                          kube_emulator: KubernetesEmulator) -> None:
    raw = body("v1", "Secret", m(f(1, object_meta("creds")), entry(2, "token", b"abc")))
    reply = await kube_api.post("/api/v1/namespaces/default/secrets", raw, content_type=PROTOBUF)
    assert reply.status == 201, reply.body
    stored = kube_emulator.get("v1", "Secret", "default", "creds")
    assert stored is not None and base64.b64decode(stored["data"]["token"]) == b"abc"


async def test_yaml_create_and_a_text_plain_refusal_over_http(kube_api: KubeApi) -> None:
    created = await kube_api.post("/api/v1/namespaces/default/configmaps",
                                  b"metadata: {name: c}\ndata: {k: v}\n", content_type="application/yaml")
    assert created.status == 201 and created.body["data"] == {"k": "v"}
    refused_reply = await kube_api.post("/api/v1/namespaces/default/configmaps", b"{}", content_type="text/plain")
    assert refused_reply.status == 415 and refused_reply.body["reason"] == "UnsupportedMediaType"


def test_review_extra_values_raw_extensions_and_managed_fields() -> None:
    # `kubectl auth can-i` sends a SelfSubjectAccessReview; ExtraValue is a list of strings in JSON.
    attributes = m(f(1, "default"), f(2, "get"), f(3, ""), f(4, ""), f(5, "secrets"), f(6, ""), f(7, ""))
    review = decode("authorization.k8s.io/v1", "SubjectAccessReview", m(f(1, object_meta("")), f(2, m(
        f(1, attributes), f(3, "alice"), f(4, "devs"), f(5, m(f(1, "scopes"), f(2, m(f(1, "a"), f(1, "b"))))))),
        f(3, m(f(1, False), f(4, False), f(2, ""), f(3, "")))))
    assert review["spec"] == {"resourceAttributes": {"namespace": "default", "verb": "get", "resource": "secrets"},
                              "user": "alice", "groups": ["devs"], "extra": {"scopes": ["a", "b"]}}
    assert review["status"] == {"allowed": False}
    # A ControllerRevision's data and managedFields' fieldsV1 are JSON carried as bytes.
    managed = m(f(1, "kubectl"), f(2, "Update"), f(3, "apps/v1"), f(6, "FieldsV1"), f(7, m(f(1, b'{"f:data":{}}'))))
    revision = decode("apps/v1", "ControllerRevision", m(f(1, object_meta("r", f(17, managed))),
                                                          f(2, m(f(1, b'{"spec": {"replicas": 2}}'))), f(3, 4)))
    assert revision["data"] == {"spec": {"replicas": 2}} and revision["revision"] == 4
    assert revision["metadata"]["managedFields"] == [{"manager": "kubectl", "operation": "Update",
                                                      "apiVersion": "apps/v1", "fieldsType": "FieldsV1",
                                                      "fieldsV1": {"f:data": {}}}]


def test_both_versions_of_a_kind_read_with_their_own_fields() -> None:
    v1 = decode("autoscaling/v1", "HorizontalPodAutoscaler", m(f(1, object_meta("web")), f(2, m(f(3, 5), f(4, 80)))))
    assert v1["spec"] == {"scaleTargetRef": {"kind": "", "name": ""}, "maxReplicas": 5,
                          "targetCPUUtilizationPercentage": 80}
    v2 = decode("autoscaling/v2", "HorizontalPodAutoscaler", m(f(1, object_meta("web")), f(2, m(f(3, 5)))))
    assert v2["spec"] == {"scaleTargetRef": {"kind": "", "name": ""}, "maxReplicas": 5}
