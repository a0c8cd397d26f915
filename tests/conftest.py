"""Test setup: a migrated template database with one user per role, copied for each test."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Settings are read from the environment: point it at a scratch folder before the app is imported.
_SCRATCH = Path(tempfile.mkdtemp(prefix="laseros-tests-"))
os.environ.setdefault("LASEROS_DATA_DIR", str(_SCRATCH / "env"))
os.environ["LASEROS_SECRET_KEY"] = "test-secret-key"

from litestar import Litestar  # noqa: E402
from litestar.testing import TestClient  # noqa: E402

from laseros import migrate  # noqa: E402
from laseros.app import create_app  # noqa: E402
from laseros.db import Database  # noqa: E402
from laseros.domain.admin.services import UserService  # noqa: E402
from laseros.domain.inventory.schemas import ItemInput  # noqa: E402
from laseros.domain.inventory.services import InventoryService  # noqa: E402
from laseros.domain.kernel.actor import SYSTEM  # noqa: E402
from laseros.domain.kernel.shop import DEFAULT_MATERIALS, DEFAULT_SHEET_SIZES, ShopCalendar  # noqa: E402
from laseros.settings import Settings  # noqa: E402
from tests.redis_server import redis_url_for_tests  # noqa: E402

PASSWORDS = {role: f"{role}-password" for role in ("admin", "manager", "operator", "viewer")}
STOCKED_SHEET = {
    "item_code": "MS-3-3015",
    "name": "Mild Steel 3 mm 3000x1500",
    "category": "Sheet",
    "material_type": "Mild Steel",
    "thickness_mm": "3.00",
    "sheet_size": "3000x1500",
    "unit": "sheets",
    "quantity_on_hand": "500",
    "min_required": "10",
    "reorder_quantity": "50",
    "unit_cost": "1450.00",
    "supplier_name": "Macsteel",
    "location": "Rack A",
}
DISPLAY_NAMES = {"admin": "Ada Admin", "manager": "Mo Manager", "operator": "Olu Operator", "viewer": "Vi Viewer"}


# The real Redis CI machines run; every test session gets its own key/channel/queue namespace.
REDIS_URL = redis_url_for_tests()
REDIS_NAMESPACE = f"laseros-test-{os.getpid()}"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": f"sqlite+aiosqlite:///{data_dir / 'laseros.db'}",
        "secret_key": "test-secret-key",
        "redis_url": REDIS_URL,
        "redis_namespace": REDIS_NAMESPACE,
        # Tests run jobs themselves (or start a worker where that is the point).
        "worker_mode": "off",
    }
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def template_db() -> Path:
    """A migrated database with one login per role, made once and copied per test."""
    folder = _SCRATCH / "template"
    folder.mkdir()
    settings = make_settings(folder)
    migrate.upgrade(settings)

    async def add_users() -> None:
        db = Database.from_settings(settings)
        for role, password in PASSWORDS.items():
            async with db.session(write=True) as session:
                await UserService(session).create(role, password, role, DISPLAY_NAMES[role])
        # The sheet the factories' projects use, well stocked, so paid jobs queue unless a test says otherwise.
        async with db.session(write=True) as session:
            await InventoryService(session, SYSTEM, ShopCalendar("Africa/Johannesburg")).create(
                ItemInput.parse(
                    STOCKED_SHEET, materials=DEFAULT_MATERIALS, sheet_sizes=DEFAULT_SHEET_SIZES, creating=True
                )
            )
        await db.dispose()

    asyncio.run(add_users())
    return folder / "laseros.db"


@pytest.fixture
def settings(template_db: Path, tmp_path: Path) -> Settings:
    shutil.copy(template_db, tmp_path / "laseros.db")
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


class ShopClient(TestClient):
    """A browser-like test client: keeps cookies and sends the CSRF token like htmx does."""

    def csrf(self) -> str:
        if "csrftoken" not in self.cookies:
            self.get("/auth/login")
        return self.cookies["csrftoken"]

    def post_form(self, url: str, data: dict | list | None = None, *, htmx: bool = False, **kwargs):  # type: ignore[no-untyped-def]
        headers = {"x-csrftoken": self.csrf(), **kwargs.pop("headers", {})}
        if htmx:
            headers["hx-request"] = "true"
        return self.post(url, data=data or {}, headers=headers, follow_redirects=False, **kwargs)

    def login(self, username: str, password: str, mode: str | None = "pc"):  # type: ignore[no-untyped-def]
        response = self.post_form("/auth/login", {"username": username, "password": password})
        if response.status_code == 303 and mode:
            self.post_form("/auth/select-mode", {"mode": mode})
        return response


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
def manager(login_as: Callable[..., ShopClient]) -> ShopClient:
    return login_as("manager")


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.fixture
def db_query(settings: Settings) -> Callable[[str], list[tuple]]:
    """Run a read-only SQL query against the test database (outside the app)."""
    import sqlite3

    def query(sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
            return conn.execute(sql, params).fetchall()

    return query


@pytest.fixture(autouse=True, scope="session")
def _cleanup_scratch() -> Iterator[None]:
    yield
    shutil.rmtree(_SCRATCH, ignore_errors=True)


pytest_plugins = ["tests.live"]
