from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from laseros.domain.kernel.fields import MAX_TEXT, FieldReader

MAX_SHEETS = 10_000
MAX_PARTS = 10_000_000
MAX_RUN_MINUTES = Decimal(24 * 60)


@dataclass(frozen=True)
class RunEnd:
    """What the operator reports at End Run."""

    sheets_used: int
    parts_produced: int
    notes: str
    job_finished: bool

    @classmethod
    def read(cls, read: FieldReader) -> RunEnd:
        return cls(
            sheets_used=read.integer("sheets_used", required=True, maximum=MAX_SHEETS) or 0,
            parts_produced=read.integer("parts_produced", maximum=MAX_PARTS) or 0,
            notes=read.text("notes", max_length=MAX_TEXT),
            job_finished=read.flag("job_finished"),
        )

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> RunEnd:
        read = FieldReader(raw)
        data = cls.read(read)
        read.finish()
        return data


@dataclass(frozen=True)
class RunLog:
    """A run typed in on a PC after the fact."""

    operator_id: int
    extra_operator_id: int | None
    preset_id: int | None
    cut_time_minutes: Decimal
    run_date: date | None
    report: RunEnd

    @classmethod
    def parse(cls, raw: Mapping[str, str], *, today: date) -> RunLog:
        read = FieldReader(raw)
        minutes = read.decimal("cut_time_minutes", required=True, maximum=MAX_RUN_MINUTES)
        if minutes is not None and minutes <= 0:
            read.errors["cut_time_minutes"] = "Enter how many minutes the machine cut (more than 0)."
        run_date = read.date("run_date")
        if run_date is not None and run_date > today:
            read.errors["run_date"] = "A run cannot be logged for a day that has not happened yet."
        data = cls(
            operator_id=read.reference("operator_id", required=True) or 0,
            extra_operator_id=read.reference("extra_operator_id"),
            preset_id=read.reference("preset_id"),
            cut_time_minutes=minutes or Decimal(0),
            run_date=run_date,
            report=RunEnd.read(read),
        )
        read.finish()
        return data
