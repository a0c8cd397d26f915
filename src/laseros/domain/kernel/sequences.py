"""Counters behind the human codes (CL-0001, JB-…, SKU-0001, Q-2026-0001, INV-2026-0001).

A counter is bumped with one atomic upsert inside the caller's transaction, so two writers never
get the same number, and a rolled-back action gives its number back: no gaps, no reuse.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def next_code_value(session: AsyncSession, name: str) -> int:
    """Atomically bump and return the named counter (safe under concurrent writers)."""
    result = await session.execute(
        text(
            "INSERT INTO code_sequences (name, last_value) VALUES (:name, 1) "
            "ON CONFLICT (name) DO UPDATE SET last_value = code_sequences.last_value + 1 "
            "RETURNING last_value"
        ),
        {"name": name},
    )
    return int(result.scalar_one())


async def next_yearly_code(session: AsyncSession, prefix: str, year: int) -> str:
    """The next ``PREFIX-YYYY-0001`` code: a counter per prefix per year (Q-2026-0001, INV-2026-0001).

    In the caller's transaction, like ``next_code_value``: a rolled-back action gives its number back.
    """
    number = await next_code_value(session, f"{prefix.lower()}-{year}")
    return f"{prefix}-{year}-{number:04d}"
