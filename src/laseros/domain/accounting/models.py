"""The Sage connection (one row), every call made to Sage, and each sync's outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from laseros.db import Base, TimestampedBase, UTCDateTime, utcnow


class SageConnection(TimestampedBase):
    """The shop's one link to Sage. ``secret`` is encrypted (``secrets.SecretBox``) and never shown."""

    __tablename__ = "sage_connections"

    # "za": South Africa (SA API 2.0.0, Basic auth + API key); "v31": International (OAuth2).
    backend: Mapped[str] = mapped_column(String(8), default="za")
    # "authorising" (v3.1 sign-in under way), "choose_company", "connected", "broken" (connect again).
    status: Mapped[str] = mapped_column(String(20), default="authorising")
    connected_as: Mapped[str] = mapped_column(String(200), default="")
    company_id: Mapped[str] = mapped_column(String(64), default="")
    company_name: Mapped[str] = mapped_column(String(200), default="")
    # The companies (SA) or businesses (v3.1) the login may use: JSON [[id, name], ...]; not secret.
    companies: Mapped[str] = mapped_column(Text, default="[]")
    secret: Mapped[str] = mapped_column(Text, default="")
    # The v3.1 sign-in's state, hashed (the value itself only ever travels in the redirect).
    oauth_state_hash: Mapped[str] = mapped_column(String(64), default="")
    oauth_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    problem: Mapped[str] = mapped_column(String(300), default="")


class SageCall(Base):
    """One request to Sage: when, which call, how it went (audit log on /sage)."""

    __tablename__ = "sage_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    backend: Mapped[str] = mapped_column(String(8))
    call: Mapped[str] = mapped_column(String(120))
    # "ok", "refused" (4xx), "rate limited", "server error", "timeout", "unreachable"
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(String(300), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class SageSync(Base):
    """One sync run: what it did, or why it failed."""

    __tablename__ = "sage_syncs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "customers"
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str] = mapped_column(String(20), default="running")  # running, ok, failed, skipped
    summary: Mapped[str] = mapped_column(String(500), default="")
