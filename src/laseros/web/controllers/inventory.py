"""Inventory: items with stock levels, their definitions, and the stock ledger (transactions)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.inventory.models import Category, InventoryItem, TransactionType
from laseros.domain.inventory.schemas import UNITS, ItemInput, TransactionInput
from laseros.domain.inventory.services import (
    InventoryService,
    ItemFilters,
    TransactionFilters,
)
from laseros.domain.inventory.stock import Rebalanced
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.registry import MATERIALS, SHEET_SIZES
from laseros.domain.kernel.settings import SettingsService
from laseros.web.deps import Db, Inventory, PageSize, ShopSettings
from laseros.web.export import csv_export
from laseros.web.forms import FormState, filter_date, filter_flag, filter_id, form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, redirect, render

CATEGORIES = [c.value for c in Category]
TRANSACTION_TYPES = [t.value for t in TransactionType]
# Item choices for the transactions filter: a shop holds tens to hundreds of items, never thousands.
_ITEM_CHOICES_LIMIT = 1000


def _item_filters(q: str, category: str, low: str) -> ItemFilters:
    return ItemFilters(
        q=q[:200],
        category=category if category in CATEGORIES else "",
        low_only=filter_flag(low),
    )


def _transaction_filters(item_id: str, transaction_type: str, start: str, end: str, q: str) -> TransactionFilters:
    return TransactionFilters(
        item_id=filter_id(item_id),
        transaction_type=transaction_type if transaction_type in TRANSACTION_TYPES else "",
        start=filter_date(start),
        end=filter_date(end),
        q=q[:200],
    )


def _movement_message(kind: str, change: int, balance: int, unit: str, moved: Rebalanced) -> str:
    message = f"{kind} recorded: {change:+d} → {balance} {unit}."
    if moved.released:
        message += " Released to the queue: " + ", ".join(p.project_code for p in moved.released) + "."
    if moved.held_back:
        codes = ", ".join(p.project_code for p in moved.held_back)
        message += f" No longer covered, back to waiting on material: {codes}."
    return message


class InventoryController(Controller):
    path = "/inventory"
    guards = [requires(Permission.PC_VIEW)]

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        inventory: Inventory,
        q: FromQuery[str] = "",
        category: FromQuery[str] = "",
        low: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = _item_filters(q, category, low)
        if format == "csv":
            return csv_export(request, db, inventory.export_items(filters))
        listing = await inventory.list(filters, page=page, per_page=page_size)
        context = {
            "page": listing,
            "filters": filters,
            "summary": await inventory.summary(),
            "categories": CATEGORIES,
        }
        return await render(request, "inventory/index.html", context, block="results")

    @get("/transactions")
    async def transactions(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        inventory: Inventory,
        item_id: FromQuery[str] = "",
        transaction_type: FromQuery[str] = "",
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
        q: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        filters = _transaction_filters(item_id, transaction_type, start, end, q)
        if format == "csv":
            return csv_export(request, db, inventory.export_transactions(filters))
        listing = await inventory.transactions(filters, page=page, per_page=page_size)
        items = await inventory.list(ItemFilters(), per_page=_ITEM_CHOICES_LIMIT)
        context = {
            "page": listing,
            "filters": filters,
            "item_choices": [(item.id, f"{item.item_code} · {item.name}") for item in items.items],
            "transaction_types": TRANSACTION_TYPES,
        }
        return await render(request, "inventory/transactions.html", context, block="results")

    @get("/new", guards=[requires(Permission.SETUP_EDIT)])
    async def new_form(self, request: Request, shop_settings: ShopSettings) -> Page:
        materials = await shop_settings.choices(MATERIALS)
        sizes = await shop_settings.choices(SHEET_SIZES)
        values = {
            "category": Category.SHEET.value,
            "unit": "sheets",
            "material_type": materials[0] if materials else "",
            "sheet_size": sizes[0] if sizes else "",
            "quantity_on_hand": "0",
            "min_required": "0",
            "reorder_quantity": "0",
        }
        return await self._form(request, shop_settings, FormState(values), None)

    @post("/new", guards=[requires(Permission.SETUP_EDIT)])
    async def create(self, request: Request, inventory: Inventory, shop_settings: ShopSettings) -> Response[Any]:
        values = await form_values(request)
        try:
            item = await inventory.create(await self._parse(values, shop_settings, creating=True))
        except InvalidInput as bad:
            return await self._form(request, shop_settings, FormState(values, bad.errors), None, 422)
        message = f"Item {item.item_code} {item.name} created"
        if item.quantity_on_hand:
            message += f" with {item.quantity_on_hand} {item.unit} on hand"
        return redirect(request, f"/inventory/{item.id}", message + ".")

    @get("/{item_id:int}")
    async def detail(
        self,
        request: Request,
        item_id: FromPath[int],
        inventory: Inventory,
        page_size: PageSize,
        page: FromQuery[int] = 1,
    ) -> Page:
        movement = FormState({"transaction_type": TransactionType.PURCHASE.value})
        return await self._detail(request, item_id, inventory, movement, page, block="ledger", page_size=page_size)

    @get("/{item_id:int}/edit", guards=[requires(Permission.SETUP_EDIT)])
    async def edit_form(
        self, request: Request, item_id: FromPath[int], inventory: Inventory, shop_settings: ShopSettings
    ) -> Page:
        item = await inventory.get(item_id)
        values = {k: getattr(item, k) for k in ItemInput.__dataclass_fields__}
        return await self._form(request, shop_settings, FormState(values), item)

    @post("/{item_id:int}/edit", guards=[requires(Permission.SETUP_EDIT)])
    async def update(
        self, request: Request, item_id: FromPath[int], inventory: Inventory, shop_settings: ShopSettings
    ) -> Response[Any]:
        item = await inventory.get(item_id)  # an unknown item is 404 before its form is read
        values = await form_values(request)
        try:
            await inventory.update(item_id, await self._parse(values, shop_settings, creating=False, item=item))
        except InvalidInput as bad:
            return await self._form(request, shop_settings, FormState(values, bad.errors), item, 422)
        return redirect(request, f"/inventory/{item_id}", "Item saved.")

    @post("/{item_id:int}/transaction", guards=[requires(Permission.STOCK_RECORD)])
    async def record(
        self, request: Request, item_id: FromPath[int], inventory: Inventory, page_size: PageSize
    ) -> Response[Any]:
        item = await inventory.get(item_id)
        values = await form_values(request)
        try:
            row, moved = await inventory.record(item_id, TransactionInput.parse(values))
        except InvalidInput as bad:
            return await self._detail(
                request, item_id, inventory, FormState(values, bad.errors), 1, 422, page_size=page_size
            )
        message = _movement_message(row.transaction_type, row.quantity, row.balance_after, item.unit, moved)
        return redirect(request, f"/inventory/{item_id}", message)

    @staticmethod
    async def _detail(
        request: Request,
        item_id: int,
        inventory: InventoryService,
        movement: FormState,
        page: int = 1,
        status_code: int = 200,
        block: str | None = None,
        *,
        page_size: int,
    ) -> Page:
        """The item page; ``block="ledger"`` lets the ledger's pagination swap just the ledger."""
        item = await inventory.get(item_id)
        ledger = await inventory.transactions(TransactionFilters(item_id=item_id), page=page, per_page=page_size)
        context = {
            "item": item,
            "ledger": ledger,
            "movement": movement,
            "transaction_types": TRANSACTION_TYPES,
            "waiting": await inventory.waiting_jobs(item),
        }
        return await render(request, "inventory/detail.html", context, block=block, status_code=status_code)

    @staticmethod
    async def _parse(
        values: dict[str, str], shop_settings: SettingsService, *, creating: bool, item: InventoryItem | None = None
    ) -> ItemInput:
        """The submitted item, checked against the shop's materials and sheet sizes (and its own)."""
        return ItemInput.parse(
            values,
            materials=await shop_settings.choices(MATERIALS, keep=item.material_type if item else None),
            sheet_sizes=await shop_settings.choices(SHEET_SIZES, keep=item.sheet_size if item else None),
            creating=creating,
        )

    @staticmethod
    async def _form(
        request: Request,
        shop_settings: ShopSettings,
        form: FormState,
        item: InventoryItem | None,
        status_code: int = 200,
    ) -> Page:
        context = {
            "form": form,
            "item": item,
            "categories": CATEGORIES,
            "units": UNITS,
            "materials": await shop_settings.choices(MATERIALS, keep=item.material_type if item else None),
            "sheet_sizes": await shop_settings.choices(SHEET_SIZES, keep=item.sheet_size if item else None),
        }
        return await render(request, "inventory/form.html", context, status_code=status_code)
