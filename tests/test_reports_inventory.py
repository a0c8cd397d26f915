"""The inventory report: valuation = Σ on hand × unit cost, low stock, and the period's ledger."""

from __future__ import annotations

import re

from tests.reports_data import MARCH, csv_rows, page_rows, stamp


def _item(admin, **fields: str) -> int:  # type: ignore[no-untyped-def]
    data = {"unit": "each", "min_required": "0", "reorder_quantity": "0", "supplier_name": "", "location": "", **fields}
    response = admin.post_form("/inventory/new", data)
    assert response.status_code == 303, response.text[:800]
    return int(re.fullmatch(r"/inventory/(\d+)", response.headers["location"]).group(1))


def _move(manager, item_id: int, kind: str, quantity: str, **fields: str) -> None:  # type: ignore[no-untyped-def]
    response = manager.post_form(
        f"/inventory/{item_id}/transaction", {"transaction_type": kind, "quantity": quantity, **fields}
    )
    assert response.status_code == 303, response.text[:800]


def test_valuation_low_stock_usage_and_purchases(admin, manager, db_query):
    mild = 1  # the test database's Mild Steel 3.0 sheet: 500 on hand at R 1 450
    nozzle = _item(admin, item_code="NZ-15", name="Nozzle 1.5", category="Consumable", quantity_on_hand="40",
                   min_required="50", unit_cost="35.50")  # fmt: skip
    _item(admin, item_code="TL-1", name="Tape measure", category="Tool", quantity_on_hand="3")
    stainless = _item(admin, item_code="SS-2", name="Stainless 2 mm", category="Sheet", material_type="Stainless Steel",
                      thickness_mm="2.00", sheet_size="3000x1500", unit="sheets", quantity_on_hand="20",
                      min_required="5", unit_cost="2100.00")  # fmt: skip
    db_query("UPDATE inventory_transactions SET created_at = ?", (stamp("2026-01-15 08:00"),))  # openings: January
    _move(manager, mild, "Purchase", "10", unit_cost="1400.00", reference="PO-1")  # the price becomes R 1 400
    _move(manager, mild, "Usage", "4", reference="JB-1")
    _move(manager, stainless, "Usage", "2", reference="JB-2")
    _move(manager, mild, "Return", "1")
    _move(manager, mild, "Adjustment", "-1", notes="Stock-take")
    db_query("UPDATE inventory_transactions SET created_at = ? WHERE created_at > ?",
             (stamp("2026-03-10 08:00"), stamp("2026-02-01 00:00")))  # fmt: skip
    _move(manager, mild, "Usage", "3", reference="JB-3")
    last = db_query("SELECT max(id) FROM inventory_transactions")[0][0]
    db_query("UPDATE inventory_transactions SET created_at = ? WHERE id = ?", (stamp("2026-03-31 22:30"), last))

    valuation = csv_rows(manager, f"/reports/inventory?{MARCH}&format=csv&table=valuation")
    assert valuation[0] == ["category", "items", "quantity_on_hand", "valuation", "items_without_unit_cost"]
    # Sheets: 503 × 1 400 + 18 × 2 100 = 704 200 + 37 800; nozzles 40 × 35.50; the tape measure has no cost.
    assert valuation[1:] == [
        ["Sheet", "2", "521", "742000.00", "0"],
        ["Consumable", "1", "40", "1420.00", "0"],
        ["Tool", "1", "3", "0.00", "1"],
    ]
    on_hand = db_query("SELECT sum(quantity_on_hand * coalesce(unit_cost, 0)) FROM inventory_items")[0][0]
    assert on_hand == 74342000  # cents: the same Σ on hand × unit cost, straight from the table
    page = manager.get(f"/reports/inventory?{MARCH}")
    assert "R 743,420.00" in page.text
    low = csv_rows(manager, f"/reports/inventory?{MARCH}&format=csv&table=low_stock")
    assert [row[:7] for row in low[1:]] == [["NZ-15", "Nozzle 1.5", "Consumable", "40", "50", "10", "0"]]
    assert f'href="/inventory/{nozzle}"' in page.text
    usage = csv_rows(manager, f"/reports/inventory?{MARCH}&format=csv&table=usage")
    # 4 Mild Steel sheets in March (the 3 used at 00:30 on 1 April are not), at today's R 1 400; 2 stainless.
    assert usage[1:] == [["Mild Steel", "3.0", "4", "5600.00"], ["Stainless Steel", "2.0", "2", "4200.00"]]
    moves = csv_rows(manager, f"/reports/inventory?{MARCH}&format=csv&table=purchases_vs_usage")
    assert moves[0] == ["item_code", "name", "category", "purchased", "purchase_cost", "used", "returned", "adjusted",
                        "net_change"]  # fmt: skip
    by_code = {row[0]: row[3:] for row in moves[1:]}
    assert by_code == {"MS-3-3015": ["10", "14000.00", "4", "1", "-1", "6"], "SS-2": ["0", "0.00", "2", "0", "0", "-2"]}
    # January's openings are outside March.
    assert "NZ-15" not in by_code
    for key in ("valuation", "low_stock", "usage", "purchases_vs_usage"):
        shown = page_rows(page.text, key)
        exported = csv_rows(manager, f"/reports/inventory?{MARCH}&format=csv&table={key}")[1:]
        assert [[c.replace(",", "").replace("R ", "").replace("—", "") for c in row] for row in shown] == exported, key
