"""The role matrix (SPEC §2): one table that guards, services and templates all read."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    OPERATOR = "operator"
    VIEWER = "viewer"


class Permission(StrEnum):
    PC_VIEW = "pc.view"  # read PC-mode pages
    OFFICE_EDIT = "office.edit"  # clients, projects, stages, POP, queue
    PHONE_USE = "phone.use"  # phone-mode pages
    RUNS_LOG = "runs.log"  # start and end runs on the phone
    STOCK_RECORD = "stock.record"  # purchases, usage, adjustments and returns
    SETUP_EDIT = "setup.edit"  # inventory item definitions and machine presets
    USERS_MANAGE = "users.manage"  # logins and extra operators
    ALERTS_RESOLVE = "alerts.resolve"  # resolve notifications by hand
    DRAFTS_MANAGE = "drafts.manage"  # edit, mark sent and delete client message drafts
    REPORTS_GENERATE = "reports.generate"  # "Generate now" for the daily report
    SETTINGS_EDIT = "settings.edit"  # the shop settings page: stage limits, report time, templates, lists
    COMMS_SEND = "comms.send"  # send email to clients, log calls and notes, triage the inbox
    DATA_EXPORT = "data.export"  # ?format=csv of any list or report: the shop's data leaving the app
    SAGE_VIEW = "sage.view"  # the Sage page: connection, company, last syncs, the audit log
    SAGE_MANAGE = "sage.manage"  # connect and disconnect Sage, choose the company, start a sync


PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.PC_VIEW: frozenset({Role.ADMIN, Role.MANAGER, Role.VIEWER}),
    Permission.OFFICE_EDIT: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.PHONE_USE: frozenset({Role.ADMIN, Role.MANAGER, Role.OPERATOR, Role.VIEWER}),
    Permission.RUNS_LOG: frozenset({Role.ADMIN, Role.MANAGER, Role.OPERATOR}),
    Permission.STOCK_RECORD: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.SETUP_EDIT: frozenset({Role.ADMIN}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.ALERTS_RESOLVE: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.DRAFTS_MANAGE: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.REPORTS_GENERATE: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.SETTINGS_EDIT: frozenset({Role.ADMIN}),
    Permission.COMMS_SEND: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.DATA_EXPORT: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.SAGE_VIEW: frozenset({Role.ADMIN, Role.MANAGER}),
    Permission.SAGE_MANAGE: frozenset({Role.ADMIN}),
}

# What each permission lets a role do, as the role matrix page (/admin/roles) shows it.
PERMISSION_LABELS: dict[Permission, str] = {
    Permission.PC_VIEW: "Read the PC-mode pages",
    Permission.OFFICE_EDIT: "Change clients, projects, stages, POP and the queue",
    Permission.PHONE_USE: "Use the phone-mode pages",
    Permission.RUNS_LOG: "Start and end production runs",
    Permission.STOCK_RECORD: "Record purchases, usage, adjustments and returns",
    Permission.SETUP_EDIT: "Define inventory items and machine presets",
    Permission.USERS_MANAGE: "Manage users, operators, the sign-in log and the activity log",
    Permission.ALERTS_RESOLVE: "Resolve notifications by hand",
    Permission.DRAFTS_MANAGE: "Edit, mark sent and delete client message drafts",
    Permission.REPORTS_GENERATE: "Generate the daily report now",
    Permission.SETTINGS_EDIT: "Change the shop settings",
    Permission.DATA_EXPORT: "Export any list or report as CSV",
}

ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Admin",
    Role.MANAGER: "Manager",
    Role.OPERATOR: "Operator",
    Role.VIEWER: "Viewer",
}


def role_can(role: str, permission: Permission) -> bool:
    return role in PERMISSIONS[permission]


def pc_mode_refusal(role: str) -> str | None:
    """Why this role cannot use PC mode, or None when it can."""
    if role_can(role, Permission.PC_VIEW):
        return None
    return "Operators use Phone mode only: PC mode is for the office."
