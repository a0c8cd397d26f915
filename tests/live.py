"""A pytest plugin: the app served by uvicorn in a thread, for tests about concurrency between requests.

The Litestar test client runs one request at a time per client; these tests need two requests
in flight in one web process (one held, one that must not wait for it), so they talk HTTP to a
real server, configured as ``laseros serve`` configures it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from laseros.app import create_app
from laseros.settings import Settings
from tests.support import PASSWORDS


class LiveApp:
    def __init__(self, settings: Settings) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=settings.trusted_proxies or None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.clients: list[httpx.Client] = []

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.server.should_exit = True
        self.thread.join(15)

    def anonymous(self, **headers: str) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30, headers=headers)
        self.clients.append(client)
        client.get("/auth/login")
        client.headers["x-csrftoken"] = client.cookies["csrftoken"]
        return client

    def client(self, role: str) -> httpx.Client:
        """A client logged in as the test user of ``role`` (PC mode, or phone for an operator)."""
        client = self.anonymous()
        answer = client.post("/auth/login", data={"username": role, "password": PASSWORDS[role]})
        assert answer.status_code == 303, answer.text[:300]
        client.post("/auth/select-mode", data={"mode": "phone" if role == "operator" else "pc"})
        return client


@pytest.fixture
def served_app(settings: Settings) -> Iterator[LiveApp]:
    live = LiveApp(settings)
    live.start()
    try:
        yield live
    finally:
        live.stop()
