"""Email in: one parser for the signed webhook and the SMTP listener, and what a message is matched to.

In order, the project is the one of an email we sent that this one answers (our Message-ID in
``In-Reply-To``/``References``), else the project code in the subject, else in the body. The
sender is matched to a client by email address. Then:

- an auto-reply or a bounce is logged and never acted on;
- a known client without a project code gets a new ``request`` project (the email its description);
- the attachments are filed on the project (``file_attachments``), and one that looks like a
  proof of payment raises a ``pop_candidate`` notification for a manager to confirm — POP itself
  is never marked here;
- an unknown sender with nothing matched waits in /comms/inbox;
- the same Message-ID twice is stored once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import UnitOfWork, action, utcnow
from laseros.domain.clients.models import Client
from laseros.domain.comms.models import Channel, CommAttachment, CommStatus, Communication, Direction, Triage
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.fields import MAX_TEXT, clean_text
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.bell import announce_after_commit
from laseros.domain.notifications.models import Notification, NotificationType, Severity
from laseros.domain.projects.models import Project
from laseros.domain.projects.schemas import ProjectInput
from laseros.domain.projects.services import add_project

# Size limits, as for uploads: the whole message, and each file in it.
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENTS = 20
SIGNATURE_HEADER = "X-LaserOS-Signature"

PROJECT_CODE = re.compile(r"\bJB-\d{4}-\d{2}-[A-Z]{2}\d{3,6}-\d{3}\b", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,300}>")
_POP_NAME = re.compile(
    r"(\bpop\b|proof[\s_-]*of[\s_-]*payment|payment|remittance|receipt|\beft\b|deposit)", re.IGNORECASE
)
_POP_TYPES = ("application/pdf", "image/")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_BODY = 20_000


def signature_for(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``X-LaserOS-Signature: sha256=<hex HMAC-SHA256 of the body>``, compared in constant time."""
    if not secret or not header:
        return False
    return hmac.compare_digest(signature_for(secret, body), header.strip())


@dataclass
class ParsedEmail:
    message_id: str
    sender: str
    subject: str
    text: str
    thread_ids: list[str]
    automatic: str | None  # "auto_reply" or "bounce"
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


class NotAnEmail(InvalidInput):
    def __init__(self, reason: str) -> None:
        super().__init__({"email": reason})


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a malformed header is as good as none
        return ""
    return " ".join(str(value or "").split())


def _automatic(message: EmailMessage, sender: str) -> str | None:
    content_type = message.get_content_type()
    report = str(message.get_param("report-type", "") or "").lower()
    local = sender.split("@", 1)[0].lower()
    if content_type == "multipart/report" or report == "delivery-status" or local in ("mailer-daemon", "postmaster"):
        return "bounce"
    submitted = _header(message, "Auto-Submitted").lower()
    precedence = _header(message, "Precedence").lower()
    if (submitted and submitted != "no") or precedence in ("bulk", "auto_reply", "junk", "list"):
        return "auto_reply"
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return "auto_reply"
    return None


def _safe_filename(raw: str | None, index: int) -> str:
    name = Path((raw or "").replace("\\", "/")).name
    name = _UNSAFE_NAME.sub("_", name).strip(" .")[:150]
    return name or f"attachment-{index}"


def parse_email(raw: bytes) -> ParsedEmail:
    """The parts of a raw MIME message Laser OS uses (stdlib ``email``, ``policy.default``)."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise NotAnEmail(f"The message is larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB.")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as failed:
        raise NotAnEmail("This is not an email message.") from failed
    if not isinstance(message, EmailMessage) or not (_header(message, "From") or _header(message, "Message-ID")):
        raise NotAnEmail("This is not an email message (no From or Message-ID).")
    sender = parseaddr(_header(message, "From"))[1].strip().lower()[:320]
    found = _MESSAGE_ID.findall(_header(message, "Message-ID"))
    message_id = found[0] if found else f"<sha256.{hashlib.sha256(raw).hexdigest()}@laseros.inbound>"
    thread_ids = _MESSAGE_ID.findall(_header(message, "In-Reply-To") + " " + _header(message, "References"))
    text = ""
    attachments: list[tuple[str, str, bytes]] = []
    try:
        body = message.get_body(preferencelist=("plain", "html"))
        if body is not None:
            text = body.get_content()
            if body.get_content_type() == "text/html":
                text = re.sub(r"<[^>]+>", " ", text)
        for index, part in enumerate(message.iter_attachments(), start=1):
            if len(attachments) >= MAX_ATTACHMENTS:
                break
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes) or len(payload) > MAX_ATTACHMENT_BYTES:
                continue
            attachments.append((_safe_filename(part.get_filename(), index), part.get_content_type()[:100], payload))
    except Exception:  # a broken part: keep what was read
        pass
    cleaned, _ = clean_text(_CONTROL.sub("", text))
    subject, _ = clean_text(_CONTROL.sub("", _header(message, "Subject")))
    return ParsedEmail(
        message_id=message_id[:300],
        sender=sender,
        subject=subject[:300],
        text=cleaned[:MAX_BODY],
        thread_ids=thread_ids[:50],
        automatic=_automatic(message, sender),
        attachments=attachments,
    )


def looks_like_pop(filename: str, content_type: str, subject: str) -> bool:
    """A PDF or image whose name (or the email's subject) says payment, POP, receipt, EFT …"""
    if not content_type.startswith(_POP_TYPES):
        return False
    return bool(_POP_NAME.search(filename.rsplit(".", 1)[0]) or _POP_NAME.search(subject))


async def file_attachments(
    session: AsyncSession, actor: Actor, communication: Communication, project: Project
) -> list[CommAttachment]:
    """File an inbound email's attachments on ``project`` (caller's transaction).

    Today this records the project on each attachment of the communication (shown on the message
    and the project's Communications block). The lead wires it to the project files area (with
    the DXF analysis) when that area is merged; this is the one place to do it.
    """
    filed = []
    for attachment in communication.attachments:
        if attachment.filed_project_id != project.id:
            attachment.filed_project_id = project.id
            filed.append(attachment)
    if filed:
        names = ", ".join(a.filename for a in filed)
        record_activity(session, actor, "files_received", "project", project.id, f"by email: {names}"[:500])
    return filed


def _store(data_dir: Path, communication_id: int, index: int, filename: str, data: bytes) -> str:
    relative = Path("uploads") / "comms" / str(communication_id) / f"{index:02d}-{filename}"
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return relative.as_posix()


class InboundMail:
    """Receiving one email (``receive``) and triaging the ones that wait in /comms/inbox."""

    def __init__(self, session: AsyncSession, actor: Actor, calendar: ShopCalendar, data_dir: Path) -> None:
        self.session = session
        self.actor = actor
        self.calendar = calendar
        self.data_dir = data_dir

    async def _thread_project(self, thread_ids: list[str]) -> Communication | None:
        if not thread_ids:
            return None
        return await self.session.scalar(
            select(Communication)
            .where(Communication.message_id.in_(thread_ids), Communication.direction == Direction.OUT.value)
            .order_by(Communication.id.desc())
            .limit(1)
        )

    async def _project_by_code(self, text: str) -> Project | None:
        for code in PROJECT_CODE.findall(text)[:10]:
            project = await self.session.scalar(select(Project).where(func.upper(Project.project_code) == code.upper()))
            if project is not None:
                return project
        return None

    async def _client_by_email(self, address: str) -> Client | None:
        if not address:
            return None
        return await self.session.scalar(
            select(Client).where(func.lower(func.trim(Client.email)) == address).order_by(Client.id).limit(1)
        )

    @action
    async def receive(self, raw: bytes) -> tuple[Communication, bool]:
        """Parse, match, store and act on one email. Commits. Returns it and whether it is new."""
        parsed = parse_email(raw)
        existing = await self.session.scalar(select(Communication).where(Communication.message_id == parsed.message_id))
        if existing is not None:
            return existing, False
        project: Project | None = None
        matched_by = ""
        replied = await self._thread_project(parsed.thread_ids)
        if replied is not None and replied.project_id is not None:
            project = await self.session.get(Project, replied.project_id)
            matched_by = "reply"
        if project is None:
            project = await self._project_by_code(parsed.subject)
            matched_by = "subject" if project else ""
        if project is None:
            project = await self._project_by_code(parsed.text)
            matched_by = "body" if project else ""
        client = await self._client_by_email(parsed.sender)
        if client is None and project is not None:
            client = await self.session.get(Client, project.client_id)
        elif client is None and replied is not None and replied.client_id is not None:
            client = await self.session.get(Client, replied.client_id)

        triage = Triage.NONE
        if parsed.automatic:
            triage = Triage.IGNORED
        elif client is None and project is None:
            triage = Triage.INBOX
        comm = Communication(
            channel=Channel.EMAIL.value,
            direction=Direction.IN.value,
            status=CommStatus.RECEIVED.value,
            kind=parsed.automatic or "inbound",
            client_id=client.id if client else None,
            project_id=project.id if project else None,
            subject=parsed.subject,
            body=parsed.text,
            sender=parsed.sender,
            message_id=parsed.message_id,
            in_reply_to=" ".join(parsed.thread_ids)[:2000],
            received_at=utcnow(),
            triage=triage.value,
            attachments=[],
        )
        self.session.add(comm)
        await self.session.flush()
        for index, (filename, content_type, data) in enumerate(parsed.attachments, start=1):
            comm.attachments.append(
                CommAttachment(
                    filename=filename,
                    content_type=content_type,
                    size=len(data),
                    stored_path=_store(self.data_dir, comm.id, index, filename, data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    looks_like_pop=looks_like_pop(filename, content_type, parsed.subject),
                )
            )
        how = f" (matched by {matched_by})" if matched_by else ""
        record_activity(self.session, self.actor, "email_received", "communication", comm.id,
                        f"from {parsed.sender}{how}: {parsed.subject[:120]}")  # fmt: skip
        if triage == Triage.NONE and client is not None:
            if project is None:
                project = await self._new_request(client, parsed)
                comm.project_id = project.id
            await self._act_on(comm, project)
        await self.session.commit()
        return comm, True

    async def _new_request(self, client: Client, parsed: ParsedEmail) -> Project:
        name = " ".join(parsed.subject.split())[:200] or f"Email from {parsed.sender}"
        data = ProjectInput(
            client_id=client.id, name=name, description=parsed.text[:MAX_TEXT], material_type="", thickness_mm=None,
            sheet_size="", sheets_required=None, parts_quantity=None, estimated_cut_time=None,
            quoted_price=None, due_date=None,
        )  # fmt: skip
        return await add_project(self.session, self.actor, self.calendar, client, data)

    async def _act_on(self, comm: Communication, project: Project) -> None:
        await file_attachments(self.session, self.actor, comm, project)
        if project.pop_received:
            return
        for attachment in comm.attachments:
            if attachment.looks_like_pop:
                self.session.add(
                    Notification(
                        notif_type=NotificationType.POP_CANDIDATE.value,
                        subject_key=f"comm:{comm.id}",
                        project_id=project.id,
                        message=f"Confirm POP for {project.project_code}: {attachment.filename} from {comm.sender}"[
                            :500
                        ],
                        severity=Severity.WARNING.value,
                    )
                )
                if isinstance(self.session, UnitOfWork):
                    announce_after_commit(self.session)
                break

    # -- the inbox: unknown senders --------------------------------------------------------------------

    async def inbox(self, limit: int = 100) -> list[Communication]:
        stmt = (
            select(Communication)
            .where(Communication.triage == Triage.INBOX.value)
            .order_by(Communication.created_at.desc(), Communication.id.desc())
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def _waiting(self, comm_id: int) -> Communication:
        comm = await self.session.get(Communication, comm_id)
        if comm is None:
            raise NotFound(f"Message {comm_id} does not exist.")
        if comm.triage != Triage.INBOX.value:
            raise Conflict("This message was already dealt with.")
        await self.session.refresh(comm, ["attachments"])
        return comm

    @action
    async def link_to_client(self, comm_id: int, client_id: int | None, *, make_project: bool) -> Communication:
        """Triage: the sender is this client; with ``make_project`` a new request project is made from it. Commits."""
        comm = await self._waiting(comm_id)
        client = await self.session.get(Client, client_id) if client_id is not None else None
        if client is None:
            raise InvalidInput({"client_id": "Choose a client from the list."})
        comm.client_id = client.id
        comm.triage = Triage.NONE.value
        record_activity(self.session, self.actor, "email_linked", "communication", comm.id, client.name)
        if make_project:
            parsed = ParsedEmail(comm.message_id or "", comm.sender, comm.subject, comm.body, [], None)
            project = await self._new_request(client, parsed)
            comm.project_id = project.id
            await self._act_on(comm, project)
        await self.session.commit()
        return comm

    @action
    async def discard(self, comm_id: int) -> Communication:
        comm = await self._waiting(comm_id)
        comm.triage = Triage.DISCARDED.value
        record_activity(self.session, self.actor, "email_discarded", "communication", comm.id, comm.sender)
        await self.session.commit()
        return comm
