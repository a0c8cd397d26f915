"""The price of a project from its drawings (SPEC §8.2, docs/pricing.md).

:func:`price_project` is the one entry: it reads the project's DXF analyses, its preset, the
shop's calibration for the sheet, the matching stock item and the pricing settings, nests the
ordered parts and returns the :class:`Breakdown` line by line. It writes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.files import dxf
from laseros.domain.files.models import StoredFile
from laseros.domain.inventory.models import Category, InventoryItem
from laseros.domain.kernel import registry
from laseros.domain.kernel.errors import InvalidInput, NotFound
from laseros.domain.kernel.money import to_cents
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import thickness_label
from laseros.domain.presets.models import Preset
from laseros.domain.presets.services import active_preset_id
from laseros.domain.pricing.nesting import Nesting, Part, nest
from laseros.domain.projects.models import Project
from laseros.domain.runs.calibration import Calibration, calibration_for

MAX_QUANTITY = 10_000
NO_MONEY = Decimal("0.00")
MINUTE_PLACES = Decimal("0.01")
REANALYSE_SECONDS = 30.0


def _minutes(value: Decimal) -> Decimal:
    return value.quantize(MINUTE_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PartPrice:
    """One drawing on the project, with its ordered quantity and its machine minutes."""

    file_id: int
    name: str
    quantity: int
    width_mm: float
    height_mm: float
    area_mm2: float
    cut_length_mm: float
    pierces: int
    rapid_mm: float
    cut_minutes: Decimal  # one part: cut length ÷ speed
    pierce_minutes: Decimal  # one part: pierces × pierce time
    rapid_minutes: Decimal  # one part: rapid travel ÷ rapid speed
    # The outer contour for true-shape nesting (dxf.Analysis.outline); None: the bounding box.
    outline: tuple[tuple[float, float], ...] | None = None
    outline_tolerance_mm: float = 0.0

    @property
    def minutes_each(self) -> Decimal:
        return self.cut_minutes + self.pierce_minutes + self.rapid_minutes

    @property
    def minutes(self) -> Decimal:
        return self.minutes_each * self.quantity


@dataclass(frozen=True)
class Line:
    """One line of the breakdown: what it is, how it was reached, the amount (R)."""

    key: str
    label: str
    detail: str
    amount: Decimal


@dataclass
class Breakdown:
    project_id: int
    project_code: str
    material_type: str
    thickness_mm: Decimal | None
    sheet_size: str
    quantities: dict[int, int]
    # Why there is no price (no preset, no drawing): shown instead of the figures.
    refusal: str | None = None
    preset: Preset | None = None
    parts: list[PartPrice] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    cut_minutes: Decimal = Decimal(0)  # the estimate, before calibration
    calibration: Calibration | None = None
    calibrated_minutes: Decimal = Decimal(0)
    nesting: Nesting | None = None
    utilisation_percent: Decimal | None = None
    stock_item: InventoryItem | None = None
    rates: dict[str, Decimal] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    material_cost: Decimal = NO_MONEY
    machine_cost: Decimal = NO_MONEY
    setup_fee: Decimal = NO_MONEY
    minimum_applied: bool = False
    markup: Decimal = NO_MONEY
    subtotal: Decimal = NO_MONEY  # the price before VAT
    vat: Decimal = NO_MONEY
    total: Decimal = NO_MONEY

    @property
    def priced(self) -> bool:
        return self.refusal is None

    @property
    def sheets(self) -> int:
        return self.nesting.sheets if self.nesting else 0

    @property
    def calibration_factor(self) -> Decimal:
        return self.calibration.factor if self.calibration else Decimal("1.000")

    def to_json(self) -> dict[str, Any]:
        """The figures of SPEC §9 (money as strings of cents), the parts, the flags and the calibration jobs."""
        calibration = self.calibration
        return {
            "project_id": self.project_id,
            "priced": self.priced,
            "refusal": self.refusal,
            "cut_minutes": str(self.cut_minutes),
            "calibrated_cut_minutes": str(self.calibrated_minutes),
            "sheets": self.sheets,
            "utilisation_percent": None if self.utilisation_percent is None else str(self.utilisation_percent),
            "nesting_method": self.nesting.method if self.nesting else None,
            "calibration_factor": str(self.calibration_factor),
            "calibration_jobs": [
                {
                    "project_code": job.project_code,
                    "estimated_minutes": job.estimated_minutes,
                    "actual_minutes": str(job.actual_minutes),
                }
                for job in (calibration.jobs if calibration and calibration.applied else [])
            ],
            "material_cost": str(self.material_cost),
            "machine_cost": str(self.machine_cost),
            "setup_fee": str(self.setup_fee),
            "minimum_charge_applied": self.minimum_applied,
            "markup": str(self.markup),
            "subtotal": str(self.subtotal),
            "vat": str(self.vat),
            "total": str(self.total),
            "flags": self.flags,
            "parts": [
                {
                    "file_id": p.file_id,
                    "name": p.name,
                    "quantity": p.quantity,
                    "cut_length_mm": p.cut_length_mm,
                    "pierces": p.pierces,
                    "rapid_mm": p.rapid_mm,
                    "minutes_each": str(p.minutes_each),
                    "minutes": str(p.minutes),
                }
                for p in self.parts
            ],
        }


def parse_quantities(values: Mapping[str, str], file_ids: list[int]) -> dict[int, int]:
    """``qty_<file id>`` → the ordered quantity of each drawing (1 when absent; 422 when not a whole
    number from 1 to 10 000). Keys of files not on the project are ignored."""
    quantities: dict[int, int] = {}
    errors: dict[str, str] = {}
    for file_id in file_ids:
        raw = (values.get(f"qty_{file_id}") or "").strip()
        if not raw:
            quantities[file_id] = 1
            continue
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_QUANTITY:
            errors[f"qty_{file_id}"] = f"Enter a whole number of parts from 1 to {MAX_QUANTITY:,}."
            continue
        quantities[file_id] = int(raw)
    if errors:
        raise InvalidInput(errors)
    return quantities


async def drawings(session: AsyncSession, project_id: int) -> list[StoredFile]:
    """The project's DXF files, oldest first."""
    stmt = (
        select(StoredFile).where(StoredFile.project_id == project_id, StoredFile.kind == "dxf").order_by(StoredFile.id)
    )
    return list(await session.scalars(stmt))


async def _rapid_mm(analysis: dxf.Analysis, path: Path) -> float:
    """The stored rapid travel; an analysis stored before it was measured reads the drawing again."""
    if analysis.rapid_mm is not None:
        return analysis.rapid_mm
    try:
        result = await asyncio.wait_for(asyncio.to_thread(dxf.analyse, path), REANALYSE_SECONDS)
    except (TimeoutError, OSError, dxf.DxfUnreadable, RecursionError):
        return 0.0
    return result.analysis.rapid_mm or 0.0


async def _preset(session: AsyncSession, project: Project) -> Preset | None:
    preset_id = project.preset_id or await active_preset_id(session, project.material_type, project.thickness_mm)
    return await session.get(Preset, preset_id) if preset_id else None


async def _rates(session: AsyncSession) -> dict[str, Decimal]:
    settings = SettingsService(session)
    entries = {
        "rapid_speed_mm_min": registry.RAPID_SPEED_MM_MIN,
        "part_gap_mm": registry.PART_GAP_MM,
        "sheet_margin_mm": registry.SHEET_MARGIN_MM,
        "machine_rate_per_hour": registry.MACHINE_RATE_PER_HOUR,
        "setup_fee": registry.SETUP_FEE,
        "minimum_charge": registry.MINIMUM_CHARGE,
        "markup_percent": registry.MARKUP_PERCENT,
        "vat_rate": registry.VAT_RATE,
    }
    return {name: await settings.get(entry) for name, entry in entries.items()}


def _sheet_name(project: Project) -> str:
    thickness = f"{thickness_label(project.thickness_mm)} mm " if project.thickness_mm is not None else ""
    return f"{thickness}{project.material_type}".strip()


async def price_project(
    session: AsyncSession, project_id: int, uploads_dir: Path, quantities: Mapping[int, int] | None = None
) -> Breakdown:
    """The project's price from its drawings, line by line (``quantities``: parts per file id, else 1).

    Raises ``NotFound`` for an unknown project. No preset for the sheet, or no drawing: the
    breakdown carries the ``refusal`` and no figures.
    """
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist.")
    files = await drawings(session, project_id)
    wanted = {f.id: max(1, int((quantities or {}).get(f.id, 1))) for f in files}
    out = Breakdown(
        project_id=project.id,
        project_code=project.project_code,
        material_type=project.material_type,
        thickness_mm=project.thickness_mm,
        sheet_size=project.sheet_size,
        quantities=wanted,
    )
    out.rates = rates = await _rates(session)
    preset = await _preset(session, project)
    out.preset = preset
    if not project.material_type or project.thickness_mm is None:
        out.refusal = "Set the project's material and thickness: the price comes from the preset for that sheet."
        return out
    if preset is None:
        out.refusal = (
            f"No preset for {_sheet_name(project)} — add one under Presets; this job is not priced without it."
        )
        return out
    if not preset.speed_mm_min:
        out.refusal = f"The preset “{preset.name}” has no cutting speed — enter it under Presets to price this job."
        return out
    if not files:
        out.refusal = "No DXF drawing on this project: upload one to price it."
        return out

    speed = Decimal(preset.speed_mm_min)
    pierce_s = preset.pierce_time_s
    if pierce_s is None:
        out.flags.append(f"The preset “{preset.name}” has no pierce time: pierces are not counted.")
        pierce_s = Decimal(0)
    rapid_speed = rates["rapid_speed_mm_min"]
    if rapid_speed <= 0:
        out.flags.append("The rapid travel speed is 0: travel between contours is not counted.")
    for stored in files:
        analysis = dxf.Analysis.from_dict(json.loads(stored.analysis)) if stored.analysis else None
        if analysis is None or not analysis.contours:
            out.flags.append(f"{stored.original_name}: nothing to cut — left out.")
            continue
        rapid_mm = await _rapid_mm(analysis, uploads_dir / stored.storage_name)
        out.parts.append(
            PartPrice(
                file_id=stored.id,
                name=stored.original_name,
                quantity=wanted[stored.id],
                width_mm=analysis.width_mm,
                height_mm=analysis.height_mm,
                area_mm2=analysis.area_mm2,
                cut_length_mm=analysis.cut_length_mm,
                pierces=analysis.pierces,
                rapid_mm=rapid_mm,
                cut_minutes=Decimal(str(analysis.cut_length_mm)) / speed,
                pierce_minutes=analysis.pierces * pierce_s / 60,
                rapid_minutes=Decimal(str(rapid_mm)) / rapid_speed if rapid_speed > 0 else Decimal(0),
                outline=tuple(analysis.outline) if analysis.outline else None,
                outline_tolerance_mm=analysis.outline_tolerance_mm,
            )
        )
    if not out.parts:
        out.refusal = "No DXF drawing on this project has anything to cut."
        return out

    out.cut_minutes = _minutes(sum((p.minutes for p in out.parts), Decimal(0)))
    out.calibration = await calibration_for(session, project.material_type, project.thickness_mm)
    out.calibrated_minutes = _minutes(out.cut_minutes * out.calibration.factor)

    sheet = dxf.parse_sheet(project.sheet_size)
    if sheet is None:
        out.flags.append("The project has no sheet size: sheets and material are not counted.")
    else:
        ordered = [
            Part(p.file_id, p.width_mm, p.height_mm, p.outline, p.outline_tolerance_mm)
            for p in out.parts
            for _ in range(p.quantity)
        ]
        out.nesting = await nest(ordered, sheet, float(rates["part_gap_mm"]), float(rates["sheet_margin_mm"]))
        for file_id in out.nesting.too_large:
            name = next(p.name for p in out.parts if p.file_id == file_id)
            out.flags.append(f"{name} is larger than the {project.sheet_size} sheet: it is not nested.")
        if out.nesting.method == "shelf":
            out.flags.append("Nesting ran out of time: the sheets are from a simple shelf packing.")
        elif out.nesting.timed_out:
            out.flags.append("True-shape nesting ran out of time: the sheets are from the parts' bounding boxes.")
        if out.nesting.sheets:
            placed = sum(
                Decimal(str(p.area_mm2 or p.width_mm * p.height_mm)) * p.quantity
                for p in out.parts
                if p.file_id not in out.nesting.too_large
            )
            area = Decimal(str(sheet[0])) * Decimal(str(sheet[1])) * out.nesting.sheets
            out.utilisation_percent = (placed / area * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        out.stock_item = await session.scalar(
            select(InventoryItem).where(
                InventoryItem.category == Category.SHEET.value,
                InventoryItem.material_type == project.material_type,
                InventoryItem.thickness_mm == project.thickness_mm,
                InventoryItem.sheet_size == project.sheet_size,
            )
        )
        if out.stock_item is None or out.stock_item.unit_cost is None:
            out.flags.append(
                f"No material price: no stock item with a unit cost for {project.sheet_size} {_sheet_name(project)}."
            )
    _money(out)
    return out


def _money(out: Breakdown) -> None:
    """The lines: material, machine time, setup, the minimum charge, markup, VAT."""
    rates = out.rates
    unit_cost = out.stock_item.unit_cost if out.stock_item else None
    if unit_cost is not None and out.sheets:
        out.material_cost = to_cents(unit_cost * out.sheets)
        out.lines.append(
            Line(
                "material",
                "Material",
                f"{out.sheets} sheet(s) × R {unit_cost:,.2f} ({out.stock_item.item_code if out.stock_item else ''})",
                out.material_cost,
            )
        )
    else:
        out.lines.append(Line("material", "Material", "no material price", Decimal("0.00")))
    out.machine_cost = to_cents(out.calibrated_minutes / 60 * rates["machine_rate_per_hour"])
    out.lines.append(
        Line(
            "machine",
            "Machine time",
            f"{out.calibrated_minutes} min ({out.cut_minutes} min × calibration {out.calibration_factor}) "
            f"at R {rates['machine_rate_per_hour']:,.2f}/h",
            out.machine_cost,
        )
    )
    out.setup_fee = to_cents(rates["setup_fee"])
    out.lines.append(Line("setup", "Setup", "once per job", out.setup_fee))
    base = out.material_cost + out.machine_cost + out.setup_fee
    minimum = to_cents(rates["minimum_charge"])
    if base < minimum:
        out.minimum_applied = True
        out.lines.append(
            Line("minimum", "Minimum charge", f"R {minimum:,.2f} instead of R {base:,.2f}", minimum - base)
        )
        base = minimum
    out.markup = to_cents(base * rates["markup_percent"] / 100)
    if out.markup:
        out.lines.append(Line("markup", "Markup", f"{rates['markup_percent']}% of R {base:,.2f}", out.markup))
    out.subtotal = base + out.markup
    out.vat = to_cents(out.subtotal * rates["vat_rate"] / 100)
    out.total = out.subtotal + out.vat
