"""Fuzzing: random, malformed, huge and unicode inputs from every side a user or the cloud controls.

Three sources of bad input, each fuzzed against one running operator with both emulators:

- **Specs** (``ApplicationToken`` and ``RamApplication``): mutations of a good spec (each field
  kept, dropped, or replaced by random JSON, unicode, huge strings) and wholly random JSON. The
  Kubernetes emulator either refuses a spec with 422 naming the field (checked against an
  independent oracle: jsonschema over the CRD's own schema), or accepts it and the operator ends
  it Ready=True or Ready=False with a documented reason and a message. Only Ready resources have
  a Secret/ConfigMap; the operator keeps working (a good resource created last becomes Ready)
  and logs no unexpected error.
- **Cloud answers** to ObtainApplicationToken (rewritten with ``reshaped_answers``): broken
  shapes (missing fields, wrong types, random JSON) end as Ready=False ``CloudUnavailable`` with
  the last good Secret untouched; odd but valid answers (unicode tokens, other time formats,
  unknown fields) are written exactly; huge tokens are covered by their own tests.
- **Templates** (``spec.secret.template``): random Jinja-ish text, sandbox escape attempts,
  huge outputs and invalid keys. Each is either rendered exactly as an independent sandbox
  renders it, or refused as ``InvalidSpec`` naming the template, with the last good Secret kept;
  nothing from the filesystem, the environment or Python's internals ever reaches a Secret.

After each run, everything a user can read (logs at DEBUG, Events, statuses, metrics) is
scanned for the token values.

How the inputs are generated: hypothesis's ``@given`` cannot drive an async test whose fixtures
start servers (each example would need its own operator). So ``generated()`` runs a small
synchronous ``@given`` function once, with ``derandomize=True`` (the same inputs on every run,
so a failure reproduces) and no example database, that only collects the values hypothesis
draws; the async test then applies them all to one operator, each under its own resource name
(specs) or one after the other (cloud answers, templates), and checks each outcome. Nothing is
shrunk: a failure message names the input instead.

Bugs found by fuzzing have their own minimal tests, marked ``xfail(strict=True)``, and the
fuzzed strategies stay clear of those inputs so the rest keeps guarding.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import jinja2
import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests import scenario
from tests.conftest import FAST_FORWARD
from tests.faults.conftest import Reshape
from tests.scenario import NS, condition, eventually, is_ready, secret_data, status
from tokensync.api.crds import crd_manifests
from tokensync.clock import LoopClock
from tokensync.controllers.status_report import parse_rfc3339
from tokensync.controllers.templates import TemplateError, render_templates
from tokensync.emulators.cloud import CloudEmulator
from tokensync.emulators.kubernetes import KubernetesEmulator
from tokensync.emulators.kubernetes.errors import ApiError
from tokensync.runtime import metrics
from tokensync.runtime.operator import Operator

pytestmark = FAST_FORWARD

T = TypeVar("T")
API = scenario.API
OBTAIN = "ObtainApplicationToken"
SOURCE = "tokensync.dev/source"
READY_REASONS = {
    "Synced", "TokenDisabled", "TokenExpired", "NotFound", "AccessDenied", "InvalidCredentials", "Throttled",
    "CloudUnavailable", "InvalidSpec", "CloudAccessNotFound", "CloudAccessForbidden", "SecretConflict",
}
CANARY_ENV = "TOKENSYNC_FUZZ_CANARY"
CANARY_VALUE = "canary-5f0d1c2b9e8a47d3"
# What Python internals look like when a sandbox escape reaches the output.
INTERNALS = re.compile(r"<(class|function|built-in|module|bound method|method|frame|code|jinja2)\b|__globals__|"
                       r"__builtins__|root:x?:0:0")
MAX_TEMPLATE_OUTPUT = 256 * 1024  # the documented per-key limit of the operator's templates


# --- drawing inputs with hypothesis ------------------------------------------------------------

def generated(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """``count`` values from ``strategy``, the same ones on every run (see the module docstring)."""
    drawn: list[T] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn


DROP: Any = "\0drop"  # a field value meaning "leave the field out"

json_scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
unicode_text = st.text(st.characters(codec="utf-8"), max_size=24)
huge_text = st.sampled_from([65, 254, 4096, 70_000]).flatmap(
    lambda n: st.sampled_from(["x", "ж", "🔑", "-"]).map(lambda c: c * n))
dns_names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)
durations = st.sampled_from(["0", "1h", "10m", "90s", "1h30m", "720h", "1.5h", "250ms", "3µs"]) | st.from_regex(
    r"([0-9]{1,5}(\.[0-9]{1,2})?(ns|us|ms|s|m|h)){1,2}", fullmatch=True)


def mangled(plausible: st.SearchStrategy[Any], *, droppable: bool = True) -> st.SearchStrategy[Any]:
    """Mostly a plausible value; sometimes random JSON, unicode, a huge string, or left out."""
    options = [plausible, plausible, plausible, json_values, unicode_text, huge_text]
    if droppable:
        options.append(st.just(DROP))
    return st.one_of(*options)


def without_dropped(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_dropped(v) for k, v in value.items() if v is not DROP}
    if isinstance(value, list):
        return [without_dropped(v) for v in value if v is not DROP]
    return value


template_texts = st.sampled_from(["{{ token }}", "Bearer {{ token }}", "{{ tokenType }}:{{ expiresAt }}",
                                  "{{ nope }}", "{{", "{% if %}", "plain"]) | unicode_text
secret_keys = st.from_regex(r"[-._a-zA-Z0-9]{1,20}", fullmatch=True)

def as_is(plausible: st.SearchStrategy[Any], *, droppable: bool = True) -> st.SearchStrategy[Any]:
    return plausible


Field = Callable[..., st.SearchStrategy[Any]]


def application_token_spec(field: Field) -> st.SearchStrategy[Any]:
    """A spec whose every field comes through ``field`` (``mangled``: often broken; ``as_is``: plausible,
    which still holds unicode, huge values, unknown ids and names, and template keys the API refuses)."""
    return st.fixed_dictionaries(
        {
            "instanceId": field(st.sampled_from(["idaas_demo", "idaas_demo", "idaas_nowhere"])),
            "applicationId": field(st.sampled_from(["app_demo", "app_demo", "app_nowhere"])),
            "applicationTokenId": field(st.sampled_from(["token_fuzz", "token_fuzz", "token_missing"])),
        },
        optional={
            "cloudAccessRef": field(st.fixed_dictionaries({}, optional={
                "kind": field(st.sampled_from(["ClusterCloudAccess", "CloudAccess"])),
                "name": field(st.sampled_from(["default", "default", "nowhere"])),
            })),
            "secret": field(st.fixed_dictionaries({}, optional={
                "name": field(st.sampled_from(["shared-a", "shared-b"]) | dns_names),
                "type": field(st.sampled_from(["Opaque", "example.com/token"])),
                "labels": field(st.dictionaries(st.from_regex(r"[a-z]{1,10}", fullmatch=True) | unicode_text,
                                                unicode_text, max_size=3)),
                "annotations": field(st.dictionaries(st.from_regex(r"[a-z]{1,10}", fullmatch=True) | unicode_text,
                                                     unicode_text | huge_text, max_size=3)),
                "template": field(st.dictionaries(secret_keys | unicode_text, template_texts, max_size=3)),
                "creationPolicy": field(st.sampled_from(["Owner", "Owner", "Merge", "Orphan"])),
                "deletionPolicy": field(st.sampled_from(["Delete", "Retain"])),
                "extraField": json_values,
            })),
            "refresh": field(st.fixed_dictionaries({}, optional={
                "renewBefore": field(durations),
                "renewBeforePercentage": field(st.integers(-5, 120)),
                "recheckInterval": field(durations),
            })),
            "rolloutRestartTargets": field(st.lists(st.fixed_dictionaries({
                "kind": field(st.sampled_from(["Deployment", "StatefulSet", "DaemonSet"])),
                "name": field(dns_names),
            }), max_size=2)),
            "unknownField": json_values,
        },
    ).map(without_dropped)


def ram_application_spec(field: Field) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {"appId": field(st.sampled_from([scenario.DEMO_RAM_APP, scenario.DEMO_RAM_APP, "12345"]))},
        optional={
            "configMap": field(st.fixed_dictionaries({}, optional={"name": field(dns_names)})),
            "refreshInterval": field(durations),
            "expect": field(st.fixed_dictionaries({}, optional={
                "redirectUris": field(st.lists(unicode_text, max_size=3)),
                "accessTokenValidity": field(st.integers(-10, 10**6)),
                "scopes": field(st.lists(unicode_text, max_size=3)),
                "secretRequired": field(st.booleans()),
            })),
            "cloudAccessRef": field(st.fixed_dictionaries({"name": field(st.sampled_from(["default", "nowhere"]))})),
        },
    ).map(without_dropped)


# Half plausible, half broken, now and then something that is not a spec at all.
application_token_specs = st.one_of(application_token_spec(as_is), application_token_spec(mangled), json_values)
ram_application_specs = st.one_of(ram_application_spec(as_is), ram_application_spec(mangled), json_values)


# --- oracles ------------------------------------------------------------------------------------

def spec_schema(plural: str) -> dict[str, Any]:
    crd = crd_manifests()[f"{plural}.tokensync.dev.yaml"]
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def without_nulls(value: Any) -> Any:
    """The API server drops null fields of a structural schema (no ``nullable``) before validating."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def schema_errors(plural: str, spec: Any) -> list[jsonschema.ValidationError]:
    """What a real API server refuses in ``spec`` (OpenAPI v3 keywords are Draft 4's)."""
    validator = jsonschema.Draft4Validator(spec_schema(plural))
    return list(validator.iter_errors(without_nulls(spec)))


def everything_a_user_can_read(kube: KubernetesEmulator, caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join([
        caplog.text,
        repr(kube.list("v1", "events")),
        repr(kube.list(API, "applicationtokens")),
        repr(kube.list(API, "ramapplications")),
        metrics.render().decode(),
    ])


def capture_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The operator's and kopf's logs at DEBUG (what ``--verbose`` shows a user); not the libraries'."""
    for name in ("tokensync", "kopf"):
        caplog.set_level(logging.DEBUG, logger=name)


def unexpected_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records of a crash caught by a last resort (work queue, kopf), not a reported failure."""
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.ERROR or "failed unexpectedly" in r.getMessage()]


def sources(kube: KubernetesEmulator, plural: str) -> dict[str, dict[str, Any]]:
    """Objects tokensync wrote in NS, by the resource named in their source annotation."""
    found: dict[str, dict[str, Any]] = {}
    for obj in kube.list("v1", plural, NS):
        source = ((obj["metadata"].get("annotations") or {}).get(SOURCE) or "")
        if source:
            found[source] = obj
    return found


def settled(kube: KubernetesEmulator, plural: str, name: str) -> bool:
    """The resource's Ready condition speaks for its current generation."""
    obj = kube.get(API, plural, NS, name)
    if obj is None:
        return False
    ready = condition(kube, name, plural)
    return bool(ready) and ready.get("observedGeneration") == obj["metadata"].get("generation")


# --- fixtures -----------------------------------------------------------------------------------



@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> str:
    """An environment value of the operator's process that no template may ever read."""
    monkeypatch.setenv(CANARY_ENV, CANARY_VALUE)
    return CANARY_VALUE


def force_sync(kube: KubernetesEmulator, name: str, value: str) -> None:
    kube.patch(API, "applicationtokens", NS, name, {"metadata": {"annotations": {"tokensync.dev/force-sync": value}}})


def point_at_a_new_token(kube: KubernetesEmulator, cloud: CloudEmulator, token_id: str, value: str | None = None,
                         name: str = "svc") -> None:
    """A token's value never changes by itself: a Secret gets a new (odd) value when the user points
    the resource at another token (made in the console with that value)."""
    cloud.add_token(token_id, lifetime=timedelta(days=1), value=value)
    kube.patch(API, "applicationtokens", NS, name, {"spec": {"applicationTokenId": token_id}})


async def ready_token(kube: KubernetesEmulator, cloud: CloudEmulator, name: str, token_id: str,
                      **spec: Any) -> dict[str, str]:
    """A resource whose day-long token is in its Secret; returns the Secret's data."""
    cloud.add_token(token_id, lifetime=timedelta(days=1))
    scenario.standard_cluster(kube, cloud)
    kube.create(scenario.application_token(name, token_id=token_id, **spec))
    await eventually(is_ready(kube, name))
    data = secret_data(kube, name)
    assert data is not None
    return data


# --- specs --------------------------------------------------------------------------------------

SPEC_EXAMPLES, RAM_SPEC_EXAMPLES = 100, 30


async def test_random_specs_are_refused_or_end_with_a_clear_ready_condition(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, caplog: pytest.LogCaptureFixture,
) -> None:
    capture_logs(caplog)
    cloud.add_token("token_fuzz", lifetime=timedelta(days=1))
    scenario.standard_cluster(kube, cloud)
    cases = [("applicationtokens", "ApplicationToken", f"fuzz-{i}", spec)
             for i, spec in enumerate(generated(application_token_specs, SPEC_EXAMPLES))]
    cases += [("ramapplications", "RamApplication", f"fuzz-ram-{i}", spec)
              for i, spec in enumerate(generated(ram_application_specs, RAM_SPEC_EXAMPLES))]

    accepted: list[tuple[str, str, Any]] = []
    refused = 0
    for plural, kind, name, spec in cases:
        errors = schema_errors(plural, spec)
        body = {"apiVersion": API, "kind": kind, "metadata": {"name": name, "namespace": NS}, "spec": spec}
        try:
            kube.create(copy.deepcopy(body))
        except ApiError as error:
            assert error.code == 422, f"{name}: {error.code} {error.message}"
            assert errors, f"{name}: refused, but the CRD schema allows it: {error.message}\nspec: {spec!r}"
            fields = {"spec." + str(e.absolute_path[0]) if e.absolute_path else "spec" for e in errors}
            assert any(field in error.message for field in fields), f"{name}: {error.message!r} names none of {fields}"
            refused += 1
            continue
        assert not errors, f"{name}: accepted, but the CRD schema refuses it: {errors[0].message}\nspec: {spec!r}"
        accepted.append((plural, name, spec))
    assert refused >= 10 and len(accepted) >= 20, (refused, len(accepted))

    # The operator keeps working: a good resource created after all the bad ones becomes Ready.
    kube.create(scenario.application_token("good-after-fuzz", token_id="token_fuzz"))
    await eventually(is_ready(kube, "good-after-fuzz"), timeout=120)

    def all_settled() -> bool:
        return all(settled(kube, plural, name) for plural, name, _ in accepted)

    await eventually(all_settled, timeout=300)
    outcomes: dict[str, int] = {}
    secrets, config_maps = sources(kube, "secrets"), sources(kube, "configmaps")
    for plural, name, spec in accepted:
        ready = condition(kube, name, plural)
        outcomes[ready["reason"]] = outcomes.get(ready["reason"], 0) + 1
        assert ready["reason"] in READY_REASONS | {"Synced"}, f"{name}: reason {ready['reason']!r}; spec {spec!r}"
        assert ready["message"].strip(), f"{name}: Ready={ready['status']} without a message"
        assert (ready["status"] == "True") == (ready["reason"] == "Synced"), f"{name}: {ready}"
        kind = "ApplicationToken" if plural == "applicationtokens" else "RamApplication"
        written = (secrets if plural == "applicationtokens" else config_maps).get(f"{kind}/{name}")
        if ready["status"] != "True":
            assert written is None, f"{name} is not Ready ({ready['reason']}) but wrote {written['metadata']['name']}"
            continue
        assert written is not None, f"{name} is Ready but wrote nothing"
        if plural == "applicationtokens" and not (spec.get("secret") or {}).get("template"):
            data = secret_data(kube, written["metadata"]["name"]) or {}
            assert data.get("token") == cloud.token_value("token_fuzz"), f"{name}: wrong token in its Secret"
    assert outcomes.get("Synced", 0) >= 5 and outcomes.get("InvalidSpec", 0) >= 1, outcomes
    assert not unexpected_errors(caplog), unexpected_errors(caplog)[:3]
    assert cloud.token_value("token_fuzz") not in everything_a_user_can_read(kube, caplog)


# --- cloud answers ------------------------------------------------------------------------------

REQUIRED_FIELDS = ["InstanceId", "ApplicationId", "ApplicationTokenId", "ApplicationTokenType", "ApplicationToken",
                   "Status", "ExpirationTime"]
not_a_string = st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.floats(allow_nan=False) | st.lists(
    json_scalars, max_size=3) | st.dictionaries(st.text(max_size=5), json_scalars, max_size=3)
not_a_time = (st.none() | st.booleans() | st.lists(json_scalars, max_size=2)
              | st.dictionaries(st.text(max_size=5), json_scalars, max_size=2)
              | st.text(max_size=30).filter(lambda s: not s.strip().lstrip("-").isdigit()))
malformed_answers = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(REQUIRED_FIELDS)),
    st.tuples(st.just("replace"), st.sampled_from([f for f in REQUIRED_FIELDS if f != "ExpirationTime"]),
              not_a_string),
    st.tuples(st.just("replace"), st.just("ExpirationTime"), not_a_time),
    st.tuples(st.just("object"), json_values.filter(lambda v: not isinstance(v, dict))),
    st.tuples(st.just("answer"), st.dictionaries(st.text(max_size=12).filter(lambda k: k != "ApplicationToken"),
                                                 json_values, max_size=4)),
)
valid_answers = st.fixed_dictionaries(
    {
        "token": st.text(st.characters(codec="utf-8"), max_size=64),
        "type": st.sampled_from(["bearer_token", "client_secret"]) | unicode_text,
        "expiry_format": st.sampled_from(["int", "float", "string"]),
        "extra": st.dictionaries(st.text(max_size=10).filter(lambda k: k not in REQUIRED_FIELDS), json_values,
                                 max_size=3),
        "drop_optional": st.lists(st.sampled_from(["CreateTime", "LastUsedTime"]), max_size=2),
    },
)
MALFORMED_EXAMPLES, VALID_EXAMPLES = 60, 20


def break_answer(example: tuple[Any, ...]) -> Reshape:
    def reshape(answer: dict[str, Any]) -> dict[str, Any]:
        token = dict(answer["ApplicationToken"])
        if example[0] == "drop":
            token.pop(example[1])
        elif example[0] == "replace":
            token[example[1]] = example[2]
        elif example[0] == "object":
            return {"ApplicationToken": example[1]}
        else:
            return dict(example[1])
        return {"ApplicationToken": token}

    return reshape


async def test_random_cloud_answers_never_break_the_last_good_secret(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, clock: LoopClock,
    reshaped_answers: Callable[[Reshape | None], None], caplog: pytest.LogCaptureFixture,
) -> None:
    capture_logs(caplog)
    good = await ready_token(kube, cloud, "svc", "token_day")
    written_tokens = [good["token"]]
    malformed = generated(malformed_answers, MALFORMED_EXAMPLES)
    valid = generated(valid_answers, VALID_EXAMPLES)
    # Interleaved, so a broken answer also follows a valid odd one.
    plan: list[tuple[str, Any]] = [("malformed", m) for m in malformed]
    for i, v in enumerate(valid):
        plan.insert(i * 3, ("valid", v))

    for step, (category, example) in enumerate(plan):
        trigger = f"fuzz-{step}"
        if category == "malformed":
            reshaped_answers(break_answer(example))
        else:
            # Odd bytes on the wire, not a cloud behaviour (a token's value never changes by itself):
            # whatever value an answer carries is what the Secret must hold, exactly.
            token = f"{example['token']}~fuzz{step:03d}-a9c3e7f1d2b4"  # unique, long enough to scan for
            expires = clock.now() + timedelta(hours=20)
            millis = int(expires.timestamp() * 1000)
            expiry: Any = {"int": millis, "float": float(millis), "string": str(millis)}[example["expiry_format"]]

            def reshape(answer: dict[str, Any], token: str = token, expiry: Any = expiry,
                        example: dict[str, Any] = example) -> dict[str, Any]:
                fields = {k: v for k, v in answer["ApplicationToken"].items() if k not in example["drop_optional"]}
                return {"ApplicationToken": {**example["extra"], **fields, "ApplicationToken": token,
                                             "ApplicationTokenType": example["type"], "ExpirationTime": expiry}}

            reshaped_answers(reshape)
        force_sync(kube, "svc", trigger)

        def handled(trigger: str = trigger) -> bool:
            return status(kube, "svc").get("lastForceSync") == trigger

        await eventually(handled, timeout=120)
        ready = condition(kube, "svc")
        data = secret_data(kube, "svc")
        if category == "malformed":
            assert ready["reason"] == "CloudUnavailable", f"{example!r}: {ready}"
            assert ready["status"] == "False" and "MalformedResponse" in ready["message"], f"{example!r}: {ready}"
            assert data == good, f"{example!r}: the last good Secret changed"
        else:
            assert ready["status"] == "True", f"{example!r}: {ready}"
            assert data is not None and data["token"] == token and data["tokenType"] == example["type"], example
            assert parse_rfc3339(data["expiresAt"]) == parse_rfc3339(status(kube, "svc")["expirationTime"])
            good = data
            written_tokens.append(token)

    reshaped_answers(None)
    force_sync(kube, "svc", "fuzz-done")
    await eventually(lambda: status(kube, "svc").get("lastForceSync") == "fuzz-done", timeout=120)
    assert condition(kube, "svc")["status"] == "True"
    assert (secret_data(kube, "svc") or {}).get("token") == cloud.token_value("token_day")
    assert not unexpected_errors(caplog), unexpected_errors(caplog)[:3]
    everything = everything_a_user_can_read(kube, caplog)
    leaked = [t for t in written_tokens if t in everything]
    assert not leaked, f"token values readable outside the Secret: {[t[-24:] for t in leaked]}"


HUGE_OK = 200 * 1024  # a token this long fits in a Secret with room to spare


async def test_a_large_token_that_fits_is_written_exactly(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, caplog: pytest.LogCaptureFixture,
) -> None:
    capture_logs(caplog)
    await ready_token(kube, cloud, "svc", "token_day")
    value = "Ω" + "k" * (HUGE_OK - 2) + "Ω"
    # A token's value never changes: the user points the resource at a token that has this one.
    point_at_a_new_token(kube, cloud, "token_large", value)
    await eventually(lambda: (secret_data(kube, "svc") or {}).get("token") == value, timeout=60)
    assert condition(kube, "svc")["status"] == "True"
    assert value not in everything_a_user_can_read(kube, caplog)


# --- templates ----------------------------------------------------------------------------------

SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ token.__class__.__base__.__subclasses__() }}",
    "{{ token|attr('__class__') }}",
    "{{ (token|attr('__class__'))|attr('__mro__') }}",
    "{{ token.upper.__self__ }}",
    "{{ tokenType.__doc__ }}",
    "{{ '{0.__class__}'.format(token) }}",
    "{{ '%s'|format(token.__class__) }}",
    "{{ [].append(1) }}",
    "{{ {}.update(a=1) }}",
    "{% include '/etc/passwd' %}",
    "{% import '/etc/passwd' as p %}{{ p }}",
    "{% extends '/etc/hosts' %}",
    "{% from '/etc/passwd' import root %}",
    "{{ config }}", "{{ request }}", "{{ environ }}", "{{ os }}", "{{ range(10) }}", "{{ dict(a=1) }}",
    "{{ lipsum() }}", "{{ namespace(a=1) }}",
    f"{{{{ {CANARY_ENV} }}}}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ 'x' * 300000 }}",
    "{% set x = token * 20000 %}{{ x }}",
    "{{ token|wordwrap(7) }}|{{ token|reverse }}|{{ token|length }}",
    "{{ (token ~ tokenType)|upper }} {{ expirationTime|int + 1 }}",
    "{% raw %}{{ token }}{% endraw %}",
]
FRAGMENTS = ["{{", "}}", "{%", "%}", "{#", "#}", " ", "token", "tokenType", "expiresAt", "expirationTime",
             "applicationTokenId", "instanceId", "nope", "|upper", "|length", "|trim", "|first", "|reverse",
             "|join(',')", "|replace('a', 'ä')", "~", "+", "*", "3", "'x'", '"y"', "(", ")", "[", "]", "[0]", "[1:]",
             ".", ".__class__", "__globals__", "if ", " else ", "endif", "for c in ", "endfor", "set v = ", "raw",
             "endraw", "\n", "-", "🔑"]
plain_templates = st.sampled_from(["{{ token }}", "Bearer {{ token }}", "{{ tokenType }} {{ token }}",
                                   "{{ token|upper }}", "{{ expiresAt }}/{{ expirationTime }}",
                                   "{{ instanceId }}:{{ applicationId }}"]) | unicode_text
template_text = st.one_of(
    st.sampled_from(SANDBOX_ESCAPES),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=12).map("".join),
    st.tuples(st.sampled_from([1, 100, 2000, 10**5]), st.sampled_from(["token", "'é'"])).map(
        lambda t: f"{{{{ {t[1]} * {t[0]} }}}}"),
    plain_templates, plain_templates, plain_templates, plain_templates,
)
template_key = st.one_of(secret_keys, secret_keys, secret_keys, unicode_text, st.sampled_from(["k" * 254, "", "a b"]))
templates = st.one_of(
    st.dictionaries(template_key, template_text, max_size=3),
    st.dictionaries(secret_keys, plain_templates, max_size=3),  # mostly fine: rendered maps follow broken ones
    st.just({f"k{i}": "{{ token }}" for i in range(65)}),  # more keys than the schema allows
)
TEMPLATE_EXAMPLES = 100
_oracle = ImmutableSandboxedEnvironment(loader=None, undefined=jinja2.StrictUndefined, autoescape=False,
                                        keep_trailing_newline=True)
_oracle.globals.clear()


def expected_rendering(template_map: dict[str, str], values: dict[str, str]) -> dict[str, str] | None:
    """What the Secret must hold, by the documented rules; None: the template must be refused."""
    if not template_map:
        return {k: values[k] for k in ("token", "tokenType", "expiresAt")}
    rendered: dict[str, str] = {}
    for key, text in template_map.items():
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", key) or len(key) > 253:
            return None
        try:
            rendered[key] = _oracle.from_string(text).render(**values)
        except Exception:
            return None
        if len(rendered[key]) > MAX_TEMPLATE_OUTPUT:
            return None
    return rendered


async def test_random_templates_render_exactly_or_are_invalid_spec(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, caplog: pytest.LogCaptureFixture,
    canary: str,
) -> None:
    capture_logs(caplog)
    passwd = Path("/etc/passwd").read_text().splitlines()[0] if Path("/etc/passwd").exists() else "root:x:0:0"
    first = {"Authorization": "Bearer {{ token }}", "ms": "{{ expirationTime }}"}
    good = await ready_token(kube, cloud, "tpl", "token_tpl", secret={"template": first})
    expires_at = status(kube, "tpl")["expirationTime"]
    expiry = parse_rfc3339(expires_at)
    assert expiry is not None
    # The status has whole seconds; the cloud's ExpirationTime has milliseconds.
    assert 0 <= int(good["ms"]) - int(expiry.timestamp() * 1000) < 1000
    values = {"token": cloud.token_value("token_tpl"), "tokenType": "bearer_token", "expiresAt": expires_at,
              "expirationTime": good["ms"], "applicationTokenId": "token_tpl",
              "applicationId": "app_demo", "instanceId": "idaas_demo"}
    assert good == expected_rendering(first, values)

    outcomes = {"rendered": 0, "InvalidSpec": 0, "refused by the API": 0}
    for example in generated(templates, TEMPLATE_EXAMPLES):
        try:
            kube.apply(scenario.application_token("tpl", token_id="token_tpl", secret={"template": example}))
        except ApiError as error:
            assert error.code == 422 and len(example) > 64, f"{example!r}: {error.message}"
            assert "spec.secret.template" in error.message, error.message
            outcomes["refused by the API"] += 1
            continue
        await eventually(lambda: settled(kube, "applicationtokens", "tpl"), timeout=60)
        ready = condition(kube, "tpl")
        data = secret_data(kube, "tpl") or {}
        for key, value in data.items():
            assert canary not in value and passwd not in value, f"{example!r} put {key}={value[:200]!r} in the Secret"
            assert not INTERNALS.search(value), f"{example!r} put {key}={value[:200]!r} in the Secret"
        expected = expected_rendering(example, values)
        if expected is None:
            assert ready["status"] == "False" and ready["reason"] == "InvalidSpec", f"{example!r}: {ready}"
            assert "template" in ready["message"], f"{example!r}: {ready['message']!r} does not name the template"
            assert data == good, f"{example!r}: the last good Secret changed"
            outcomes["InvalidSpec"] += 1
        else:
            assert ready["status"] == "True", f"{example!r}: {ready}"
            assert data == expected, f"{example!r}: the Secret is not the template's rendering"
            good = data
            outcomes["rendered"] += 1
    assert min(outcomes.values()) >= 1, outcomes
    assert not unexpected_errors(caplog), unexpected_errors(caplog)[:3]
    everything = everything_a_user_can_read(kube, caplog)
    assert values["token"] not in everything and canary not in everything


# --- bugs found by fuzzing (minimal reproductions) ----------------------------------------------

@pytest.mark.parametrize("where", ["recheckInterval", "renewBefore", "RamApplication.refreshInterval"])
async def test_a_duration_too_long_for_python_is_invalid_spec(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, caplog: pytest.LogCaptureFixture, where: str,
) -> None:
    capture_logs(caplog)
    cloud.add_token("token_fuzz", lifetime=timedelta(days=1))
    scenario.standard_cluster(kube, cloud)
    huge = "99999999999999999999h"  # the CRD's duration pattern allows it, as Go's would not
    if where == "RamApplication.refreshInterval":
        plural = "ramapplications"
        kube.create(scenario.ram_application("huge", refreshInterval=huge))
    else:
        plural = "applicationtokens"
        kube.create(scenario.application_token("huge", token_id="token_fuzz", refresh={where: huge}))
    try:
        await eventually(lambda: condition(kube, "huge", plural).get("reason") == "InvalidSpec", timeout=120)
    finally:
        assert not unexpected_errors(caplog), unexpected_errors(caplog)[:1]


@pytest.mark.parametrize("expiration", [10**30, "9" * 25, 1e300, -(10**20)])
async def test_an_expiration_time_out_of_range_is_a_malformed_answer(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, caplog: pytest.LogCaptureFixture,
    reshaped_answers: Callable[[Reshape | None], None], expiration: Any,
) -> None:
    capture_logs(caplog)
    good = await ready_token(kube, cloud, "svc", "token_day")
    reshaped_answers(lambda a: {"ApplicationToken": {**a["ApplicationToken"], "ExpirationTime": expiration}})
    force_sync(kube, "svc", "out-of-range")
    try:
        await eventually(lambda: condition(kube, "svc").get("reason") == "CloudUnavailable", timeout=120)
        assert "MalformedResponse" in condition(kube, "svc")["message"]
        assert secret_data(kube, "svc") == good
    finally:
        assert not unexpected_errors(caplog), unexpected_errors(caplog)[:1]


async def test_an_empty_token_from_the_cloud_keeps_the_last_secret(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator,
    reshaped_answers: Callable[[Reshape | None], None],
) -> None:
    good = await ready_token(kube, cloud, "svc", "token_day")
    reshaped_answers(lambda a: {"ApplicationToken": {**a["ApplicationToken"], "ApplicationToken": ""}})
    force_sync(kube, "svc", "empty")
    await eventually(lambda: status(kube, "svc").get("lastForceSync") == "empty", timeout=60)
    assert secret_data(kube, "svc") == good, "the last good Secret was blanked"
    assert condition(kube, "svc")["reason"] == "CloudUnavailable"


ONE_MIB = 1024 * 1024


@pytest.mark.parametrize("cause", ["token-over-1MiB", "templates-over-1MiB", "api-server-422"])
async def test_a_secret_the_api_server_refuses_ends_ready_false(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, cause: str,
) -> None:
    good = await ready_token(kube, cloud, "svc", "token_day")
    if cause == "token-over-1MiB":
        point_at_a_new_token(kube, cloud, "token_huge", "k" * (ONE_MIB + 1))
    elif cause == "templates-over-1MiB":
        big = {f"part{i}": "{{ 'x' * 250000 }}" for i in range(5)}  # each under the per-key limit
        kube.apply(scenario.application_token("svc", token_id="token_day", secret={"template": big}))
    else:
        # What a real API server answers for, e.g., a label key it does not accept.
        kube.inject_fault("PATCH", r"/secrets/svc$", status=422, times=10**6,
                          message='Secret "svc" is invalid: metadata.labels: Invalid value')
        point_at_a_new_token(kube, cloud, "token_next")  # a new value for the Secret: a PATCH
    reads = cloud.calls(OBTAIN)
    await asyncio.sleep(300)
    ready, more_reads = condition(kube, "svc"), cloud.calls(OBTAIN) - reads
    assert ready.get("status") == "False" and ready.get("reason") in READY_REASONS and ready.get("message"), (
        f"5 minutes later: Ready={ready.get('status')} {ready.get('reason')}, {more_reads} more cloud reads")
    assert secret_data(kube, "svc") == good
    assert more_reads <= 5, f"{more_reads} cloud reads in 5 minutes for a Secret that cannot be written"


async def test_a_template_error_does_not_reveal_part_of_the_token(
    kube: KubernetesEmulator, cloud: CloudEmulator, operator: Operator, caplog: pytest.LogCaptureFixture,
) -> None:
    capture_logs(caplog)
    await ready_token(kube, cloud, "svc", "token_day")
    kube.apply(scenario.application_token("svc", token_id="token_day",
                                          secret={"template": {"leak": "{{ {}[token[1:]] }}"}}))
    await eventually(lambda: condition(kube, "svc").get("reason") == "InvalidSpec", timeout=60)
    assert cloud.token_value("token_day")[1:] not in everything_a_user_can_read(kube, caplog)


def test_a_template_cannot_stall_the_operator() -> None:
    loop = "{% for a in 'x' * 4000 %}{% for b in 'x' * 4000 %}{% endfor %}{% endfor %}"
    started = time.perf_counter()
    with pytest.raises(TemplateError):
        render_templates({"slow": loop}, {"token": "t"})
    assert time.perf_counter() - started < 0.5
