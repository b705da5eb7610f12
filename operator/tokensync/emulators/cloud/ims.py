"""IMS (RAM) 2019-08-15: OAuth applications."""

from __future__ import annotations

from typing import Any

from tokensync.emulators.cloud.context import CallContext, Operation
from tokensync.emulators.cloud.errors import ApiError, required

VERSION = "2019-08-15"


def get_application(ctx: CallContext) -> dict[str, Any]:
    (app_id,) = required(ctx.params, "AppId")
    app = ctx.state.ram_applications.get(app_id)
    if app is None or app.get("AccountId") != ctx.account_id:
        raise ApiError(404, "EntityNotExist.Application", f"The application {app_id} does not exist.")
    return {"Application": app}


def list_applications(ctx: CallContext) -> dict[str, Any]:
    apps = [app for app in ctx.state.ram_applications.values() if app.get("AccountId") == ctx.account_id]
    return {"Applications": {"Application": apps}}


OPERATIONS = [
    Operation("ram", "GetApplication", VERSION, get_application),
    Operation("ram", "ListApplications", VERSION, list_applications),
]
