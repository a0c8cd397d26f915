"""The bell across processes: every commit that changes notifications is announced on Redis.

The domain fires its bell signal (``notifications.bell.on_bell_change``) after a commit; the
publisher installed in each process (the web app, and a separate ``laseros worker``) turns it
into one PUBLISH on ``<namespace>:bell``. Each web process listens with one subscription
(``web.live.BellHub``) and hands the new badge to the pages it serves.

Redis is never needed for correctness: a publish runs in the background with short timeouts and
its failure is only logged; the pages then poll ``/notifications/count``, which reads the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from laseros.domain.notifications.bell import on_bell_change
from laseros.jobs.broker import app_redis

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 1.0  # a publish that takes longer is dropped; the pages' polling covers it

UrlSource = Callable[[], str | None]
Uninstall = Callable[[], Awaitable[None]]


def bell_channel(namespace: str) -> str:
    return f"{namespace}:bell"


class BellPublisher:
    """Announces "the open set changed" on the bell channel without ever holding up the caller.

    The domain's signal runs after the commit, inside the request (or job); the PUBLISH runs in a
    background task instead, and changes that arrive while one is in flight are folded into one
    more publish, so a burst of commits or a dead Redis never piles up work.
    """

    def __init__(self, redis_url: UrlSource, channel: str) -> None:
        self.loop = asyncio.get_running_loop()
        self.channel = channel
        self._redis_url = redis_url
        self._client: Redis | None = None
        self._client_url: str | None = None
        self._again = False
        self._task: asyncio.Task[None] | None = None

    async def __call__(self) -> None:
        # The signal is process-wide; tests run several apps, each on its own event loop, and each
        # loop's publisher announces that loop's commits (a Redis client belongs to one loop).
        if asyncio.get_running_loop() is not self.loop:
            return
        self._again = True
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._publish(), name="bell-publish")

    async def _publish(self) -> None:
        while self._again:
            self._again = False
            url = self._redis_url()
            if not url:
                return
            try:
                if self._client is None or self._client_url != url:
                    await self._close_client()
                    self._client, self._client_url = app_redis(url), url
                await asyncio.wait_for(self._client.publish(self.channel, "changed"), PUBLISH_TIMEOUT_S)
            except (RedisError, OSError, TimeoutError) as failed:
                log.info("Bell change not pushed (%s); open pages pick it up by polling.", failed)
                return
            except Exception:  # a background task: an error here must be seen, and must not spread
                log.exception("Bell change not pushed")
                return

    async def _close_client(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()

    async def close(self) -> None:
        """Let a publish in flight finish (briefly), then close the connection."""
        if self._task is not None and not self._task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, PUBLISH_TIMEOUT_S)
        await self._close_client()


@dataclass
class _Installed:
    publisher: BellPublisher
    unsubscribe: Callable[[], None]
    users: int = 1


# One publisher per (event loop, channel): a worker running inline in the web process installs the
# same one the app did instead of announcing every change twice.
_installed: dict[tuple[asyncio.AbstractEventLoop, str], _Installed] = {}


def install_publisher(redis_url: str | UrlSource, namespace: str) -> Uninstall:
    """Publish this process's notification changes to every web process's bell; returns ``uninstall``.

    Call it from the running event loop at start-up (the web app does; so must a separate worker
    process), and ``await uninstall()`` at shutdown. ``redis_url`` may be a function, read at each
    publish, for a Redis whose address is only known once the app has started.
    """
    source: UrlSource = redis_url if callable(redis_url) else (lambda: redis_url)
    key = (asyncio.get_running_loop(), bell_channel(namespace))
    installed = _installed.get(key)
    if installed is not None:
        installed.users += 1
    else:
        publisher = BellPublisher(source, key[1])
        installed = _installed[key] = _Installed(publisher, on_bell_change(publisher))
    done = False

    async def uninstall() -> None:
        nonlocal done
        if done:
            return
        done = True
        installed.users -= 1
        if installed.users == 0:
            _installed.pop(key, None)
            installed.unsubscribe()
            await installed.publisher.close()

    return uninstall
