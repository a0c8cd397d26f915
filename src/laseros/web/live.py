"""The live bell on the pages: one Redis subscription per web process, fanned out to SSE streams.

Publishing is ``laseros.bell`` (shared with the worker). Listening: each web process holds ONE
subscription (the hub) whatever the number of open pages; on a message it reads the open count
once and hands the badge to every SSE stream it serves. Several web processes each do the same.
Without a subscription the stream refuses (503) or ends, and the pages poll
``/notifications/count``, which reads the database.

Litestar's ChannelsPlugin was weighed for this fan-out (docs/architecture.md): it delivers each
message to every subscriber, so 200 open pages would each read the count (200 queries per change
instead of one), and the worker process, which has no Litestar app, publishes anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from litestar.response.sse import ServerSentEventMessage
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from laseros.bell import Uninstall, UrlSource, bell_channel, install_publisher
from laseros.db import Database
from laseros.domain.notifications.bell import open_count
from laseros.jobs.broker import subscriber_redis

if TYPE_CHECKING:
    from litestar import Litestar

log = logging.getLogger(__name__)

BELL_EVENT = "bell"  # the SSE event name the bell's badge listens for (sse-swap="bell")
KEEPALIVE_S = 15.0  # a comment on an idle stream, so proxies and browsers keep it open
RECONNECT_MS = 2000  # how soon a browser reopens a stream that ended
RESUBSCRIBE_MAX_S = 5.0  # the hub's longest wait between attempts to reach Redis


# -- listening and fanning out ------------------------------------------------------------------------


class BellHub:
    """This process's one subscription to the bell channel, fanned out to every open stream.

    Each stream has a mailbox holding at most the latest badge: a slow page gets the newest count,
    never a backlog. When the subscription is lost every stream is ended (the pages poll) and the
    hub keeps trying to subscribe again; new streams are refused until it has.
    """

    def __init__(self, db: Database, redis_url: UrlSource, channel: str, badge: Callable[[int], str]) -> None:
        self.db = db
        self.channel = channel
        self._redis_url = redis_url
        self._badge = badge
        self._mailboxes: set[asyncio.Queue[str | None]] = set()
        self._live = False
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def live(self) -> bool:
        """Subscribed right now (and not shutting down): a stream opened now will hear every change."""
        return self._live and not self._closing

    @property
    def streams(self) -> int:
        return len(self._mailboxes)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="bell-hub")

    def close_streams(self) -> None:
        """The server is stopping: end every stream now and open no more."""
        self._closing = True
        self._end_streams()

    async def stop(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._end_streams()

    async def badge_now(self) -> str:
        async with self.db.session(write=False) as session:
            return self._badge(await open_count(session))

    async def _listen(self) -> None:
        wait = 0.25
        while True:
            url = self._redis_url()
            if url:
                client = subscriber_redis(url, int(KEEPALIVE_S))
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                try:
                    await pubsub.subscribe(self.channel)
                    self._live, wait = True, 0.25
                    log.debug("Bell hub subscribed to %s", self.channel)
                    await self._relay(pubsub)
                except (RedisError, OSError) as lost:
                    if self._live:
                        log.warning("Bell hub lost Redis (%s); open pages poll until it is back.", lost)
                except Exception:  # anything else: log it and try again, the pages poll meanwhile
                    log.exception("Bell hub failed; subscribing again")
                finally:
                    self._live = False
                    self._end_streams()
                    with contextlib.suppress(RedisError, OSError):
                        await pubsub.aclose()
                    with contextlib.suppress(RedisError, OSError):
                        await client.aclose()
            await asyncio.sleep(wait)
            wait = min(wait * 2, RESUBSCRIBE_MAX_S)

    async def _relay(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=KEEPALIVE_S)
            if message is None:  # idle (or the health check's pong)
                continue
            # A burst (the hourly pass, several processes) costs one count: drain what is waiting.
            while await pubsub.get_message(timeout=0) is not None:
                pass
            if self._mailboxes:
                await self._broadcast()

    async def _broadcast(self) -> None:
        try:
            badge = await self.badge_now()
        except SQLAlchemyError:
            log.warning("Bell count could not be read; pages keep the last one", exc_info=True)
            return
        for mailbox in list(self._mailboxes):
            _post(mailbox, badge)

    def _end_streams(self) -> None:
        for mailbox in list(self._mailboxes):
            _post(mailbox, None)

    async def stream(self) -> AsyncIterator[ServerSentEventMessage]:
        """One page's events: the badge now, then on every change; ends when the hub loses Redis."""
        mailbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=1)
        self._mailboxes.add(mailbox)
        try:
            if not self.live:  # lost Redis, or began shutting down, since the request was let in
                return
            # The page was drawn a moment ago, and anything may have changed since: start from now.
            try:
                first = await self.badge_now()
            except SQLAlchemyError:
                log.warning("Bell count could not be read for a new stream", exc_info=True)
                return
            yield ServerSentEventMessage(event=BELL_EVENT, data=first, retry=RECONNECT_MS)
            while True:
                try:
                    badge = await asyncio.wait_for(mailbox.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield ServerSentEventMessage(comment="keep-alive", data=None)
                    continue
                if badge is None:
                    return
                yield ServerSentEventMessage(event=BELL_EVENT, data=badge)
        finally:
            self._mailboxes.discard(mailbox)


def _post(mailbox: asyncio.Queue[str | None], item: str | None) -> None:
    """Leave only the newest item in the mailbox."""
    while mailbox.full():
        mailbox.get_nowait()
    mailbox.put_nowait(item)


# -- the app's start-up and shutdown ------------------------------------------------------------------


def _app_redis_url(app: Litestar) -> UrlSource:
    settings = app.state.settings

    def redis_url() -> str | None:
        # The jobs runtime sets app.state.redis_url at start-up (an embedded Redis has its socket
        # only then); read at each use so the order of start-up hooks does not matter.
        return app.state.get("redis_url") or settings.redis_url

    return redis_url


def _close_streams_on_exit_signals(hub: BellHub) -> Callable[[], None]:
    """End the streams as soon as the server is told to stop; returns the undo.

    uvicorn's graceful shutdown waits for every open response to finish, and a stream only
    finishes when its page goes away, so without this a shutdown hangs for as long as any page is
    open. The server installs its SIGINT/SIGTERM handlers before start-up; ours runs first and
    hands over to them. Only the main thread may set handlers (tests serve from other threads).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    installed: dict[signal.Signals, tuple[Any, Any]] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue  # the default (or no) handler: nothing waits on the streams

        def on_signal(number: int, frame: Any, previous: Callable[[int, Any], Any] = previous) -> None:
            loop.call_soon_threadsafe(hub.close_streams)
            previous(number, frame)

        signal.signal(signum, on_signal)
        installed[signum] = (on_signal, previous)

    def undo() -> None:
        for signum, (ours, previous) in installed.items():
            if signal.getsignal(signum) is ours:
                signal.signal(signum, previous)

    return undo


async def start(app: Litestar) -> None:
    """on_startup: announce this process's changes and listen for everyone's."""
    settings = app.state.settings
    redis_url = _app_redis_url(app)
    badge_macro = app.template_engine.engine.globals["bell_badge"]  # type: ignore[union-attr]  # always configured
    hub = BellHub(app.state.db, redis_url, bell_channel(settings.redis_namespace), lambda n: str(badge_macro(n)))
    app.state.bell_uninstall = install_publisher(redis_url, settings.redis_namespace)
    app.state.bell_hub = hub
    app.state.bell_signals_undo = _close_streams_on_exit_signals(hub)
    hub.start()


async def stop(app: Litestar) -> None:
    """on_shutdown: end the streams, drop the subscription, stop announcing."""
    undo_signals: Callable[[], None] | None = app.state.get("bell_signals_undo")
    if undo_signals is not None:
        undo_signals()
    hub: BellHub | None = app.state.get("bell_hub")
    if hub is not None:
        await hub.stop()
    uninstall: Uninstall | None = app.state.get("bell_uninstall")
    if uninstall is not None:
        await uninstall()
