"""Inventory: items, the stock ledger and transactions."""

from __future__ import annotations

from litestar import Controller

from laseros.domain.admin.roles import Permission
from laseros.web.guards import requires


class InventoryController(Controller):
    path = "/inventory"
    guards = [requires(Permission.PC_VIEW)]
