"""Text search that stays fast on SQLite and correct on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, column, literal_column, or_, select, table
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
    if session.get_bind().dialect.name != "sqlite" or len(term) < TRIGRAM:
        return or_(*(contains(session, c, term) for c in columns))
    phrase = '"' + term.replace('"', '""') + '"'
    fts = table(index, column("rowid"))
    return key.in_(select(fts.c.rowid).where(literal_column(index).op("MATCH")(phrase)))
