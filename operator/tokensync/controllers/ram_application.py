"""The RamApplication controller: a RAM OAuth application mirrored into status and a ConfigMap.

It reuses everything ApplicationToken uses (synced_resource, access_resolver, refresh_plan,
target_writer, status_report); what is its own is the GetApplication read, the ConfigMap
layout and the ``expect`` drift check reported as condition ``InSync``.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import ValidationError

from tokensync.api.common import GROUP, VERSION, parse_duration
from tokensync.api.ram_application import RamApplicationSpec
from tokensync.cloud.errors import CloudError
from tokensync.cloud.models import RamApplication
from tokensync.controllers.access_resolver import AccessProblem, summarize_validation_error
from tokensync.controllers.refresh_plan import RefreshPolicy, plan_interval
from tokensync.controllers.registration import Watch
from tokensync.controllers.status_report import condition_of, parse_rfc3339, rfc3339, with_condition, with_ready
from tokensync.controllers.synced_resource import Key, SyncedResourceController, force_sync_value, jitter_key
from tokensync.controllers.target_writer import (
    DesiredTarget,
    Owner,
    TargetConflict,
    TargetRefused,
    has_drifted,
    source_of,
    write_target,
)
from tokensync.kube.resources import CONFIG_MAPS, Resource
from tokensync.runtime import metrics

logger = logging.getLogger(__name__)

RAM_APPLICATIONS = Resource(GROUP, VERSION, "ramapplications")
IN_SYNC = "InSync"
DEFAULT_REFRESH_INTERVAL = timedelta(hours=1)
# Reading an application more often than this only spends the account's API quota.
MIN_REFRESH_INTERVAL = timedelta(minutes=1)


def application_status(app: RamApplication) -> dict[str, Any]:
    """Every field of the API's Application, in lowerCamelCase, lists flattened."""
    return {
        "appId": app.app_id,
        "appName": app.app_name,
        "displayName": app.display_name,
        "appType": app.app_type,
        "accountId": app.account_id,
        "accessTokenValidity": app.access_token_validity,
        "refreshTokenValidity": app.refresh_token_validity,
        "secretRequired": app.secret_required,
        "isMultiTenant": app.is_multi_tenant,
        "protocolVersion": app.protocol_version,
        "redirectUris": list(app.redirect_uris),
        "predefinedScopes": [
            {"name": s.name, "description": s.description, "required": s.required} for s in app.predefined_scopes
        ],
        "createDate": app.create_date,
        "updateDate": app.update_date,
    }


def config_map_data(application: dict[str, Any]) -> dict[str, str]:
    """Scalars as strings, the two lists newline-separated, and the whole object as JSON."""
    data: dict[str, str] = {}
    for key, value in application.items():
        if key in ("redirectUris", "predefinedScopes") or value is None:
            continue
        data[key] = str(value).lower() if isinstance(value, bool) else str(value)
    data["redirectUris"] = "\n".join(application.get("redirectUris") or [])
    data["scopes"] = "\n".join(str(s["name"]) for s in application.get("predefinedScopes") or [])
    data["application.json"] = json.dumps(application, sort_keys=True, indent=2)
    return data


def drift(expect: dict[str, Any], application: dict[str, Any]) -> list[str]:
    """Each expected field that differs from the live application, as 'field: expected X, actual Y'."""
    differences: list[str] = []
    for field, expected in sorted(expect.items()):
        if field == "scopes":
            actual: Any = sorted(str(s["name"]) for s in application.get("predefinedScopes") or [])
            expected = sorted(expected)
        elif field == "redirectUris":
            actual = sorted(application.get("redirectUris") or [])
            expected = sorted(expected)
        else:
            actual = application.get(field)
        if expected != actual:
            differences.append(f"{field}: expected {json.dumps(expected)}, actual {json.dumps(actual)}")
    return differences


class RamApplicationController(SyncedResourceController):
    kind: ClassVar[str] = "RamApplication"
    resource: ClassVar[Resource] = RAM_APPLICATIONS

    def watches(self) -> list[Watch]:
        """For RamApplications; owns their ConfigMaps. Not filtered by label on the watch: a
        ConfigMap stripped of it is drift to repair (found by source annotation or ownerReference)."""
        return [Watch(RAM_APPLICATIONS, self.observe), Watch(CONFIG_MAPS, self.observe_config_map)]

    def observe_config_map(self, event_type: str | None, config_map: dict[str, Any]) -> None:
        meta = config_map.get("metadata") or {}
        kind, name = source_of(config_map) or ("", "")
        body = self.objects.get((str(meta.get("namespace") or ""), name)) if kind == self.kind else None
        if body is not None:
            drifted = event_type == "DELETED" or has_drifted(config_map, Owner.from_body(body), is_secret=False)
            self.observe_target(event_type, config_map, drifted)

    def _interval(self, body: dict[str, Any]) -> timedelta:
        text = (body.get("spec") or {}).get("refreshInterval")
        try:
            return parse_duration(text) if text else DEFAULT_REFRESH_INTERVAL
        except ValueError:
            return DEFAULT_REFRESH_INTERVAL

    def policy_for(self, body: dict[str, Any]) -> RefreshPolicy:
        interval = self._interval(body)
        d = self.defaults
        return RefreshPolicy(
            recheck_interval=interval, min_interval=d.min_interval, base_backoff=d.base_backoff,
            max_backoff=min(d.max_backoff, interval), max_jitter=d.max_jitter, expiry_grace=d.expiry_grace,
        )

    async def sync(self, key: Key, body: dict[str, Any], started: float) -> None:
        meta = body["metadata"]
        status: dict[str, Any] = dict(body.get("status") or {})
        now = self.clock.now()
        try:
            spec = RamApplicationSpec.model_validate(body.get("spec") or {})
            interval = parse_duration(spec.refresh_interval) if spec.refresh_interval else DEFAULT_REFRESH_INTERVAL
            if interval < MIN_REFRESH_INTERVAL:
                raise ValueError(
                    f"refreshInterval {spec.refresh_interval} is shorter than the minimum of 1m; an application's "
                    "configuration rarely changes (annotate tokensync.dev/force-sync to read it now)"
                )
        except (ValidationError, ValueError) as exc:
            detail = summarize_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            await self.fail(key, body, reason="InvalidSpec", message=f"invalid spec: {detail}", retryable=False,
                            transient=False, started=started)
            return
        owner = Owner.from_body(body)
        name = spec.config_map.name if spec.config_map and spec.config_map.name else meta["name"]
        existing = await self.kube.get(CONFIG_MAPS, key[0], name)
        drifted = has_drifted(existing, owner, is_secret=False)
        application = status.get("application")
        due = self.forced.pop(key, None) or self.read_due(body, now=now, target_missing=drifted and not application)
        if due is None:
            if drifted and application:
                # The ConfigMap's content is all in status: restore it without a cloud read.
                await self._write(key, body, owner, name, existing, application, started, restored=True)
            self.publish_metrics(key, body)
            self.schedule_at(key, parse_rfc3339(status.get("nextRefreshTime")))
            return

        try:
            access = await self.access.resolve(key[0], spec.cloud_access_ref, dependent=(self.kind, key))
            reply = await access.client.get_application(app_id=spec.app_id)
        except AccessProblem as problem:
            await self.fail(key, body, reason=problem.reason, message=problem.message, retryable=True,
                            transient=False, started=started)
            return
        except CloudError as error:
            await self.fail(key, body, reason=error.reason, message=str(error), retryable=True,
                            transient=error.retryable, started=started,
                            retry_after=timedelta(seconds=error.retry_after) if error.retry_after else None)
            return

        application = application_status(reply.value)
        if not await self._write(key, body, owner, name, existing, application, started, restored=False):
            return
        now = self.clock.now()
        plan = plan_interval(interval=interval, policy=self.policy_for(body), now=now, jitter_key=jitter_key(body))
        conditions = with_ready(
            status.get("conditions"), ready=True, reason="Synced",
            message=f"ConfigMap {name} mirrors application {spec.app_id}; next read {rfc3339(plan.next_read)}",
            generation=meta.get("generation"), now=now,
        )
        differences: list[str] = []
        if spec.expect is not None:
            expect = spec.expect.model_dump(by_alias=True, exclude_none=True)
            differences = drift(expect, application)
            conditions = with_condition(
                conditions, condition_type=IN_SYNC, status=not differences,
                reason="Drifted" if differences else "Matches",
                message="; ".join(differences) if differences else "the application matches spec.expect",
                generation=meta.get("generation"), now=now,
            )
        else:
            conditions = [c for c in conditions if c.get("type") != IN_SYNC]
        was_in_sync = (condition_of(body, IN_SYNC) or {}).get("status") != "False"
        await self.write_status(key, body, {
            "observedGeneration": meta.get("generation"),
            "application": application,
            "lastSyncTime": rfc3339(now),
            "nextRefreshTime": rfc3339(plan.next_read),
            "failedAttempts": 0,
            "lastForceSync": force_sync_value(body),
            "conditions": conditions,
        })
        if differences and was_in_sync:
            await self.events.post(body, "Warning", "Drifted", "; ".join(differences))
        metrics.record_sync(self.kind, "success", time.perf_counter() - started)
        self.publish_metrics(key, self.objects.get(key) or body)
        self.schedule_at(key, plan.next_read)

    async def _write(
        self,
        key: Key,
        body: dict[str, Any],
        owner: Owner,
        name: str,
        existing: dict[str, Any] | None,
        application: dict[str, Any],
        started: float,
        *,
        restored: bool,
    ) -> bool:
        desired = DesiredTarget(resource=CONFIG_MAPS, name=name, data=config_map_data(application), secret_type=None,
                                conflict_hint="delete it, or choose another spec.configMap.name")
        self.ensure_current(key, body)  # never the ConfigMap of a successor under the same name
        try:
            outcome = await write_target(self.kube, owner, desired, existing, self.writer_alive(key[0]))
        except TargetConflict as conflict:
            await self.fail(key, body, reason="SecretConflict", event_reason="SecretConflict", message=str(conflict),
                            retryable=True, transient=False, started=started)
            return False
        except TargetRefused as refused:
            await self.fail(key, body, reason="InvalidSpec", message=f"{refused}; the last ConfigMap is kept",
                            retryable=False, transient=False, started=started)
            return False
        if restored and outcome.written:
            await self.events.post(body, "Normal", "Synced", f"restored ConfigMap {name}: it was deleted or edited")
        return True
