"""The SQLite connection under SQLAlchemy's aiosqlite dialect: one hop per statement, none inside an action.

aiosqlite runs each call on a connection's own thread and hands the result back to the event loop:
creating a cursor, executing, fetching and closing are four round trips per statement, and each
one waits for the interpreter lock whenever other requests' Python is running. An End Run of 16
statements made some 60 of them; under load each could wait milliseconds (docs/performance.md).

This module gives the dialect (through ``create_async_engine(async_creator=...)``) a connection
with aiosqlite's surface but two ways of running a statement:

* **Inline**, on the event loop itself, for the write connection while a user action holds it
  (``statements_inline()``, entered by ``UnitOfWork.action``), and for a few reads known to be
  short (the session lookup on every request, the page header's count, the active queue). The
  action's statements take microseconds to a millisecond each and the write lock is ours, so running them where the
  Python already is makes the whole transaction one stretch of work: the write connection is held
  for the action's own time, not for every other request's Python in between. A statement that
  must wait for a lock (``BEGIN IMMEDIATE`` while another process — the worker, the CLI — writes)
  is tried without waiting, and only if the database is busy is it waited for on a thread.
* **On a thread, in one hop**, for everything else (reads, jobs, reports, long queries): execute
  and the first rows come back together; a result longer than one batch (an export streamed with
  a server-side cursor) is fetched on in further batches, so memory stays bounded.

The write connection does not checkpoint the WAL itself (``wal_autocheckpoint=0``): SQLite would
do it inside whichever commit crossed 1 000 pages, on the loop for an action, copying pages and
syncing for tens to hundreds of milliseconds. Instead every ``CHECKPOINT_EVERY`` commits a passive
checkpoint runs on a thread over a connection of its own, beside the writer, never blocking it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url

T = TypeVar("T")
_connect: Callable[..., sqlite3.Connection] = sqlite3.connect  # arguments from the dialect's own parsing of the URL
log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
BATCH = 500  # rows fetched with the statement; a longer result is fetched on in batches of this size
CHECKPOINT_EVERY = 200  # commits of the write connection between passive WAL checkpoints

_inline: ContextVar[bool] = ContextVar("laseros_sqlite_inline", default=False)
# Statements of all connections in the process share these threads (renders use anyio's own).
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sqlite")


def _fresh_executor() -> None:
    """A forked child has none of its parent's threads: it gets a pool of its own."""
    global _executor
    _executor = ThreadPoolExecutor(max_workers=_executor._max_workers, thread_name_prefix="sqlite")


os.register_at_fork(after_in_child=_fresh_executor)


@contextmanager
def statements_inline() -> Iterator[None]:
    """Run statements on the event loop while this block runs: a user action's, or reads known to be short.

    For reads, only statements bounded by an index (a session lookup, a count on a partial index, a
    page of the active queue): anything that may scan stays on a thread.
    """
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


def connector(url: str, *, writer: bool) -> Callable[[], Any]:
    """``async_creator`` for ``create_async_engine``: new connections to the database ``url`` names.

    ``writer``: the one write connection (its WAL checkpoints run beside it, see the module docstring).
    """
    args, kwargs = SQLiteDialect_pysqlite().create_connect_args(make_url(url))
    kwargs = {**kwargs, "check_same_thread": False, "isolation_level": None, "timeout": BUSY_TIMEOUT_MS / 1000}

    def open_connection() -> sqlite3.Connection:
        raw = _connect(*args, **kwargs)
        if writer:
            raw.execute("PRAGMA wal_autocheckpoint=0")  # see the module docstring: _Checkpoints does it
        return raw

    checkpoints = _Checkpoints(partial(_connect, *args, **kwargs)) if writer else None

    async def connect() -> Connection:
        loop = asyncio.get_running_loop()
        raw = await loop.run_in_executor(_executor, open_connection)
        return Connection(raw, checkpoints=checkpoints)

    return connect


class _Checkpoints:
    """Passive WAL checkpoints on a thread, every ``CHECKPOINT_EVERY`` commits of the write connection."""

    def __init__(self, open_connection: Callable[[], sqlite3.Connection]) -> None:
        self._open = open_connection
        self._commits = 0
        self._running = False

    def committed(self) -> None:
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY and not self._running:
            self._commits = 0
            self._running = True
            asyncio.get_running_loop().run_in_executor(_executor, self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            connection = self._open()
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()
        except sqlite3.Error:
            log.warning("WAL checkpoint failed; the next one will try again", exc_info=True)
        finally:
            self._running = False


class _Immediate:
    """Stands in for aiosqlite's request queue, used by the dialect to set ``isolation_level``."""

    def put_nowait(self, request: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = request
        try:
            future.set_result(function())
        except Exception as error:
            future.set_exception(error)


class Connection:
    """What SQLAlchemy's aiosqlite adapter calls on an ``aiosqlite.Connection``."""

    def __init__(self, raw: sqlite3.Connection, *, checkpoints: _Checkpoints | None = None) -> None:
        self._conn = raw
        self._connection: sqlite3.Connection | None = raw  # the adapter checks it before commit/rollback
        self._tx = _Immediate()
        self._checkpoints = checkpoints

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def run(self, function: Callable[[], T]) -> T:
        """``function()`` against this connection: inline inside an action, else in one hop to a thread."""
        if _inline.get():
            if self._conn.in_transaction:
                return function()  # the lock is ours: nothing to wait for
            # Taking a lock (BEGIN IMMEDIATE): try without waiting; wait on a thread only if busy.
            self._conn.execute("PRAGMA busy_timeout=0")
            try:
                return function()
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
            finally:
                self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return await asyncio.get_running_loop().run_in_executor(_executor, function)

    def cursor(self) -> Cursor:
        return Cursor(self)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        cursor = Cursor(self)
        await cursor.execute(sql, parameters)
        return cursor

    async def commit(self) -> None:
        await self.run(self._conn.commit)
        if self._checkpoints is not None:
            self._checkpoints.committed()

    async def rollback(self) -> None:
        # Always on the loop: a rollback takes no lock and waits for nothing (WAL: the transaction's
        # pages are simply dropped), and every session's close ends with one — a thread hop here
        # cost each request one or two waits for the GIL under load.
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close now (also the pool's terminate); closing twice is harmless."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()


class Cursor:
    """A cursor whose ``execute`` brings back the first batch of rows in the same hop."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._cursor = connection._conn.cursor()
        self._rows: deque[Any] = deque()
        self._exhausted = True

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    def _execute(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        self._cursor.execute(sql, parameters)
        return self._cursor.fetchmany(BATCH) if self._cursor.description else []

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        rows = await self._connection.run(partial(self._execute, sql, parameters))
        self._rows = deque(rows)
        self._exhausted = len(rows) < BATCH
        return self

    async def executemany(self, sql: str, seq_of_parameters: Any) -> Cursor:
        await self._connection.run(partial(self._cursor.executemany, sql, seq_of_parameters))
        self._rows, self._exhausted = deque(), True
        return self

    async def _more(self) -> bool:
        if self._exhausted:
            return False
        rows = await self._connection.run(partial(self._cursor.fetchmany, BATCH))
        self._rows.extend(rows)
        self._exhausted = len(rows) < BATCH
        return bool(rows)

    async def fetchone(self) -> Any:
        if not self._rows and not await self._more():
            return None
        return self._rows.popleft()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self._cursor.arraysize
        while len(self._rows) < size and await self._more():
            pass
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        while await self._more():
            pass
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def __aiter__(self) -> AsyncIterator[Any]:
        while self._rows or await self._more():
            yield self._rows.popleft()

    async def close(self) -> None:
        self._rows.clear()
        self._exhausted = True
        self._cursor.close()
