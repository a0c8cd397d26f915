"""The SQLite connections (``laseros.sqlite_driver``): where each statement runs, and that nothing is lost on the way.

An action's statements run on the event loop (no thread hop between them); every other statement in one
hop to a thread; a lock held by another process is waited for on a thread while the loop goes on; long
results come back whole in batches; and the write connection leaves WAL checkpoints to a thread.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import event, text

from laseros import sqlite_driver
from laseros.db import Database, quick_reads
from laseros.domain.kernel.paging import stream_rows
from tests.support import db_path


def _trace_threads(db: Database) -> list[tuple[str, int]]:
    """(statement, thread it ran on) for every statement SQLite runs on the app's connections."""
    seen: list[tuple[str, int]] = []

    def traced(dbapi_connection: Any, _record: Any) -> None:
        raw: sqlite3.Connection = dbapi_connection._connection._conn
        raw.set_trace_callback(lambda sql: seen.append((sql, threading.get_ident())))

    for engine in (db.engine, db.write_engine):
        event.listen(engine.sync_engine, "connect", traced)
    return seen


def test_an_actions_statements_run_on_the_loop_and_other_reads_on_a_thread(settings, db_query):
    loop_thread = threading.get_ident()

    async def scenario() -> list[tuple[str, int]]:
        db = Database.from_settings(settings)
        seen = _trace_threads(db)
        try:
            async with db.session(write="actions") as session:
                await session.execute(text("SELECT 'before the action'"))
                async with session.action():
                    await session.execute(text("SELECT 'inside the action'"))
                    await session.execute(text("INSERT INTO code_sequences (name, last_value) VALUES ('probe', 7)"))
            async with db.session(write=False) as session:
                with quick_reads():
                    await session.execute(text("SELECT 'a quick read'"))
            async with db.session(write=True) as session:  # a job's write session: on a thread
                await session.execute(text("SELECT 'a job'"))
                await session.commit()
        finally:
            await db.dispose()
        return seen

    seen = asyncio.run(scenario())
    where: dict[str, int] = {}
    for sql, thread in seen:
        where.setdefault(sql, thread)  # the first time each statement ran
    assert where["SELECT 'before the action'"] != loop_thread
    assert where["SELECT 'inside the action'"] == loop_thread
    assert where["BEGIN IMMEDIATE"] == loop_thread  # nobody else held the lock: taken at once, on the loop
    assert [thread for sql, thread in seen if sql.startswith("INSERT")] == [loop_thread]
    assert where["SELECT 'a quick read'"] == loop_thread
    assert where["SELECT 'a job'"] != loop_thread
    # Closing a session rolls its read back on the loop: no thread hop at the end of every request.
    assert {thread for sql, thread in seen if sql == "ROLLBACK"} == {loop_thread}
    assert db_query("SELECT last_value FROM code_sequences WHERE name = 'probe'") == [(7,)]


def test_an_action_waits_for_another_processs_lock_on_a_thread_while_the_loop_goes_on(settings, db_query):
    blocker = sqlite3.connect(db_path(settings), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process writing (the worker, the CLI)
    ticks = 0

    async def scenario() -> float:
        nonlocal ticks
        db = Database.from_settings(settings)

        async def save() -> float:
            async with db.session(write="actions") as session, session.action():
                await session.execute(text("INSERT INTO code_sequences (name, last_value) VALUES ('waited', 1)"))
            return time.monotonic()

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        saving = asyncio.create_task(save())
        await asyncio.sleep(0.4)
        assert not saving.done()  # it waits for the lock…
        released = time.monotonic()
        blocker.execute("COMMIT")
        try:
            done_at = await asyncio.wait_for(saving, 10)
        finally:
            ticker.cancel()
            await db.dispose()
        return done_at - released

    after_release = asyncio.run(scenario())
    blocker.close()
    assert ticks >= 20  # …on a thread: the loop kept serving others meanwhile
    assert after_release < 2  # and goes on as soon as the lock is free
    assert db_query("SELECT last_value FROM code_sequences WHERE name = 'waited'") == [(1,)]


def test_a_refused_action_writes_nothing_and_the_lock_is_let_go(settings, db_query):
    async def scenario() -> None:
        db = Database.from_settings(settings)
        try:
            async with db.session(write="actions") as session:
                try:
                    async with session.action():
                        await session.execute(text("INSERT INTO code_sequences (name, last_value) VALUES ('no', 1)"))
                        raise ValueError("refused")
                except ValueError:
                    pass
            async with db.session(write="actions") as session, session.action():
                await session.execute(text("INSERT INTO code_sequences (name, last_value) VALUES ('yes', 1)"))
        finally:
            await db.dispose()

    asyncio.run(scenario())
    assert db_query("SELECT name FROM code_sequences WHERE name IN ('no', 'yes')") == [("yes",)]


def test_a_long_result_comes_back_whole_in_batches(settings):
    count = sqlite_driver.BATCH * 2 + 17

    async def scenario() -> tuple[list[int], list[int]]:
        db = Database.from_settings(settings)
        query = text(
            f"WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {count}) SELECT x FROM n"
        )
        try:
            async with db.session(write=False) as session:
                fetched = [row[0] for row in (await session.execute(query)).all()]
                streamed = [row[0] async for row in stream_rows(session, query.columns())]  # type: ignore[arg-type]
        finally:
            await db.dispose()
        return fetched, streamed

    fetched, streamed = asyncio.run(scenario())
    assert fetched == list(range(1, count + 1))
    assert streamed == list(range(1, count + 1))


def test_the_writer_leaves_wal_checkpoints_to_a_thread(settings, monkeypatch):
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 5)
    checkpoints: list[tuple[int, int]] = []  # (thread, frames still to copy after it)
    passive = sqlite_driver._Checkpoints._checkpoint

    def recorded(self: Any) -> None:
        passive(self)
        with sqlite3.connect(db_path(settings)) as probe:
            _busy, log_frames, copied = probe.execute("PRAGMA wal_checkpoint(NOOP)").fetchone()
        checkpoints.append((threading.get_ident(), log_frames - copied))

    monkeypatch.setattr(sqlite_driver._Checkpoints, "_checkpoint", recorded)

    async def scenario() -> int:
        db = Database.from_settings(settings)
        try:
            async with db.session(write=True) as session:
                autocheckpoint = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
                await session.commit()  # commit 1
            for n in range(8):  # commits 2-9: one checkpoint, at the fifth
                async with db.session(write="actions") as session, session.action():
                    await session.execute(text(f"INSERT INTO code_sequences (name, last_value) VALUES ('c{n}', {n})"))
            await asyncio.sleep(0.5)  # the checkpoint runs on a thread
            return autocheckpoint
        finally:
            await db.dispose()

    autocheckpoint = asyncio.run(scenario())
    assert autocheckpoint == 0  # SQLite never checkpoints inside the writer's commits…
    assert len(checkpoints) == 1  # …a passive checkpoint every CHECKPOINT_EVERY commits does
    thread, left = checkpoints[0]
    assert thread != threading.get_ident()
    assert left == 0


def test_a_process_forked_after_reading_still_reads(settings):
    async def count(db: Database) -> int:
        async with db.session(write=False) as session:
            return int((await session.execute(text("SELECT count(*) FROM code_sequences"))).scalar_one())

    asyncio.run(count(Database.from_settings(settings)))  # the parent's pool threads now exist
    child = os.fork()
    if child == 0:  # the child: a fresh loop and engine, reading through the module's thread pool
        try:
            code = 0 if asyncio.run(asyncio.wait_for(count(Database.from_settings(settings)), 10)) >= 0 else 1
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
