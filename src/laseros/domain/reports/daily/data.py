"""What a daily report holds: the five sections as data, the highlights, and their JSON form.

The dataclasses are the record. ``gather`` fills them, ``store`` keeps them as JSON in
``daily_reports.data``, and the .txt and the page are rendered from them by templates. The few
phrases both formats share ("4 of 6 sheets left", "3 days", "1.5 h") are properties here, so the
download and the page cannot say them differently.

A field added later needs a default: reports stored before it must still load (``from_json``
fills what is missing from the defaults and ignores keys it no longer knows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from laseros.domain.projects.stages import Stage
from laseros.domain.queue.models import Priority

# The five section headings, in order. Tests, the page, the .txt and Playwright use these exactly.
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
NO_PRESET = "no preset yet"
# A morning brief, not the whole queue: the first jobs in cutting order, then how many follow.
CUT_LIST_MAX = 50


def sheets(n: int) -> str:
    return "1 sheet" if n == 1 else f"{n} sheets"


def hours(minutes: Decimal) -> str:
    return f"{(minutes / 60).quantize(Decimal('0.1'))} h"


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
    project_id: int | None = None  # None in reports stored before the page linked its jobs
    short: bool = False  # the shelf does not cover it (listed under material to order too)

    @property
    def flags(self) -> tuple[str, ...]:
        """ "cutting now" for the job on the machine, "short of sheets", and its priority when High or Urgent."""
        flags: tuple[str, ...] = ("cutting now",) if self.in_progress else ()
        if self.short:
            flags += ("short of sheets",)
        if self.priority in (Priority.HIGH.value, Priority.URGENT.value):
            flags += (f"{self.priority.lower()} priority",)
        return flags

    @property
    def sheets_to_cut(self) -> str:
        if self.sheets_required and self.sheets_left == 0:
            return f"all {sheets(self.sheets_required)} cut"
        if self.sheets_required and self.sheets_left != self.sheets_required:
            return f"{self.sheets_left} of {sheets(self.sheets_required)} left"
        return sheets(self.sheets_left) if self.sheets_required else "sheets not set"

    @property
    def preset(self) -> str:
        return f"preset {self.preset_name}" if self.preset_name else NO_PRESET


@dataclass(frozen=True)
class LowStockLine:
    item_code: str
    name: str
    unit: str
    on_hand: int
    minimum: int
    reorder_quantity: int
    item_id: int | None = None  # None in reports stored before the page linked its stock

    @property
    def shortfall(self) -> int:
        return self.minimum - self.on_hand


@dataclass(frozen=True)
class WaitingLine:
    project_id: int
    project_code: str
    project_name: str
    client_name: str
    sheet: str | None  # "Mild Steel 3.0 mm 3000x1500"; None when the job's sheet is not fully specified
    material: str  # as typed on the project, for jobs with an incomplete sheet spec
    sheets_needed: int
    free: int  # free stock of that sheet (may be negative: the queue already claims more than is there)
    stage: str = Stage.WAITING_MATERIAL.value  # a queued or cutting job the shelf does not cover is listed too

    @property
    def stage_note(self) -> str:
        """ "" for a job waiting on material; otherwise why a job in another stage is here."""
        if self.stage == Stage.WAITING_MATERIAL.value:
            return ""
        return "cutting, short of sheets" if self.stage == Stage.CUTTING.value else "queued, short of sheets"

    @property
    def missing(self) -> int:
        return max(self.sheets_needed - max(self.free, 0), 0)

    @property
    def free_in_stock(self) -> int:
        return max(self.free, 0)


@dataclass(frozen=True)
class ContactLine:
    client_name: str
    phone: str
    project_code: str
    project_name: str
    reasons: tuple[str, ...]
    project_id: int | None = None

    @property
    def phone_or_none(self) -> str:
        return self.phone or "no phone"


@dataclass(frozen=True)
class BlockedLine:
    project_code: str
    project_name: str
    client_name: str
    stage: Stage
    days: int
    next_action: str
    project_id: int | None = None

    @property
    def days_in_stage(self) -> str:
        return "1 day" if self.days == 1 else f"{self.days} days"


@dataclass(frozen=True)
class ProductionLine:
    name: str
    runs: int
    cut_minutes: Decimal
    sheets: int
    parts: int

    @property
    def runs_done(self) -> str:
        return "1 run" if self.runs == 1 else f"{self.runs} runs"

    @property
    def hours(self) -> str:
        return hours(self.cut_minutes)

    @property
    def sheets_used(self) -> str:
        return sheets(self.sheets)


@dataclass
class ReportData:
    company_name: str
    report_date: date
    generated_at: datetime  # UTC
    time_zone: str  # the shop's zone when it was generated, so the header keeps saying that time
    generated_by: str = ""
    cut: list[CutLine] = field(default_factory=list)  # in queue order; ``gather`` keeps the first CUT_LIST_MAX
    cut_beyond: int = 0  # the jobs to cut after those, counted but not kept (a queue can be thousands long)
    cut_waiting: int = 0  # queue items whose job waits on material (listed in section 2, not cut)
    low_stock: list[LowStockLine] = field(default_factory=list)
    waiting: list[WaitingLine] = field(default_factory=list)
    contacts: list[ContactLine] = field(default_factory=list)
    blocked: list[BlockedLine] = field(default_factory=list)
    production: list[ProductionLine] = field(default_factory=list)

    @property
    def generated_local(self) -> datetime:
        return self.generated_at.astimezone(ZoneInfo(self.time_zone))

    @property
    def cut_listed(self) -> list[CutLine]:
        return self.cut[:CUT_LIST_MAX]

    @property
    def cut_more(self) -> int:
        """How many jobs to cut follow the ones listed."""
        return max(len(self.cut) - CUT_LIST_MAX, 0) + self.cut_beyond

    @property
    def cut_count(self) -> int:
        return len(self.cut) + self.cut_beyond

    @property
    def cut_waiting_note(self) -> str:
        """The closing line of section 1 when queued jobs wait on material ("" when none do)."""
        if not self.cut_waiting:
            return ""
        jobs = "1 more queued job waits" if self.cut_waiting == 1 else f"{self.cut_waiting} more queued jobs wait"
        return f"({jobs} on material — see {MATERIAL_TO_ORDER}.)"

    @property
    def production_total(self) -> ProductionLine:
        return ProductionLine(
            name="total",
            runs=sum(p.runs for p in self.production),
            cut_minutes=sum((p.cut_minutes for p in self.production), Decimal(0)),
            sheets=sum(p.sheets for p in self.production),
            parts=sum(p.parts for p in self.production),
        )

    def to_json(self) -> dict[str, Any]:
        """The report as JSON values (dates and times ISO 8601, minutes as decimal strings)."""
        built: dict[str, Any] = msgspec.to_builtins(self)  # a dataclass gives a dict
        return built

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ReportData:
        return msgspec.convert(value, cls)


def highlights(data: ReportData) -> dict[str, Any]:
    """Counts per section and yesterday's totals (the dashboard shows these)."""
    total = data.production_total
    return {
        "cut_today": data.cut_count,
        "low_stock": len(data.low_stock),
        "waiting_material": len(data.waiting),
        "clients_to_contact": len(data.contacts),
        "blocked": len(data.blocked),
        "runs_yesterday": total.runs,
        "cut_hours_yesterday": str((total.cut_minutes / 60).quantize(Decimal("0.1"))),
        "sheets_yesterday": total.sheets,
        "parts_yesterday": total.parts,
    }


def section_count(marks: dict[str, Any], title: str) -> int | None:
    """The number of entries a section listed, from the stored highlights (None if not recorded)."""
    keys = SECTION_COUNTS.get(title, ())
    if not keys or any(key not in marks for key in keys):
        return None
    return sum(int(marks[key]) for key in keys)
