"""Route guards that read the role matrix in ``domain.admin.roles``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from laseros.domain.admin.roles import Permission, pc_mode_refusal, role_can

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Async, so Litestar calls them on the loop: it runs a plain function guard on a thread, one hop each.
Guard = Callable[[ASGIConnection, BaseRouteHandler], Awaitable[None]]

_MESSAGES = {
    Permission.PC_VIEW: "PC mode is for the office.",
    Permission.OFFICE_EDIT: "Your role can look but not change this.",
    Permission.PHONE_USE: "Phone mode is not available to your role.",
    Permission.RUNS_LOG: "Your role cannot log production runs.",
    Permission.STOCK_RECORD: "Only a manager or an admin can record stock movements.",
    Permission.SETUP_EDIT: "Only an admin can change inventory items and machine presets.",
    Permission.USERS_MANAGE: "Only an admin can manage users and operators.",
    Permission.ALERTS_RESOLVE: "Only a manager or an admin can resolve notifications.",
    Permission.REPORTS_GENERATE: "Only a manager or an admin can generate the daily report.",
    Permission.DRAFTS_MANAGE: "Only a manager or an admin can change, send or delete message drafts.",
    Permission.SETTINGS_EDIT: "Only an admin can see and change the shop settings.",
    Permission.DATA_EXPORT: "Only a manager or an admin can export the shop's data as CSV.",
    Permission.BILLING_EDIT: "Only a manager or an admin can make or change quotes, invoices and payments.",
    Permission.SAGE_VIEW: "Only a manager or an admin can see the Sage connection.",
    Permission.SAGE_MANAGE: "Only an admin can connect Sage or start a sync.",
    Permission.COMMS_SEND: "Only a manager or an admin can send email, log messages or sort the inbox.",
}


def refuse_unless(connection: ASGIConnection, permission: Permission) -> None:
    """Inside a handler: 403 with the permission's reason unless the user's role has it."""
    if not role_can(connection.user.role, permission):
        raise PermissionDeniedException(_MESSAGES[permission])


def requires(permission: Permission) -> Guard:
    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        role = connection.user.role
        if not role_can(role, permission):
            reason = pc_mode_refusal(role) if permission == Permission.PC_VIEW else None
            raise PermissionDeniedException(reason or _MESSAGES[permission])

    guard.__name__ = f"requires_{permission.name.lower()}"
    return guard


def unsafe_methods_require(permission: Permission) -> Guard:
    """For controllers whose reads are open to more roles than their writes."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if connection.scope.get("method") not in SAFE_METHODS and not role_can(connection.user.role, permission):
            raise PermissionDeniedException(_MESSAGES[permission])

    guard.__name__ = f"writes_require_{permission.name.lower()}"
    return guard


def guard_permission(guard: Callable[..., object]) -> tuple[Permission, bool] | None:
    """The permission a guard made here checks, and whether it checks writes only (for /admin/roles)."""
    name = getattr(guard, "__name__", "")
    for prefix, writes_only in (("requires_", False), ("writes_require_", True)):
        if name.startswith(prefix) and name[len(prefix) :].upper() in Permission.__members__:
            return Permission[name[len(prefix) :].upper()], writes_only
    return None
