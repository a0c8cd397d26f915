"""The nightly reconciliation: what differs between the clients and Sage's customers, listed, not changed.

The sync only creates and links; it never overwrites a linked pair's details. So names and
emails may drift apart on the two sides, a linked customer may be deleted in Sage, and a client
may be waiting for its link. This lists each, for a person to decide (the sync history on /sage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from laseros.db import Database
from laseros.domain.accounting.client import SageError
from laseros.domain.accounting.services import SageConnections
from laseros.domain.accounting.sync import finish_run, start_run
from laseros.domain.clients.models import Client
from laseros.domain.kernel.actor import SYSTEM
from laseros.settings import SageEndpoints

SHOWN = 10  # differences named in the summary; the count covers the rest


@dataclass
class Reconciliation:
    outcome: str = "ok"
    differences: list[str] = field(default_factory=list)
    message: str = ""

    def summary(self) -> str:
        if self.outcome != "ok":
            return self.message
        if not self.differences:
            return "Clients and Sage customers agree."
        more = len(self.differences) - SHOWN
        listed = "; ".join(self.differences[:SHOWN]) + (f"; and {more} more" if more > 0 else "")
        return f"{len(self.differences)} differences: {listed}"

    def as_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "differences": self.differences, "summary": self.summary()}


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


async def reconcile_customers(db: Database, endpoints: SageEndpoints, secret_key: str) -> Reconciliation:
    """Compare every client with Sage's customers; store the list as a "reconcile" run."""
    async with SageConnections(db, endpoints, secret_key, SYSTEM).open_backend() as backend:
        if backend is None:
            return Reconciliation(outcome="skipped", message="Sage is not connected.")
        run_id = await start_run(db, "reconcile")
        if run_id is None:
            return Reconciliation(outcome="skipped", message="A reconciliation is already running.")
        try:
            remote = {customer.id: customer for customer in await backend.customers()}
        except SageError as failed:
            await finish_run(db, run_id, "failed", str(failed))
            raise
        async with db.session(write=False) as session:
            clients = list(await session.scalars(select(Client).order_by(Client.client_code)))
        result = Reconciliation()
        linked = set()
        for client in clients:
            label = f"{client.client_code} {client.name}"
            if not client.sage_customer_id:
                result.differences.append(f"{label}: not linked to Sage yet")
                continue
            linked.add(client.sage_customer_id)
            customer = remote.get(client.sage_customer_id)
            if customer is None:
                result.differences.append(f"{label}: its Sage customer is gone")
                continue
            if not _same(client.name, customer.name):
                result.differences.append(f"{label}: named “{customer.name}” in Sage")
            if client.email.strip() and customer.email and not _same(client.email, customer.email):
                result.differences.append(f"{label}: email {customer.email} in Sage")
        for customer_id, customer in remote.items():
            if customer_id not in linked:
                result.differences.append(f"Sage customer {customer.name or customer_id}: no client")
        await finish_run(db, run_id, "ok", result.summary())
        return result
