"""Production over a period: completed runs, cut hours, sheets and parts by day or week, by operator, by material.

A run belongs to the period (and to the shop day) in which it started. Every figure is a grouped
SQL aggregate over ``laser_runs`` through its ``started_at`` index; only the per-hour groups are
folded into days or weeks in Python.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.admin.models import User
from laseros.domain.kernel.shop import ShopCalendar, thickness_label
from laseros.domain.operators.models import ExtraOperator
from laseros.domain.projects.models import Project
from laseros.domain.reports.analytics.period import Period
from laseros.domain.reports.analytics.sql import hundredths, raw, shop_day, utc_hour
from laseros.domain.reports.analytics.tables import Column, Kind, Row, Table, hours
from laseros.domain.runs.models import LaserRun, RunStatus

# Up to this many days a period is shown day by day; longer ones week by week (unless asked).
DAILY_UP_TO_DAYS = 62
GROUPINGS = ("day", "week")


@dataclass(frozen=True)
class Figures:
    runs: int = 0
    cut_minutes: Decimal = Decimal(0)
    sheets: int = 0
    parts: int = 0
    estimated_minutes: Decimal = Decimal(0)  # the jobs' estimates, shared over their runs by cut time

    @property
    def cut_hours(self) -> Decimal:
        return hours(self.cut_minutes)

    @property
    def estimated_hours(self) -> Decimal:
        return hours(self.estimated_minutes)

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.runs + other.runs,
            self.cut_minutes + other.cut_minutes,
            self.sheets + other.sheets,
            self.parts + other.parts,
            self.estimated_minutes + other.estimated_minutes,
        )


@dataclass(frozen=True)
class Bucket:
    """One day (or the week starting ``start``) of production."""

    start: date
    end: date
    figures: Figures

    @property
    def label(self) -> str:
        return (
            self.start.isoformat() if self.start == self.end else f"{self.start.isoformat()} – {self.end.isoformat()}"
        )


@dataclass(frozen=True)
class ProductionReport:
    period: Period
    grouping: str
    totals: Figures
    buckets: list[Bucket]
    by_operator: Table
    by_material: Table
    by_time: Table
    sheets_by_material: list[tuple[str, int]]

    @property
    def tables(self) -> list[Table]:
        return [self.by_time, self.by_operator, self.by_material]


def default_grouping(period: Period) -> str:
    return "day" if period.days <= DAILY_UP_TO_DAYS else "week"


def _in_period(first: Any, last: Any) -> Any:
    return (
        (LaserRun.status == RunStatus.COMPLETED.value) & (LaserRun.started_at >= first) & (LaserRun.started_at < last)
    )


def _sums() -> tuple[Any, ...]:
    return (
        func.count(LaserRun.id),
        func.sum(raw(LaserRun.cut_minutes)),
        func.sum(LaserRun.sheets_used),
        func.sum(LaserRun.parts_produced),
    )


def _figures(row: Any, estimated: Any = 0) -> Figures:
    return Figures(
        runs=int(row[0] or 0),
        cut_minutes=hundredths(row[1]),
        sheets=int(row[2] or 0),
        parts=int(row[3] or 0),
        estimated_minutes=Decimal(estimated or 0).quantize(Decimal("0.01")),
    )


async def production_totals(session: AsyncSession, calendar: ShopCalendar, period: Period) -> Figures:
    """Runs, cut minutes, sheets and parts of the completed runs that started in the period."""
    first, last = period.utc_range(calendar)
    row = (await session.execute(select(*_sums()).where(_in_period(first, last)))).one()
    return _figures(row)


async def _job_estimates(session: AsyncSession, project_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Each job's estimated minutes and the hundredths of minutes all its completed runs cut."""
    found: dict[int, tuple[int, int]] = {}
    for start in range(0, len(project_ids), 500):
        chunk = project_ids[start : start + 500]
        estimates = dict(
            (await session.execute(select(Project.id, Project.estimated_cut_time).where(Project.id.in_(chunk)))).all()
        )
        for project_id, total in await session.execute(
            select(LaserRun.project_id, func.sum(raw(LaserRun.cut_minutes)))
            .where(LaserRun.project_id.in_(chunk), LaserRun.status == RunStatus.COMPLETED.value)
            .group_by(LaserRun.project_id)
        ):
            found[project_id] = (int(estimates.get(project_id) or 0), int(total or 0))
    return found


async def _by_day(session: AsyncSession, calendar: ShopCalendar, first: Any, last: Any) -> dict[date, Figures]:
    """The period's figures per shop day.

    One index-only pass groups the period's runs by UTC hour and job; the jobs' estimates and whole
    cut times (all their completed runs, in or out of the period) come by id. A run's share of
    its job's estimate is its part of that cut time; the hours are added up into shop days here.
    """
    hour = utc_hour(session, LaserRun.started_at).label("hour")
    rows = (
        await session.execute(
            select(hour, LaserRun.project_id, *_sums())
            .where(_in_period(first, last))
            .group_by(hour, LaserRun.project_id)
        )
    ).all()
    jobs = await _job_estimates(session, sorted({row[1] for row in rows}))
    sums: dict[date, list[Any]] = {}
    days: dict[str, date] = {}
    for row in rows:
        bucket, project_id, runs, minutes, sheets, parts = tuple(row)
        day = days.get(bucket)
        if day is None:
            day = days[bucket] = shop_day(bucket, calendar)
        line = sums.setdefault(day, [0, 0, 0, 0, 0.0])
        minutes = int(minutes or 0)  # PostgreSQL sums a bigint to a numeric
        line[0] += int(runs or 0)
        line[1] += minutes
        line[2] += int(sheets or 0)
        line[3] += int(parts or 0)
        estimate, total = jobs.get(project_id, (0, 0))
        if total:
            line[4] += estimate * minutes / total
    return {
        day: Figures(
            runs, hundredths(minutes), sheets, parts, Decimal(str(round(estimated, 2))).quantize(Decimal("0.01"))
        )
        for day, (runs, minutes, sheets, parts, estimated) in sums.items()
    }


def _fold(by_day: dict[date, Figures], period: Period, grouping: str) -> list[Bucket]:
    buckets = []
    if grouping == "week":
        day = period.start - timedelta(days=period.start.weekday())  # the Monday of the first week
        while day <= period.end:
            start, end = max(day, period.start), min(day + timedelta(days=6), period.end)
            total = Figures()
            for offset in range((end - start).days + 1):
                total += by_day.get(start + timedelta(days=offset), Figures())
            buckets.append(Bucket(start, end, total))
            day += timedelta(days=7)
    else:
        day = period.start
        while day <= period.end:
            buckets.append(Bucket(day, day, by_day.get(day, Figures())))
            day += timedelta(days=1)
    return buckets


FIGURE_COLUMNS = (
    Column("runs", "Runs", Kind.COUNT),
    Column("cut_hours", "Cut hours", Kind.HOURS),
    Column("sheets", "Sheets", Kind.COUNT),
    Column("parts", "Parts", Kind.COUNT),
)


def _figure_values(figures: Figures) -> tuple[Any, ...]:
    return (figures.runs, figures.cut_hours, figures.sheets, figures.parts)


async def _by_operator(session: AsyncSession, first: Any, last: Any) -> Table:
    # A run counts for its extra operator when it names one, otherwise for the logged-in operator.
    rows = (
        await session.execute(
            select(LaserRun.extra_operator_id, LaserRun.operator_id, *_sums())
            .where(_in_period(first, last))
            .group_by(LaserRun.extra_operator_id, LaserRun.operator_id)
        )
    ).all()
    per_user: dict[int, Figures] = defaultdict(Figures)
    per_extra: dict[int, Figures] = defaultdict(Figures)
    for extra_id, user_id, *sums in rows:
        if extra_id is not None:
            per_extra[extra_id] += _figures(sums)
        else:
            per_user[user_id] += _figures(sums)
    users = dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(list(per_user))))).all())
    extras = dict(
        (
            await session.execute(
                select(ExtraOperator.id, ExtraOperator.display_name).where(ExtraOperator.id.in_(list(per_extra)))
            )
        ).all()
    )
    people = [(users.get(i, f"User {i}"), f"/operators/{i}", f) for i, f in per_user.items()]
    people += [(extras.get(i, f"Operator {i}"), f"/operators/extra/{i}", f) for i, f in per_extra.items()]
    people.sort(key=lambda p: (-p[2].cut_minutes, p[0]))
    return Table(
        key="by_operator",
        title="By operator",
        columns=(Column("operator", "Operator"), *FIGURE_COLUMNS),
        rows=[Row((name, *_figure_values(f)), links={"operator": url}) for name, url, f in people],
        empty="No runs in this period.",
        note="A run counts for the extra operator it names, otherwise for the person logged in.",
    )


async def _by_material(session: AsyncSession, first: Any, last: Any) -> Table:
    rows = (
        await session.execute(
            select(LaserRun.material_type, LaserRun.thickness_mm, *_sums())
            .where(_in_period(first, last))
            .group_by(LaserRun.material_type, LaserRun.thickness_mm)
        )
    ).all()
    lines = sorted(
        ((material or "(no material)", thickness, _figures(sums)) for material, thickness, *sums in rows),
        key=lambda line: (-line[2].sheets, line[0], line[1] or 0),
    )
    return Table(
        key="by_material",
        title="By material",
        columns=(Column("material_type", "Material"), Column("thickness_mm", "Thickness (mm)"), *FIGURE_COLUMNS),
        rows=[
            Row((material, thickness_label(t) if t is not None else "", *_figure_values(f))) for material, t, f in lines
        ],
        empty="No runs in this period.",
    )


async def production_report(
    session: AsyncSession, calendar: ShopCalendar, period: Period, grouping: str | None = None
) -> ProductionReport:
    """The production report for ``period``, day by day or week by week (default: by the period's length)."""
    grouping = grouping if grouping in GROUPINGS else default_grouping(period)
    first, last = period.utc_range(calendar)
    buckets = _fold(await _by_day(session, calendar, first, last), period, grouping)
    totals = sum((b.figures for b in buckets), Figures())
    by_material = await _by_material(session, first, last)
    sheets: dict[str, int] = defaultdict(int)
    for row in by_material.rows:
        sheets[str(row.values[0])] += int(row.values[4])
    by_time = Table(
        key="by_time",
        title="By day" if grouping == "day" else "By week",
        columns=(
            Column("date" if grouping == "day" else "week", "Day" if grouping == "day" else "Week"),
            *FIGURE_COLUMNS,
            Column("estimated_hours", "Estimated hours", Kind.HOURS),
        ),
        rows=[Row((b.label, *_figure_values(b.figures), b.figures.estimated_hours)) for b in buckets],
        total=Row(("Total", *_figure_values(totals), totals.estimated_hours)),
        note="Estimated hours: each job's estimate shared over its runs in proportion to their cut time.",
    )
    return ProductionReport(
        period=period,
        grouping=grouping,
        totals=totals,
        buckets=buckets,
        by_operator=await _by_operator(session, first, last),
        by_material=by_material,
        by_time=by_time,
        sheets_by_material=sorted(sheets.items(), key=lambda kv: (-kv[1], kv[0])),
    )
