"""Gathering the daily report: a handful of set-based reads that fill ``ReportData`` (reads only).

No rule is restated here. Stage limits and what counts as blocked or stalled come from the
notification rules (``notifications.rules.project_alerts`` over ``project_facts``); free stock
comes from ``inventory.stock`` (on hand minus what queued and cutting jobs still claim). Every
section is a few queries over the active rows (yesterday's production one pass over the runs),
about 0.3 s at ten years of data (``docs/daily_report.md``). Rows are read by column label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, contains_eager

from laseros.db import utcnow
from laseros.domain.admin.models import User
from laseros.domain.clients.models import Client
from laseros.domain.inventory.models import Category, InventoryItem
from laseros.domain.inventory.stock import SheetSpec, StockBadge, claimed_sheets, queue_badges
from laseros.domain.kernel.registry import COMPANY_NAME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar, sheet_label
from laseros.domain.notifications.facts import project_facts, stage_limits
from laseros.domain.notifications.models import DraftKind, DraftStatus, Notification, NotificationType, OutboundDraft
from laseros.domain.notifications.rules import STAGE_ALERTS, project_alerts
from laseros.domain.operators.models import ExtraOperator
from laseros.domain.presets.models import Preset
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import CLAIMING_STAGES, QueueStatus, Stage
from laseros.domain.queue.models import QueueItem
from laseros.domain.reports.daily.data import (
    CUT_LIST_MAX,
    BlockedLine,
    ContactLine,
    CutLine,
    LowStockLine,
    ProductionLine,
    ReportData,
    WaitingLine,
    sheets,
)
from laseros.domain.runs.models import LaserRun, RunStatus

# The notifications that mean "a client has to hear from us" (section 3).
CLIENT_WAITS: tuple[NotificationType, ...] = (NotificationType.APPROVAL_WAIT, NotificationType.PICKUP_WAIT)
# The notification each blocked/stalled stage raises (from the one stage-alert table), and the
# stages in the order section 4 lists them.
BLOCKING: dict[Stage, NotificationType] = {
    stage: STAGE_ALERTS[stage].notif_type for stage in (Stage.WAITING_MATERIAL, Stage.CUTTING, Stage.QUOTE, Stage.READY)
}
# What the shop does about each (the material one names the sheets; see ``_next_action``).
NEXT_ACTIONS: dict[Stage, str] = {
    Stage.QUOTE: "call client to approve",
    Stage.CUTTING: "check the machine / log the run",
    Stage.READY: "call client to collect",
}
# The project and client columns most sections show, labelled apart (both tables have ``name``).
_PROJECT_CODE = Project.project_code.label("project_code")
_PROJECT_NAME = Project.name.label("project_name")
_CLIENT_NAME = Client.name.label("client_name")


def _material(material_type: str, thickness: Decimal | None, sheet_size: str) -> str:
    return sheet_label(material_type, thickness, sheet_size) or "material not set"


def _days(age: timedelta) -> int:
    return max(int(age.total_seconds() // 86400), 0)


async def _cut_today(session: AsyncSession, data: ReportData, short: set[int]) -> None:
    """Active queue items in queue order (the queue page's order, ``ix_queue_items_status_rank``)."""
    rows = (
        await session.execute(
            select(
                Project.id.label("project_id"), _PROJECT_CODE, _PROJECT_NAME, _CLIENT_NAME, Project.material_type,
                Project.thickness_mm, Project.sheet_size, Project.sheets_required, QueueItem.sheets_cut,
                Preset.name.label("preset_name"), QueueItem.status, QueueItem.priority, Project.stage,
            )
            .select_from(QueueItem)
            .join(Project, Project.id == QueueItem.project_id)
            .join(Client, Client.id == Project.client_id)
            .outerjoin(Preset, Preset.id == Project.preset_id)
            .where(QueueItem.is_active())
            .order_by(QueueItem.rank, QueueItem.id)
        )
    ).all()  # fmt: skip
    for row in rows:
        if row.stage == Stage.WAITING_MATERIAL.value:  # cannot be cut: listed under section 2
            data.cut_waiting += 1
            continue
        if row.stage not in CLAIMING_STAGES:
            continue
        if len(data.cut) == CUT_LIST_MAX:  # the brief lists these; the rest are counted
            data.cut_beyond += 1
            continue
        data.cut.append(
            CutLine(
                project_code=row.project_code, project_name=row.project_name, client_name=row.client_name,
                material=_material(row.material_type, row.thickness_mm, row.sheet_size),
                sheets_left=max((row.sheets_required or 0) - (row.sheets_cut or 0), 0),
                sheets_required=row.sheets_required, preset_name=row.preset_name,
                in_progress=row.status == QueueStatus.IN_PROGRESS.value, priority=row.priority,
                project_id=row.project_id, short=row.project_id in short,
            )
        )  # fmt: skip


async def _short_jobs(session: AsyncSession) -> set[int]:
    """Projects in the active queue, queued or being cut, whose sheets the shelf does not cover once the
    jobs ahead of them have theirs — the queue's own stock badge, so the report and the queue agree."""
    items = list(
        (
            await session.scalars(
                select(QueueItem)
                .join(QueueItem.project)
                .options(contains_eager(QueueItem.project))
                .where(
                    QueueItem.is_active(),
                    Project.stage.in_(CLAIMING_STAGES),
                    Project.stage != Stage.WAITING_MATERIAL.value,
                )
            )
        ).unique()
    )
    badges = await queue_badges(session, items)
    return {item.project_id for item in items if badges.get(item.id) in (StockBadge.SHORT, StockBadge.BLOCKED)}


async def _material_to_order(session: AsyncSession, data: ReportData, short: set[int]) -> None:
    low = (
        await session.execute(
            select(
                InventoryItem.item_code, InventoryItem.name, InventoryItem.unit,
                InventoryItem.quantity_on_hand.label("on_hand"), InventoryItem.min_required.label("minimum"),
                InventoryItem.reorder_quantity, InventoryItem.id.label("item_id"),
            )
            .where(InventoryItem.quantity_on_hand < InventoryItem.min_required)
            .order_by(InventoryItem.item_code)
        )
    ).all()  # fmt: skip
    data.low_stock = [LowStockLine(**row._mapping) for row in low]
    # Every job that is short, whatever its stage: waiting on material, or queued / being cut without the sheets.

    waiting = (
        await session.execute(
            select(
                Project.id.label("project_id"), _PROJECT_CODE, _PROJECT_NAME, _CLIENT_NAME, Project.material_type,
                Project.thickness_mm, Project.sheet_size, Project.sheets_required,
                func.coalesce(QueueItem.sheets_cut, 0).label("sheets_cut"), Project.stage,
            )
            .join(Client, Client.id == Project.client_id)
            .outerjoin(QueueItem, QueueItem.project_id == Project.id)
            .where(or_(Project.stage == Stage.WAITING_MATERIAL.value, Project.id.in_(sorted(short))))
            .order_by(Project.pop_received_date, QueueItem.rank, Project.id)
        )
    ).all()  # fmt: skip
    # A row has the sheet columns by name, so it is what ``SheetSpec.of`` reads.
    specs = {spec for row in waiting if (spec := SheetSpec.of(row)) is not None}
    free: dict[SheetSpec, int] = {}
    if specs:
        on_hand = {
            (r.material_type, r.thickness_mm, r.sheet_size): r.quantity_on_hand
            for r in (
                await session.execute(
                    select(
                        InventoryItem.material_type, InventoryItem.thickness_mm, InventoryItem.sheet_size,
                        InventoryItem.quantity_on_hand,
                    ).where(InventoryItem.category == Category.SHEET.value)
                )
            ).all()
        }  # fmt: skip
        # One claim query per distinct sheet (a shop stocks tens of sheets, never per project).
        for spec in sorted(specs, key=lambda s: (s.material_type, s.thickness_mm, s.sheet_size)):
            held = on_hand.get((spec.material_type, spec.thickness_mm, spec.sheet_size), 0)
            free[spec] = held - await claimed_sheets(session, spec, excluding_project=0)
    for row in waiting:
        spec = SheetSpec.of(row)
        needed = max((row.sheets_required or 0) - row.sheets_cut, 0)
        # A queued or cutting job's own claim is in the claimed total: what is free for it excludes it.
        own = needed if row.stage in CLAIMING_STAGES else 0
        data.waiting.append(
            WaitingLine(
                project_id=row.project_id, project_code=row.project_code, project_name=row.project_name,
                client_name=row.client_name, sheet=spec.label() if spec else None,
                material=_material(row.material_type, row.thickness_mm, row.sheet_size),
                sheets_needed=needed, free=(free.get(spec, 0) + own) if spec else 0, stage=row.stage,
            )
        )  # fmt: skip


async def _clients_to_contact(session: AsyncSession, data: ReportData) -> None:
    """Pending drafts and open approval/pickup waits, one line per project (its reasons joined)."""
    drafts = (
        await session.execute(
            select(OutboundDraft.project_id, OutboundDraft.kind, OutboundDraft.created_at)
            .where(OutboundDraft.status == DraftStatus.PENDING.value)
            .order_by(OutboundDraft.created_at, OutboundDraft.id)
        )
    ).all()
    waits = (
        await session.execute(
            select(Notification.project_id, Notification.notif_type, Notification.created_at)
            .where(
                Notification.resolved_at.is_(None),
                Notification.notif_type.in_([t.value for t in CLIENT_WAITS]),
                Notification.project_id.is_not(None),
            )
            .order_by(Notification.created_at, Notification.id)
        )
    ).all()
    reasons: dict[int, list[tuple[datetime, str]]] = {}
    for wait in waits:
        reasons.setdefault(wait.project_id, []).append((wait.created_at, NotificationType(wait.notif_type).label))
    for draft in drafts:
        label = f"draft ready: {DraftKind(draft.kind).label}"
        reasons.setdefault(draft.project_id, []).append((draft.created_at, label))
    if not reasons:
        return
    people: dict[int, ContactLine] = {}
    ids = sorted(reasons)
    for start in range(0, len(ids), 400):  # bounded IN lists
        chunk = ids[start : start + 400]
        for row in (
            await session.execute(
                select(Project.id.label("project_id"), _PROJECT_CODE, _PROJECT_NAME, _CLIENT_NAME, Client.phone)
                .join(Client, Client.id == Project.client_id)
                .where(Project.id.in_(chunk))
            )
        ).all():
            labels = tuple(dict.fromkeys(label for _, label in sorted(reasons[row.project_id])))
            people[row.project_id] = ContactLine(
                client_name=row.client_name, phone=row.phone or "", project_code=row.project_code,
                project_name=row.project_name, reasons=labels, project_id=row.project_id,
            )  # fmt: skip
    # Oldest first: whoever has waited longest is called first.
    for project_id in sorted(reasons, key=lambda pid: (min(reasons[pid])[0], pid)):
        if project_id in people:
            data.contacts.append(people[project_id])


async def _blocked_and_stalled(session: AsyncSession, data: ReportData, now: datetime) -> None:
    """Projects the notification rules say are blocked or past their stage limit, right now."""
    limits = await stage_limits(session)
    # Candidates: every job waiting on material, and jobs that have been in a limited stage longer
    # than its limit (a necessary condition of each rule; the rules decide below).
    conditions = [Project.stage == Stage.WAITING_MATERIAL.value]
    for stage in (Stage.QUOTE, Stage.CUTTING, Stage.READY):
        limit = limits.get(stage)
        if limit is not None:
            conditions.append((Project.stage == stage.value) & (Project.stage_changed_at < now - limit))
    ids = list((await session.scalars(select(Project.id).where(or_(*conditions)))).all())
    if not ids:
        return
    missing = {line.project_id: line for line in data.waiting}
    order = {stage: i for i, stage in enumerate(BLOCKING)}
    lines: list[tuple[int, int, BlockedLine]] = []
    for facts in await project_facts(session, ids):
        raised, _drafts = project_alerts(facts, limits, now)
        if not any(r.notif_type == BLOCKING.get(facts.stage) for r in raised):
            continue
        days = _days(now - facts.stage_changed_at)
        line = BlockedLine(
            project_code=facts.project_code, project_name=facts.name, client_name=facts.client_name,
            stage=facts.stage, days=days, next_action=_next_action(facts.stage, missing.get(facts.id)),
            project_id=facts.id,
        )  # fmt: skip
        lines.append((order[facts.stage], -days, line))
    data.blocked = [line for *_key, line in sorted(lines, key=lambda t: (t[0], t[1], t[2].project_code))]


def _next_action(stage: Stage, waiting: WaitingLine | None) -> str:
    if stage != Stage.WAITING_MATERIAL:
        return NEXT_ACTIONS[stage]
    if waiting is None:
        return "order the sheets"
    if waiting.sheet is None:
        return f"set the job's material ({waiting.material}) and order the sheets"
    if waiting.missing == 0:
        return f"{waiting.sheet} is in stock — move the job to Queued"
    # e.g. "order 6 sheets of Mild Steel 3.0 mm 3000x1500" (how the shop says it to the supplier)
    return f"order {sheets(waiting.missing)} of {waiting.sheet}"


@dataclass
class _Tally:
    name: str
    runs: int = 0
    cut_minutes: Decimal = Decimal(0)
    sheets: int = 0
    parts: int = 0


async def _yesterdays_production(session: AsyncSession, data: ReportData, calendar: ShopCalendar) -> None:
    """Completed runs that ended on the previous shop date, in total and per operator.

    One pass over the runs groups them by (operator, extra operator); only the handful of groups
    are joined to names. ``ended_at`` has no index, so this is a sequential scan of the runs table
    (~60 ms at 500 000 runs). The ``+ 0`` keeps SQLite from walking the operator index to avoid a
    sort, which fetches every run's row out of order and takes ten times as long.
    """
    start, end = calendar.utc_range(data.report_date - timedelta(days=1), data.report_date - timedelta(days=1))
    operator = (LaserRun.operator_id + 0).label("operator")
    cut_for = (LaserRun.extra_operator_id + 0).label("cut_for")
    groups = (
        select(
            operator, cut_for, func.count(LaserRun.id).label("runs"), func.sum(LaserRun.cut_minutes).label("minutes"),
            func.sum(LaserRun.sheets_used).label("sheets"), func.sum(LaserRun.parts_produced).label("parts"),
        )
        .where(LaserRun.status == RunStatus.COMPLETED.value, LaserRun.ended_at >= start, LaserRun.ended_at < end)
        .group_by(operator, cut_for)
        .subquery()
    )  # fmt: skip
    extra = aliased(ExtraOperator)
    rows = (
        await session.execute(
            select(
                groups.c.operator, groups.c.cut_for, User.display_name.label("user_name"),
                extra.display_name.label("extra_name"), groups.c.runs, groups.c.minutes, groups.c.sheets,
                groups.c.parts,
            )
            .join(User, User.id == groups.c.operator)
            .outerjoin(extra, extra.id == groups.c.cut_for)
        )
    ).all()  # fmt: skip
    # A run cut for an extra operator counts for them; otherwise for the logged-in operator.
    people: dict[tuple[str, int], _Tally] = {}
    for row in rows:
        if row.cut_for is not None:
            tally = people.setdefault(("extra", row.cut_for), _Tally(row.extra_name))
        else:
            tally = people.setdefault(("user", row.operator), _Tally(row.user_name))
        tally.runs += row.runs
        tally.cut_minutes += row.minutes or Decimal(0)
        tally.sheets += row.sheets or 0
        tally.parts += row.parts or 0
    data.production = sorted(
        (ProductionLine(t.name, t.runs, t.cut_minutes, t.sheets, t.parts) for t in people.values()),
        key=lambda p: (-p.cut_minutes, p.name),
    )


async def gather(
    session: AsyncSession,
    calendar: ShopCalendar,
    report_date: date,
    *,
    now: datetime | None = None,
    company_name: str | None = None,
    generated_by: str = "",
) -> ReportData:
    """Read everything the report shows (reads only)."""
    now = now or utcnow()
    shop_name: str = company_name if company_name else await SettingsService(session).get(COMPANY_NAME)
    data = ReportData(
        company_name=shop_name,
        report_date=report_date,
        generated_at=now,
        time_zone=calendar.zone.key,
        generated_by=generated_by,
    )
    short = await _short_jobs(session)
    await _cut_today(session, data, short)
    await _material_to_order(session, data, short)
    await _clients_to_contact(session, data)
    await _blocked_and_stalled(session, data, now)
    await _yesterdays_production(session, data, calendar)
    return data
