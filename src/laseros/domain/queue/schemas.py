from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from laseros.domain.kernel.fields import MAX_TEXT, FieldReader
from laseros.domain.queue.models import Priority


@dataclass(frozen=True)
class QueueEdit:
    """The plan for one queue item: priority, scheduled date, notes."""

    priority: str
    scheduled_date: date | None
    notes: str

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> QueueEdit:
        read = FieldReader(raw)
        data = cls(
            priority=read.choice("priority", [p.value for p in Priority], required=True),
            scheduled_date=read.date("scheduled_date"),
            notes=read.text("notes", max_length=MAX_TEXT),
        )
        read.finish()
        return data
