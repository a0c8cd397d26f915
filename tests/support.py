"""What tests share that is not a fixture: the logins, a browser-like client, settings, and waiting.

Test modules and ``conftest.py`` import from here; nothing imports ``conftest``. Importing this
module needs the environment ``conftest.py`` sets up first (it does so before anything else).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, TypeVar

from litestar.testing import TestClient

from laseros.settings import Settings
from tests.redis_server import redis_url_for_tests

T = TypeVar("T")

PASSWORDS = {role: f"{role}-password" for role in ("admin", "manager", "operator", "viewer")}
DISPLAY_NAMES = {"admin": "Ada Admin", "manager": "Mo Manager", "operator": "Olu Operator", "viewer": "Vi Viewer"}
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
STOCKED_ID = 1  # STOCKED_SHEET's id in every test database: 500 on hand, minimum 10

# The real Redis CI machines run; every test session gets its own key/channel/queue namespace.
REDIS_URL = redis_url_for_tests()
REDIS_NAMESPACE = f"laseros-test-{os.getpid()}"

# The PostgreSQL server the PostgreSQL tests create their databases on (they skip without one).
POSTGRES_SERVER = os.environ.get("LASEROS_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": f"sqlite+aiosqlite:///{data_dir / 'laseros.db'}",
        "secret_key": "test-secret-key",
        "redis_url": REDIS_URL,
        "redis_namespace": REDIS_NAMESPACE,
        # Tests run jobs themselves (or start a worker where that is the point).
        "worker_mode": "off",
        # Refused sign-ins answer at once (test_sign_in_limits checks the throttle itself).
        "login_failure_delay_s": 0.0,
    }
    return Settings(**{**values, **overrides})  # type: ignore[arg-type]


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


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from synchronous test code."""
    return asyncio.run(coro)


def wait_for(check: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy (and return that); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """``call()``'s result and how many seconds it took."""
    started = time.monotonic()
    return call(), time.monotonic() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def db_path(settings: Settings) -> Path:
    return settings.data_dir / "laseros.db"


def sql(settings: Settings, statement: str, params: tuple = ()) -> list[tuple]:
    """Run one statement on the test's SQLite database from outside the app (waiting out a writer)."""
    conn = sqlite3.connect(db_path(settings), timeout=30)
    try:
        with conn:
            return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def browser(settings: Settings, role: str = "manager") -> ShopClient:
    """A client of its own app instance, logged in as ``role`` in PC mode; the caller closes it."""
    from laseros.app import create_app

    client = ShopClient(app=create_app(settings))
    client.__enter__()
    assert client.login(role, PASSWORDS[role], "pc").status_code == 303
    return client


@dataclass
class Inbox:
    """What a real SMTP server (aiosmtpd, the ``smtp_server`` fixture) received in the test."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


def smtp_settings(settings: Settings, port: int) -> Settings:
    """``settings`` sending through the SMTP server on loopback ``port`` (no retry waits)."""
    return replace(
        settings, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, smtp_from="shop@example.com",
        smtp_retry_delay_s=0.0,
    )  # fmt: skip


def deliver_now(settings: Settings, communication_id: int) -> dict[str, Any]:
    """Run the ``send-email`` job for one message, as the worker does."""
    from laseros.jobs.tasks import run_now
    from laseros.services import open_services

    async def go() -> dict[str, Any]:
        async with open_services(settings) as services:
            return await run_now("send-email", services, communication_id=communication_id)

    return run(go())
