"""The daily report (SPEC §6): a plain-text brief of the shop's day, stored one per shop date.

``generate_daily_report`` reads everything first (``gather``), renders text and highlights from
what it read (``render``, pure), then stores the result with one upsert on ``report_date`` in a
short write transaction: two generators racing for the same date (two workers at 07:30, a
worker restarted mid-report, "Generate now" at the same moment) still leave exactly one row.

No rule is restated here. Stage limits and what counts as blocked or stalled come from the
notification rules (``notifications.rules.project_alerts`` over ``project_facts``); free stock
comes from ``inventory.stock`` (on hand minus what queued and cutting jobs still claim).
Every section is a handful of set-based queries over the active rows (and yesterday's production
one pass over the runs), about 0.3 s at ten years of data (see ``docs/daily_report.md``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, defer

from laseros.db import Database, utcnow
from laseros.domain.admin.models import User
from laseros.domain.clients.models import Client
from laseros.domain.inventory.models import Category, InventoryItem
from laseros.domain.inventory.stock import SheetSpec, claimed_sheets
from laseros.domain.kernel.errors import NotFound
from laseros.domain.kernel.paging import Page, paginate
from laseros.domain.kernel.registry import COMPANY_NAME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar, sheet_label
from laseros.domain.notifications.facts import project_facts, stage_limits
from laseros.domain.notifications.models import DraftKind, DraftStatus, Notification, NotificationType, OutboundDraft
from laseros.domain.notifications.rules import STAGE_ALERTS, project_alerts
from laseros.domain.operators.models import ExtraOperator
from laseros.domain.presets.models import Preset
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import ACTIVE_QUEUE_STATUSES, CLAIMING_STAGES, QueueStatus, Stage
from laseros.domain.queue.models import Priority, QueueItem
from laseros.domain.reports.models import DailyReport
from laseros.domain.runs.models import LaserRun, RunStatus

# The five section headings, in order. Tests, the page and Playwright look for these exactly.
CUT_TODAY = "WHAT TO CUT TODAY"
MATERIAL_TO_ORDER = "MATERIAL TO ORDER"
CLIENTS_TO_CONTACT = "CLIENTS TO CONTACT"
BLOCKED_AND_STALLED = "BLOCKED AND STALLED"
YESTERDAYS_PRODUCTION = "YESTERDAY'S PRODUCTION"
SECTIONS: tuple[str, ...] = (
    CUT_TODAY,
    MATERIAL_TO_ORDER,
    CLIENTS_TO_CONTACT,
    BLOCKED_AND_STALLED,
    YESTERDAYS_PRODUCTION,
)
# Which highlight counts belong to which section (the page shows them beside the headings).
SECTION_COUNTS: dict[str, tuple[str, ...]] = {
    CUT_TODAY: ("cut_today",),
    MATERIAL_TO_ORDER: ("low_stock", "waiting_material"),
    CLIENTS_TO_CONTACT: ("clients_to_contact",),
    BLOCKED_AND_STALLED: ("blocked",),
    YESTERDAYS_PRODUCTION: ("runs_yesterday",),
}
NOTHING = "Nothing to report."
NO_PRESET = "NO PRESET"

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
_ACTIVE = [s.value for s in ACTIVE_QUEUE_STATUSES]


# -- what the report reads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CutLine:
    project_code: str
    project_name: str
    client_name: str
    material: str
    sheets_left: int
    sheets_required: int | None
    preset_name: str | None
    in_progress: bool
    priority: str


@dataclass(frozen=True)
class LowStockLine:
    item_code: str
    name: str
    unit: str
    on_hand: int
    minimum: int
    reorder_quantity: int

    @property
    def shortfall(self) -> int:
        return self.minimum - self.on_hand


@dataclass(frozen=True)
class WaitingLine:
    project_id: int
    project_code: str
    project_name: str
    client_name: str
    spec: SheetSpec | None
    material: str  # as typed on the project, for jobs with an incomplete sheet spec
    sheets_needed: int
    free: int  # free stock of that sheet (may be negative: the queue already claims more than is there)

    @property
    def missing(self) -> int:
        return max(self.sheets_needed - max(self.free, 0), 0)


@dataclass(frozen=True)
class ContactLine:
    client_name: str
    phone: str
    project_code: str
    project_name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class BlockedLine:
    project_code: str
    project_name: str
    client_name: str
    stage: Stage
    days: int
    next_action: str


@dataclass(frozen=True)
class ProductionLine:
    name: str
    runs: int
    cut_minutes: Decimal
    sheets: int
    parts: int


@dataclass
class ReportData:
    company_name: str
    report_date: date
    generated_at: datetime
    generated_by: str = ""
    cut: list[CutLine] = field(default_factory=list)
    cut_waiting: int = 0  # queue items whose job waits on material (listed in section 2, not cut)
    low_stock: list[LowStockLine] = field(default_factory=list)
    waiting: list[WaitingLine] = field(default_factory=list)
    contacts: list[ContactLine] = field(default_factory=list)
    blocked: list[BlockedLine] = field(default_factory=list)
    production: list[ProductionLine] = field(default_factory=list)


def _material(material_type: str, thickness: Decimal | None, sheet_size: str) -> str:
    return sheet_label(material_type, thickness, sheet_size) or "material not set"


def _days(age: timedelta) -> int:
    return max(int(age.total_seconds() // 86400), 0)


async def _cut_today(session: AsyncSession, data: ReportData) -> None:
    """Active queue items in queue order (the queue page's order, ``ix_queue_items_status_rank``)."""
    rows = (
        await session.execute(
            select(
                Project.project_code, Project.name, Client.name, Project.material_type, Project.thickness_mm,
                Project.sheet_size, Project.sheets_required, QueueItem.sheets_cut, Preset.name, QueueItem.status,
                QueueItem.priority, Project.stage,
            )
            .select_from(QueueItem)
            .join(Project, Project.id == QueueItem.project_id)
            .join(Client, Client.id == Project.client_id)
            .outerjoin(Preset, Preset.id == Project.preset_id)
            .where(QueueItem.status.in_(_ACTIVE))
            .order_by(QueueItem.rank, QueueItem.id)
        )
    ).all()  # fmt: skip
    for row in rows:
        if row[11] == Stage.WAITING_MATERIAL.value:  # cannot be cut: listed under section 2
            data.cut_waiting += 1
            continue
        if row[11] not in CLAIMING_STAGES:
            continue
        data.cut.append(
            CutLine(
                project_code=row[0], project_name=row[1], client_name=row[2],
                material=_material(row[3], row[4], row[5]),
                sheets_left=max((row[6] or 0) - (row[7] or 0), 0), sheets_required=row[6],
                preset_name=row[8], in_progress=row[9] == QueueStatus.IN_PROGRESS.value, priority=row[10],
            )
        )  # fmt: skip


@dataclass(frozen=True)
class _Spec:
    """A project row's sheet columns, for ``SheetSpec.of``."""

    material_type: str
    thickness_mm: Decimal | None
    sheet_size: str


async def _material_to_order(session: AsyncSession, data: ReportData) -> None:
    low = (
        await session.execute(
            select(
                InventoryItem.item_code, InventoryItem.name, InventoryItem.unit, InventoryItem.quantity_on_hand,
                InventoryItem.min_required, InventoryItem.reorder_quantity,
            )
            .where(InventoryItem.quantity_on_hand < InventoryItem.min_required)
            .order_by(InventoryItem.item_code)
        )
    ).all()  # fmt: skip
    data.low_stock = [LowStockLine(*row) for row in low]

    waiting = (
        await session.execute(
            select(
                Project.id, Project.project_code, Project.name, Client.name, Project.material_type,
                Project.thickness_mm, Project.sheet_size, Project.sheets_required,
                func.coalesce(QueueItem.sheets_cut, 0),
            )
            .join(Client, Client.id == Project.client_id)
            .outerjoin(QueueItem, QueueItem.project_id == Project.id)
            .where(Project.stage == Stage.WAITING_MATERIAL.value)
            .order_by(Project.pop_received_date, QueueItem.rank, Project.id)
        )
    ).all()  # fmt: skip
    specs = {spec for row in waiting if (spec := SheetSpec.of(_Spec(row[4], row[5], row[6]))) is not None}
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
        spec = SheetSpec.of(_Spec(row[4], row[5], row[6]))
        data.waiting.append(
            WaitingLine(
                project_id=row[0], project_code=row[1], project_name=row[2], client_name=row[3], spec=spec,
                material=_material(row[4], row[5], row[6]),
                sheets_needed=max((row[7] or 0) - row[8], 0), free=free.get(spec, 0) if spec else 0,
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
    for project_id, notif_type, created in waits:
        reasons.setdefault(project_id, []).append((created, NotificationType(notif_type).label))
    for project_id, kind, created in drafts:
        reasons.setdefault(project_id, []).append((created, f"draft ready: {DraftKind(kind).label}"))
    if not reasons:
        return
    people: dict[int, Any] = {}
    ids = sorted(reasons)
    for start in range(0, len(ids), 400):  # bounded IN lists
        chunk = ids[start : start + 400]
        for row in (
            await session.execute(
                select(Project.id, Project.project_code, Project.name, Client.name, Client.phone)
                .join(Client, Client.id == Project.client_id)
                .where(Project.id.in_(chunk))
            )
        ).all():
            people[row[0]] = row
    # Oldest first: whoever has waited longest is called first.
    for project_id in sorted(reasons, key=lambda pid: (min(reasons[pid])[0], pid)):
        row = people.get(project_id)
        if row is None:
            continue
        labels = tuple(dict.fromkeys(label for _, label in sorted(reasons[project_id])))
        data.contacts.append(ContactLine(row[3], row[4] or "", row[1], row[2], labels))


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
            facts.project_code, facts.name, facts.client_name, facts.stage, days,
            _next_action(facts.stage, missing.get(facts.id)),
        )  # fmt: skip
        lines.append((order[facts.stage], -days, line))
    data.blocked = [line for *_key, line in sorted(lines, key=lambda t: (t[0], t[1], t[2].project_code))]


def _next_action(stage: Stage, waiting: WaitingLine | None) -> str:
    if stage != Stage.WAITING_MATERIAL:
        return NEXT_ACTIONS[stage]
    if waiting is None:
        return "order the sheets"
    if waiting.spec is None:
        return f"set the job's material ({waiting.material}) and order the sheets"
    if waiting.missing == 0:
        return f"{waiting.spec.label()} is in stock — move the job to Queued"
    return f"order {_sheets(waiting.missing)} of {_spec_words(waiting.spec)}"


def _spec_words(spec: SheetSpec) -> str:
    """e.g. "Mild Steel 3.0 mm 3000x1500" (how the shop says it on the phone to the supplier)."""
    return spec.label()


def _sheets(n: int) -> str:
    return "1 sheet" if n == 1 else f"{n} sheets"


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
                groups.c.operator, groups.c.cut_for, User.display_name, extra.display_name, groups.c.runs,
                groups.c.minutes, groups.c.sheets, groups.c.parts,
            )
            .join(User, User.id == groups.c.operator)
            .outerjoin(extra, extra.id == groups.c.cut_for)
        )
    ).all()  # fmt: skip
    # A run cut for an extra operator counts for them; otherwise for the logged-in operator.
    people: dict[tuple[str, int], list[Any]] = {}
    for user_id, extra_id, user_name, extra_name, runs, minutes, sheets, parts in rows:
        key, who = (("extra", extra_id), extra_name) if extra_id is not None else (("user", user_id), user_name)
        acc = people.setdefault(key, [who, 0, Decimal(0), 0, 0])
        acc[1] += runs
        acc[2] += minutes or Decimal(0)
        acc[3] += sheets or 0
        acc[4] += parts or 0
    data.production = sorted((ProductionLine(*acc) for acc in people.values()), key=lambda p: (-p.cut_minutes, p.name))


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
    data = ReportData(
        company_name=company_name or await SettingsService(session).get(COMPANY_NAME),
        report_date=report_date,
        generated_at=now,
        generated_by=generated_by,
    )
    await _cut_today(session, data)
    await _material_to_order(session, data)
    await _clients_to_contact(session, data)
    await _blocked_and_stalled(session, data, now)
    await _yesterdays_production(session, data, calendar)
    return data


# -- the text ---------------------------------------------------------------------------------------


def _hours(minutes: Decimal) -> str:
    return f"{(minutes / 60).quantize(Decimal('0.1'))} h"


def _section(title: str, lines: Iterable[str]) -> list[str]:
    body = list(lines)
    return [title, "-" * len(title), *(body or [NOTHING]), ""]


# A morning brief, not the whole queue: the first jobs in cutting order, then how many follow.
CUT_LIST_MAX = 50


def _cut_lines(data: ReportData) -> list[str]:
    lines = []
    for n, c in enumerate(data.cut[:CUT_LIST_MAX], 1):
        flags = []
        if c.in_progress:
            flags.append("CUTTING NOW")
        if c.priority in (Priority.HIGH.value, Priority.URGENT.value):
            flags.append(c.priority.upper())
        flag = f" [{', '.join(flags)}]" if flags else ""
        if c.sheets_required and c.sheets_left == 0:
            sheets = f"all {_sheets(c.sheets_required)} cut"
        elif c.sheets_required and c.sheets_left != c.sheets_required:
            sheets = f"{c.sheets_left} of {_sheets(c.sheets_required)} left"
        else:
            sheets = _sheets(c.sheets_left) if c.sheets_required else "sheets not set"
        preset = f"preset {c.preset_name}" if c.preset_name else NO_PRESET
        lines.append(
            f"{n}. {c.project_code} {c.project_name} — {c.client_name}{flag}\n   {c.material} · {sheets} · {preset}"
        )
    if len(data.cut) > CUT_LIST_MAX:
        lines.append(f"… and {len(data.cut) - CUT_LIST_MAX} more after these, in queue order (see the Queue page).")
    if data.cut_waiting:
        jobs = "1 more queued job waits" if data.cut_waiting == 1 else f"{data.cut_waiting} more queued jobs wait"
        lines.append(f"({jobs} on material — see {MATERIAL_TO_ORDER}.)")
    return lines


def _material_lines(data: ReportData) -> list[str]:
    lines = []
    if data.low_stock:
        lines.append("Below minimum:")
        for s in data.low_stock:
            order = f", reorder {s.reorder_quantity}" if s.reorder_quantity else ""
            lines.append(
                f"- {s.item_code} {s.name}: {s.on_hand} {s.unit} on hand, minimum {s.minimum}, "
                f"short {s.shortfall}{order}"
            )
    if data.waiting:
        if lines:
            lines.append("")
        lines.append("Jobs waiting on material:")
        for w in data.waiting:
            if w.spec is None:
                lines.append(
                    f"- {w.project_code} {w.project_name} ({w.client_name}): {w.material} — sheet not fully specified"
                )
                continue
            lines.append(
                f"- {w.project_code} {w.project_name} ({w.client_name}): needs {_sheets(w.sheets_needed)} of "
                f"{_spec_words(w.spec)}, {max(w.free, 0)} free in stock — missing {w.missing}"
            )
    return lines


def _contact_lines(data: ReportData) -> list[str]:
    return [
        f"- {c.client_name} ({c.phone or 'no phone'}) — {c.project_code} {c.project_name}: {'; '.join(c.reasons)}"
        for c in data.contacts
    ]


def _blocked_lines(data: ReportData) -> list[str]:
    return [
        f"- {b.project_code} {b.project_name} ({b.client_name}) — {b.stage.label}, "
        f"{'1 day' if b.days == 1 else f'{b.days} days'} in stage — next: {b.next_action}"
        for b in data.blocked
    ]


def _production_lines(data: ReportData) -> list[str]:
    if not data.production:
        return []
    runs = sum(p.runs for p in data.production)
    minutes = sum((p.cut_minutes for p in data.production), Decimal(0))
    sheets = sum(p.sheets for p in data.production)
    parts = sum(p.parts for p in data.production)
    lines = [
        f"{runs} run{'s' if runs != 1 else ''} · {_hours(minutes)} cut · {_sheets(sheets)} · {parts} parts",
        "By operator:",
    ]
    lines += [
        f"- {p.name}: {p.runs} run{'s' if p.runs != 1 else ''} · {_hours(p.cut_minutes)} · {_sheets(p.sheets)} · "
        f"{p.parts} parts"
        for p in data.production
    ]
    return lines


def render(data: ReportData, calendar: ShopCalendar) -> str:
    """The report as plain text: a header, then the five sections in order."""
    generated = calendar.local(data.generated_at)
    header = [
        f"{data.company_name} — DAILY REPORT {data.report_date.isoformat()} ({data.report_date:%A})",
        f"Generated {generated:%Y-%m-%d %H:%M} shop time ({calendar.zone.key})"
        + (f" by {data.generated_by}" if data.generated_by else ""),
        "",
    ]
    body = (
        _section(CUT_TODAY, _cut_lines(data))
        + _section(MATERIAL_TO_ORDER, _material_lines(data))
        + _section(CLIENTS_TO_CONTACT, _contact_lines(data))
        + _section(BLOCKED_AND_STALLED, _blocked_lines(data))
        + _section(YESTERDAYS_PRODUCTION, _production_lines(data))
    )
    return "\n".join(header + body).rstrip() + "\n"


def highlights(data: ReportData) -> dict[str, Any]:
    """Counts per section and yesterday's totals (the dashboard shows these)."""
    minutes = sum((p.cut_minutes for p in data.production), Decimal(0))
    return {
        "cut_today": len(data.cut),
        "low_stock": len(data.low_stock),
        "waiting_material": len(data.waiting),
        "clients_to_contact": len(data.contacts),
        "blocked": len(data.blocked),
        "runs_yesterday": sum(p.runs for p in data.production),
        "cut_hours_yesterday": str((minutes / 60).quantize(Decimal("0.1"))),
        "sheets_yesterday": sum(p.sheets for p in data.production),
        "parts_yesterday": sum(p.parts for p in data.production),
    }


# -- storing ----------------------------------------------------------------------------------------


async def _store(
    session: AsyncSession, report_date: date, body: str, marks: dict[str, Any], generated_at: datetime, by: str
) -> DailyReport:
    """Insert or replace the date's report in one statement, commit, and return the row."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        "report_date": report_date,
        "generated_at": generated_at,
        "generated_by": by[:120],
        "body_text": body,
        "highlights": marks,
    }
    stmt = insert(DailyReport).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[DailyReport.report_date],
        set_={name: stmt.excluded[name] for name in ("generated_at", "generated_by", "body_text", "highlights")},
    )
    # RETURNING hands back the stored row, so nothing is read after the commit.
    stmt = stmt.returning(DailyReport).execution_options(populate_existing=True)
    report = (await session.scalars(stmt)).one()
    await session.commit()
    return report


async def generate_daily_report(
    session: AsyncSession | Database,
    calendar: ShopCalendar,
    report_date: date | None = None,
    *,
    generated_by: str,
    now: datetime | None = None,
) -> DailyReport:
    """Build the report for ``report_date`` (default: the shop's today), store it (one row per
    date: regenerating replaces it), commit, and return it.

    Given a ``Database``, the reading happens in a read session and only the upsert takes the
    write lock (the job path). Given a write session, everything runs in it and it is committed.
    """
    report_date = report_date or calendar.today()
    now = now or utcnow()
    if isinstance(session, Database):
        async with session.session(write=False) as reader:
            data = await gather(reader, calendar, report_date, now=now, generated_by=generated_by)
        body, marks = render(data, calendar), highlights(data)
        async with session.session(write=True) as writer:
            return await _store(writer, report_date, body, marks, now, generated_by)
    data = await gather(session, calendar, report_date, now=now, generated_by=generated_by)
    return await _store(session, report_date, render(data, calendar), highlights(data), now, generated_by)


# -- reading stored reports -------------------------------------------------------------------------


class DailyReports:
    """The stored reports: the latest, one by id, and the history list (newest date first)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self) -> DailyReport | None:
        return await self.session.scalar(select(DailyReport).order_by(DailyReport.report_date.desc()).limit(1))

    async def get(self, report_id: int) -> DailyReport:
        report = await self.session.get(DailyReport, report_id)
        if report is None:
            raise NotFound(f"There is no daily report #{report_id}.")
        return report

    async def history(self, page: int = 1, per_page: int = 30) -> Page[DailyReport]:
        """One page of reports by date (the unique index on ``report_date`` orders it), without their text."""
        stmt = select(DailyReport).options(defer(DailyReport.body_text, raiseload=True))
        return await paginate(self.session, stmt.order_by(DailyReport.report_date.desc()), page, per_page)


async def history_page(db: Database, page: int = 1, per_page: int = 30) -> Page[DailyReport]:
    """One page of the history through its own read session (for a caller that holds none)."""
    async with db.session(write=False) as session:
        return await DailyReports(session).history(page, per_page)


def section_count(marks: dict[str, Any], title: str) -> int | None:
    """The number of entries a section listed, from the stored highlights (None if not recorded)."""
    keys = SECTION_COUNTS.get(title, ())
    if not keys or any(key not in marks for key in keys):
        return None
    return sum(int(marks[key]) for key in keys)


def split_sections(body: str) -> tuple[list[str], list[tuple[str, str]]]:
    """A stored report's header lines and (heading, text) per section, for the page to lay out.

    The text is the record (it is what gets downloaded and forwarded); the page only splits it
    at the five headings.
    """
    header: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line in SECTIONS:
            sections.append((line, []))
            if i + 1 < len(lines) and set(lines[i + 1]) == {"-"}:
                i += 1  # the heading's underline
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            header.append(line)
        i += 1
    return header, [(title, "\n".join(text).strip("\n")) for title, text in sections]
