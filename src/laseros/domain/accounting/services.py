"""The Sage connection: connect (SA credentials, or v3.1's OAuth2 sign-in), choose the company, disconnect.

The service is given the :class:`~laseros.db.Database` rather than a session: a call to Sage may
take seconds, and no transaction (on SQLite: the write lock) is held while one is in flight. Each
write is its own short transaction — the audit row of every call too, so the log keeps what
happened even when the action around it fails.
"""

from __future__ import annotations

import json
import secrets as random_tokens
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from laseros.db import Database, UnitOfWork, utcnow
from laseros.domain.accounting.backends import (
    Company,
    Tokens,
    V31Backend,
    ZaBackend,
    authorisation_url,
    exchange_code,
)
from laseros.domain.accounting.client import CallRecord, Redactor, SageAuthError, SageError, SageHttp
from laseros.domain.accounting.models import SageCall, SageConnection, SageSync
from laseros.domain.accounting.secrets import SecretBox, UnreadableSecret, state_hash
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput
from laseros.settings import SageEndpoints

BACKEND_LABELS = {"za": "South Africa (Sage Accounting SA API 2.0.0)", "v31": "International (Sage Accounting v3.1)"}
STATUS_LABELS = {
    "authorising": "Waiting for Sage's sign-in",
    "choose_company": "Choose the company",
    "connected": "Connected",
    "broken": "Connect again",
}
# A v3.1 sign-in must come back within this long.
STATE_LIFETIME = timedelta(minutes=10)
# Calls older than this leave the audit log when a sync runs.
AUDIT_DAYS = 90


@dataclass(frozen=True)
class ConnectionView:
    """What /sage shows about the connection: never a secret."""

    backend: str
    status: str
    connected_as: str
    company_id: str
    company_name: str
    companies: list[Company] = field(default_factory=list)
    connected_at: datetime | None = None
    problem: str = ""

    @property
    def backend_label(self) -> str:
        return BACKEND_LABELS.get(self.backend, self.backend)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def connected(self) -> bool:
        return self.status == "connected"

    @property
    def company_options(self) -> list[tuple[str, str]]:
        return [(company.id, company.name) for company in self.companies]


def _companies(raw: str) -> list[Company]:
    try:
        rows = json.loads(raw or "[]")
    except ValueError:
        return []
    return [Company(str(row[0]), str(row[1])) for row in rows if isinstance(row, list) and len(row) == 2]


def _view(row: SageConnection) -> ConnectionView:
    return ConnectionView(
        row.backend,
        row.status,
        row.connected_as,
        row.company_id,
        row.company_name,
        _companies(row.companies),
        row.connected_at,
        row.problem,
    )


async def current_connection(session: UnitOfWork) -> SageConnection | None:
    return await session.scalar(select(SageConnection).order_by(SageConnection.id.desc()).limit(1))


class SageConnections:
    """Connect, choose a company, disconnect; open the connected back end for a sync."""

    def __init__(self, db: Database, endpoints: SageEndpoints, secret_key: str, actor: Actor) -> None:
        self.db = db
        self.endpoints = endpoints
        self.box = SecretBox(secret_key)
        self.actor = actor

    # -- reading ---------------------------------------------------------------------------------------

    async def status(self) -> ConnectionView | None:
        async with self.db.session(write=False) as session:
            row = await current_connection(session)
            return _view(row) if row is not None else None

    async def recent_calls(self, limit: int = 50) -> list[SageCall]:
        async with self.db.session(write=False) as session:
            return list(await session.scalars(select(SageCall).order_by(SageCall.id.desc()).limit(limit)))

    async def recent_syncs(self, limit: int = 10) -> list[SageSync]:
        async with self.db.session(write=False) as session:
            return list(await session.scalars(select(SageSync).order_by(SageSync.id.desc()).limit(limit)))

    @property
    def v31_configured(self) -> bool:
        return bool(self.endpoints.client_id and self.endpoints.client_secret)

    # -- the plumbing every call uses -------------------------------------------------------------------

    async def audit(self, record: CallRecord) -> None:
        async with self.db.session(write=True) as session:
            session.add(
                SageCall(
                    backend=record.backend,
                    call=record.call[:120],
                    outcome=record.outcome,
                    status_code=record.status_code,
                    message=record.message[:300],
                    duration_ms=record.duration_ms,
                )
            )
            await session.commit()

    def http(self, backend: str) -> SageHttp:
        return SageHttp(backend, self.endpoints, self.audit, Redactor([self.endpoints.client_secret]))

    async def _replace(self, row: SageConnection, activity: str, details: str) -> None:
        """Store ``row`` as the one connection (any other is forgotten), with its activity row."""
        async with self.db.session(write=True) as session:
            await session.execute(delete(SageConnection))
            session.add(row)
            await session.flush()
            record_activity(session, self.actor, activity, "sage", row.id, details)
            await session.commit()

    # -- South Africa --------------------------------------------------------------------------------

    async def connect_za(self, username: str, password: str, api_key: str) -> ConnectionView:
        """Check the login with ``Company/Get`` and keep it (encrypted); one company is chosen at once."""
        username, api_key = username.strip(), api_key.strip()
        errors = {
            name: "Required."
            for name, value in (("username", username), ("password", password), ("api_key", api_key))
            if not value
        }
        if len(username) > 200 or len(password) > 200 or len(api_key) > 200:
            errors.setdefault("username", "Too long.")
        if errors:
            raise InvalidInput(errors)
        async with self.http("za") as http:
            try:
                companies = await ZaBackend(http, username, password, api_key).companies()
            except SageAuthError:
                raise InvalidInput({"password": "Sage refused this username, password or API key."}) from None
        if not companies:
            raise InvalidInput({"username": "This Sage login has no company to connect to."})
        row = SageConnection(
            backend="za",
            status="choose_company",
            connected_as=username,
            companies=json.dumps([[c.id, c.name] for c in companies]),
            secret=self.box.seal({"username": username, "password": password, "api_key": api_key}),
        )
        if len(companies) == 1:
            self._choose(row, companies[0])
        await self._replace(row, "connected", f"Sage (South Africa) as {username}")
        return _view(row)

    @staticmethod
    def _choose(row: SageConnection, company: Company) -> None:
        row.company_id, row.company_name = company.id, company.name[:200]
        row.status, row.connected_at, row.problem = "connected", utcnow(), ""

    async def choose_company(self, company_id: str) -> ConnectionView:
        """Use one of the login's companies (SA) or businesses (v3.1)."""
        async with self.db.session(write=True) as session:
            row = await current_connection(session)
            if row is None or row.status not in ("choose_company", "connected"):
                raise Conflict("Connect to Sage first.")
            chosen = next((c for c in _companies(row.companies) if c.id == company_id.strip()), None)
            if chosen is None:
                raise InvalidInput({"company_id": "Choose one of the companies listed."})
            self._choose(row, chosen)
            record_activity(session, self.actor, "updated", "sage", row.id, f"Company: {chosen.name}")
            await session.commit()
            return _view(row)

    # -- International (v3.1) ------------------------------------------------------------------------

    async def start_sign_in(self, redirect_uri: str) -> str:
        """A fresh ``state`` (kept hashed) and the URL of Sage's sign-in page."""
        if not self.v31_configured:
            raise Conflict("The international (v3.1) connection needs LASEROS_SAGE_CLIENT_ID and _SECRET.")
        state = random_tokens.token_urlsafe(32)
        async with self.db.session(write=True) as session:
            row = await current_connection(session)
            if row is None:
                row = SageConnection(backend="v31", status="authorising")
                session.add(row)
            row.oauth_state_hash, row.oauth_started_at = state_hash(state), utcnow()
            await session.commit()
        return authorisation_url(self.endpoints, redirect_uri, state)

    async def finish_sign_in(self, code: str, state: str, redirect_uri: str) -> ConnectionView:
        """Sage's callback: the state must be the one just issued; then the code becomes tokens."""
        async with self.db.session(write=True) as session:
            row = await current_connection(session)
            expected = row.oauth_state_hash if row is not None else ""
            started = row.oauth_started_at if row is not None else None
            fresh = started is not None and utcnow() - started <= STATE_LIFETIME
            if row is None or not expected or not state or state_hash(state) != expected or not fresh:
                raise Conflict("This Sage sign-in did not start here (or took too long): connect again.")
            row.oauth_state_hash = ""  # one use
            await session.commit()
        if not code or len(code) > 2000:
            raise Conflict("Sage sent no authorisation code: connect again.")
        async with self.http("v31") as http:
            tokens = await exchange_code(http, code, redirect_uri)
            holder: dict[str, Tokens] = {"tokens": tokens}

            async def keep(new: Tokens) -> None:
                holder["tokens"] = new

            backend = V31Backend(http, tokens, keep)
            who = await backend.user_name()
            businesses = await backend.businesses()
        connection = SageConnection(
            backend="v31",
            status="choose_company",
            connected_as=who[:200],
            companies=json.dumps([[b.id, b.name] for b in businesses]),
            secret=self.box.seal(holder["tokens"].as_dict()),
        )
        if len(businesses) == 1:
            self._choose(connection, businesses[0])
        await self._replace(connection, "connected", f"Sage (v3.1) as {who}")
        return _view(connection)

    async def _store_tokens(self, tokens: Tokens) -> None:
        """Every refresh: the rotated refresh token replaces the old one at once (it is single-use)."""
        async with self.db.session(write=True) as session:
            row = await current_connection(session)
            if row is not None and row.backend == "v31":
                row.secret = self.box.seal(tokens.as_dict())
                await session.commit()

    # -- disconnecting, and what a broken connection says -----------------------------------------------

    async def disconnect(self) -> bool:
        """Forget the connection and its secrets (the audit log and sync history stay)."""
        async with self.db.session(write=True) as session:
            row = await current_connection(session)
            if row is None:
                return False
            await session.execute(delete(SageConnection))
            record_activity(session, self.actor, "disconnected", "sage", row.id, f"Sage ({row.backend})")
            await session.commit()
            return True

    async def mark_broken(self, problem: str) -> None:
        async with self.db.session(write=True) as session:
            row = await current_connection(session)
            if row is not None:
                row.status, row.problem = "broken", problem[:300]
                await session.commit()

    # -- the back end a sync uses --------------------------------------------------------------------

    @asynccontextmanager
    async def open_backend(self) -> AsyncIterator[ZaBackend | V31Backend | None]:
        """The connected back end (None when not connected); its HTTP client is closed afterwards."""
        async with self.db.session(write=False) as session:
            row = await current_connection(session)
            if row is None or row.status != "connected":
                yield None
                return
            backend_name, company_id, sealed = row.backend, row.company_id, row.secret
        try:
            secret: dict[str, Any] = self.box.open(sealed)
        except UnreadableSecret as unreadable:
            await self.mark_broken(str(unreadable))
            raise SageError(str(unreadable)) from None
        async with self.http(backend_name) as http:
            if backend_name == "za":
                yield ZaBackend(http, secret["username"], secret["password"], secret["api_key"], company_id)
            else:
                yield V31Backend(http, Tokens.from_dict(secret), self._store_tokens, company_id)
