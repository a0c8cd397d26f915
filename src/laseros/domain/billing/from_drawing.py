"""Quote from drawing: the pricing breakdown becomes a draft quote's lines (docs/quotes_and_invoices.md).

The project is priced first (``pricing.services.price_project``, the pricing page's function; a read,
nesting included, so the write lock is not held meanwhile); then one action creates the draft quote
through ``QuoteService.create_with_lines`` and sets the project's estimated cut time and sheets
required. A project that is not priced (no preset, no drawing …) is refused with the pricing page's
reason and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy import update

from laseros.db import UnitOfWork, action
from laseros.domain.billing.models import Quote
from laseros.domain.billing.quotes import QuoteService
from laseros.domain.billing.schemas import LineInput
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, NotFound
from laseros.domain.kernel.money import CENT, format_rand, line_total, sum_amounts
from laseros.domain.kernel.shop import ShopCalendar, thickness_label
from laseros.domain.notifications.watch import watch_project
from laseros.domain.pricing.services import Breakdown, price_project
from laseros.domain.projects.models import Project
from laseros.domain.queue.models import QueueItem


def _line(description: str, quantity: Decimal | int, unit_price: Decimal, amount: Decimal) -> LineInput:
    """``quantity`` × ``unit_price`` when that makes exactly ``amount`` in whole cents, else 1 × ``amount``."""
    quantity = Decimal(quantity)
    if (
        unit_price == unit_price.quantize(CENT)
        and quantity == quantity.quantize(CENT)
        and line_total(quantity, unit_price) == amount
    ):
        return LineInput(description, quantity, unit_price)
    return LineInput(description, Decimal(1), amount)


def quote_lines(breakdown: Breakdown) -> list[LineInput]:
    """The breakdown's money lines (material, cutting, setup, minimum charge, markup) as quote lines.

    Lines of R 0.00 are left out (no material price); the lines' totals add up to ``breakdown.subtotal``.
    """
    lines: list[LineInput] = []
    sheet = " ".join(
        part
        for part in (
            f"{thickness_label(breakdown.thickness_mm)} mm" if breakdown.thickness_mm is not None else "",
            breakdown.material_type,
            breakdown.sheet_size,
        )
        if part
    )
    item = breakdown.stock_item
    if breakdown.material_cost > 0 and item is not None and item.unit_cost is not None:
        lines.append(_line(f"Material: {sheet} sheet ({item.item_code})", breakdown.sheets, item.unit_cost,
                           breakdown.material_cost))  # fmt: skip
    if breakdown.machine_cost > 0:
        parts = sum(p.quantity for p in breakdown.parts)
        rate = breakdown.rates["machine_rate_per_hour"]
        per_minute = rate / 60
        description = (
            f"Laser cutting: {parts} part(s), {breakdown.calibrated_minutes} min machine time at {format_rand(rate)}/h"
        )
        lines.append(_line(description, breakdown.calibrated_minutes, per_minute, breakdown.machine_cost))
    if breakdown.setup_fee > 0:
        lines.append(LineInput("Setup (once per job)", Decimal(1), breakdown.setup_fee))
    for extra in breakdown.lines:
        if extra.key == "minimum" and extra.amount > 0:
            lines.append(LineInput(f"Minimum charge: top-up to {format_rand(breakdown.subtotal - breakdown.markup)}",
                                   Decimal(1), extra.amount))  # fmt: skip
        elif extra.key == "markup" and extra.amount > 0:
            lines.append(LineInput(f"Markup ({breakdown.rates['markup_percent']}%)", Decimal(1), extra.amount))
    made = sum_amounts(line_total(line.quantity, line.unit_price) for line in lines)
    assert made == breakdown.subtotal, (made, breakdown.subtotal)  # the quote prices what the page shows
    return lines


def estimated_minutes(breakdown: Breakdown) -> int:
    """The calibrated cut time in whole minutes (half up), at least 1."""
    return max(1, int(breakdown.calibrated_minutes.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


class DrawingQuotes:
    def __init__(self, session: UnitOfWork, actor: Actor, calendar: ShopCalendar) -> None:
        self.session = session
        self.actor = actor
        self.calendar = calendar

    async def price(self, project_id: int, uploads_dir: Path, quantities: Mapping[int, int]) -> Breakdown:
        """The breakdown, or 409 with the pricing page's reason when the project is not priced."""
        breakdown = await price_project(self.session, project_id, uploads_dir, quantities)
        if not breakdown.priced:
            raise Conflict(breakdown.refusal or "This project cannot be priced from its drawing.")
        return breakdown

    async def create(self, project_id: int, uploads_dir: Path, quantities: Mapping[int, int]) -> Quote:
        """Price the project and make the draft quote from the breakdown (one action). Commits."""
        breakdown = await self.price(project_id, uploads_dir, quantities)
        return await self._write(project_id, breakdown, quote_lines(breakdown))

    @action
    async def _write(self, project_id: int, breakdown: Breakdown, lines: list[LineInput]) -> Quote:
        project = await self.session.get(Project, project_id, populate_existing=True)
        if project is None:
            raise NotFound(f"Project {project_id} does not exist.")
        minutes = estimated_minutes(breakdown)
        changed = [f"estimated cut time {minutes} min"]
        project.estimated_cut_time = minutes
        if breakdown.nesting is not None and breakdown.sheets:
            project.sheets_required = breakdown.sheets
            changed.append(f"sheets required {breakdown.sheets}")
        await self._follow_queue(project, minutes)
        record_activity(self.session, self.actor, "updated", "project", project.id,
                        f"From the drawing: {', '.join(changed)}")  # fmt: skip
        watch_project(self.session, project.id)  # the sheets needed may change what the queue waits on
        return await QuoteService(self.session, self.actor, self.calendar).create_with_lines(
            project.id, lines, origin=" from the drawing"
        )

    async def _follow_queue(self, project: Project, minutes: int) -> None:
        """A queued job's item carries the estimate too (as the project form does)."""
        await self.session.execute(
            update(QueueItem).where(QueueItem.project_id == project.id).values(estimated_minutes=minutes)
        )
