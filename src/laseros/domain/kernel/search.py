"""Text search that stays fast on SQLite and correct on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, column, func, literal_column, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

# A trigram index answers substrings of at least this many characters (shorter ones match nothing).
TRIGRAM = 3


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


def indexed_contains(
    session: AsyncSession,
    index: str,
    key: InstrumentedAttribute[int],
    columns: Sequence[InstrumentedAttribute[str]],
    term: str,
) -> ColumnElement[bool]:
    """One of ``columns`` contains ``term``, ignoring case — from a trigram index where there is one.

    ``index`` names an SQLite FTS5 table (``tokenize='trigram'``, rowid = ``key``) over those
    columns, kept in step by triggers (migration 0017). The term is searched as one quoted phrase,
    which the trigram tokenizer matches as a substring anywhere: no query syntax reaches FTS5, so
    any text a user types is a valid search. Shorter terms than a trigram, and PostgreSQL, use
    ``contains`` (a scan).
    """
    if not has_index(session, term):
        return or_(*(contains(session, c, term) for c in columns))
    return key.in_(select(table(index, column("rowid")).c.rowid).where(_match(index, term)))


def has_index(session: AsyncSession, term: str) -> bool:
    """Whether ``indexed_contains`` answers ``term`` from the trigram index (SQLite, three or more characters)."""
    return session.get_bind().dialect.name == "sqlite" and len(term) >= TRIGRAM


def indexed_count(index: str, term: str) -> Select[int]:
    """How many rows of ``index`` contain ``term`` (for a term ``has_index`` answers): the index alone."""
    return select(func.count()).select_from(table(index)).where(_match(index, term))


def _match(index: str, term: str) -> ColumnElement[bool]:
    phrase = '"' + term.replace('"', '""') + '"'
    return literal_column(index).op("MATCH")(phrase)
