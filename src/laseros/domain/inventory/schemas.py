from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from laseros.domain.inventory.models import Category, TransactionType
from laseros.domain.kernel.fields import MAX_TEXT, FieldReader

UNITS: tuple[str, ...] = ("sheets", "each", "box", "kg", "litres", "metres")
MAX_QUANTITY = 1_000_000


@dataclass(frozen=True)
class ItemInput:
    item_code: str
    name: str
    category: str
    material_type: str
    thickness_mm: Decimal | None
    sheet_size: str
    unit: str
    min_required: int
    reorder_quantity: int
    unit_cost: Decimal | None
    supplier_name: str
    location: str
    notes: str
    # Only read when the item is created: later changes go through the ledger.
    quantity_on_hand: int = 0

    @classmethod
    def parse(
        cls, raw: Mapping[str, str], *, materials: Sequence[str], sheet_sizes: Sequence[str], creating: bool
    ) -> ItemInput:
        read = FieldReader(raw)
        category = read.choice("category", [c.value for c in Category], required=True)
        is_sheet = category == Category.SHEET.value
        data = cls(
            item_code=read.text("item_code", max_length=40).upper(),
            name=read.text("name", required=True),
            category=category,
            material_type=read.choice("material_type", materials, required=is_sheet),
            thickness_mm=read.thickness("thickness_mm", required=is_sheet),
            sheet_size=read.choice("sheet_size", sheet_sizes, required=is_sheet),
            unit=read.choice("unit", UNITS, required=True),
            min_required=read.integer("min_required", maximum=MAX_QUANTITY) or 0,
            reorder_quantity=read.integer("reorder_quantity", maximum=MAX_QUANTITY) or 0,
            unit_cost=read.money("unit_cost"),
            supplier_name=read.text("supplier_name"),
            location=read.text("location", max_length=100),
            notes=read.text("notes", max_length=MAX_TEXT),
            quantity_on_hand=(read.integer("quantity_on_hand", maximum=MAX_QUANTITY) or 0) if creating else 0,
        )
        read.finish()
        return data

    def item_fields(self) -> dict[str, Any]:
        """The columns an edit may change (everything but the stock level)."""
        fields = asdict(self)
        del fields["quantity_on_hand"]
        return fields


@dataclass(frozen=True)
class TransactionInput:
    transaction_type: TransactionType
    change: int  # signed: what the ledger row adds to on hand
    unit_cost: Decimal | None
    reference: str
    notes: str

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> TransactionInput:
        """Purchase, Usage and Return take a positive count; an Adjustment is a signed correction."""
        read = FieldReader(raw)
        kinds = [t.value for t in TransactionType]
        kind = read.choice("transaction_type", kinds, required=True)
        adjustment = kind == TransactionType.ADJUSTMENT.value
        quantity = read.integer(
            "quantity",
            required=True,
            minimum=-MAX_QUANTITY if adjustment else 1,
            maximum=MAX_QUANTITY,
        )
        if adjustment and quantity == 0:
            read.errors["quantity"] = "An adjustment of 0 changes nothing: enter how many to add (+) or remove (−)."
        data = cls(
            # A missing or unknown type is already an error, so the placeholder is never saved.
            transaction_type=TransactionType(kind) if kind in kinds else TransactionType.PURCHASE,
            change=-(quantity or 0) if kind == TransactionType.USAGE.value else (quantity or 0),
            unit_cost=read.money("unit_cost"),
            reference=read.text("reference", max_length=100),
            notes=read.text("notes", max_length=MAX_TEXT),
        )
        if adjustment and not data.notes and not data.reference:
            read.errors["notes"] = "Say why the count changed (a stock-take, damaged sheets…)."
        read.finish()
        return data
