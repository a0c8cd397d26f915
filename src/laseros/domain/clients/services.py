"""Client records: create, edit, search, delete (with their projects)."""

from __future__ import annotations

import builtins

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import action
from laseros.domain.clients.models import Client
from laseros.domain.clients.schemas import ClientInput
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import NotFound
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.search import contains
from laseros.domain.kernel.sequences import next_code_value

EXPORT_COLUMNS = ("id", "client_code", "name", "contact_person", "email", "phone", "address", "notes",
                  "vat_number", "created_at", "updated_at")  # fmt: skip


class ClientService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def search_query(self, q: str = "") -> Select[Client]:
        stmt = select(Client).order_by(Client.name, Client.id)
        if term := q.strip():
            columns = (Client.name, Client.client_code, Client.contact_person, Client.email, Client.phone)
            stmt = stmt.where(or_(*(contains(self.session, column, term) for column in columns)))
        return stmt

    def export(self, q: str = "") -> Export:
        """The searched clients as ``EXPORT_COLUMNS`` rows, streamed."""
        columns = (getattr(Client, name) for name in EXPORT_COLUMNS)
        return Export("clients.csv", EXPORT_COLUMNS, self.search_query(q).with_only_columns(*columns))

    async def list(self, q: str = "", page: int = 1, per_page: int = 25) -> Page[Client]:
        return await paginate(self.session, self.search_query(q), page, per_page)

    async def choices(self) -> builtins.list[tuple[int, str]]:
        rows = await self.session.execute(select(Client.id, Client.name, Client.client_code).order_by(Client.name))
        return [(cid, f"{name} ({code})") for cid, name, code in rows]

    async def get(self, client_id: int) -> Client:
        client = await self.session.get(Client, client_id)
        if client is None:
            raise NotFound(f"Client {client_id} does not exist.")
        return client

    async def count(self) -> int:
        return await self.session.scalar(select(func.count(Client.id))) or 0

    async def recent(self, limit: int = 5) -> builtins.list[Client]:
        return list(await self.session.scalars(select(Client).order_by(Client.id.desc()).limit(limit)))

    async def project_count(self, client_id: int) -> int:
        # Through the relationship: a client's projects are the one thing below it that it counts.
        stmt = select(func.count()).select_from(Client).join(Client.projects).where(Client.id == client_id)
        return await self.session.scalar(stmt) or 0

    @action
    async def create(self, data: ClientInput) -> Client:
        """Create a client with the next CL-#### code; commits."""
        number = await next_code_value(self.session, "client")
        client = Client(client_code=f"CL-{number:04d}", **data.as_dict())
        self.session.add(client)
        await self.session.flush()
        record_activity(self.session, self.actor, "created", "client", client.id, client.name)
        await self.session.commit()
        return client

    @action
    async def update(self, client_id: int, data: ClientInput) -> Client:
        """Save edited client details; commits."""
        client = await self.get(client_id)
        changed = [k for k, v in data.as_dict().items() if getattr(client, k) != v]
        for key, value in data.as_dict().items():
            setattr(client, key, value)
        record_activity(
            self.session,
            self.actor,
            "updated",
            "client",
            client.id,
            "Changed: " + (", ".join(changed) or "nothing"),
        )
        await self.session.commit()
        return client

    @action
    async def delete(self, client_id: int) -> tuple[str, int]:
        """Delete a client and (by cascade) their projects; returns (name, projects removed). Commits."""
        client = await self.get(client_id)
        projects = await self.project_count(client_id)
        name = f"{client.client_code} {client.name}"
        await self.session.delete(client)
        record_activity(self.session, self.actor, "deleted", "client", client_id, f"{name} with {projects} project(s)")
        await self.session.commit()
        return name, projects
