from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from laseros.domain.kernel.fields import MAX_TEXT, FieldReader


@dataclass(frozen=True)
class ProductInput:
    name: str
    description: str
    material_type: str
    thickness_mm: Decimal | None
    unit_price: Decimal
    notes: str
    is_active: bool

    @classmethod
    def parse(cls, raw: Mapping[str, str], *, materials: Sequence[str]) -> ProductInput:
        read = FieldReader(raw)
        data = cls(
            name=read.text("name", required=True),
            description=read.text("description", max_length=MAX_TEXT),
            material_type=read.choice("material_type", materials),
            thickness_mm=read.thickness("thickness_mm"),
            unit_price=read.money("unit_price") or Decimal("0.00"),
            notes=read.text("notes", max_length=MAX_TEXT),
            is_active=read.flag("is_active"),
        )
        read.finish()
        return data

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProjectProductInput:
    product_id: int
    quantity: int

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> ProjectProductInput:
        read = FieldReader(raw)
        product_id = read.reference("product_id", required=True)
        quantity = read.integer("quantity", required=True, minimum=1, maximum=10_000_000)
        read.finish()
        return cls(product_id=product_id or 0, quantity=quantity or 0)
