from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from laseros.domain.kernel.fields import MAX_TEXT, FieldReader


@dataclass(frozen=True)
class ProjectInput:
    client_id: int
    name: str
    description: str
    material_type: str
    thickness_mm: Decimal | None
    sheet_size: str
    sheets_required: int | None
    parts_quantity: int | None
    estimated_cut_time: int | None
    quoted_price: Decimal | None
    due_date: date | None

    @classmethod
    def parse(cls, raw: Mapping[str, str], *, materials: Sequence[str], sheet_sizes: Sequence[str]) -> ProjectInput:
        read = FieldReader(raw)
        client_id = read.reference("client_id", required=True)
        data = cls(
            client_id=client_id or 0,
            name=read.text("name", required=True),
            description=read.text("description", max_length=MAX_TEXT),
            material_type=read.choice("material_type", materials),
            thickness_mm=read.thickness("thickness_mm"),
            sheet_size=read.choice("sheet_size", sheet_sizes),
            sheets_required=read.integer("sheets_required", maximum=100_000),
            parts_quantity=read.integer("parts_quantity", maximum=10_000_000),
            estimated_cut_time=read.integer("estimated_cut_time", maximum=100_000),
            quoted_price=read.money("quoted_price"),
            due_date=read.date("due_date"),
        )
        read.finish()
        return data

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
