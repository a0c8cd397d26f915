"""The drafts page: listing, editing, marking sent and deleting drafted client messages.

The drafts themselves are made by the notification evaluator (``drafting.ensure_drafts``);
a person reads them here and sends them by hand through WhatsApp or email. Nothing is sent by
the server: "Mark sent" records that the person did it.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from laseros.db import action, utcnow
from laseros.domain.clients.models import Client
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.fields import clean_text, is_blank
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.registry import WHATSAPP_COUNTRY_CODE
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.notifications.models import DraftKind, DraftStatus, OutboundDraft
from laseros.domain.projects.models import Project

BODY_MAX_CHARS = 2000

# The list's status views: "all" is pending and sent together. Deleted and withdrawn drafts are
# never shown: they stay in the table only so their events are not drafted again.
DRAFT_VIEWS: tuple[str, ...] = ("pending", "sent", "all")
DEFAULT_VIEW = "pending"
_SHOWN = (DraftStatus.PENDING.value, DraftStatus.SENT.value)

EXPORT_COLUMNS = (
    "id", "kind", "project_code", "client_name", "channel_hint", "status", "body_text", "created_at", "sent_at",
)  # fmt: skip
_JOINED_EXPORT_COLUMNS = {"project_code": Project.project_code, "client_name": Client.name}

# The subject of the "Send as email" link, per kind: what the client sees in their inbox.
EMAIL_SUBJECTS: dict[DraftKind, str] = {
    DraftKind.APPROVAL_FOLLOWUP: "Your quote for {name} ({code})",
    DraftKind.READY_FOR_COLLECTION: "{name} ({code}) is ready for collection",
    DraftKind.MATERIAL_DELAY: "Update on {name} ({code})",
    DraftKind.QUOTE_REMINDER: "Your quote for {name} ({code})",
}

_SEPARATORS = re.compile(r"[\s\-().]")
# E.164 numbers have at most 15 digits; anything shorter than 8 cannot be a full international number.
_MIN_DIGITS, _MAX_DIGITS = 8, 15


def whatsapp_number(phone: str, country_code: str) -> str | None:
    """The phone number as wa.me wants it (international, digits only), or None when it is not usable.

    Spaces, dashes, dots and brackets are dropped; "+27 …" and "0027 …" are already international;
    a local number's single leading 0 is replaced by the shop's ``country_code`` ("082 …" → "2782 …").
    """
    raw = _SEPARATORS.sub("", phone or "")
    if raw.startswith("+"):
        digits = raw[1:]
    elif raw.startswith("00"):  # the international dialling prefix
        digits = raw[2:]
    elif raw.startswith("0"):
        digits = country_code + raw[1:]
    else:
        digits = raw
    if not digits.isdigit() or not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        return None
    return digits


def whatsapp_url(number: str, text: str) -> str:
    return f"https://wa.me/{number}?text={quote(text, safe='')}"


def mailto_url(email: str, subject: str, body: str) -> str:
    # RFC 6068: the address as is, the header values percent-encoded (spaces as %20, not "+").
    return f"mailto:{quote(email, safe='@')}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"


def check_body(raw: str) -> str:
    """The edited message, line endings normalised and outer blank space trimmed; InvalidInput if unusable."""
    body, problem = clean_text(raw or "")
    if problem:
        raise InvalidInput({"body_text": problem})
    if is_blank(body):
        raise InvalidInput({"body_text": "Write the message: it cannot be empty."})
    if len(body) > BODY_MAX_CHARS:
        raise InvalidInput(
            {"body_text": f"Keep the message to {BODY_MAX_CHARS} characters (this one has {len(body)})."}
        )
    return body


def check_editable(draft: OutboundDraft) -> None:
    """A sent draft is the record of what the client was told, so it cannot change (Conflict)."""
    if draft.status == DraftStatus.SENT.value:
        raise Conflict("This message was already sent, so it can no longer be edited.")


@dataclass(frozen=True)
class DraftFilters:
    status: str = DEFAULT_VIEW  # one of DRAFT_VIEWS


@dataclass(frozen=True)
class DraftCard:
    """One draft as the page shows it, with its ready-made send links (or why one is unavailable)."""

    draft: OutboundDraft
    whatsapp_url: str | None
    whatsapp_problem: str | None
    email_url: str | None
    email_problem: str | None
    email_subject: str = ""

    @property
    def is_pending(self) -> bool:
        return self.draft.status == DraftStatus.PENDING.value


def draft_card(draft: OutboundDraft, country_code: str) -> DraftCard:
    """The send links for a draft whose project and client are loaded."""
    client, project = draft.client, draft.project
    number = whatsapp_number(client.phone, country_code)
    if number:
        wa_url, wa_problem = whatsapp_url(number, draft.body_text), None
    elif not client.phone.strip():
        wa_url, wa_problem = None, f"No phone number for {client.name}"
    else:
        wa_url, wa_problem = None, f"{client.name}'s phone number “{client.phone}” is not one WhatsApp can use"
    email = client.email.strip()
    subject = EMAIL_SUBJECTS[DraftKind(draft.kind)].format(name=project.name, code=project.project_code)
    if "@" in email:
        mail_url, mail_problem = mailto_url(email, subject, draft.body_text), None
    else:
        mail_url, mail_problem = None, f"No email address for {client.name}"
    return DraftCard(draft, wa_url, wa_problem, mail_url, mail_problem, subject)


class DraftService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def search_query(self, filters: DraftFilters) -> Select[OutboundDraft]:
        stmt = select(OutboundDraft).order_by(OutboundDraft.created_at.desc(), OutboundDraft.id.desc())
        if filters.status in _SHOWN:
            return stmt.where(OutboundDraft.status == filters.status)
        return stmt.where(OutboundDraft.status.in_(_SHOWN))

    async def counts(self) -> dict[str, int]:
        """How many drafts are pending and sent (the tabs' numbers)."""
        rows = await self.session.execute(
            select(OutboundDraft.status, func.count())
            .where(OutboundDraft.status.in_(_SHOWN))
            .group_by(OutboundDraft.status)
        )
        counts = {"pending": 0, "sent": 0, **{status: int(n) for status, n in rows.all()}}
        counts["all"] = counts["pending"] + counts["sent"]
        return counts

    async def country_code(self) -> str:
        return await SettingsService(self.session).get(WHATSAPP_COUNTRY_CODE)

    async def list(self, filters: DraftFilters, page: int = 1, per_page: int = 50) -> Page[DraftCard]:
        """One page of drafts, newest first, each with its project and client."""
        stmt = self.search_query(filters).options(joinedload(OutboundDraft.project), joinedload(OutboundDraft.client))
        listing = await paginate(self.session, stmt, page, per_page)
        code = await self.country_code()
        return Page(
            items=[draft_card(d, code) for d in listing.items],
            total=listing.total,
            page=listing.page,
            per_page=listing.per_page,
        )

    def export(self, filters: DraftFilters) -> Export:
        """The filtered drafts as ``EXPORT_COLUMNS`` rows, streamed."""
        columns: builtins.list[Any] = [
            _JOINED_EXPORT_COLUMNS.get(name, getattr(OutboundDraft, name, None)) for name in EXPORT_COLUMNS
        ]
        stmt = (
            self.search_query(filters)
            .join(Project, Project.id == OutboundDraft.project_id)
            .join(Client, Client.id == OutboundDraft.client_id)
            .with_only_columns(*columns)
        )
        return Export("drafts.csv", EXPORT_COLUMNS, stmt)

    async def get(self, draft_id: int) -> OutboundDraft:
        """A pending or sent draft with its project and client.

        A deleted one is gone (NotFound); a withdrawn one, out of date since its job moved on while
        someone may still have had it open, is refused with the reason (Conflict).
        """
        draft = await self.session.scalar(
            select(OutboundDraft)
            .where(OutboundDraft.id == draft_id, OutboundDraft.status != DraftStatus.DELETED.value)
            .options(joinedload(OutboundDraft.project), joinedload(OutboundDraft.client))
        )
        if draft is None:
            raise NotFound(f"Draft {draft_id} does not exist or was deleted.")
        if draft.status == DraftStatus.WITHDRAWN.value:
            raise Conflict(
                f"This message was withdrawn: {draft.project.project_code} has moved on since it was drafted, "
                "so there is nothing to send."
            )
        return draft

    async def card(self, draft_id: int) -> DraftCard:
        return draft_card(await self.get(draft_id), await self.country_code())

    @action
    async def edit(self, draft_id: int, body_text: str) -> OutboundDraft:
        """Replace a pending draft's message (a sent one cannot change: Conflict). Commits."""
        draft = await self.get(draft_id)
        check_editable(draft)
        body = check_body(body_text)
        if body != draft.body_text:
            draft.body_text = body
            record_activity(self.session, self.actor, "edited", "draft", draft.id, self._about(draft))
            await self.session.commit()
        return draft

    @action
    async def mark_sent(self, draft_id: int) -> OutboundDraft:
        """Record that a person sent the message. Commits.

        Marking a sent draft again changes nothing: it keeps who sent it first, and when.
        """
        draft = await self.get(draft_id)
        if draft.status == DraftStatus.PENDING.value:
            draft.status = DraftStatus.SENT.value
            draft.sent_at = utcnow()
            draft.sent_by_id = self.actor.user_id
            record_activity(self.session, self.actor, "marked_sent", "draft", draft.id, self._about(draft))
            await self.session.commit()
        return draft

    @action
    async def delete(self, draft_id: int) -> OutboundDraft:
        """Hide a draft (pending or sent). Commits.

        The row stays with status ``deleted``: the evaluator sees the event as drafted and never
        drafts the same message again.
        """
        draft = await self.get(draft_id)
        draft.status = DraftStatus.DELETED.value
        record_activity(self.session, self.actor, "deleted", "draft", draft.id, self._about(draft))
        await self.session.commit()
        return draft

    @staticmethod
    def _about(draft: OutboundDraft) -> str:
        return f"{draft.kind_label} for {draft.project.project_code} ({draft.client.name})"
