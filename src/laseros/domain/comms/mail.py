"""Email out: which server to use, the message itself (our Message-ID, a plain-text part), sending it."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from laseros.domain.comms import outbox
from laseros.settings import Settings

SEND_TIMEOUT_S = 30.0
TRIES = 3
OUTBOX_FROM = "laseros@localhost"
_MAX_ADDRESS = 254


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    username: str
    password: str
    starttls: bool
    ssl: bool
    sender: str
    is_outbox: bool

    def __repr__(self) -> str:  # the password never reaches a log
        return f"MailServer({self.host}:{self.port}, outbox={self.is_outbox})"


def mail_server(settings: Settings) -> MailServer | None:
    """The configured SMTP server, else the data folder's running outbox, else None."""
    if settings.smtp_host:
        return MailServer(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_username,
            settings.smtp_password,
            settings.smtp_starttls and not settings.smtp_ssl,
            settings.smtp_ssl,
            settings.smtp_from or settings.smtp_username or OUTBOX_FROM,
            False,
        )
    port = outbox.running_port(settings.data_dir)
    if port is None:
        return None
    return MailServer(outbox.HOST, port, "", "", False, False, settings.smtp_from or OUTBOX_FROM, True)


def uses_outbox(settings: Settings) -> bool:
    """True when no SMTP host is configured: mail goes to the embedded outbox."""
    return not settings.smtp_host


def check_address(raw: str) -> str | None:
    """The address when it is one plain address, else None."""
    value = (raw or "").strip()
    if not value or len(value) > _MAX_ADDRESS or value.count("@") != 1 or any(c in value for c in "\r\n,;<>\"' \t"):
        return None
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return None
    return value


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    message_id: str,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    message.set_content(body)  # text/plain, utf-8
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=filename
        )
    return message


async def send(server: MailServer, message: EmailMessage) -> None:
    """One SMTP conversation; raises ``aiosmtplib.SMTPException`` or ``OSError`` with the server's answer."""
    await aiosmtplib.send(
        message,
        hostname=server.host,
        port=server.port,
        username=server.username or None,
        password=server.password or None,
        start_tls=server.starttls,
        use_tls=server.ssl,
        timeout=SEND_TIMEOUT_S,
    )
