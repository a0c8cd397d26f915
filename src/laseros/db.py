"""Engine, sessions and column types.

SQLite is tuned per SPEC §10: WAL, busy_timeout, foreign keys, synchronous=NORMAL, and every
write transaction opens with ``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead
of failing with "database is locked" when a deferred transaction tries to upgrade.

Within one process, writes go through a pool of exactly one connection: SQLite runs one writer
at a time anyway, and waiting in the pool's queue is first-come first-served with no delay,
where waiting in SQLite's busy handler sleeps in steps of up to 100 ms (docs/performance.md).
busy_timeout still covers other processes (a worker, the CLI).

A web request that may write gets a session in "actions" mode: it reads through the reading
engine, and only a service method marked ``@action`` takes the writer (BEGIN IMMEDIATE) for the
length of that one user action. So a form refused before or by its action, and the page drawn
after it, never hold the write lock or the writer connection (docs/architecture.md).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeDecorator

from laseros import sqlite_driver
from laseros.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "laseros_write"
# Rows sampled per index when the planner's statistics are refreshed (``Database.refresh_statistics``).
ANALYSIS_LIMIT = 400

log = logging.getLogger(__name__)

CommitHook = Callable[["UnitOfWork"], Awaitable[None]]
AfterCommit = Callable[[], Awaitable[None]]
# "read": reads only; "write": every transaction writes (jobs, the CLI); "actions": reads, and
# each ``@action`` is one write transaction (a web request that may write).
Mode = Literal["read", "write", "actions"]

P = ParamSpec("P")
R = TypeVar("R")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ScaledDecimal(TypeDecorator[Decimal]):
    """An exact decimal stored as a scaled integer (money in cents, thickness in 1/100 mm)."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int = 2) -> None:
        super().__init__()
        self.places = places
        self.factor = 10**places

    def process_bind_param(self, value: Decimal | int | float | None, dialect: Any) -> int | None:
        if value is None:
            return None
        return int((Decimal(str(value)) * self.factor).to_integral_value())

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(value) / self.factor).quantize(Decimal(1).scaleb(-self.places))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampedBase(Base):
    __abstract__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class WriteOutsideAction(RuntimeError):
    """A write was attempted by a session that is not inside an ``@action`` (a bug, not user input)."""


class _RoutedSession(Session):
    """The sync session under ``UnitOfWork``: each transaction goes to the writer only while writing."""

    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Engine:
        reading, writing = self.info["binds"]
        return writing if self.info["writing"] else reading


@event.listens_for(_RoutedSession, "before_flush")
def _refuse_flush_outside_action(session: Session, _context: Any, _instances: Any) -> None:
    if session.info["writing"]:
        return
    changed = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    if session.new or session.deleted or changed:
        raise WriteOutsideAction(f"changes flushed outside an @action: {[*session.new, *changed, *session.deleted]}")


@event.listens_for(_RoutedSession, "do_orm_execute")
def _refuse_dml_outside_action(state: ORMExecuteState) -> None:
    if not state.session.info["writing"] and (state.is_insert or state.is_update or state.is_delete):
        raise WriteOutsideAction("a write statement outside an @action (mark the service method that writes)")


class UnitOfWork(AsyncSession):
    """A session whose ``commit()`` also runs the work an action implies, in one place.

    ``before_commit`` hooks run inside the transaction, just before it commits (the watcher that
    re-evaluates notifications for what the action touched registers one), so their writes commit or
    roll back with the action. ``after_commit`` callbacks run only once the commit succeeded (bell
    pushes, job enqueues): a rolled-back action never announces anything. Their failures are logged,
    never raised: the user's data is already safe.
    """

    sync_session_class = _RoutedSession

    @property
    def writing(self) -> bool:
        return bool(self.info["writing"])

    @asynccontextmanager
    async def action(self) -> AsyncIterator[None]:
        """One user action: one write transaction, committed at the end (rolled back on error).

        In "actions" mode what was read before is let go first (objects loaded so far stay
        readable, detached), so the action reads afresh under the write lock; afterwards the
        session reads through the reading engine again. Inside another action, or in a "write"
        session, this is just the code it wraps.
        """
        if self.info["writing"]:
            yield
            return
        if self.info["mode"] != "actions":
            raise WriteOutsideAction("a read-only session cannot run an action")
        self.sync_session.expunge_all()
        await self.rollback()
        self.info["writing"] = True
        try:
            with sqlite_driver.statements_inline():  # the writer's statements run on the loop: one stretch
                try:
                    yield
                    if self.in_transaction() or self.info.get("before_commit"):  # hooks: work still to write
                        await self.commit()
                except BaseException:
                    await self.rollback()
                    raise
        finally:
            self.info["writing"] = False

    def before_commit(self, key: str, hook: CommitHook) -> None:
        """Run ``hook(session)`` before this transaction commits (once per key)."""
        self.info.setdefault("before_commit", {})[key] = hook

    def pending(self, key: str) -> list[Any]:
        """What the caller keeps for a before-commit hook to write (one list per key); a rollback drops it."""
        lists: dict[str, list[Any]] = self.info.setdefault("pending", {})
        return lists.setdefault(key, [])

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback()`` after this transaction commits."""
        self.info.setdefault("after_commit", []).append(callback)

    async def commit(self) -> None:
        hooks: dict[str, CommitHook] = self.info.get("before_commit", {})
        while hooks:  # a hook may register another
            _key, hook = hooks.popitem()
            await hook(self)
        await super().commit()
        callbacks: list[AfterCommit] = self.info.pop("after_commit", [])
        for callback in callbacks:
            try:
                await callback()
            except Exception:  # the commit stands; a lost push is repaired by the next pass
                log.exception("after-commit callback failed")

    async def rollback(self) -> None:
        self._drop_pending()
        await super().rollback()

    async def close(self) -> None:
        self._drop_pending()
        await super().close()

    def _drop_pending(self) -> None:
        """What the hooks would have done, and what was kept for them to write."""
        for key in ("before_commit", "after_commit", "pending"):
            self.info.pop(key, None)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transaction control is SQLAlchemy's "begin" event below (the connection is made with
        # isolation_level=None, busy_timeout as sqlite_driver.BUSY_TIMEOUT_MS).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN")


def create_engine(settings: Settings, *, writer: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if settings.is_sqlite:
        kwargs["pool_size"] = 1 if writer else 10
        kwargs["max_overflow"] = 0 if writer else 20
        kwargs["pool_timeout"] = 60
        kwargs["async_creator"] = sqlite_driver.connector(settings.database_url, writer=writer)
    engine = create_async_engine(settings.database_url, **kwargs)
    if settings.is_sqlite:
        _tune_sqlite(engine)
    return engine


@dataclass
class Database:
    """Reading and writing engines with a session factory each: reads begin deferred, writes immediate.

    On SQLite the writing engine is a separate one-connection pool (see the module docstring);
    on PostgreSQL both are the same engine.
    """

    engine: AsyncEngine
    write_engine: AsyncEngine

    def __post_init__(self) -> None:
        self._sessions = async_sessionmaker(class_=UnitOfWork, expire_on_commit=False)
        self._binds = (
            self.engine.sync_engine,
            self.write_engine.execution_options(**{WRITE_OPTION: True}).sync_engine,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        engine = create_engine(settings)
        return cls(engine, create_engine(settings, writer=True) if settings.is_sqlite else engine)

    def new_session(self, mode: Mode) -> UnitOfWork:
        """A session in ``mode`` (see ``Mode``); the caller closes it."""
        return self._sessions(info={"binds": self._binds, "mode": mode, "writing": mode == "write"})

    @asynccontextmanager
    async def session(self, *, write: bool | Literal["actions"]) -> AsyncIterator[UnitOfWork]:
        """A session for one unit of work; uncommitted work is rolled back on exit.

        ``write=True``: every transaction writes (BEGIN IMMEDIATE on the writer); ``False``: reads
        only; ``"actions"``: reads, and each ``@action`` service call writes (web requests).
        """
        mode: Mode = "actions" if write == "actions" else "write" if write else "read"
        async with self.new_session(mode) as session:
            yield session

    async def refresh_statistics(self) -> bool:
        """Bring SQLite's query-planner statistics up to date (at start-up and nightly); False on PostgreSQL.

        Without statistics SQLite guesses, and on a shop's years of rows it can guess badly: the queue
        page sorted all 5 000 active items through the status index instead of reading its first 100
        from the partial rank index (3.4 ms against 0.4 ms). ``PRAGMA optimize`` alone does not make
        them: before SQLite 3.46 it only analyses tables this connection has already queried, and at
        start-up none has. ANALYZE with ``analysis_limit`` samples each index instead of reading it
        whole: about 10 ms for ten years of a busy shop. PostgreSQL's autovacuum keeps its own.
        """
        if self.engine.dialect.name != "sqlite":
            return False
        async with self.write_engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
            await conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()  # ANALYZE writes sqlite_stat1: keep it
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()


def quick_reads() -> AbstractContextManager[None]:
    """Reads known to be short (bounded by an index) run where the code is, without a thread hop each.

    On SQLite every other read goes to a thread and back once per statement (``sqlite_driver``); a
    handful of tiny ones on every request — the session lookup, the header's count, the active
    queue — cost more in hops than in SQL. Anything that may scan stays outside this block.
    """
    return sqlite_driver.statements_inline()


T = TypeVar("T")


def built_once(build: Callable[..., T]) -> Callable[..., T]:
    """A hot path's statement, built on its first use and reused after (per combination of arguments).

    Building a SELECT with a dozen columns and conditions costs a few tenths of a millisecond, and
    SQLAlchemy then walks the new tree again for its cache key; the same statement object keeps both
    (its cache key is memoised). So the statements an action or the queue page runs on every request
    take their values through ``bindparam`` (``expanding=True`` for an IN list) at execute time, and
    the builder's arguments choose only the shape (docs/architecture.md, "Hot statements").

    An UPDATE or DELETE built once must say ``synchronize_session=False``: SQLAlchemy would evaluate its
    criteria on the session's objects with the parameters' build-time values (none), not the ones executed.
    """

    @functools.cache
    def once(*args: Any, **kwargs: Any) -> T:
        statement = build(*args, **kwargs)
        if (
            isinstance(statement, UpdateBase)
            and statement.get_execution_options().get("synchronize_session") is not False
        ):
            raise TypeError(f"{build.__qualname__}: an UPDATE or DELETE built once needs synchronize_session=False")
        return statement

    return once


class HasSession(Protocol):
    @property
    def session(self) -> AsyncSession: ...


S = TypeVar("S", bound=HasSession)


def action(method: Callable[Concatenate[S, P], Awaitable[R]]) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Mark a service method as one user action: it runs in one write transaction (``UnitOfWork.action``)."""

    @functools.wraps(method)
    async def run(service: S, *args: P.args, **kwargs: P.kwargs) -> R:
        session = service.session
        if not isinstance(session, UnitOfWork):
            return await method(service, *args, **kwargs)
        async with session.action():
            return await method(service, *args, **kwargs)

    return run
