"""End-to-end setup: one real Laser OS server per session, one fresh browser context per test.

The server is started as a subprocess exactly as a shop would run it (`laseros serve`), on a
free port with its own temporary data folder, so it migrates an empty SQLite database and
loads the demo shop on first start. Tests share that server; they create records with
unique names so they never depend on each other.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect
from tests.redis_server import redis_url_for_tests

from e2e.helpers import DESKTOP, phone_context_args

ROOT = Path(__file__).resolve().parent.parent
# Debian's Chromium (`make chromium` installs it); Playwright cannot download its own browser here.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 60

expect.set_options(timeout=10_000)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _laseros_command() -> list[str]:
    script = ROOT / ".venv" / "bin" / "laseros"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "laseros"]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"laseros serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"laseros serve did not answer {url} within {STARTUP_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """Base URL of a real `laseros serve` with the demo shop loaded."""
    data_dir = Path(tempfile.mkdtemp(prefix="laseros-e2e-"))
    port = _free_port()
    env = {
        **os.environ,
        "LASEROS_DATA_DIR": str(data_dir),
        "LASEROS_SECRET_KEY": "e2e-secret",
        # Jobs and the live bell go through the real Redis CI runs, in a namespace of this run's own.
        "REDIS_URL": redis_url_for_tests(),
        "LASEROS_REDIS_NAMESPACE": f"laseros-e2e-{os.getpid()}",
    }
    log = data_dir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_laseros_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/auth/login", process, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """pytest-playwright passes this to every new context, so tests can goto("/path")."""
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system Chromium, headless unless --headed, with flags for a container."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(params=["desktop", "phone"])
def form_factor(request: pytest.FixtureRequest) -> str:
    """Every browser test runs on a 1366x900 desktop and on a Pixel 7."""
    return str(request.param)


@pytest.fixture
def context(new_context: Any, playwright: Playwright, form_factor: str) -> BrowserContext:
    """A fresh context (own cookies) per test, sized for the form factor under test."""
    args = DESKTOP if form_factor == "desktop" else phone_context_args(playwright)
    ctx: BrowserContext = new_context(**args)
    ctx.set_default_timeout(15_000)
    return ctx


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
