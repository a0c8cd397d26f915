"""A client: the company or person the shop cuts for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import TimestampedBase

if TYPE_CHECKING:
    from laseros.domain.projects.models import Project


class Client(TimestampedBase):
    __tablename__ = "clients"

    client_code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    contact_person: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Bumped atomically for each new project: the last part of JB-YYYY-MM-CL0001-001.
    project_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The Sage customer (SA) or contact (v3.1) this client is, once linked (domain/accounting/sync.py).
    sage_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True, default=None)

    projects: Mapped[list[Project]] = relationship(
        back_populates="client", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )

    @property
    def compact_code(self) -> str:
        return self.client_code.replace("-", "")
