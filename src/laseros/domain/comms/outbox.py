"""The embedded outbox: an SMTP server on loopback that keeps every message as ``.eml``.

With no ``LASEROS_SMTP_HOST``, ``laseros serve`` (and ``laseros worker``) start one for the data
folder, like the embedded Redis: a real SMTP conversation ends in ``<data folder>/outbox/``, so a
shop with nothing installed sends real mail end to end and reads it on the message's page. The
server's port is kept in ``outbox/server.json``; a second process on the same data folder uses the
running server instead of starting its own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import psutil
from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
SERVER_FILE = "server.json"
MAX_MESSAGE_BYTES = 30 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def outbox_dir(data_dir: Path) -> Path:
    return data_dir / "outbox"


def eml_name(message_id: str) -> str:
    """The file a message is kept in: its Message-ID made safe for a file name."""
    safe = _UNSAFE.sub("_", message_id.strip().strip("<>"))[:180]
    return f"{safe or uuid.uuid4().hex}.eml"


class _KeepHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or b""
        try:
            headers = BytesParser(policy=policy.default).parsebytes(content, headersonly=True)
            name = eml_name(str(headers.get("Message-ID", "") or ""))
        except Exception:  # a message we cannot read is still kept
            name = eml_name("")
        target = self.folder / name
        partial = target.with_suffix(".part")
        partial.write_bytes(content)
        os.replace(partial, target)
        return "250 Message kept in the local outbox"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def running_port(data_dir: Path) -> int | None:
    """The port of this data folder's outbox server when one is running (any process), else None."""
    try:
        info = json.loads((outbox_dir(data_dir) / SERVER_FILE).read_text())
        pid, port = int(info["pid"]), int(info["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not psutil.pid_exists(pid):
        return None
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return port
    except OSError:
        return None


@dataclass
class EmbeddedOutbox:
    """One aiosmtpd server (in its own thread) keeping mail in ``<data_dir>/outbox/``."""

    data_dir: Path
    controller: Controller | None = None
    port: int = 0

    def start(self) -> int:
        folder = outbox_dir(self.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.controller = Controller(
            _KeepHandler(folder), hostname=HOST, port=self.port, data_size_limit=MAX_MESSAGE_BYTES
        )
        self.controller.start()
        (folder / SERVER_FILE).write_text(json.dumps({"pid": os.getpid(), "port": self.port}))
        return self.port

    def stop(self) -> None:
        if self.controller is None:
            return
        with contextlib.suppress(Exception):
            self.controller.stop()
        self.controller = None
        server_file = outbox_dir(self.data_dir) / SERVER_FILE
        with contextlib.suppress(OSError, ValueError, KeyError):
            if json.loads(server_file.read_text())["pid"] == os.getpid():
                server_file.unlink()


@contextlib.contextmanager
def outbox_for(data_dir: Path, smtp_host: str) -> Iterator[int | None]:
    """For as long as the block runs: the outbox port (None when a real SMTP host is configured).

    A server already running for the data folder (another process's) is used as it is.
    """
    if smtp_host:
        yield None
        return
    port = running_port(data_dir)
    if port is not None:
        yield port
        return
    outbox = EmbeddedOutbox(data_dir)
    port = outbox.start()
    log.info("embedded outbox: SMTP on %s:%s, messages kept in %s", HOST, port, outbox_dir(data_dir))
    try:
        yield port
    finally:
        outbox.stop()


@dataclass(frozen=True)
class KeptMessage:
    """A message as the outbox kept it, for the message's page."""

    path: Path
    headers: dict[str, str]
    text: str
    attachments: list[tuple[str, str, int]]  # file name, content type, bytes


def read_kept(data_dir: Path, message_id: str) -> KeptMessage | None:
    path = outbox_dir(data_dir) / eml_name(message_id)
    try:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    except OSError:
        return None
    assert isinstance(message, EmailMessage)
    headers = {name: str(message.get(name, "")) for name in ("From", "To", "Subject", "Date", "Message-ID")}
    text_part = message.get_body(preferencelist=("plain",))
    text = text_part.get_content() if text_part is not None else ""
    attachments = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        attachments.append((part.get_filename() or "attachment", part.get_content_type(), len(payload)))
    return KeptMessage(path, headers, text, attachments)
