"""Quotes: Q-YYYY-0001, lines, draft → sent → accepted | declined | expired, and Revise."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from laseros.db import UnitOfWork, action, utcnow
from laseros.domain.billing import lines as doc_lines
from laseros.domain.billing.alerts import refresh_billing_alerts
from laseros.domain.billing.models import Quote, QuoteLine, QuoteStatus
from laseros.domain.billing.schemas import LineInput, QuoteInput
from laseros.domain.clients.models import Client
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.money import ZERO, format_rand
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.registry import QUOTE_VALID_DAYS, VAT_RATE
from laseros.domain.kernel.search import contains
from laseros.domain.kernel.sequences import next_yearly_code
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.projects.lifecycle import set_stage
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import Stage

QUOTE_EXPORT_COLUMNS = ("id", "quote_number", "status", "project_code", "client_name", "valid_until", "subtotal",
                        "vat_amount", "total", "sent_at", "created_at", "updated_at")  # fmt: skip
# Manual status moves (POST /quotes/{id}/status); expiry is the nightly job's.
QUOTE_TRANSITIONS: dict[QuoteStatus, tuple[QuoteStatus, ...]] = {
    QuoteStatus.DRAFT: (QuoteStatus.SENT,),
    QuoteStatus.SENT: (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED),
    QuoteStatus.ACCEPTED: (),
    QuoteStatus.DECLINED: (),
    QuoteStatus.EXPIRED: (),
}
REVISABLE: tuple[QuoteStatus, ...] = (QuoteStatus.SENT, QuoteStatus.DECLINED, QuoteStatus.EXPIRED)


@dataclass(frozen=True)
class QuoteFilters:
    status: str = ""
    client_id: int | None = None
    project_id: int | None = None
    q: str = ""
    start: date | None = None  # created on or after (shop dates)
    end: date | None = None


class QuoteService:
    def __init__(self, session: UnitOfWork, actor: Actor, calendar: ShopCalendar) -> None:
        self.session = session
        self.actor = actor
        self.calendar = calendar

    # -- reading ----------------------------------------------------------------------------------------

    def search_query(self, filters: QuoteFilters) -> Select[Quote]:
        stmt = (
            select(Quote)
            .join(Project, Project.id == Quote.project_id)
            .join(Client, Client.id == Quote.client_id)
            .options(joinedload(Quote.project), joinedload(Quote.client))
            .order_by(Quote.id.desc())
        )
        if filters.status in {s.value for s in QuoteStatus}:
            stmt = stmt.where(Quote.status == filters.status)
        if filters.client_id is not None:
            stmt = stmt.where(Quote.client_id == filters.client_id)
        if filters.project_id is not None:
            stmt = stmt.where(Quote.project_id == filters.project_id)
        start, end = self.calendar.utc_range(filters.start, filters.end)
        if start is not None:
            stmt = stmt.where(Quote.created_at >= start)
        if end is not None:
            stmt = stmt.where(Quote.created_at < end)
        if term := filters.q.strip():
            columns = (Quote.quote_number, Project.project_code, Project.name, Client.name)
            stmt = stmt.where(or_(*(contains(self.session, column, term) for column in columns)))
        return stmt

    def export(self, filters: QuoteFilters) -> Export:
        columns: list[Any] = [
            Quote.id, Quote.quote_number, Quote.status, Project.project_code, Client.name, Quote.valid_until,
            Quote.subtotal, Quote.vat_amount, Quote.total, Quote.sent_at, Quote.created_at, Quote.updated_at,
        ]  # fmt: skip
        stmt = self.search_query(filters).with_only_columns(*columns)
        return Export("quotes.csv", QUOTE_EXPORT_COLUMNS, stmt)

    async def list(self, filters: QuoteFilters, page: int = 1, per_page: int = 25) -> Page[Quote]:
        return await paginate(self.session, self.search_query(filters), page, per_page)

    async def get(self, quote_id: int) -> Quote:
        quote = await self.session.scalar(
            select(Quote)
            .where(Quote.id == quote_id)
            .options(
                selectinload(Quote.lines),
                joinedload(Quote.project),
                joinedload(Quote.client),
                joinedload(Quote.revision_of),
            )
            .execution_options(populate_existing=True)
        )
        if quote is None:
            raise NotFound(f"Quote {quote_id} does not exist.")
        return quote

    async def for_project(self, project_id: int) -> builtins.list[Quote]:
        return list(
            await self.session.scalars(select(Quote).where(Quote.project_id == project_id).order_by(Quote.id.desc()))
        )

    async def awaiting_approval(self) -> tuple[int, Decimal]:
        """Sent quotes waiting on the client: how many, and their value (the dashboard)."""
        row = (
            await self.session.execute(
                select(func.count(Quote.id), func.coalesce(func.sum(Quote.total), 0)).where(
                    Quote.status == QuoteStatus.SENT.value
                )
            )
        ).one()
        return int(row[0]), row[1] or ZERO

    # -- writing ----------------------------------------------------------------------------------------

    async def _project(self, project_id: int | None) -> Project:
        project = await self.session.get(Project, project_id) if project_id is not None else None
        if project is None:
            raise InvalidInput({"project_id": "Choose a project from the list."})
        return project

    async def _new_quote(self, project: Project, valid_until: date | None, notes: str) -> Quote:
        settings = SettingsService(self.session)
        today = self.calendar.today()
        valid_days: int = await settings.get(QUOTE_VALID_DAYS)
        if valid_until is not None and valid_until < today:
            raise InvalidInput({"valid_until": "A new quote must be valid until today or later."})
        quote = Quote(
            quote_number=await next_yearly_code(self.session, "Q", today.year),
            project_id=project.id,
            client_id=project.client_id,
            status=QuoteStatus.DRAFT.value,
            valid_until=valid_until or today + timedelta(days=valid_days),
            notes=notes,
            vat_rate=await settings.get(VAT_RATE),
            subtotal=ZERO,
            vat_amount=ZERO,
            total=ZERO,
        )
        self.session.add(quote)
        await self.session.flush()
        return quote

    def _log(self, quote: Quote, verb: str, details: str) -> None:
        record_activity(self.session, self.actor, verb, "quote", quote.id, f"{quote.quote_number}: {details}")

    @action
    async def create(self, data: QuoteInput) -> Quote:
        """A new draft quote for a project, with the year's next Q-YYYY-#### number. Commits."""
        project = await self._project(data.project_id)
        quote = await self._new_quote(project, data.valid_until, data.notes)
        self._log(quote, "created", f"draft for {project.project_code}")
        await self.session.commit()
        return quote

    @action
    async def create_with_lines(
        self, project_id: int, lines: Sequence[LineInput], notes: str = "", origin: str = ""
    ) -> Quote:
        """A new draft quote for a project holding ``lines`` in order (the seam "Quote from drawing" uses;
        ``origin`` ends its activity row, e.g. " from the drawing"). Commits."""
        project = await self._project(project_id)
        quote = await self._new_quote(project, None, notes)
        made = []
        for position, data in enumerate(lines, start=1):
            line = QuoteLine(quote_id=quote.id, position=position)
            doc_lines.fill(line, data)
            self.session.add(line)
            made.append(line)
        if len(made) > doc_lines.MAX_LINES:
            raise InvalidInput({"description": f"A document holds at most {doc_lines.MAX_LINES} lines."})
        doc_lines.retotal(quote, made)
        self._log(quote, "created", f"draft for {project.project_code} with {len(made)} line(s){origin}")
        await self.session.commit()
        return quote

    async def _draft(self, quote_id: int) -> Quote:
        quote = await self.get(quote_id)
        if not quote.is_draft:
            raise Conflict(
                f"{quote.quote_number} is {quote.status_enum.label.lower()}: only a draft quote can be changed. "
                + ("Revise it to make a new draft." if quote.status_enum in REVISABLE else "")
            )
        return quote

    @action
    async def update(self, quote_id: int, data: QuoteInput) -> Quote:
        """A draft's valid-until date and notes. Commits."""
        quote = await self._draft(quote_id)
        if data.valid_until is not None and data.valid_until < self.calendar.today():
            raise InvalidInput({"valid_until": "Valid until must be today or later."})
        if data.valid_until is not None:
            quote.valid_until = data.valid_until
        quote.notes = data.notes
        self._log(quote, "updated", "valid until and notes")
        await self.session.commit()
        return quote

    @action
    async def add_line(self, quote_id: int, data: LineInput) -> Quote:
        """A line at the end of a draft; the totals follow. Commits."""
        quote = await self._draft(quote_id)
        line = QuoteLine(quote_id=quote.id, position=doc_lines.next_position(quote.lines))
        doc_lines.fill(line, data)
        quote.lines.append(line)
        doc_lines.retotal(quote, quote.lines)
        self._log(quote, "line_added", f"{data.description} ({data.quantity} × {format_rand(data.unit_price)})")
        await self.session.commit()
        return quote

    @action
    async def edit_line(self, quote_id: int, line_id: int, data: LineInput) -> Quote:
        quote = await self._draft(quote_id)
        doc_lines.fill(doc_lines.find(quote.lines, line_id), data)
        doc_lines.retotal(quote, quote.lines)
        self._log(quote, "line_edited", data.description)
        await self.session.commit()
        return quote

    @action
    async def remove_line(self, quote_id: int, line_id: int) -> Quote:
        quote = await self._draft(quote_id)
        line = doc_lines.find(quote.lines, line_id)
        quote.lines.remove(line)
        doc_lines.renumber(quote.lines)
        doc_lines.retotal(quote, quote.lines)
        self._log(quote, "line_removed", line.description)
        await self.session.commit()
        return quote

    @action
    async def reorder_lines(self, quote_id: int, order: Sequence[int]) -> Quote:
        quote = await self._draft(quote_id)
        doc_lines.reorder(quote.lines, order)
        self._log(quote, "lines_reordered", f"{len(order)} line(s)")
        await self.session.commit()
        return quote

    @action
    async def change_status(self, quote_id: int, target: QuoteStatus) -> Quote:
        """Mark sent, accepted or declined (QUOTE_TRANSITIONS); refusals say why (409). Commits."""
        quote = await self.get(quote_id)
        current = quote.status_enum
        if target not in QUOTE_TRANSITIONS[current]:
            raise Conflict(_refusal(quote, target))
        today = self.calendar.today()
        if target == QuoteStatus.SENT:
            if not quote.lines:
                raise Conflict(f"{quote.quote_number} has no lines: add what is being quoted before sending it.")
            if quote.valid_until < today:
                raise Conflict(f"{quote.quote_number} was valid until {quote.valid_until}: set a later date first.")
            quote.sent_at = utcnow()
            if quote.project.stage == Stage.REQUEST.value:
                await set_stage(self.session, quote.project, Stage.QUOTE, self.actor, f"{quote.quote_number} sent",
                                today=today)  # fmt: skip
        elif target == QuoteStatus.ACCEPTED:
            if quote.valid_until < today:
                raise Conflict(
                    f"{quote.quote_number} expired on {quote.valid_until}: "
                    "Revise it to send a quote that is still valid."
                )
            quote.decided_at = utcnow()
            quote.project.quoted_price = quote.total
            record_activity(self.session, self.actor, "updated", "project", quote.project_id,
                            f"Quoted price {format_rand(quote.total)} from {quote.quote_number}")  # fmt: skip
        else:
            quote.decided_at = utcnow()
        quote.status = target.value
        self._log(quote, "status_changed", f"{current.label} → {target.label}")
        await self.session.flush()
        await refresh_billing_alerts(self.session, today)
        await self.session.commit()
        return quote

    @action
    async def mark_sent(self, quote_id: int) -> Quote:
        """Draft → sent (the "mark sent" button; email sending calls this once the message is queued). Commits."""
        return await self.change_status(quote_id, QuoteStatus.SENT)

    @action
    async def revise(self, quote_id: int) -> Quote:
        """A new draft copying a sent, declined or expired quote's lines, naming it as its predecessor. Commits."""
        old = await self.get(quote_id)
        if old.status_enum not in REVISABLE:
            raise Conflict(
                f"{old.quote_number} is {old.status_enum.label.lower()}: only a sent, declined or expired quote "
                "is revised" + (" (edit the draft itself)." if old.is_draft else ".")
            )
        quote = await self._new_quote(old.project, None, old.notes)
        quote.revision_of_id = old.id
        copies = [
            QuoteLine(quote_id=quote.id, position=line.position, description=line.description,
                      quantity=line.quantity, unit_price=line.unit_price, line_total=line.line_total)
            for line in old.lines
        ]  # fmt: skip
        self.session.add_all(copies)
        doc_lines.retotal(quote, copies)
        self._log(quote, "created", f"revision of {old.quote_number}")
        await self.session.commit()
        return quote

    @action
    async def expire_due(self) -> int:
        """Sent quotes past their valid-until date become expired (``alerts.billing_day``, nightly). Commits."""
        today = self.calendar.today()
        due = list(
            await self.session.scalars(
                select(Quote).where(Quote.status == QuoteStatus.SENT.value, Quote.valid_until < today)
            )
        )
        if due:
            await self.session.execute(
                update(Quote).where(Quote.id.in_([q.id for q in due])).values(status=QuoteStatus.EXPIRED.value)
            )
            for quote in due:
                self._log(quote, "status_changed", f"Sent → Expired (valid until {quote.valid_until})")
        await self.session.commit()
        return len(due)


def _refusal(quote: Quote, target: QuoteStatus) -> str:
    current = quote.status_enum
    if current == QuoteStatus.DRAFT:
        verb = {QuoteStatus.ACCEPTED: "accept", QuoteStatus.DECLINED: "decline"}.get(target, "answer")
        return f"{quote.quote_number} is a draft: send it before the client can {verb} it."
    if current == QuoteStatus.SENT:
        return f"{quote.quote_number} is already sent."
    return f"{quote.quote_number} is {current.label.lower()}: its status no longer changes."
