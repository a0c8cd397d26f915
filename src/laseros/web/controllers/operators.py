"""Operators: logins and extra operators with their totals."""

from __future__ import annotations

from litestar import Controller

from laseros.domain.admin.roles import Permission
from laseros.web.guards import requires


class OperatorController(Controller):
    path = "/operators"
    guards = [requires(Permission.PC_VIEW)]
