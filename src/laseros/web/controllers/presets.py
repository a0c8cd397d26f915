"""Machine presets: the library of cutting parameters."""

from __future__ import annotations

from litestar import Controller

from laseros.domain.admin.roles import Permission
from laseros.web.guards import requires


class PresetController(Controller):
    path = "/presets"
    guards = [requires(Permission.PC_VIEW)]
