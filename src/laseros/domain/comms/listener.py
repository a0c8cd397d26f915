"""The optional inbound SMTP listener (``LASEROS_INBOUND_SMTP_PORT``): mail delivered to it goes
through the same parser as the webhook (``inbound.InboundMail.receive``).

It runs on the web app's event loop, on ``LASEROS_INBOUND_SMTP_HOST`` (loopback by default: put
it behind the shop's mail relay, which forwards the shop's address to it). Start one web process
with it; a second would find the port taken and log that it is not listening.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

from laseros.db import Database
from laseros.domain.comms.inbound import MAX_MESSAGE_BYTES, InboundMail, NotAnEmail
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.shop import ShopCalendar

log = logging.getLogger(__name__)

LISTENER_ACTOR = Actor(None, "Inbound SMTP")


class _Handler:
    def __init__(self, db: Database, calendar: ShopCalendar, data_dir: Path) -> None:
        self.db = db
        self.calendar = calendar
        self.data_dir = data_dir

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or b""
        try:
            async with self.db.session(write="actions") as db_session:
                await InboundMail(db_session, LISTENER_ACTOR, self.calendar, self.data_dir).receive(raw)
        except NotAnEmail as bad:
            return f"550 {bad.errors['email']}"
        except Exception:
            log.exception("inbound SMTP: could not store a message")
            return "451 Could not store the message now; try again later"
        return "250 Message received"


class InboundListener:
    def __init__(self, db: Database, calendar: ShopCalendar, data_dir: Path, host: str, port: int) -> None:
        self.handler = _Handler(db, calendar, data_dir)
        self.host = host
        self.port = port
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        if not self.port:
            return
        loop = asyncio.get_running_loop()
        try:
            self.server = await loop.create_server(
                lambda: SMTP(self.handler, data_size_limit=MAX_MESSAGE_BYTES, hostname="laseros"),
                host=self.host,
                port=self.port,
            )
        except OSError as failed:
            log.warning("inbound SMTP listener not started on %s:%s: %s", self.host, self.port, failed)
            return
        log.info("inbound SMTP listener on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
