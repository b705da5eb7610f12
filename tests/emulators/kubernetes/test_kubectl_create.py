"""The real kubectl's ``create`` subcommands against the emulator.

They build typed objects and send them with client-go's typed clients, as protobuf
(``application/vnd.kubernetes.protobuf``), with no JSON fallback. Each case proves two things:
the body the emulator decoded is exactly the JSON kubectl prints for ``--dry-run=client -o json``
(the object it would have sent as JSON), and the stored object has what the user asked for.
"""

from __future__ import annotations

import base64
import datetime
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tokensync.emulators.kubernetes import KubernetesEmulator, Resource, bodies

from .conftest import Kubectl

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")

PROTOBUF = "application/vnd.kubernetes.protobuf"
BINARY = b"\x00\x01\xfe\xffnot utf-8"

# Kinds `kubectl create` makes that the emulator's built-in registry does not serve (yet): served
# here only for this test, so that the bodies kubectl sends for them reach the decoder.
EXTRA_KINDS = [
    Resource("batch", "v1", "jobs", "job", "Job", True, status_subresource=True, has_generation=True),
    Resource("batch", "v1", "cronjobs", "cronjob", "CronJob", True, short_names=["cj"], status_subresource=True,
             has_generation=True),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding",
             False),
    Resource("scheduling.k8s.io", "v1", "priorityclasses", "priorityclass", "PriorityClass", False,
             short_names=["pc"]),
    Resource("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", True, short_names=["quota"],
             status_subresource=True),
    Resource("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", True,
             short_names=["pdb"], status_subresource=True, has_generation=True),
    Resource("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", True, short_names=["ing"],
             status_subresource=True, has_generation=True),
]

Obj = dict[str, Any]


def decoded(data: Obj, key: str) -> bytes:
    return base64.b64decode(data["data"][key])


def container(obj: Obj, *path: str) -> Obj:
    """The first container of a workload, its pod template found by ``path``."""
    spec = obj
    for step in path:
        spec = spec[step]
    first: Obj = spec["template"]["spec"]["containers"][0]
    return first


@dataclass
class Case:
    """One ``kubectl create`` command; ``{dir}`` in an argument is the test's file folder."""

    args: tuple[str, ...]
    api_version: str
    kind: str
    name: str
    check: Callable[[Obj, Path], object]
    namespaced: bool = True
    before: tuple[tuple[str, ...], ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return "-".join(self.args[1:3] if self.args[1] in ("secret", "service") else self.args[1:2]) + f"-{self.name}"


CASES = [
    Case(("create", "namespace", "team-a"), "v1", "Namespace", "team-a", namespaced=False,
         check=lambda o, _: o["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}),
    Case(("create", "secret", "generic", "creds", "--from-literal=token=s3cret", "--from-file=blob={dir}/blob.bin",
          "--type=example.com/token"), "v1", "Secret", "creds",
         check=lambda o, d: decoded(o, "token") == b"s3cret" and decoded(o, "blob") == BINARY
         and o["type"] == "example.com/token"),
    Case(("create", "secret", "generic", "from-env", "--from-env-file={dir}/app.env"), "v1", "Secret", "from-env",
         check=lambda o, _: decoded(o, "A") == b"1" and decoded(o, "B") == b"two" and o["type"] == "Opaque"),
    Case(("create", "secret", "tls", "cert", "--cert={dir}/tls.crt", "--key={dir}/tls.key"), "v1", "Secret", "cert",
         check=lambda o, d: o["type"] == "kubernetes.io/tls"
         and decoded(o, "tls.crt") == (d / "tls.crt").read_bytes()
         and decoded(o, "tls.key") == (d / "tls.key").read_bytes()),
    Case(("create", "secret", "docker-registry", "pull", "--docker-server=registry.example",
          "--docker-username=robot", "--docker-password=hunter2", "--docker-email=robot@example.com"),
         "v1", "Secret", "pull",
         check=lambda o, _: o["type"] == "kubernetes.io/dockerconfigjson"
         and json.loads(decoded(o, ".dockerconfigjson"))["auths"]["registry.example"]["password"] == "hunter2"),
    Case(("create", "configmap", "settings", "--from-literal=mode=fast", "--from-file={dir}/greeting.txt",
          "--from-file={dir}/blob.bin"), "v1", "ConfigMap", "settings",
         check=lambda o, _: o["data"] == {"mode": "fast", "greeting.txt": "hello\n"}
         and base64.b64decode(o["binaryData"]["blob.bin"]) == BINARY),
    Case(("create", "configmap", "from-env", "--from-env-file={dir}/app.env"), "v1", "ConfigMap", "from-env",
         check=lambda o, _: o["data"] == {"A": "1", "B": "two"}),
    Case(("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=8080"),
         "apps/v1", "Deployment", "web",
         check=lambda o, _: o["spec"]["replicas"] == 3 and o["spec"]["selector"] == {"matchLabels": {"app": "web"}}
         and container(o, "spec") == {"name": "nginx", "image": "nginx:1.27", "resources": {},
                                      "ports": [{"containerPort": 8080}]}),
    Case(("create", "serviceaccount", "builder"), "v1", "ServiceAccount", "builder",
         check=lambda o, _: o["metadata"]["namespace"] == "default"),
    Case(("create", "service", "clusterip", "web", "--tcp=80:8080", "--tcp=443:https"), "v1", "Service", "web",
         check=lambda o, _: o["spec"]["type"] == "ClusterIP" and o["spec"]["selector"] == {"app": "web"}
         and [(p["port"], p["targetPort"]) for p in o["spec"]["ports"]] == [(80, 8080), (443, "https")]),
    Case(("create", "service", "clusterip", "headless", "--clusterip=None"), "v1", "Service", "headless",
         check=lambda o, _: o["spec"]["clusterIP"] == "None"),
    Case(("create", "service", "nodeport", "exposed", "--tcp=80:8080", "--node-port=30080"),
         "v1", "Service", "exposed",
         check=lambda o, _: o["spec"]["type"] == "NodePort" and o["spec"]["ports"][0]["nodePort"] == 30080),
    Case(("create", "service", "externalname", "alias", "--external-name=db.example.com"), "v1", "Service", "alias",
         check=lambda o, _: o["spec"] == {"type": "ExternalName", "externalName": "db.example.com",
                                          "selector": {"app": "alias"}}),
    Case(("create", "job", "once", "--image=busybox", "--", "echo", "hi"), "batch/v1", "Job", "once",
         check=lambda o, _: container(o, "spec")["command"] == ["echo", "hi"]
         and o["spec"]["template"]["spec"]["restartPolicy"] == "Never"),
    Case(("create", "cronjob", "nightly", "--image=busybox", "--schedule=0 3 * * *", "--restart=OnFailure",
          "--", "date"), "batch/v1", "CronJob", "nightly",
         check=lambda o, _: o["spec"]["schedule"] == "0 3 * * *"
         and container(o, "spec", "jobTemplate", "spec")["command"] == ["date"]),
    Case(("create", "job", "manual", "--from=cronjob/nightly"), "batch/v1", "Job", "manual",
         before=(("create", "cronjob", "nightly", "--image=busybox", "--schedule=@daily"),),
         check=lambda o, _: [(r["kind"], r["name"], r["controller"]) for r in o["metadata"]["ownerReferences"]]
         == [("CronJob", "nightly", True)]
         and o["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}),
    Case(("create", "role", "reader", "--verb=get,list", "--resource=pods,secrets", "--resource-name=creds"),
         "rbac.authorization.k8s.io/v1", "Role", "reader",
         check=lambda o, _: o["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""],
                                            "resources": ["pods", "secrets"], "resourceNames": ["creds"]}]),
    Case(("create", "rolebinding", "readers", "--role=reader", "--user=alice", "--group=devs",
          "--serviceaccount=default:builder"), "rbac.authorization.k8s.io/v1", "RoleBinding", "readers",
         check=lambda o, _: o["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                             "name": "reader"}
         and [(s["kind"], s["name"]) for s in o["subjects"]]
         == [("User", "alice"), ("Group", "devs"), ("ServiceAccount", "builder")]),
    Case(("create", "clusterrole", "health", "--verb=get", "--non-resource-url=/healthz"),
         "rbac.authorization.k8s.io/v1", "ClusterRole", "health", namespaced=False,
         check=lambda o, _: o["rules"] == [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]),
    Case(("create", "clusterrole", "aggregated", "--aggregation-rule=example.com/aggregate=true"),
         "rbac.authorization.k8s.io/v1", "ClusterRole", "aggregated", namespaced=False,
         check=lambda o, _: o["aggregationRule"] == {
             "clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate": "true"}}]}),
    Case(("create", "clusterrolebinding", "health", "--clusterrole=health", "--user=bob"),
         "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "health", namespaced=False,
         check=lambda o, _: o["roleRef"]["name"] == "health"
         and o["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "bob"}]),
    Case(("create", "priorityclass", "high", "--value=1000", "--description=batch first",
          "--preemption-policy=Never"), "scheduling.k8s.io/v1", "PriorityClass", "high", namespaced=False,
         check=lambda o, _: (o["value"], o["description"], o["preemptionPolicy"]) == (1000, "batch first", "Never")
         and "globalDefault" not in o),
    Case(("create", "quota", "small", "--hard=cpu=1,memory=1G,pods=2", "--scopes=BestEffort"),
         "v1", "ResourceQuota", "small",
         check=lambda o, _: o["spec"] == {"hard": {"cpu": "1", "memory": "1G", "pods": "2"},
                                          "scopes": ["BestEffort"]}),
    Case(("create", "poddisruptionbudget", "half", "--selector=app=web", "--min-available=50%"),
         "policy/v1", "PodDisruptionBudget", "half",
         check=lambda o, _: o["spec"] == {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}),
    Case(("create", "poddisruptionbudget", "one", "--selector=app=web", "--max-unavailable=1"),
         "policy/v1", "PodDisruptionBudget", "one",
         check=lambda o, _: o["spec"]["maxUnavailable"] == 1),
    Case(("create", "ingress", "web", "--class=nginx", "--rule=foo.com/bar=svc1:80,tls=foo-tls",
          "--rule=bar.com/*=svc2:http", "--default-backend=fallback:8080", "--annotation=team=a"),
         "networking.k8s.io/v1", "Ingress", "web",
         check=lambda o, _: o["metadata"]["annotations"] == {"team": "a"} and o["spec"] == {
             "ingressClassName": "nginx",
             "defaultBackend": {"service": {"name": "fallback", "port": {"number": 8080}}},
             "tls": [{"hosts": ["foo.com"], "secretName": "foo-tls"}],
             "rules": [
                 {"host": "foo.com", "http": {"paths": [{"path": "/bar", "pathType": "Exact", "backend": {
                     "service": {"name": "svc1", "port": {"number": 80}}}}]}},
                 {"host": "bar.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                     "service": {"name": "svc2", "port": {"name": "http"}}}}]}}]}),
]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """Files the commands read: text, bytes that are not UTF-8, an env file, a TLS key pair."""
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "greeting.txt").write_text("hello\n")
    (folder / "blob.bin").write_bytes(BINARY)
    (folder / "app.env").write_text("A=1\nB=two\n")
    _write_tls_pair(folder)
    return folder


def _write_tls_pair(folder: Path) -> None:
    """A self-signed EC certificate: ``kubectl create secret tls`` checks that key and cert match."""
    pytest.importorskip("cryptography")  # a test dependency's dependency (alibabacloud-tea-openapi)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (folder / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                                       serialization.NoEncryption()))


@pytest.fixture
def served(kube_emulator: KubernetesEmulator) -> KubernetesEmulator:
    for resource in EXTRA_KINDS:
        if kube_emulator.registry.get(resource.group, resource.version, resource.plural) is None:
            kube_emulator.registry.add(resource)
    return kube_emulator


@pytest.fixture
def bodies_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """(Content-Type, decoded body) of every request body the emulator reads."""
    seen: list[tuple[str, Any]] = []
    decode = bodies.decode_body

    def recording(content_type: str, raw: bytes) -> Any:
        value = decode(content_type, raw)
        seen.append((content_type, value))
        return value

    monkeypatch.setattr(bodies, "decode_body", recording)
    return seen


def _with_flags(args: tuple[str, ...], *flags: str) -> tuple[str, ...]:
    """Flags go before a ``--`` that starts the container's command."""
    end = args.index("--") if "--" in args else len(args)
    return (*args[:end], *flags, *args[end:])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
async def test_kubectl_create_sends_protobuf_the_emulator_stores_as_asked(
        case: Case, kubectl: Kubectl, served: KubernetesEmulator, files: Path,
        bodies_seen: list[tuple[str, Any]]) -> None:
    args = tuple(arg.format(dir=files) for arg in case.args)
    for step in case.before:
        assert (await kubectl(*step)).returncode == 0
    would_send = await kubectl(*_with_flags(args, "--dry-run=client", "-o", "json"))
    assert would_send.returncode == 0, would_send.stderr
    bodies_seen.clear()

    result = await kubectl(*args)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"/{case.name} created")
    assert bodies_seen == [(PROTOBUF, would_send.json())]
    stored = served.get(case.api_version, case.kind, "default" if case.namespaced else None, case.name)
    assert stored is not None
    assert case.check(stored, files), stored


async def test_server_side_dry_run_answers_the_decoded_object_and_stores_nothing(
        kubectl: Kubectl, kube_emulator: KubernetesEmulator) -> None:
    result = await kubectl("create", "secret", "generic", "trial", "--from-literal=token=abc",
                           "--dry-run=server", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert result.json()["data"] == {"token": "YWJj"}
    assert kube_emulator.get("v1", "Secret", "default", "trial") is None


async def test_create_of_an_existing_name_shows_the_servers_409(kubectl: Kubectl) -> None:
    assert (await kubectl("create", "configmap", "twice", "--from-literal=a=1")).returncode == 0
    again = await kubectl("create", "configmap", "twice", "--from-literal=a=2")
    assert again.returncode != 0
    assert 'configmaps "twice" already exists' in again.stderr
