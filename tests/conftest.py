"""Test setup: a migrated template database with one user per role, copied for each test.

The fixtures every test module may ask for live here, once: the app and its settings, a client
per role (``admin``, ``manager``, ``operator``, ``viewer``, ``login_as(role)``), the database,
Redis namespaces, the fake Sage server and the PostgreSQL database. Helpers that are not fixtures
are in ``tests.support`` (and ``tests.sage_support``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The app served by uvicorn in a thread, for tests with two requests in flight (tests/live.py).
pytest_plugins = ["tests.live"]

# Settings are read from the environment: point it at a scratch folder before the app is imported.
_SCRATCH = Path(tempfile.mkdtemp(prefix="laseros-tests-"))
os.environ.setdefault("LASEROS_DATA_DIR", str(_SCRATCH / "env"))
os.environ["LASEROS_SECRET_KEY"] = "test-secret-key"

import redis  # noqa: E402
from litestar import Litestar  # noqa: E402

from laseros import migrate  # noqa: E402
from laseros.app import create_app  # noqa: E402
from laseros.db import Database  # noqa: E402
from laseros.domain.admin.services import UserService  # noqa: E402
from laseros.domain.inventory.schemas import ItemInput  # noqa: E402
from laseros.domain.inventory.services import InventoryService  # noqa: E402
from laseros.domain.kernel.actor import SYSTEM  # noqa: E402
from laseros.domain.kernel.shop import DEFAULT_MATERIALS, DEFAULT_SHEET_SIZES, ShopCalendar  # noqa: E402
from laseros.settings import Settings  # noqa: E402
from tests.fake_sage import FakeSage, FakeSageServer  # noqa: E402
from tests.sage_support import endpoints_for  # noqa: E402
from tests.support import (  # noqa: E402
    DISPLAY_NAMES,
    PASSWORDS,
    POSTGRES_SERVER,
    REDIS_NAMESPACE,
    REDIS_URL,
    STOCKED_SHEET,
    Inbox,
    ShopClient,
    browser,
    free_port,
    make_settings,
    run,
)


async def _add_users_and_stock(settings: Settings, users: dict[str, str]) -> None:
    """One login per role (``users``: role → display name) and the well-stocked sheet the factories' projects use."""
    db = Database.from_settings(settings)
    try:
        for role, display_name in users.items():
            async with db.session(write=True) as session:
                await UserService(session).create(role, PASSWORDS[role], role, display_name)
        # Well stocked, so paid jobs queue unless a test says otherwise.
        async with db.session(write=True) as session:
            await InventoryService(session, SYSTEM, ShopCalendar("Africa/Johannesburg")).create(
                ItemInput.parse(
                    STOCKED_SHEET, materials=DEFAULT_MATERIALS, sheet_sizes=DEFAULT_SHEET_SIZES, creating=True
                )
            )
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def template_db() -> Path:
    """A migrated database with one login per role, made once and copied per test."""
    folder = _SCRATCH / "template"
    folder.mkdir()
    settings = make_settings(folder)
    migrate.upgrade(settings)
    run(_add_users_and_stock(settings, DISPLAY_NAMES))
    return folder / "laseros.db"


@pytest.fixture
def settings(template_db: Path, tmp_path: Path) -> Settings:
    shutil.copy(template_db, tmp_path / "laseros.db")
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
def anon(app: Litestar) -> Iterator[ShopClient]:
    with ShopClient(app=app) as client:
        yield client


@pytest.fixture
def login_as(settings: Settings) -> Iterator[Callable[..., ShopClient]]:
    """``login_as("manager")`` → a client logged in with that role (PC mode unless it is an operator).

    Each client gets its own app instance over the shared database, like separate browsers talking
    to separate web processes (a test client runs its app on its own event loop, and engines must not
    be shared across loops).
    """
    clients: list[ShopClient] = []

    def factory(role: str, mode: str | None = None) -> ShopClient:
        client = ShopClient(app=create_app(settings))
        client.__enter__()
        clients.append(client)
        chosen = mode or ("phone" if role == "operator" else "pc")
        response = client.login(role, PASSWORDS[role], chosen)
        assert response.status_code == 303, response.text
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def admin(login_as: Callable[..., ShopClient]) -> ShopClient:
    """Ada Admin, logged in on a PC."""
    return login_as("admin")


@pytest.fixture
def manager(login_as: Callable[..., ShopClient]) -> ShopClient:
    """Mo Manager, logged in on a PC."""
    return login_as("manager")


@pytest.fixture
def operator(login_as: Callable[..., ShopClient]) -> ShopClient:
    """Olu Operator, logged in on a phone."""
    return login_as("operator")


@pytest.fixture
def viewer(login_as: Callable[..., ShopClient]) -> ShopClient:
    """Vi Viewer, logged in on a PC."""
    return login_as("viewer")


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on loopback: what it received, and its port."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The test database's engines, outside any app (disposed afterwards)."""
    database = Database.from_settings(settings)
    yield database
    run(database.dispose())


@pytest.fixture
def db_query(settings: Settings) -> Callable[..., list[tuple]]:
    """Run one SQL statement against the test database (outside the app)."""

    def query(statement: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
            return conn.execute(statement, params).fetchall()

    return query


# -- Sage ----------------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeSage]:
    """The fake Sage server (both back ends), on a free port for this test."""
    with FakeSageServer() as server:
        yield server


@pytest.fixture
def sage_settings(settings: Settings, fake: FakeSage) -> Settings:
    """The test's settings with every Sage endpoint pointed at the fake, and no pacing."""
    return make_settings(settings.data_dir, sage=endpoints_for(fake))


@pytest.fixture
def admin_on_sage(sage_settings: Settings) -> Iterator[ShopClient]:
    """An admin on an app talking to the fake Sage."""
    client = browser(sage_settings, "admin")
    yield client
    client.__exit__(None, None, None)


# -- Redis ----------------------------------------------------------------------------------------------


@pytest.fixture
def ci_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def namespace() -> Iterator[str]:
    """A Redis namespace (keys, queue) of this test's own on CI's Redis, cleaned up afterwards."""
    ns = f"{REDIS_NAMESPACE}-{uuid.uuid4().hex[:8]}"
    yield ns
    client = redis.Redis.from_url(REDIS_URL)
    for pattern in (f"saq:{ns}:*", f"saq:job:{ns}:*", f"{ns}:*"):
        keys = list(client.scan_iter(pattern))
        if keys:
            client.delete(*keys)
    client.close()


# -- PostgreSQL -----------------------------------------------------------------------------------------


async def _postgres_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_SERVER.replace("+asyncpg", "") + "/postgres", timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _postgres_refusals() -> tuple[type[BaseException], ...]:
    """Why a PostgreSQL server that answers may still not give these tests a database of their own."""
    try:
        from asyncpg import exceptions
    except ImportError:
        return ()
    return (
        exceptions.InvalidAuthorizationSpecificationError,  # no such role, or pg_hba refuses it
        exceptions.InvalidPasswordError,
        exceptions.InsufficientPrivilegeError,  # the role may not CREATE DATABASE
        exceptions.InvalidCatalogNameError,  # no "postgres" database to connect to
        exceptions.CannotConnectNowError,  # starting up or shutting down
        exceptions.TooManyConnectionsError,
    )


@pytest.fixture(scope="module")
def pg_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A migrated PostgreSQL database of this module's own with a manager, an admin and the stocked sheet.

    Skips when no server answers at LASEROS_TEST_POSTGRES, or when it answers but refuses the role,
    the password or the CREATE DATABASE.
    """
    name = f"laseros_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, ImportError, TimeoutError) as unavailable:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_SERVER}: {unavailable!r}")
    except _postgres_refusals() as refused:
        pytest.skip(f"PostgreSQL at {POSTGRES_SERVER} refused to make a test database: {refused!r}")
    try:
        settings = Settings(
            data_dir=tmp_path_factory.mktemp("pg"),
            database_url=f"{POSTGRES_SERVER}/{name}",
            secret_key="test-secret-key",
            redis_url=REDIS_URL,
            redis_namespace=REDIS_NAMESPACE,
            worker_mode="off",
        )
        migrate.upgrade(settings)
        run(_add_users_and_stock(settings, {"manager": "Pg Manager", "admin": "Pg Admin"}))
        yield settings
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture(autouse=True, scope="session")
def _cleanup_scratch() -> Iterator[None]:
    yield
    shutil.rmtree(_SCRATCH, ignore_errors=True)
