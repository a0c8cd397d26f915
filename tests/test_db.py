"""SQLite is set up per SPEC §10, and concurrent writers queue instead of failing."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from laseros.db import Database
from laseros.domain.kernel.sequences import next_code_value


def test_sqlite_pragmas(settings):
    async def read() -> dict[str, object]:
        db = Database.from_settings(settings)
        async with db.session(write=False) as session:
            values = {
                name: (await session.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
            }
        await db.dispose()
        return values

    assert asyncio.run(read()) == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "busy_timeout": 30000}


def test_write_sessions_begin_immediate(settings):
    statements: list[str] = []

    async def write() -> None:
        db = Database.from_settings(settings)
        from sqlalchemy import event

        def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(db.write_engine.sync_engine, "before_cursor_execute", record)
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)

        async with db.session(write=True) as session:
            await session.execute(text("SELECT 1"))
            await session.commit()
        async with db.session(write=False) as session:
            await session.execute(text("SELECT 2"))
        await db.dispose()

    # The BEGIN is issued by the "begin" event via exec_driver_sql, which also passes through the cursor hook.
    asyncio.run(write())
    assert statements.index("BEGIN IMMEDIATE") < statements.index("SELECT 1")
    assert "BEGIN" in statements[statements.index("SELECT 1") :]


def test_many_concurrent_writers_never_see_database_is_locked(settings):
    async def hammer() -> list[int]:
        db = Database.from_settings(settings)

        async def bump() -> int:
            async with db.session(write=True) as session:
                # read, then write: the pattern that fails with deferred transactions
                await session.execute(text("SELECT count(*) FROM clients"))
                value = await next_code_value(session, "stress")
                await session.commit()
                return value

        values = await asyncio.gather(*(bump() for _ in range(60)))
        await db.dispose()
        return values

    values = asyncio.run(hammer())
    assert sorted(values) == list(range(1, 61))
