"""Production runs on a PC: the run log and the run form."""

from __future__ import annotations

from litestar import Controller

from laseros.domain.admin.roles import Permission
from laseros.web.guards import requires


class RunController(Controller):
    path = "/queue/runs"
    guards = [requires(Permission.PC_VIEW)]
