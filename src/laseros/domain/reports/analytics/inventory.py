"""Stock: valuation by category, low stock, usage by material over the period, purchases against usage.

Valuation is today's (on hand × unit cost); usage and purchases come from the stock ledger rows
dated in the period (its ``transaction_type, created_at`` index).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.inventory.models import Category, InventoryItem, InventoryTransaction, TransactionType
from laseros.domain.kernel.shop import ShopCalendar, thickness_label
from laseros.domain.reports.analytics.period import Period
from laseros.domain.reports.analytics.sql import hundredths, raw
from laseros.domain.reports.analytics.tables import Column, Kind, Row, Table


@dataclass(frozen=True)
class InventoryReport:
    period: Period
    valuation_total: Decimal
    unpriced_items: int  # items with stock on hand but no unit cost (not valued)
    low_stock_count: int
    valuation: Table
    low_stock: Table
    usage: Table
    purchases_vs_usage: Table

    @property
    def tables(self) -> list[Table]:
        return [self.valuation, self.low_stock, self.usage, self.purchases_vs_usage]


async def valuation_by_category(session: AsyncSession) -> tuple[Table, Decimal, int]:
    """Σ on hand × unit cost per category, in one grouped statement (cents multiplied in SQL)."""
    rows = (
        await session.execute(
            select(
                InventoryItem.category,
                func.count(InventoryItem.id),
                func.sum(InventoryItem.quantity_on_hand),
                func.sum(InventoryItem.quantity_on_hand * func.coalesce(raw(InventoryItem.unit_cost), 0)),
                func.sum(case((InventoryItem.unit_cost.is_(None) & (InventoryItem.quantity_on_hand > 0), 1), else_=0)),
            ).group_by(InventoryItem.category)
        )
    ).all()
    found = {
        category: (items, on_hand, hundredths(value), unpriced) for category, items, on_hand, value, unpriced in rows
    }
    order = [c.value for c in Category] + sorted(set(found) - {c.value for c in Category})
    table_rows = []
    total, unpriced_total = Decimal(0), 0
    for category in order:
        if category not in found:
            continue
        items, on_hand, value, unpriced = found[category]
        total += value
        unpriced_total += int(unpriced or 0)
        table_rows.append(Row((category, int(items), int(on_hand or 0), value, int(unpriced or 0))))
    table = Table(
        key="valuation",
        title="Valuation by category",
        columns=(
            Column("category", "Category"),
            Column("items", "Items", Kind.COUNT),
            Column("quantity_on_hand", "On hand", Kind.COUNT),
            Column("valuation", "Valuation", Kind.MONEY),
            Column("items_without_unit_cost", "Items in stock without a unit cost", Kind.COUNT),
        ),
        rows=table_rows,
        empty="No stock items yet.",
        total=Row(
            (
                "Total",
                sum(int(r.values[1]) for r in table_rows),
                sum(int(r.values[2]) for r in table_rows),
                total,
                unpriced_total,
            )
        ),
        note="Valuation = on hand × unit cost, today; an item without a unit cost is not valued.",
    )
    return table, total, unpriced_total


async def low_stock_table(session: AsyncSession) -> Table:
    items = (
        await session.scalars(
            select(InventoryItem)
            .where(InventoryItem.quantity_on_hand < InventoryItem.min_required)
            .order_by(InventoryItem.category, InventoryItem.name)
        )
    ).all()
    return Table(
        key="low_stock",
        title="Low stock",
        columns=(
            Column("item_code", "Code"),
            Column("name", "Item"),
            Column("category", "Category"),
            Column("quantity_on_hand", "On hand", Kind.COUNT),
            Column("min_required", "Minimum", Kind.COUNT),
            Column("shortfall", "Short by", Kind.COUNT),
            Column("reorder_quantity", "Reorder qty", Kind.COUNT),
            Column("supplier_name", "Supplier"),
        ),
        rows=[
            Row(
                (
                    item.item_code,
                    item.name,
                    item.category,
                    item.quantity_on_hand,
                    item.min_required,
                    item.min_required - item.quantity_on_hand,
                    item.reorder_quantity,
                    item.supplier_name,
                ),
                links={"item_code": f"/inventory/{item.id}", "name": f"/inventory/{item.id}"},
                badge="red",
            )
            for item in items
        ],
        empty="Nothing is below its minimum.",
        note="Low stock: on hand below the item's minimum, today.",
    )


def _ledger_sums() -> tuple[Any, ...]:
    kind = InventoryTransaction.transaction_type
    quantity = InventoryTransaction.quantity

    def of(t: TransactionType) -> Any:
        return func.sum(case((kind == t.value, quantity), else_=0))

    spent = case(
        (kind == TransactionType.PURCHASE.value, quantity * func.coalesce(raw(InventoryTransaction.unit_cost), 0)),
        else_=0,
    )
    return (
        of(TransactionType.PURCHASE).label("purchased"),
        func.sum(spent).label("spent"),
        (-of(TransactionType.USAGE)).label("used"),
        of(TransactionType.RETURN).label("returned"),
        of(TransactionType.ADJUSTMENT).label("adjusted"),
        func.sum(quantity).label("net"),
    )


async def inventory_report(session: AsyncSession, calendar: ShopCalendar, period: Period) -> InventoryReport:
    """The inventory report: today's valuation and low stock; the period's usage and purchases."""
    first, last = period.utc_range(calendar)
    valuation, total, unpriced = await valuation_by_category(session)
    low = await low_stock_table(session)
    # The ledger grouped by item alone (one pass down the period's index range), then the items
    # joined onto those few groups: joined the other way round SQLite reads the range once per item.
    ledger = (
        select(InventoryTransaction.item_id.label("item_id"), *_ledger_sums())
        .where(InventoryTransaction.created_at >= first, InventoryTransaction.created_at < last)
        .group_by(InventoryTransaction.item_id)
        .subquery()
    )
    ledger_sums = [ledger.c[name] for name in ("purchased", "spent", "used", "returned", "adjusted", "net")]
    rows = (
        await session.execute(
            select(
                InventoryItem.id,
                InventoryItem.item_code,
                InventoryItem.name,
                InventoryItem.category,
                InventoryItem.material_type,
                InventoryItem.thickness_mm,
                raw(InventoryItem.unit_cost),
                *ledger_sums,
            )
            .select_from(ledger)
            .join(InventoryItem, InventoryItem.id == ledger.c.item_id)
            .order_by(InventoryItem.category, InventoryItem.name)
        )
    ).all()
    per_item = []
    usage_by_material: dict[tuple[str, Decimal | None], list[Decimal]] = {}
    for item_id, code, name, category, material, thickness, cost, bought, spent, used, returned, adjusted, net in rows:
        used, bought = int(used or 0), int(bought or 0)
        per_item.append(
            Row(
                (
                    code,
                    name,
                    category,
                    bought,
                    hundredths(spent),
                    used,
                    int(returned or 0),
                    int(adjusted or 0),
                    int(net or 0),
                ),
                links={"item_code": f"/inventory/{item_id}", "name": f"/inventory/{item_id}"},
            )
        )
        if used:
            key = (material or category, thickness)
            sums = usage_by_material.setdefault(key, [Decimal(0), Decimal(0)])
            sums[0] += used
            sums[1] += used * hundredths(cost)
    usage = Table(
        key="usage",
        title="Usage by material",
        columns=(
            Column("material_type", "Material"),
            Column("thickness_mm", "Thickness (mm)"),
            Column("used", "Used", Kind.COUNT),
            Column("value_at_unit_cost", "At today's unit cost", Kind.MONEY),
        ),
        rows=[
            Row((material, thickness_label(thickness) if thickness is not None else "", int(sums[0]), sums[1]))
            for (material, thickness), sums in sorted(usage_by_material.items(), key=lambda kv: (-kv[1][0], kv[0][0]))
        ],
        empty="No stock was used in this period.",
        note="Usage: the stock ledger's Usage rows dated in the period (runs and hand entries).",
    )
    purchases = Table(
        key="purchases_vs_usage",
        title="Purchases against usage",
        columns=(
            Column("item_code", "Code"),
            Column("name", "Item"),
            Column("category", "Category"),
            Column("purchased", "Bought", Kind.COUNT),
            Column("purchase_cost", "Spent", Kind.MONEY),
            Column("used", "Used", Kind.COUNT),
            Column("returned", "Returned", Kind.COUNT),
            Column("adjusted", "Adjusted", Kind.COUNT),
            Column("net_change", "Net change", Kind.COUNT),
        ),
        rows=per_item,
        empty="No stock moved in this period.",
        note="From the stock ledger: spent = Σ bought × the purchase's unit cost; net change = the sum of every row.",
    )
    return InventoryReport(
        period=period,
        valuation_total=total,
        unpriced_items=unpriced,
        low_stock_count=len(low.rows),
        valuation=valuation,
        low_stock=low,
        usage=usage,
        purchases_vs_usage=purchases,
    )
