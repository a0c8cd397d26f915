"""The communication log and email out: log a message by hand, send one, retry a failed one, deliver.

Sending is two steps. An action records the Communication (Pending, with our own Message-ID) in
the transaction that calls for it and, once that commits, asks the job runtime to run
``send-email`` for it (``set_email_dispatcher``). The job (``deliver``) makes up to three tries
with back-off and leaves the row Sent, or Failed with the server's answer. A rolled-back action
sends nothing; a failed send never undoes the action that asked for it (a POP stays received).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from laseros.db import Database, UnitOfWork, action, utcnow
from laseros.domain.clients.models import Client
from laseros.domain.comms import mail
from laseros.domain.comms.models import (
    Channel,
    CommAttachment,
    CommStatus,
    Communication,
    Direction,
    MessageTemplate,
    Triage,
)
from laseros.domain.comms.templating import RenderFailed, render_text, values_for
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import SYSTEM, Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.fields import FieldReader
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.registry import COMPANY_NAME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.models import DraftStatus, OutboundDraft
from laseros.domain.projects.models import Project
from laseros.settings import Settings

log = logging.getLogger(__name__)

SUBJECT_MAX = 300
BODY_MAX = 20_000
POP_CONFIRMATION = "pop_confirmation"  # the template key of the automatic POP email

EXPORT_COLUMNS = (
    "id", "created_at", "channel", "direction", "status", "kind", "client_name", "project_code", "recipient",
    "sender", "subject", "body", "sent_at", "received_at", "error",
)  # fmt: skip
_JOINED = {"client_name": Client.name, "project_code": Project.project_code}


# -- after the commit: who queues the send-email job ---------------------------------------------------

EmailDispatcher = Callable[[int], Awaitable[bool]]
_dispatchers: dict[asyncio.AbstractEventLoop, EmailDispatcher] = {}


def set_email_dispatcher(dispatcher: EmailDispatcher) -> Callable[[], None]:
    """Who queues ``send-email`` for a Communication id on this event loop (the job runtime). Returns the remover."""
    loop = asyncio.get_running_loop()
    _dispatchers[loop] = dispatcher

    def remove() -> None:
        if _dispatchers.get(loop) is dispatcher:
            del _dispatchers[loop]

    return remove


def _dispatch_after_commit(session: AsyncSession, communication_id: int) -> None:
    dispatcher = _dispatchers.get(asyncio.get_running_loop())
    if dispatcher is None or not isinstance(session, UnitOfWork):
        return  # no job runtime (no Redis): the message stays Pending, and can be sent from its page

    async def dispatch() -> None:
        if not await dispatcher(communication_id):
            log.warning("send-email for communication %s not queued (Redis unavailable)", communication_id)

    session.after_commit(dispatch)


# -- queueing an email in the caller's transaction ------------------------------------------------------


@dataclass(frozen=True)
class OutgoingEmail:
    recipient: str
    subject: str
    body: str
    client_id: int | None = None
    project_id: int | None = None
    template_id: int | None = None
    draft_id: int | None = None
    kind: str = "manual"


async def queue_email(session: AsyncSession, actor: Actor, email: OutgoingEmail, *, error: str = "") -> Communication:
    """Record an email to send (Pending) in the caller's transaction; the job is queued after its commit.

    With ``error`` (a client without an address) it is recorded Failed with that reason instead.
    """
    comm = Communication(
        channel=Channel.EMAIL.value,
        direction=Direction.OUT.value,
        status=CommStatus.FAILED.value if error else CommStatus.PENDING.value,
        kind=email.kind,
        client_id=email.client_id,
        project_id=email.project_id,
        template_id=email.template_id,
        draft_id=email.draft_id,
        subject=email.subject[:SUBJECT_MAX],
        body=email.body,
        recipient=email.recipient,
        error=error,
        created_by_id=actor.user_id,
    )
    session.add(comm)
    await session.flush()
    comm.message_id = f"<laseros.{comm.id}.{_token()}@laseros.local>"
    record_activity(session, actor, "email_queued" if not error else "email_not_sent", "communication", comm.id,
                    f"{email.subject[:120]} to {email.recipient or '(no address)'}")  # fmt: skip
    if not error:
        _dispatch_after_commit(session, comm.id)
    return comm


def _token() -> str:
    import secrets

    return secrets.token_hex(8)


@dataclass(frozen=True)
class OutgoingFile:
    """A file to send with an email (``attach_files``): its name, its content type and its bytes."""

    filename: str
    content_type: str
    data: bytes


def attach_files(session: AsyncSession, data_dir: Path, comm: Communication, files: list[OutgoingFile]) -> list[Path]:
    """Keep ``files`` under ``<data folder>/uploads/comms/<id>/`` as the email's attachments (caller's
    transaction; ``deliver`` sends them). Returns the paths written, for the caller to remove should
    its transaction fail."""
    import hashlib

    written: list[Path] = []
    for index, item in enumerate(files, start=1):
        relative = Path("uploads") / "comms" / str(comm.id) / f"out-{index:02d}-{item.filename}"
        target = data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data)
        written.append(target)
        session.add(
            CommAttachment(
                communication_id=comm.id,
                filename=item.filename,
                content_type=item.content_type,
                size=len(item.data),
                stored_path=relative.as_posix(),
                sha256=hashlib.sha256(item.data).hexdigest(),
            )
        )
    return written


async def render_keyed(
    session: AsyncSession, key: str, values: dict[str, Any], subject: str, body: str
) -> tuple[str, str, int | None]:
    """The subject and body of the shop's active template with ``key`` filled with ``values``, and its id;
    the given default ``subject`` and ``body`` when it is switched off or fails to render."""
    template = await active_template(session, key)
    if template is not None:
        try:
            return (await render_text(template.subject, values), await render_text(template.body, values),
                    template.id)  # fmt: skip
        except RenderFailed:
            log.warning("template %s does not render; the default text is used", key)
    return await render_text(subject, values), await render_text(body, values), None


async def active_template(session: AsyncSession, key: str) -> MessageTemplate | None:
    return await session.scalar(select(MessageTemplate).where(MessageTemplate.key == key, MessageTemplate.is_active))


async def queue_pop_confirmation(session: AsyncSession, actor: Actor, project: Project) -> Communication | None:
    """The POP-confirmation email for ``project`` (caller's transaction: the POP action's own).

    Nothing when the "POP confirmation" template is switched off. A client without a usable address
    gets a Failed row saying so (the POP goes through regardless). A template that fails to render
    falls back to a plain sentence rather than stopping the POP.
    """
    template = await active_template(session, POP_CONFIRMATION)
    if template is None:
        return None
    client = await session.get(Client, project.client_id)
    company = await SettingsService(session).get(COMPANY_NAME)
    values = values_for(client, project, company)
    try:
        subject = await render_text(template.subject, values)
        body = await render_text(template.body, values)
    except RenderFailed:
        subject = f"Payment received for {project.project_code}"
        body = f"Thank you: we received your payment for {project.name} ({project.project_code}). — {company}"
    address = mail.check_address(client.email if client else "")
    error = "" if address else f"Not sent: {client.name if client else 'the client'} has no usable email address."
    email = OutgoingEmail(
        recipient=address or "",
        subject=subject,
        body=body,
        client_id=project.client_id,
        project_id=project.id,
        template_id=template.id,
        kind=POP_CONFIRMATION,
    )
    return await queue_email(session, actor, email, error=error)


# -- the log ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommFilters:
    channel: str = ""
    direction: str = ""
    status: str = ""
    client_id: int | None = None
    project_id: int | None = None
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class SendForm:
    client_id: int | None
    project_id: int | None
    template_id: int | None
    recipient: str
    subject: str
    body: str


@dataclass(frozen=True)
class LogForm:
    channel: str
    direction: str
    client_id: int | None
    project_id: int | None
    subject: str
    body: str


def parse_send(values: dict[str, str]) -> SendForm:
    read = FieldReader(values)
    client_id = read.reference("client_id")
    project_id = read.reference("project_id")
    template_id = read.reference("template_id")
    recipient = read.text("recipient", required=True, max_length=254)
    if recipient and "recipient" not in read.errors and mail.check_address(recipient) is None:
        read.errors["recipient"] = "Enter one email address like name@example.com."
    subject = read.text("subject", max_length=SUBJECT_MAX)
    body = read.text("body", max_length=BODY_MAX)
    if template_id is None:
        if not subject and "subject" not in read.errors:
            read.errors["subject"] = "Write a subject, or choose a template."
        if not body and "body" not in read.errors:
            read.errors["body"] = "Write the message, or choose a template."
    read.finish()
    return SendForm(client_id, project_id, template_id, recipient, subject, body)


def parse_log(values: dict[str, str]) -> LogForm:
    read = FieldReader(values)
    channel = read.choice("channel", [c.value for c in Channel if c != Channel.EMAIL], required=True)
    direction = read.choice("direction", [d.value for d in Direction], required=True)
    client_id = read.reference("client_id")
    project_id = read.reference("project_id")
    subject = read.text("subject", max_length=SUBJECT_MAX)
    body = read.text("body", required=True, max_length=BODY_MAX)
    if client_id is None and project_id is None and "client_id" not in read.errors:
        read.errors["client_id"] = "Choose the client (or the project) this was with."
    read.finish()
    return LogForm(channel, direction, client_id, project_id, subject, body)


class CommsService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    # -- reading -----------------------------------------------------------------------------------

    def search_query(self, filters: CommFilters, calendar: ShopCalendar | None = None) -> Select[Communication]:
        stmt = select(Communication).order_by(Communication.created_at.desc(), Communication.id.desc())
        if filters.channel in {c.value for c in Channel}:
            stmt = stmt.where(Communication.channel == filters.channel)
        if filters.direction in {d.value for d in Direction}:
            stmt = stmt.where(Communication.direction == filters.direction)
        if filters.status in {s.value for s in CommStatus}:
            stmt = stmt.where(Communication.status == filters.status)
        if filters.client_id is not None:
            stmt = stmt.where(Communication.client_id == filters.client_id)
        if filters.project_id is not None:
            stmt = stmt.where(Communication.project_id == filters.project_id)
        since, until = (calendar or ShopCalendar("UTC")).utc_range(filters.start, filters.end)
        if since is not None:
            stmt = stmt.where(Communication.created_at >= since)
        if until is not None:
            stmt = stmt.where(Communication.created_at < until)
        return stmt.where(Communication.triage.in_((Triage.NONE.value, Triage.IGNORED.value)))

    async def list(
        self, filters: CommFilters, page: int = 1, per_page: int = 25, calendar: ShopCalendar | None = None
    ) -> Page[Communication]:
        stmt = self.search_query(filters, calendar).options(
            selectinload(Communication.client), selectinload(Communication.project)
        )
        return await paginate(self.session, stmt, page, per_page)

    def export(self, filters: CommFilters, calendar: ShopCalendar | None = None) -> Export:
        columns: builtins.list[Any] = [_JOINED.get(name, getattr(Communication, name, None)) for name in EXPORT_COLUMNS]
        stmt = (
            self.search_query(filters, calendar)
            .outerjoin(Client, Client.id == Communication.client_id)
            .outerjoin(Project, Project.id == Communication.project_id)
            .with_only_columns(*columns)
        )
        return Export("communications.csv", EXPORT_COLUMNS, stmt)

    async def recent_for(
        self, *, client_id: int | None = None, project_id: int | None = None, limit: int = 20
    ) -> builtins.list[Communication]:
        stmt = select(Communication).order_by(Communication.created_at.desc(), Communication.id.desc()).limit(limit)
        if client_id is not None:
            stmt = stmt.where(Communication.client_id == client_id)
        if project_id is not None:
            stmt = stmt.where(Communication.project_id == project_id)
        stmt = stmt.where(Communication.triage != Triage.DISCARDED.value).options(
            selectinload(Communication.client), selectinload(Communication.project)
        )
        return builtins.list((await self.session.scalars(stmt)).all())

    async def get(self, comm_id: int) -> Communication:
        comm = await self.session.scalar(
            select(Communication)
            .where(Communication.id == comm_id)
            .options(
                selectinload(Communication.client),
                selectinload(Communication.project),
                selectinload(Communication.attachments),
            )
        )
        if comm is None:
            raise NotFound(f"Message {comm_id} does not exist.")
        return comm

    async def templates(self, channel: str | None = Channel.EMAIL.value) -> builtins.list[MessageTemplate]:
        stmt = select(MessageTemplate).where(MessageTemplate.is_active).order_by(MessageTemplate.name)
        if channel:
            stmt = stmt.where(MessageTemplate.channel == channel)
        return builtins.list((await self.session.scalars(stmt)).all())

    async def clients(self) -> builtins.list[Client]:
        return builtins.list((await self.session.scalars(select(Client).order_by(Client.name).limit(500))).all())

    async def counts(self) -> dict[str, int]:
        rows = await self.session.execute(select(Communication.status, func.count()).group_by(Communication.status))
        return {status: int(n) for status, n in rows.all()}

    # -- writing -----------------------------------------------------------------------------------

    async def _about(self, client_id: int | None, project_id: int | None) -> tuple[Client | None, Project | None]:
        """The client and project a message is about; the project's client when only it is given."""
        project = await self.session.get(Project, project_id) if project_id is not None else None
        if project_id is not None and project is None:
            raise InvalidInput({"project_id": "That project does not exist."})
        if project is not None:
            if client_id is not None and client_id != project.client_id:
                raise InvalidInput({"project_id": "That project belongs to another client."})
            client_id = project.client_id
        client = await self.session.get(Client, client_id) if client_id is not None else None
        if client_id is not None and client is None:
            raise InvalidInput({"client_id": "That client does not exist."})
        return client, project

    @action
    async def send(self, form: SendForm) -> Communication:
        """Queue an email (from a template or free text) to the client; sent by the job after this commits."""
        client, project = await self._about(form.client_id, form.project_id)
        subject, body = form.subject, form.body
        if form.template_id is not None:
            template = await self.session.get(MessageTemplate, form.template_id)
            if template is None or not template.is_active:
                raise InvalidInput({"template_id": "Choose an active template."})
            company = await SettingsService(self.session).get(COMPANY_NAME)
            values = values_for(client, project, company)
            try:
                subject = subject or await render_text(template.subject, values)
                body = body or await render_text(template.body, values)
            except RenderFailed as failed:
                raise InvalidInput({"template_id": f"This template does not render: {failed}"}) from failed
        email = OutgoingEmail(
            recipient=form.recipient,
            subject=subject,
            body=body,
            client_id=client.id if client else None,
            project_id=project.id if project else None,
            template_id=form.template_id,
        )
        comm = await queue_email(self.session, self.actor, email)
        await self.session.commit()
        return comm

    @action
    async def send_draft(self, draft_id: int, recipient: str, subject: str, body: str) -> Communication:
        """A draft's "Send as email": queue it to the (editable) address and mark the draft sent. Commits."""
        draft = await self.session.scalar(
            select(OutboundDraft).where(OutboundDraft.id == draft_id, OutboundDraft.status != DraftStatus.DELETED.value)
        )
        if draft is None:
            raise NotFound(f"Draft {draft_id} does not exist or was deleted.")
        if draft.status != DraftStatus.PENDING.value:
            raise Conflict("This message was already sent or withdrawn, so there is nothing to send.")
        read = FieldReader({"recipient": recipient, "subject": subject, "body": body})
        address = read.text("recipient", required=True, max_length=254)
        if address and "recipient" not in read.errors and mail.check_address(address) is None:
            read.errors["recipient"] = "Enter one email address like name@example.com."
        subject_text = read.text("subject", required=True, max_length=SUBJECT_MAX)
        body_text = read.text("body", required=True, max_length=BODY_MAX)
        read.finish()
        email = OutgoingEmail(
            recipient=address,
            subject=subject_text,
            body=body_text,
            client_id=draft.client_id,
            project_id=draft.project_id,
            draft_id=draft.id,
            kind="draft",
        )
        comm = await queue_email(self.session, self.actor, email)
        draft.status = DraftStatus.SENT.value
        draft.sent_at = utcnow()
        draft.sent_by_id = self.actor.user_id
        record_activity(self.session, self.actor, "sent_as_email", "draft", draft.id, f"to {address}")
        await self.session.commit()
        return comm

    @action
    async def log_message(self, form: LogForm) -> Communication:
        """A phone call, WhatsApp or note recorded by hand. Commits."""
        client, project = await self._about(form.client_id, form.project_id)
        outgoing = form.direction == Direction.OUT.value
        now = utcnow()
        comm = Communication(
            channel=form.channel,
            direction=form.direction,
            status=CommStatus.SENT.value if outgoing else CommStatus.RECEIVED.value,
            kind="logged",
            client_id=client.id if client else None,
            project_id=project.id if project else None,
            subject=form.subject,
            body=form.body,
            sent_at=now if outgoing else None,
            received_at=None if outgoing else now,
            created_by_id=self.actor.user_id,
        )
        self.session.add(comm)
        await self.session.flush()
        record_activity(
            self.session,
            self.actor,
            "logged",
            "communication",
            comm.id,
            f"{Channel(form.channel).label} {form.direction}",
        )
        await self.session.commit()
        return comm

    @action
    async def retry(self, comm_id: int) -> Communication:
        """Send a Failed email again (the client's current address when it had none). Commits."""
        comm = await self.get(comm_id)
        if comm.channel != Channel.EMAIL.value or comm.direction != Direction.OUT.value:
            raise Conflict("Only an email we send can be retried.")
        if comm.status not in (CommStatus.FAILED.value, CommStatus.PENDING.value):
            raise Conflict("This email was already sent.")
        if not comm.recipient and comm.client is not None:
            comm.recipient = mail.check_address(comm.client.email) or ""
        if not comm.recipient:
            raise Conflict(
                f"{comm.client.name if comm.client else 'The client'} still has no usable email address: add one first."
            )
        comm.status = CommStatus.PENDING.value
        comm.attempts = 0
        comm.error = ""
        record_activity(self.session, self.actor, "email_retried", "communication", comm.id, comm.subject[:120])
        _dispatch_after_commit(self.session, comm.id)
        await self.session.commit()
        return comm


# -- the send-email job ----------------------------------------------------------------------------------


def _attachment_bytes(data_dir: Path, attachment: CommAttachment) -> bytes:
    return (data_dir / attachment.stored_path).read_bytes()


async def deliver(db: Database, settings: Settings, comm_id: int) -> str:
    """Send one Pending email: up to ``mail.TRIES`` tries with growing waits; returns the status it ends in.

    Idempotent: a message that is not Pending (sent already, or retried and sent by another run) is
    left alone. The waits are ``settings.smtp_retry_delay_s`` × 1, × 3.
    """
    async with db.session(write=False) as session:
        comm = await session.scalar(
            select(Communication).where(Communication.id == comm_id).options(selectinload(Communication.attachments))
        )
        if comm is None or comm.status != CommStatus.PENDING.value:
            return comm.status if comm else "missing"
        files = [(a.filename, a.content_type, _attachment_bytes(settings.data_dir, a)) for a in comm.attachments]
        recipient, subject, body, message_id = comm.recipient, comm.subject, comm.body, comm.message_id or ""
    error = ""
    attempts = 0
    for attempt in range(1, mail.TRIES + 1):
        attempts = attempt
        server = mail.mail_server(settings)
        if server is None:
            error = "No mail server configured (LASEROS_SMTP_HOST) and the local outbox is not running."
        else:
            message = mail.build_message(
                sender=server.sender, recipient=recipient, subject=subject, body=body,
                message_id=message_id, attachments=files,
            )  # fmt: skip
            try:
                await mail.send(server, message)
            except Exception as failed:  # the server's answer (or why it could not be reached) is the error
                error = _describe(failed)
            else:
                await _finish(db, comm_id, CommStatus.SENT, attempts, "", server.sender)
                return CommStatus.SENT.value
        log.warning("send-email %s: try %s of %s failed: %s", comm_id, attempt, mail.TRIES, error)
        if attempt < mail.TRIES:
            await asyncio.sleep(settings.smtp_retry_delay_s * (1 if attempt == 1 else 3))
    await _finish(db, comm_id, CommStatus.FAILED, attempts, error, "")
    return CommStatus.FAILED.value


async def pending_emails(db: Database) -> list[int]:
    """The ids of outbound emails still Pending (oldest first): what ``laseros run-job send-email`` sends."""
    async with db.session(write=False) as session:
        rows = await session.scalars(
            select(Communication.id)
            .where(
                Communication.status == CommStatus.PENDING.value,
                Communication.channel == Channel.EMAIL.value,
                Communication.direction == Direction.OUT.value,
            )
            .order_by(Communication.id)
        )
        return list(rows.all())


def _describe(failed: BaseException) -> str:
    text = str(failed).strip() or failed.__class__.__name__
    return f"{failed.__class__.__name__}: {text}"[:1000]


async def _finish(db: Database, comm_id: int, status: CommStatus, attempts: int, error: str, sender: str) -> None:
    async with db.session(write=True) as session:
        comm = await session.get(Communication, comm_id)
        if comm is None:
            return
        comm.status = status.value
        comm.attempts = attempts
        comm.error = error
        if sender:
            comm.sender = sender
        if status == CommStatus.SENT:
            comm.sent_at = utcnow()
        record_activity(session, SYSTEM, "email_sent" if status == CommStatus.SENT else "email_failed",
                        "communication", comm_id, error[:300])  # fmt: skip
        await session.commit()
