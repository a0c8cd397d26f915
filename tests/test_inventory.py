"""Inventory: stock items, the ledger that moves their stock, low stock, and jobs waiting on sheets."""

from __future__ import annotations

import csv
import io
import sqlite3
from datetime import timedelta

import pytest

from laseros.domain.inventory.services import ITEM_EXPORT_COLUMNS, TRANSACTION_EXPORT_COLUMNS
from laseros.domain.kernel.shop import ShopCalendar
from tests.factories import create_client, paid_project, results
from tests.support import STOCKED_ID  # MS-3-3015 from the template database: 500 sheets, min 10, R 1,450.00 each

SHEET_ITEM = {
    "item_code": "SS-2-2512",
    "name": "Stainless 2 mm 2500x1250",
    "category": "Sheet",
    "material_type": "Stainless Steel",
    "thickness_mm": "2.00",
    "sheet_size": "2500x1250",
    "unit": "sheets",
    "quantity_on_hand": "12",
    "min_required": "5",
    "reorder_quantity": "20",
    "unit_cost": "2100.00",
    "supplier_name": "Macsteel",
    "location": "Rack B",
    "notes": "",
}
CONSUMABLE = {
    "item_code": "",
    "name": "Nozzle 1.5 mm",
    "category": "Consumable",
    "material_type": "",
    "thickness_mm": "",
    "sheet_size": "",
    "unit": "each",
    "quantity_on_hand": "3",
    "min_required": "10",
    "unit_cost": "85.50",
}
STAINLESS_JOB = {"material_type": "Stainless Steel", "thickness_mm": "2.00", "sheet_size": "2500x1250"}


def create_item(client, **fields) -> int:
    response = client.post_form("/inventory/new", {**SHEET_ITEM, **fields})
    assert response.status_code == 303, response.text[:2000]
    return int(response.headers["location"].rsplit("/", 1)[1])


def record(client, item_id: int, transaction_type: str, quantity: str, **fields):
    data = {"transaction_type": transaction_type, "quantity": quantity, **fields}
    return client.post_form(f"/inventory/{item_id}/transaction", data)


def on_hand(db_query, item_id: int) -> int:
    return db_query("SELECT quantity_on_hand FROM inventory_items WHERE id = ?", (item_id,))[0][0]


def ledger(db_query, item_id: int) -> list[tuple]:
    return db_query(
        "SELECT transaction_type, quantity, balance_after, shortfall, reference FROM inventory_transactions "
        "WHERE item_id = ? ORDER BY id",
        (item_id,),
    )


def ledger_sum(db_query, item_id: int) -> int:
    return db_query("SELECT coalesce(sum(quantity), 0) FROM inventory_transactions WHERE item_id = ?", (item_id,))[0][0]


def stage_of(db_query, project_id: int) -> str:
    return db_query("SELECT stage FROM projects WHERE id = ?", (project_id,))[0][0]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


# -- items --------------------------------------------------------------------------------------


def test_admin_creates_a_sheet_item_and_its_opening_stock_goes_into_the_ledger(admin, db_query):
    item_id = create_item(admin)
    row = db_query(
        "SELECT item_code, category, material_type, thickness_mm, sheet_size, quantity_on_hand, min_required, "
        "unit_cost FROM inventory_items WHERE id = ?",
        (item_id,),
    )
    assert row == [("SS-2-2512", "Sheet", "Stainless Steel", 200, "2500x1250", 12, 5, 210000)]
    assert ledger(db_query, item_id) == [("Adjustment", 12, 12, 0, "Opening stock")]
    assert on_hand(db_query, item_id) == ledger_sum(db_query, item_id) == 12
    page = admin.get(f"/inventory/{item_id}").text
    assert "created with 12 sheets on hand" in page
    assert "Stainless Steel 2.0 mm 2500x1250" in page
    assert "R 25,200.00" in page  # valuation: 12 × R 2,100.00
    assert "Opening stock" in page and "Ada Admin" in page


def test_an_item_without_a_code_gets_the_next_inv_number_and_no_stock_without_a_ledger_row(admin, db_query):
    item_id = create_item(admin, **{**CONSUMABLE, "quantity_on_hand": "0"})
    assert db_query("SELECT item_code, sheet_size FROM inventory_items WHERE id = ?", (item_id,)) == [("INV-0001", "")]
    assert ledger(db_query, item_id) == []


def test_a_generated_code_skips_one_typed_in_by_hand(admin, db_query):
    create_item(admin, **{**CONSUMABLE, "item_code": "inv-0001"})
    item_id = create_item(admin, **{**CONSUMABLE, "name": "Lens"})
    assert db_query("SELECT item_code FROM inventory_items WHERE id = ?", (item_id,)) == [("INV-0002",)]


def test_item_codes_are_stored_in_capitals(admin, db_query):
    item_id = create_item(admin, item_code="ss-2-2512")
    assert db_query("SELECT item_code FROM inventory_items WHERE id = ?", (item_id,)) == [("SS-2-2512",)]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"item_code": "ms-3-3015"}, "item_code", "MS-3-3015 is already used"),
        (
            {"material_type": "Mild Steel", "thickness_mm": "3", "sheet_size": "3000x1500"},
            "sheet_size",
            "MS-3-3015 already holds Mild Steel 3.0 mm 3000x1500 sheets",
        ),
    ],
)
def test_a_duplicate_code_or_sheet_spec_is_refused_and_writes_nothing(admin, db_query, fields, field, message):
    response = admin.post_form("/inventory/new", {**SHEET_ITEM, "name": "Kept name", **fields})
    assert response.status_code == 422
    assert message in response.text and f'id="e-{field}"' in response.text
    assert 'value="Kept name"' in response.text
    assert db_query("SELECT count(*) FROM inventory_items") == [(1,)]
    assert db_query("SELECT count(*) FROM inventory_transactions") == [(1,)]
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type = 'inventory'") == [(1,)]


BAD_ITEM_INPUT = [
    ({"thickness_mm": "7.00"}, "thickness_mm", "Choose a thickness from the list"),
    ({"thickness_mm": ""}, "thickness_mm", "Choose a thickness."),
    ({"material_type": ""}, "material_type", "Choose one."),
    ({"material_type": "Unobtainium"}, "material_type", "Choose one of"),
    ({"sheet_size": "9x9"}, "sheet_size", "Choose one of"),
    ({"name": ""}, "name", "This field is required."),
    ({"category": "Gadget"}, "category", "Choose one of"),
    ({"unit": "crates"}, "unit", "Choose one of"),
    ({"quantity_on_hand": "-4"}, "quantity_on_hand", "at least 0"),
    ({"quantity_on_hand": "lots"}, "quantity_on_hand", "Enter a whole number."),
    ({"min_required": "-1"}, "min_required", "at least 0"),
    ({"unit_cost": "-5"}, "unit_cost", "zero or more"),
    ({"unit_cost": "12.345"}, "unit_cost", "two decimal places"),
    ({"item_code": "X" * 41}, "item_code", "40 characters or fewer"),
]


@pytest.mark.parametrize(("fields", "field", "message"), BAD_ITEM_INPUT)
def test_bad_item_input_is_422_and_writes_nothing(admin, db_query, fields, field, message):
    response = admin.post_form("/inventory/new", {**SHEET_ITEM, "name": "Kept name", **fields})
    assert response.status_code == 422, response.text[:300]
    assert message in response.text and f'id="e-{field}"' in response.text
    if field != "name":
        assert 'value="Kept name"' in response.text
    assert db_query("SELECT count(*) FROM inventory_items") == [(1,)]
    assert db_query("SELECT count(*) FROM inventory_transactions") == [(1,)]


def test_a_consumable_needs_no_sheet_details(admin, db_query):
    item_id = create_item(admin, **CONSUMABLE)
    assert on_hand(db_query, item_id) == 3
    assert "Nozzle 1.5 mm" in admin.get("/inventory?category=Consumable").text


def test_the_new_item_form_offers_the_thickness_list_materials_and_sizes(admin):
    form = admin.get("/inventory/new").text
    for label in ("0.47 mm", "2.0 mm", "16.0 mm", "Stainless Steel", "2500x1250", "Spare Part", "litres"):
        assert f">{label}<" in form
    assert 'name="quantity_on_hand"' in form


def test_editing_an_item_changes_its_definition_but_never_its_stock(admin, db_query):
    form = admin.get(f"/inventory/{STOCKED_ID}/edit").text
    assert 'name="quantity_on_hand"' not in form
    assert "500</strong> sheets" in form and "Stock changes only through transactions" in form
    assert 'value="MS-3-3015"' in form and 'value="1450.00"' in form
    data = {
        "item_code": "MS-3-3015",
        "name": "Mild Steel 3 mm full sheet",
        "category": "Sheet",
        "material_type": "Mild Steel",
        "thickness_mm": "3.00",
        "sheet_size": "3000x1500",
        "unit": "sheets",
        "quantity_on_hand": "9999",
        "min_required": "40",
        "reorder_quantity": "100",
        "unit_cost": "1500.00",
        "location": "Rack C",
    }
    response = admin.post_form(f"/inventory/{STOCKED_ID}/edit", data)
    assert response.status_code == 303 and response.headers["location"] == f"/inventory/{STOCKED_ID}"
    row = db_query("SELECT name, quantity_on_hand, min_required, unit_cost, location FROM inventory_items")
    assert row == [("Mild Steel 3 mm full sheet", 500, 40, 150000, "Rack C")]
    assert db_query("SELECT count(*) FROM inventory_transactions") == [(1,)]


def test_a_bad_edit_keeps_the_item_as_it_was(admin, db_query):
    data = {**SHEET_ITEM, **STAINLESS_JOB, "item_code": "MS-3-3015", "name": "Changed", "min_required": "-3"}
    response = admin.post_form(f"/inventory/{STOCKED_ID}/edit", data)
    assert response.status_code == 422
    assert "at least 0" in response.text and 'value="Changed"' in response.text
    assert db_query("SELECT name, material_type, min_required FROM inventory_items") == [
        ("Mild Steel 3 mm 3000x1500", "Mild Steel", 10)
    ]


def test_an_edit_cannot_take_another_items_code_or_sheet(admin, db_query):
    create_item(admin)
    for fields, message in (
        ({"item_code": "SS-2-2512", **STAINLESS_JOB, "thickness_mm": "3.00"}, "SS-2-2512 is already used"),
        ({"item_code": "MS-3-3015", **STAINLESS_JOB}, "SS-2-2512 already holds Stainless Steel 2.0 mm 2500x1250"),
    ):
        response = admin.post_form(f"/inventory/{STOCKED_ID}/edit", {**SHEET_ITEM, **fields, "name": "Changed"})
        assert response.status_code == 422 and message in response.text
    assert db_query("SELECT item_code, name, material_type FROM inventory_items WHERE id = ?", (STOCKED_ID,)) == [
        ("MS-3-3015", "Mild Steel 3 mm 3000x1500", "Mild Steel")
    ]


# -- who may do what ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_only_an_admin_may_create_or_edit_items(login_as, db_query, role):
    client = login_as(role)
    for path in ("/inventory/new", f"/inventory/{STOCKED_ID}/edit"):
        assert client.get(path).status_code == 403
        assert client.post_form(path, {**SHEET_ITEM, "item_code": "NEW-1"}).status_code == 403
    assert db_query("SELECT count(*), min(name) FROM inventory_items") == [(1, "Mild Steel 3 mm 3000x1500")]
    page = client.get("/inventory").text
    assert "/inventory/new" not in page
    assert f"/inventory/{STOCKED_ID}/edit" not in client.get(f"/inventory/{STOCKED_ID}").text


def test_operators_cannot_open_any_inventory_page(login_as, db_query):
    operator = login_as("operator")
    for path in ("/inventory", f"/inventory/{STOCKED_ID}", "/inventory/transactions", "/inventory?format=csv"):
        assert operator.get(path).status_code == 403
    assert record(operator, STOCKED_ID, "Usage", "5").status_code == 403
    assert on_hand(db_query, STOCKED_ID) == 500


def test_a_viewer_reads_stock_but_cannot_record_movements(viewer, db_query):
    for path in ("/inventory", f"/inventory/{STOCKED_ID}", "/inventory/transactions"):
        assert viewer.get(path).status_code == 200
    page = viewer.get(f"/inventory/{STOCKED_ID}").text
    assert "500 sheets" in page and "Record stock movement" not in page
    response = record(viewer, STOCKED_ID, "Purchase", "10")
    assert response.status_code == 403 and "Only a manager or an admin" in response.text
    assert on_hand(db_query, STOCKED_ID) == 500
    assert db_query("SELECT count(*) FROM inventory_transactions") == [(1,)]


def test_a_manager_sees_the_stock_form_but_not_the_item_setup_buttons(manager):
    page = manager.get(f"/inventory/{STOCKED_ID}").text
    assert "Record stock movement" in page and f'action="/inventory/{STOCKED_ID}/transaction"' in page
    assert "/edit" not in page
    assert "+ New item" not in manager.get("/inventory").text


def test_admin_sees_new_and_edit_buttons(admin):
    assert "+ New item" in admin.get("/inventory").text
    assert f"/inventory/{STOCKED_ID}/edit" in admin.get(f"/inventory/{STOCKED_ID}").text


def test_unknown_items_are_404(admin):
    for path in ("/inventory/999", "/inventory/999/edit"):
        assert admin.get(path).status_code == 404
    assert admin.post_form("/inventory/999/edit", SHEET_ITEM).status_code == 404
    assert record(admin, 999, "Purchase", "5").status_code == 404


# -- the ledger ---------------------------------------------------------------------------------


def test_a_manager_records_a_purchase(manager, db_query):
    response = record(manager, STOCKED_ID, "Purchase", "20", unit_cost="1500.00", reference="INV-88231")
    assert response.status_code == 303 and response.headers["location"] == f"/inventory/{STOCKED_ID}"
    assert on_hand(db_query, STOCKED_ID) == 520 == ledger_sum(db_query, STOCKED_ID)
    assert ledger(db_query, STOCKED_ID)[-1] == ("Purchase", 20, 520, 0, "INV-88231")
    assert db_query("SELECT unit_cost FROM inventory_items") == [(150000,)]
    assert db_query("SELECT created_by FROM inventory_transactions ORDER BY id DESC LIMIT 1") == [("Mo Manager",)]
    page = manager.get(f"/inventory/{STOCKED_ID}").text
    assert "Purchase recorded: +20 → 520 sheets" in page
    assert "R 780,000.00" in page  # valuation at the new price: 520 × R 1,500.00
    assert page.index("INV-88231") < page.index("Opening stock")  # newest first


def test_usage_and_returns_move_stock_down_and_up(manager, db_query):
    assert record(manager, STOCKED_ID, "Usage", "30", reference="Offcut sale").status_code == 303
    assert record(manager, STOCKED_ID, "Return", "4", notes="Unused from JB-1").status_code == 303
    assert [r[:3] for r in ledger(db_query, STOCKED_ID)[1:]] == [("Usage", -30, 470), ("Return", 4, 474)]
    assert on_hand(db_query, STOCKED_ID) == 474 == ledger_sum(db_query, STOCKED_ID)
    assert "Return recorded: +4 → 474 sheets" in manager.get(f"/inventory/{STOCKED_ID}").text


def test_an_adjustment_with_a_reason_corrects_the_count_either_way(manager, db_query):
    assert record(manager, STOCKED_ID, "Adjustment", "-7", notes="Stock-take: 7 rusted").status_code == 303
    assert record(manager, STOCKED_ID, "Adjustment", "+2", reference="Recount").status_code == 303
    assert [r[:3] for r in ledger(db_query, STOCKED_ID)[1:]] == [("Adjustment", -7, 493), ("Adjustment", 2, 495)]
    assert on_hand(db_query, STOCKED_ID) == ledger_sum(db_query, STOCKED_ID)


def test_emptying_the_shelf_exactly_is_allowed(manager, db_query):
    assert record(manager, STOCKED_ID, "Usage", "500").status_code == 303
    assert ledger(db_query, STOCKED_ID)[-1] == ("Usage", -500, 0, 0, "")


BAD_MOVEMENTS = [
    ({"transaction_type": "Usage", "quantity": "501"}, "quantity", "Only 500 on hand"),
    ({"transaction_type": "Adjustment", "quantity": "-501", "notes": "Stock-take"}, "quantity", "Only 500 on hand"),
    ({"transaction_type": "Adjustment", "quantity": "0", "notes": "Stock-take"}, "quantity", "changes nothing"),
    ({"transaction_type": "Adjustment", "quantity": "-5"}, "notes", "Say why the count changed"),
    ({"transaction_type": "Purchase", "quantity": "-5"}, "quantity", "at least 1"),
    ({"transaction_type": "Purchase", "quantity": "0"}, "quantity", "at least 1"),
    ({"transaction_type": "Return", "quantity": "2.5"}, "quantity", "Enter a whole number."),
    ({"transaction_type": "Purchase", "quantity": ""}, "quantity", "This field is required."),
    ({"transaction_type": "Purchase", "quantity": "5", "unit_cost": "-1"}, "unit_cost", "zero or more"),
    ({"transaction_type": "Theft", "quantity": "5"}, "transaction_type", "Choose one of"),
    ({"transaction_type": "Purchase", "quantity": "5", "reference": "R" * 101}, "reference", "100 characters"),
]


@pytest.mark.parametrize(("fields", "field", "message"), BAD_MOVEMENTS)
def test_a_bad_stock_movement_is_422_and_writes_nothing(manager, db_query, fields, field, message):
    response = manager.post_form(f"/inventory/{STOCKED_ID}/transaction", fields)
    assert response.status_code == 422, response.text[:300]
    assert message in response.text and f'id="e-{field}"' in response.text
    assert "Nothing was recorded" in response.text and "Record stock movement" in response.text
    assert "500 sheets" in response.text  # the page still shows the untouched stock
    assert on_hand(db_query, STOCKED_ID) == 500
    assert db_query("SELECT count(*) FROM inventory_transactions") == [(1,)]
    assert db_query("SELECT count(*) FROM activity_log WHERE action LIKE 'stock_%'") == [(0,)]


def test_a_usage_form_error_keeps_what_was_typed(manager):
    response = record(manager, STOCKED_ID, "Usage", "900", reference="JB-big")
    assert response.status_code == 422
    assert 'value="900"' in response.text and 'value="JB-big"' in response.text
    assert '<option value="Usage" selected' in response.text


# -- low stock and valuation --------------------------------------------------------------------


def test_low_stock_is_flagged_in_the_list_and_filterable(admin):
    create_item(admin, **CONSUMABLE)  # 3 on hand, minimum 10
    page = results(admin.get("/inventory").text)
    rows = {name: row for row in page.split("<tr")[2:] for name in ("Nozzle", "Mild Steel 3 mm") if name in row}
    assert rows["Nozzle"].startswith(' class="low-stock"') and ">Low</span>" in rows["Nozzle"]
    assert "low-stock" not in rows["Mild Steel 3 mm"] and ">Low</span>" not in rows["Mild Steel 3 mm"]
    low_only = results(admin.get("/inventory?low=1").text)
    assert "Nozzle 1.5 mm" in low_only and "Mild Steel 3 mm" not in low_only
    csv_low = csv_rows(admin.get("/inventory?low=1&format=csv"))
    assert [row[2] for row in csv_low[1:]] == ["Nozzle 1.5 mm"]


def test_the_header_shows_valuation_item_count_and_low_count(admin):
    create_item(admin, **CONSUMABLE)  # 3 × R 85.50 = R 256.50
    page = admin.get("/inventory").text
    assert "R 725,256.50" in page  # + 500 × R 1,450.00
    assert '<span class="stat-value">2</span><span class="stat-label">Items</span>' in page
    assert '<span class="stat-value">1</span><span class="stat-label">Low on stock</span>' in page


def test_the_list_searches_and_answers_htmx_with_just_the_rows(admin):
    create_item(admin, **CONSUMABLE)
    response = admin.get("/inventory?q=nozzle", headers={"hx-request": "true"})
    assert response.text.lstrip().startswith('<div id="results">')
    assert "Nozzle 1.5 mm" in response.text and "Mild Steel 3 mm" not in response.text


# -- stock-aware queueing -----------------------------------------------------------------------


def test_a_purchase_releases_a_job_waiting_on_material(admin, manager, db_query):
    project_id = paid_project(
        manager, create_client(manager), name="Stainless brackets", sheets_required="5", **STAINLESS_JOB
    )
    assert stage_of(db_query, project_id) == "waiting_material"
    item_id = create_item(admin, quantity_on_hand="0")
    assert stage_of(db_query, project_id) == "waiting_material"
    assert record(manager, item_id, "Purchase", "3").status_code == 303
    assert stage_of(db_query, project_id) == "waiting_material"  # 3 sheets do not cover 5
    response = record(manager, item_id, "Purchase", "2", unit_cost="2150.00")
    assert response.status_code == 303
    assert stage_of(db_query, project_id) == "queued"
    code = db_query("SELECT project_code FROM projects WHERE id = ?", (project_id,))[0][0]
    page = manager.get(f"/inventory/{item_id}").text
    assert f"Purchase recorded: +2 → 5 sheets. Released to the queue: {code}." in page


def test_opening_stock_on_a_new_item_releases_waiting_jobs(admin, manager, db_query):
    project_id = paid_project(manager, create_client(manager), sheets_required="5", **STAINLESS_JOB)
    assert stage_of(db_query, project_id) == "waiting_material"
    create_item(admin, quantity_on_hand="5")
    assert stage_of(db_query, project_id) == "queued"


def test_arriving_stock_goes_to_the_oldest_pop_first(admin, manager, db_query, settings):
    client_id = create_client(manager)
    first_in_queue = paid_project(manager, client_id, name="Paid today", sheets_required="5", **STAINLESS_JOB)
    paid_earlier = paid_project(manager, client_id, name="Paid last week", sheets_required="5", **STAINLESS_JOB)
    # The second job's POP came in earlier, though it was entered later (so sits lower in the queue).
    week_ago = (ShopCalendar("Africa/Johannesburg").today() - timedelta(days=7)).isoformat()
    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute("UPDATE projects SET pop_received_date = ? WHERE id = ?", (week_ago, paid_earlier))
    item_id = create_item(admin, quantity_on_hand="0")
    assert record(manager, item_id, "Purchase", "5").status_code == 303
    assert stage_of(db_query, paid_earlier) == "queued"
    assert stage_of(db_query, first_in_queue) == "waiting_material"
    assert record(manager, item_id, "Purchase", "5").status_code == 303
    assert stage_of(db_query, first_in_queue) == "queued"


def test_a_small_job_behind_a_big_one_goes_when_only_it_fits(admin, manager, db_query):
    client_id = create_client(manager)
    big = paid_project(manager, client_id, name="Big", sheets_required="8", **STAINLESS_JOB)
    small = paid_project(manager, client_id, name="Small", sheets_required="3", **STAINLESS_JOB)
    item_id = create_item(admin, quantity_on_hand="0")
    assert record(manager, item_id, "Purchase", "5").status_code == 303
    assert (stage_of(db_query, big), stage_of(db_query, small)) == ("waiting_material", "queued")


def test_stock_going_out_releases_nothing(admin, manager, db_query):
    project_id = paid_project(manager, create_client(manager), sheets_required="5", **STAINLESS_JOB)
    item_id = create_item(admin, quantity_on_hand="4")
    assert record(manager, item_id, "Usage", "1").status_code == 303
    assert stage_of(db_query, project_id) == "waiting_material"


# -- the transactions page ----------------------------------------------------------------------


@pytest.fixture
def movements(admin, manager):
    """Opening stock on two items, plus a purchase and a usage on the stainless sheet."""
    item_id = create_item(admin)  # Adjustment +12 "Opening stock"
    assert record(manager, item_id, "Purchase", "10", reference="PO-500").status_code == 303
    assert record(manager, STOCKED_ID, "Usage", "2", reference="Scrap").status_code == 303
    return item_id


def test_the_transactions_page_lists_every_movement_with_links(manager, movements):
    page = results(manager.get("/inventory/transactions").text)
    for text in ("PO-500", "Scrap", "Opening stock", "SS-2-2512", "MS-3-3015", "+10", "-2", "Mo Manager"):
        assert text in page
    assert f'href="/inventory/{movements}"' in page and f'href="/inventory/{STOCKED_ID}"' in page
    assert page.index("Scrap") < page.index("PO-500")  # newest first


def test_transactions_filter_by_type_item_text_and_date(manager, movements):
    def shown(query: str) -> str:
        return results(manager.get(f"/inventory/transactions?{query}").text)

    purchases = shown("transaction_type=Purchase")
    assert "PO-500" in purchases and "Scrap" not in purchases and "Opening stock" not in purchases
    steel = shown(f"item_id={STOCKED_ID}")
    assert "Scrap" in steel and "PO-500" not in steel
    assert "PO-500" in shown("q=po-5") and "Scrap" not in shown("q=po-5")
    today = ShopCalendar("Africa/Johannesburg").today()
    assert "PO-500" in shown(f"start={today}&end={today}")
    assert "No transactions match" in shown(f"start={today + timedelta(days=1)}")
    assert "No transactions match" in shown(f"end={today - timedelta(days=1)}")
    assert "PO-500" in shown("start=not-a-date&end=2026-02-30")  # bad dates are ignored
    assert "PO-500" in shown("transaction_type=Bogus&item_id=abc")  # so are unknown filters


def test_the_item_page_shows_only_its_own_ledger(manager, movements):
    page = manager.get(f"/inventory/{movements}").text
    assert "PO-500" in page and "Opening stock" in page and "Scrap" not in page


def test_transactions_export_as_csv_with_the_same_filters(manager, movements):
    rows = csv_rows(manager.get("/inventory/transactions?format=csv"))
    assert rows[0] == list(TRANSACTION_EXPORT_COLUMNS)
    assert len(rows) == 1 + 4  # the header, two opening stocks, the purchase and the usage
    purchases = csv_rows(manager.get("/inventory/transactions?format=csv&transaction_type=Purchase"))
    assert len(purchases) == 2
    record_ = dict(zip(purchases[0], purchases[1], strict=True))
    assert record_["item_code"] == "SS-2-2512" and record_["quantity"] == "10" and record_["reference"] == "PO-500"
    assert record_["balance_after"] == "22" and record_["created_by"] == "Mo Manager"


def test_items_export_as_csv_with_stock_and_filters(manager, movements):
    rows = csv_rows(manager.get("/inventory?format=csv"))
    assert rows[0] == list(ITEM_EXPORT_COLUMNS) and "quantity_on_hand" in rows[0]
    by_code = {row[1]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_code["SS-2-2512"]["quantity_on_hand"] == "22"
    assert by_code["MS-3-3015"]["quantity_on_hand"] == "498" and by_code["MS-3-3015"]["unit_cost"] == "1450.00"
    sheets_only = csv_rows(manager.get("/inventory?format=csv&q=stainless"))
    assert [row[1] for row in sheets_only[1:]] == ["SS-2-2512"]


def test_a_blocked_job_and_its_sheet_point_at_each_other(admin, manager):
    """The project page says which item holds its sheet; the item page lists the jobs waiting on it."""
    client_id = create_client(manager)
    waiting = paid_project(manager, client_id, name="Stainless panels", sheets_required="6", **STAINLESS_JOB)
    assert "No stock item holds this sheet yet" in manager.get(f"/projects/{waiting}").text
    item_id = create_item(admin, quantity_on_hand="2")  # not enough: the job keeps waiting
    item_page = manager.get(f"/inventory/{item_id}").text
    assert "Jobs waiting on this sheet" in item_page and f'href="/projects/{waiting}"' in item_page
    project_page = manager.get(f"/projects/{waiting}").text
    assert "SS-2-2512</a>: 2 sheets on hand" in project_page
    assert "Jobs waiting on this sheet" not in manager.get(f"/inventory/{STOCKED_ID}").text
