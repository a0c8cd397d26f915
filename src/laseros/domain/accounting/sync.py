"""Customers ↔ clients, both ways, idempotently (docs/accounting.md).

A client and a Sage customer are the same when the client holds the customer's id; a client not
yet linked is matched by email, then by name. A client with no match becomes a Sage customer; a
customer no client claims becomes a client. Every link is stored the moment it is made, so a run
that fails halfway leaves nothing a re-run would duplicate. When creating a customer times out,
Sage may have created it: the customers are read again and matched before anything is created twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import delete, func, select

from laseros.db import Database, utcnow
from laseros.domain.accounting.backends import AccountingBackend, NewCustomer, RemoteCustomer
from laseros.domain.accounting.client import SageAuthError, SageError, SageTimeout
from laseros.domain.accounting.models import SageCall, SageSync
from laseros.domain.accounting.services import AUDIT_DAYS, SageConnections
from laseros.domain.clients.models import Client
from laseros.domain.clients.schemas import ClientInput
from laseros.domain.clients.services import ClientService
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import SYSTEM, Actor
from laseros.settings import SageEndpoints

log = logging.getLogger(__name__)

# The SA API allows 5 000 requests a day per company: past this many today, the sync waits for tomorrow.
DAILY_BUDGET = 4500
# A sync still "running" after this long is taken to have died (a killed worker); a new one may start.
STALE_RUN = timedelta(minutes=15)


@dataclass
class CustomerSyncResult:
    outcome: str = "ok"  # ok, skipped, failed
    linked: int = 0  # links made by email or name
    kept: int = 0  # links already there
    created_in_sage: int = 0
    created_here: int = 0
    missing_in_sage: list[str] = field(default_factory=list)  # linked clients whose customer is gone
    message: str = ""

    def summary(self) -> str:
        if self.outcome != "ok":
            return self.message
        text = (
            f"{self.created_in_sage} created in Sage, {self.created_here} clients created from Sage, "
            f"{self.linked} linked by email or name, {self.kept} already linked"
        )
        if self.missing_in_sage:
            text += f"; no longer in Sage: {', '.join(self.missing_in_sage[:5])}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary()}


def _email(value: str) -> str:
    return value.strip().casefold()


def _name(value: str) -> str:
    return " ".join(value.split()).casefold()


class _Matcher:
    """Unclaimed Sage customers by email and by name; each is claimed at most once."""

    def __init__(self, customers: list[RemoteCustomer], claimed: set[str]) -> None:
        self.claimed = claimed
        self.customers = [c for c in customers if c.id and c.id not in claimed]
        self.by_email: dict[str, RemoteCustomer] = {}
        self.by_name: dict[str, RemoteCustomer] = {}
        for customer in self.customers:
            if customer.email:
                self.by_email.setdefault(_email(customer.email), customer)
            if customer.name:
                self.by_name.setdefault(_name(customer.name), customer)

    def match(self, client: Client) -> RemoteCustomer | None:
        for found in (
            self.by_email.get(_email(client.email)) if client.email.strip() else None,
            self.by_name.get(_name(client.name)),
        ):
            if found is not None and found.id not in self.claimed:
                return found
        return None

    def claim(self, customer_id: str) -> None:
        self.claimed.add(customer_id)

    def unclaimed(self) -> list[RemoteCustomer]:
        return [c for c in self.customers if c.id not in self.claimed]


class CustomerSync:
    """One run of the customers ↔ clients sync against one back end."""

    def __init__(self, db: Database, backend: AccountingBackend, actor: Actor = SYSTEM) -> None:
        self.db = db
        self.backend = backend
        self.actor = actor

    async def _link(self, client_id: int, customer: RemoteCustomer, how: str) -> None:
        async with self.db.session(write=True) as session:
            client = await session.get(Client, client_id)
            if client is None or client.sage_customer_id:
                return
            client.sage_customer_id = customer.id
            record_activity(session, self.actor, "linked", "client", client_id, f"Sage customer {customer.id} ({how})")
            await session.commit()

    async def _create_here(self, customer: RemoteCustomer) -> None:
        data = ClientInput(
            name=customer.name[:200],
            contact_person=customer.contact_person[:200],
            email=customer.email[:200],
            phone=customer.phone[:50],
            address=customer.address[:5000],
            notes="Created from Sage.",
        )
        async with self.db.session(write=True) as session:
            client = await ClientService(session, self.actor).create(data)
            client.sage_customer_id = customer.id
            record_activity(session, self.actor, "linked", "client", client.id, f"Sage customer {customer.id} (new)")
            await session.commit()

    async def _create_in_sage(self, client: Client, matcher: _Matcher) -> RemoteCustomer:
        new = NewCustomer(client.name, client.email, client.contact_person, client.phone, client.address)
        try:
            return await self.backend.create_customer(new)
        except SageTimeout:
            # Sage may have made it: look before making another.
            log.warning("creating the Sage customer for client %s timed out; looking it up", client.id)
            again = _Matcher(await self.backend.customers(), set(matcher.claimed))
            found = again.match(client)
            if found is None:
                raise
            return found

    async def run(self) -> CustomerSyncResult:
        result = CustomerSyncResult()
        remote = await self.backend.customers()
        known = {customer.id for customer in remote}
        async with self.db.session(write=False) as session:
            clients = list(await session.scalars(select(Client).order_by(Client.id)))
        claimed = {c.sage_customer_id for c in clients if c.sage_customer_id}
        matcher = _Matcher(remote, set(claimed))
        for client in clients:
            if client.sage_customer_id:
                if client.sage_customer_id in known:
                    result.kept += 1
                else:
                    result.missing_in_sage.append(client.client_code)
                continue
            found = matcher.match(client)
            if found is not None:
                matcher.claim(found.id)
                await self._link(client.id, found, "matched by email or name")
                result.linked += 1
                continue
            created = await self._create_in_sage(client, matcher)
            matcher.claim(created.id)
            await self._link(client.id, created, "created in Sage")
            result.created_in_sage += 1
        for customer in matcher.unclaimed():
            if not customer.name:
                continue
            await self._create_here(customer)
            matcher.claim(customer.id)
            result.created_here += 1
        return result


async def calls_today(db: Database) -> int:
    """Calls made to Sage since midnight UTC (the SA API counts 5 000 a day)."""
    midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    async with db.session(write=False) as session:
        return await session.scalar(select(func.count(SageCall.id)).where(SageCall.at >= midnight)) or 0


async def start_run(db: Database, kind: str) -> int | None:
    """A "running" row for this sync, or None when another is running (and not stale)."""
    async with db.session(write=True) as session:
        running = await session.scalar(
            select(SageSync.id).where(
                SageSync.kind == kind, SageSync.outcome == "running", SageSync.started_at > utcnow() - STALE_RUN
            )
        )
        if running is not None:
            return None
        row = SageSync(kind=kind)
        session.add(row)
        await session.commit()
        return row.id


async def finish_run(db: Database, sync_id: int, outcome: str, summary: str) -> None:
    async with db.session(write=True) as session:
        row = await session.get(SageSync, sync_id)
        if row is not None:
            row.outcome, row.summary, row.finished_at = outcome, summary[:500], utcnow()
        await session.execute(delete(SageCall).where(SageCall.at < utcnow() - timedelta(days=AUDIT_DAYS)))
        await session.commit()


class SyncResult(Protocol):
    outcome: str  # ok, skipped, failed
    message: str

    def summary(self) -> str: ...


R = TypeVar("R", bound=SyncResult)


async def run_sync(
    db: Database,
    endpoints: SageEndpoints,
    secret_key: str,
    kind: str,
    what: str,
    result: Callable[..., R],
    work: Callable[[Any], Awaitable[R]],
    *,
    final: tuple[type[Exception], ...] = (),
) -> R:
    """One sync run of ``kind`` ("customers", "invoices"), if Sage is connected: ``work(backend)`` between
    a sync-history row's start and finish. ``what`` names it ("A customer sync"); ``result(outcome=…,
    message=…)`` makes a skipped or failed answer.

    Raises :class:`SageError` when Sage failed (so the job is tried again later); the failure is in the
    sync history and the audit log. A refused connection, and the ``final`` errors (trying again will
    not help until someone fixes something in Sage), are recorded and answered instead.
    """
    connections = SageConnections(db, endpoints, secret_key, SYSTEM)
    async with connections.open_backend() as backend:
        if backend is None:
            return result(outcome="skipped", message="Sage is not connected.")
        if backend.name == "za" and await calls_today(db) >= DAILY_BUDGET:
            return result(
                outcome="skipped", message=f"{DAILY_BUDGET} calls to Sage today already: the sync waits for tomorrow."
            )
        sync_id = await start_run(db, kind)
        if sync_id is None:
            return result(outcome="skipped", message=f"{what} is already running.")
        try:
            done = await work(backend)
        except SageAuthError as refused:
            problem = f"Sage refused the connection ({refused}); connect again."
            await connections.mark_broken(problem)
            await finish_run(db, sync_id, "failed", problem)
            # Trying again will not help: the connection now says "connect again" and the hourly run skips it.
            return result(outcome="failed", message=problem)
        except final as missing:
            await finish_run(db, sync_id, "failed", str(missing))
            return result(outcome="failed", message=str(missing))
        except SageError as failed:
            await finish_run(db, sync_id, "failed", str(failed))
            raise
        except BaseException:
            await finish_run(db, sync_id, "failed", "The sync stopped unexpectedly (see the worker's log).")
            raise
        await finish_run(db, sync_id, "ok", done.summary())
        return done


async def sync_customers(db: Database, endpoints: SageEndpoints, secret_key: str) -> CustomerSyncResult:
    """The customers ↔ clients sync, if Sage is connected (``run_sync``)."""

    async def work(backend: AccountingBackend) -> CustomerSyncResult:
        return await CustomerSync(db, backend).run()

    return await run_sync(db, endpoints, secret_key, "customers", "A customer sync", CustomerSyncResult, work)
