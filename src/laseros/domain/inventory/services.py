"""Inventory: item definitions, the stock ledger, and the one function that moves stock."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, bindparam, case, func, or_, select, type_coerce, update
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import ReturningUpdate

from laseros.db import ScaledDecimal, UnitOfWork, action, built_once, utcnow
from laseros.domain.inventory.models import Category, InventoryItem, InventoryTransaction, TransactionType
from laseros.domain.inventory.schemas import ItemInput, TransactionInput
from laseros.domain.inventory.stock import Rebalanced, SheetSpec, jobs_waiting_on, rebalance, sheet_item_for
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import InvalidInput, NotFound
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.search import contains
from laseros.domain.kernel.sequences import next_code_value
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.watch import watch_item
from laseros.domain.projects.models import Project

ITEM_EXPORT_COLUMNS = (
    "id", "item_code", "name", "category", "material_type", "thickness_mm", "sheet_size", "unit",
    "quantity_on_hand", "min_required", "reorder_quantity", "unit_cost", "supplier_name", "location",
    "created_at", "updated_at",
)  # fmt: skip
TRANSACTION_EXPORT_COLUMNS = (
    "id", "item_code", "item_name", "transaction_type", "quantity", "balance_after", "shortfall", "unit_cost",
    "reference", "notes", "project_id", "run_id", "created_by", "created_at",
)  # fmt: skip
_JOINED_TRANSACTION_COLUMNS = {"item_code": InventoryItem.item_code, "item_name": InventoryItem.name}


@dataclass(frozen=True)
class ItemFilters:
    q: str = ""
    category: str = ""
    low_only: bool = False


@dataclass(frozen=True)
class TransactionFilters:
    item_id: int | None = None
    transaction_type: str = ""
    start: date | None = None
    end: date | None = None
    q: str = ""


@dataclass(frozen=True)
class StockSummary:
    items: int
    low: int
    valuation: Decimal


@built_once
def _move_statement(*, clamp: bool) -> ReturningUpdate[int]:
    """The item's on hand changed by the ``change`` parameter in one UPDATE, returning the new balance."""
    on_hand = InventoryItem.quantity_on_hand
    change = bindparam("change", type_=Integer())
    stmt = update(InventoryItem).where(InventoryItem.id == bindparam("item_id"))
    if clamp:
        stmt = stmt.values(quantity_on_hand=case((on_hand + change < 0, 0), else_=on_hand + change))
    else:
        stmt = stmt.where(on_hand + change >= 0).values(quantity_on_hand=on_hand + change)
    # Its values are parameters, which SQLAlchemy cannot evaluate on the session's objects: move_stock tells the item.
    return stmt.values(updated_at=bindparam("now")).returning(on_hand).execution_options(synchronize_session=False)


@built_once
def _last_balance_statement() -> Select[int]:
    return (
        select(InventoryTransaction.balance_after)
        .where(InventoryTransaction.item_id == bindparam("item_id"))
        .order_by(InventoryTransaction.id.desc())
        .limit(1)
    )


async def move_stock(
    session: UnitOfWork,
    item_id: int,
    change: int,
    kind: TransactionType,
    actor: Actor,
    *,
    clamp: bool = False,
    unit_cost: Decimal | None = None,
    reference: str = "",
    notes: str = "",
    project_id: int | None = None,
    run_id: int | None = None,
) -> InventoryTransaction:
    """Change an item's on hand by ``change`` with one atomic UPDATE and its ledger row (caller's transaction).

    The UPDATE reads and writes the row in one statement, so concurrent runs never lose a
    deduction. Without ``clamp`` a change that would go below zero is refused; with it (a run
    that used more than the shelf held) stock stops at 0 and the ledger row records the shortfall.
    """
    on_hand = InventoryItem.quantity_on_hand
    now = utcnow()
    balance = await session.scalar(_move_statement(clamp=clamp), {"item_id": item_id, "change": change, "now": now})
    held = session.identity_map.get(session.identity_key(InventoryItem, item_id))
    if held is not None and balance is not None:  # the item as this session holds it: its new balance
        set_committed_value(held, "quantity_on_hand", balance)
        set_committed_value(held, "updated_at", now)
    if balance is None:
        current = await session.scalar(select(on_hand).where(InventoryItem.id == item_id))
        if current is None:
            raise NotFound(f"Inventory item {item_id} does not exist.")
        raise InvalidInput(
            {"quantity": f"Only {current} on hand: this would leave {current + change}. Stock cannot go below 0."}
        )
    applied = change
    if balance == 0 and change < 0:
        # Clamped (or exactly emptied): what left the shelf is what was on it. The row is locked by
        # the UPDATE above, so the last ledger balance is the balance before this change.
        before = await session.scalar(_last_balance_statement(), {"item_id": item_id})
        applied = -int(before or 0)
    row = InventoryTransaction(
        item_id=item_id,
        transaction_type=kind.value,
        quantity=applied,
        balance_after=balance,
        shortfall=applied - change,
        unit_cost=unit_cost,
        reference=reference,
        notes=notes,
        project_id=project_id,
        run_id=run_id,
        user_id=actor.user_id,
        created_by=actor.name,
    )
    session.add(row)
    await session.flush()
    watch_item(session, item_id)
    return row


class InventoryService:
    def __init__(self, session: UnitOfWork, actor: Actor, calendar: ShopCalendar) -> None:
        self.session = session
        self.actor = actor
        self.calendar = calendar

    # -- items -------------------------------------------------------------------------------

    def search_query(self, filters: ItemFilters) -> Select[InventoryItem]:
        stmt = select(InventoryItem).order_by(InventoryItem.category, InventoryItem.name, InventoryItem.id)
        if filters.category:
            stmt = stmt.where(InventoryItem.category == filters.category)
        if filters.low_only:
            stmt = stmt.where(InventoryItem.quantity_on_hand < InventoryItem.min_required)
        if term := filters.q.strip():
            columns = (
                InventoryItem.name,
                InventoryItem.item_code,
                InventoryItem.material_type,
                InventoryItem.supplier_name,
            )
            stmt = stmt.where(or_(*(contains(self.session, c, term) for c in columns)))
        return stmt

    async def list(self, filters: ItemFilters, page: int = 1, per_page: int = 50) -> Page[InventoryItem]:
        return await paginate(self.session, self.search_query(filters), page, per_page)

    def export_items(self, filters: ItemFilters) -> Export:
        columns = (getattr(InventoryItem, name) for name in ITEM_EXPORT_COLUMNS)
        return Export("inventory.csv", ITEM_EXPORT_COLUMNS, self.search_query(filters).with_only_columns(*columns))

    async def summary(self) -> StockSummary:
        """Item count, low-stock count and total valuation, in one aggregate query."""
        value = type_coerce(
            func.sum(InventoryItem.quantity_on_hand * func.coalesce(InventoryItem.unit_cost, 0)), ScaledDecimal(2)
        )
        low = func.sum(case((InventoryItem.quantity_on_hand < InventoryItem.min_required, 1), else_=0))
        row = (await self.session.execute(select(func.count(InventoryItem.id), low, value))).one()
        return StockSummary(items=row[0], low=int(row[1] or 0), valuation=row[2] or Decimal("0.00"))

    async def get(self, item_id: int) -> InventoryItem:
        item = await self.session.get(InventoryItem, item_id)
        if item is None:
            raise NotFound(f"Inventory item {item_id} does not exist.")
        return item

    async def waiting_jobs(self, item: InventoryItem) -> builtins.list[Project]:
        """Jobs waiting on this item's sheet, in the order stock arriving releases them."""
        return await jobs_waiting_on(self.session, item)

    async def sheet_for(self, project: Project) -> InventoryItem | None:
        spec = SheetSpec.of(project)
        return await sheet_item_for(self.session, spec) if spec else None

    async def _check_unique(self, data: ItemInput, item_id: int | None) -> None:
        errors = {}
        same_code = select(InventoryItem.id).where(func.upper(InventoryItem.item_code) == data.item_code)
        if data.item_code and await self.session.scalar(same_code.where(InventoryItem.id != (item_id or 0))):
            errors["item_code"] = f"{data.item_code} is already used by another item."
        if data.category == Category.SHEET.value and data.thickness_mm is not None:
            spec = SheetSpec(data.material_type, data.thickness_mm, data.sheet_size)
            other = await sheet_item_for(self.session, spec)
            if other is not None and other.id != item_id:
                errors["sheet_size"] = f"{other.item_code} already holds {spec.label()} sheets; record stock there."
        if errors:
            raise InvalidInput(errors)

    def _normalised(self, data: ItemInput) -> dict[str, Any]:
        fields = data.item_fields()
        if data.category != Category.SHEET.value:
            fields.update(material_type=data.material_type, thickness_mm=data.thickness_mm, sheet_size="")
        return fields

    async def _next_free_code(self) -> str:
        """The next INV- number, skipping any an admin already typed in by hand."""
        while True:
            code = f"INV-{await next_code_value(self.session, 'inventory'):04d}"
            taken = await self.session.scalar(
                select(InventoryItem.id).where(func.upper(InventoryItem.item_code) == code)
            )
            if taken is None:
                return code

    @action
    async def create(self, data: ItemInput) -> InventoryItem:
        """Define an item; a starting quantity goes in as the first ledger row. Commits."""
        await self._check_unique(data, None)
        fields = self._normalised(data)
        if not fields["item_code"]:
            fields["item_code"] = await self._next_free_code()
        item = InventoryItem(**fields, quantity_on_hand=0)
        self.session.add(item)
        await self.session.flush()
        record_activity(self.session, self.actor, "created", "inventory", item.id, f"{item.item_code} {item.name}")
        if data.quantity_on_hand:
            await move_stock(
                self.session,
                item.id,
                data.quantity_on_hand,
                TransactionType.ADJUSTMENT,
                self.actor,
                unit_cost=data.unit_cost,
                reference="Opening stock",
            )
            await rebalance(self.session, item, self.actor, today=self.calendar.today())
        await self.session.commit()
        return item

    @action
    async def update(self, item_id: int, data: ItemInput) -> InventoryItem:
        """Save an item's definition (its stock level changes only through transactions). Commits."""
        item = await self.get(item_id)
        if not data.item_code:
            data = ItemInput(**{**data.item_fields(), "item_code": item.item_code})
        await self._check_unique(data, item_id)
        fields = self._normalised(data)
        changed = [key for key, value in fields.items() if getattr(item, key) != value]
        for key, value in fields.items():
            setattr(item, key, value)
        record_activity(
            self.session, self.actor, "updated", "inventory", item.id, "Changed: " + (", ".join(changed) or "nothing")
        )
        watch_item(self.session, item.id)  # the minimum may have changed
        await self.session.flush()
        await rebalance(self.session, item, self.actor, today=self.calendar.today())
        await self.session.commit()
        return item

    # -- the ledger --------------------------------------------------------------------------

    @action
    async def record(self, item_id: int, data: TransactionInput) -> tuple[InventoryTransaction, Rebalanced]:
        """Record a purchase, usage, adjustment or return; commits.

        Stock arriving releases waiting jobs; stock taken away sends the queued jobs it no longer
        covers back to waiting (``stock.rebalance``). Returns the ledger row and what moved.
        """
        item = await self.get(item_id)
        row = await move_stock(
            self.session,
            item.id,
            data.change,
            data.transaction_type,
            self.actor,
            unit_cost=data.unit_cost,
            reference=data.reference,
            notes=data.notes,
        )
        if data.transaction_type == TransactionType.PURCHASE and data.unit_cost is not None:
            item.unit_cost = data.unit_cost  # stock is valued at the latest purchase price
        record_activity(
            self.session,
            self.actor,
            "stock_" + data.transaction_type.value.lower(),
            "inventory",
            item.id,
            f"{row.quantity:+d} → {row.balance_after} {item.unit}" + (f" ({data.reference})" if data.reference else ""),
        )
        moved = await rebalance(self.session, item, self.actor, today=self.calendar.today())
        await self.session.commit()
        return row, moved

    def transactions_query(self, filters: TransactionFilters) -> Select[InventoryTransaction]:
        stmt = (
            select(InventoryTransaction)
            .join(InventoryTransaction.item)
            .options(contains_eager(InventoryTransaction.item))
            .order_by(InventoryTransaction.id.desc())
        )
        if filters.item_id:
            stmt = stmt.where(InventoryTransaction.item_id == filters.item_id)
        if filters.transaction_type:
            stmt = stmt.where(InventoryTransaction.transaction_type == filters.transaction_type)
        start, end = self.calendar.utc_range(filters.start, filters.end)
        if start:
            stmt = stmt.where(InventoryTransaction.created_at >= start)
        if end:
            stmt = stmt.where(InventoryTransaction.created_at < end)
        if term := filters.q.strip():
            stmt = stmt.where(
                or_(
                    contains(self.session, InventoryTransaction.reference, term),
                    contains(self.session, InventoryItem.item_code, term),
                    contains(self.session, InventoryItem.name, term),
                )
            )
        return stmt

    async def transactions(
        self, filters: TransactionFilters, page: int = 1, per_page: int = 50
    ) -> Page[InventoryTransaction]:
        return await paginate(self.session, self.transactions_query(filters), page, per_page)

    def export_transactions(self, filters: TransactionFilters) -> Export:
        columns: builtins.list[Any] = [
            _JOINED_TRANSACTION_COLUMNS.get(name, getattr(InventoryTransaction, name, None))
            for name in TRANSACTION_EXPORT_COLUMNS
        ]
        statement = self.transactions_query(filters).with_only_columns(*columns)
        return Export("inventory_transactions.csv", TRANSACTION_EXPORT_COLUMNS, statement)
