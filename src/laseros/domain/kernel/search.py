"""Text search that stays fast on SQLite and correct on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(session: AsyncSession, column: InstrumentedAttribute[str], term: str) -> ColumnElement[bool]:
    """``column`` contains ``term``, ignoring case.

    SQLite's LIKE already ignores (ASCII) case; ILIKE would wrap both sides in lower() and cost
    a function call per row on every search, so it is used only where LIKE is case-sensitive.
    """
    pattern = f"%{escape_like(term)}%"
    if session.get_bind().dialect.name == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")
