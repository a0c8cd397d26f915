"""Quote from drawing: the pricing breakdown becomes a draft quote (its lines add up to the breakdown's
price before VAT) and the project's cut time and sheets follow; refusals write nothing; the role matrix."""

from __future__ import annotations

from decimal import Decimal

import pytest

from laseros.domain.kernel.shop import ShopCalendar
from tests.factories import create_client, create_preset, create_project, dxf_bytes, upload

YEAR = ShopCalendar("Africa/Johannesburg").today().year


@pytest.fixture
def drawn(admin, manager, db_query):
    """A project (Mild Steel 3 mm, 3000x1500) with a drawing on it and the preset for its sheet."""
    create_preset(admin, speed_mm_min="2000", pierce_time_s="0.60")
    project_id = create_project(manager, create_client(manager, "Drawing Co"), name="Drawn job", quoted_price="")
    assert upload(manager, f"/projects/{project_id}/files", "part.dxf", dxf_bytes()).status_code == 303
    file_id = db_query("SELECT id FROM stored_files WHERE project_id = ?", (project_id,))[0][0]
    return project_id, file_id


def pricing(client, project_id: int, **query: str) -> dict:
    response = client.get(f"/projects/{project_id}/pricing", params={"format": "json", **query})
    assert response.status_code == 200, response.text[:500]
    return response.json()


def cents(value) -> Decimal:
    return Decimal(value) / 100  # ScaledDecimal stores whole cents


def quote_rows(db_query) -> list[tuple]:
    return db_query("SELECT id, quote_number, status, subtotal, vat_amount, total FROM quotes")


def test_quote_from_drawing_makes_a_draft_whose_lines_are_the_breakdown(manager, db_query, drawn):
    project_id, file_id = drawn
    figures = pricing(manager, project_id, **{f"qty_{file_id}": "40"})
    response = manager.post_form(f"/projects/{project_id}/quote-from-drawing", {f"qty_{file_id}": "40"})
    assert response.status_code == 303, response.text[:2000]
    [(quote_id, number, status, subtotal, vat, total)] = quote_rows(db_query)
    assert response.headers["location"] == f"/quotes/{quote_id}"
    assert (number, status) == (f"Q-{YEAR}-0001", "draft")
    assert (cents(subtotal), cents(vat), cents(total)) == (
        Decimal(figures["subtotal"]),
        Decimal(figures["vat"]),
        Decimal(figures["total"]),
    )
    lines = db_query(
        "SELECT position, description, quantity, unit_price, line_total FROM quote_lines ORDER BY position"
    )
    assert [row[0] for row in lines] == [1, 2, 3]
    material, cutting, setup = lines
    # Material: sheets × the stock item's unit cost (the test database's sheet at R 1 450.00).
    assert material[1] == "Material: 3.0 mm Mild Steel 3000x1500 sheet (MS-3-3015)"
    assert (cents(material[2]), cents(material[3])) == (Decimal(figures["sheets"]), Decimal("1450.00"))
    assert cents(material[4]) == Decimal(figures["material_cost"])
    # Cutting: the calibrated minutes at the machine rate per minute (R 1 500/h = R 25.00 a minute).
    assert cutting[1].startswith("Laser cutting: 40 part(s), ") and "at R 1,500.00/h" in cutting[1]
    assert (cents(cutting[2]), cents(cutting[3])) == (Decimal(figures["calibrated_cut_minutes"]), Decimal("25.00"))
    assert cents(cutting[4]) == Decimal(figures["machine_cost"])
    assert (setup[1], cents(setup[2]), cents(setup[4])) == ("Setup (once per job)", 1, Decimal("250.00"))
    # The project carries the estimate: whole minutes (half up, at least 1) and the nested sheets.
    minutes = max(1, int(Decimal(figures["calibrated_cut_minutes"]).quantize(Decimal(1), rounding="ROUND_HALF_UP")))
    assert db_query("SELECT estimated_cut_time, sheets_required FROM projects WHERE id = ?", (project_id,)) == [
        (minutes, figures["sheets"])
    ]
    activity = db_query(
        "SELECT entity_type, action, details FROM activity_log WHERE (entity_type = 'quote' AND entity_id = ?) "
        "OR (entity_type = 'project' AND entity_id = ?) ORDER BY id DESC LIMIT 2",
        (quote_id, project_id),
    )
    assert activity[0][:2] == ("quote", "created") and activity[0][2].startswith(f"Q-{YEAR}-0001: draft for ")
    assert activity[0][2].endswith("with 3 line(s) from the drawing")
    assert activity[1][:2] == ("project", "updated") and "From the drawing: estimated cut time" in activity[1][2]
    page = manager.get(f"/quotes/{quote_id}").text
    assert "Send by email" in page and "Laser cutting" in page


def test_a_small_job_is_lifted_to_the_minimum_charge_on_its_own_line(manager, db_query, drawn):
    project_id, _file_id = drawn
    db_query("INSERT INTO shop_settings (key, value, updated_at) VALUES ('minimum_charge', '5000', '2026-01-01')")
    assert manager.post_form(f"/projects/{project_id}/quote-from-drawing").status_code == 303
    [(_id, _number, _status, subtotal, _vat, total)] = quote_rows(db_query)
    assert (cents(subtotal), cents(total)) == (Decimal("5000.00"), Decimal("5750.00"))
    descriptions = [row[0] for row in db_query("SELECT description FROM quote_lines ORDER BY position")]
    assert descriptions[-1] == "Minimum charge: top-up to R 5,000.00"


def test_the_pricing_page_offers_the_button_to_those_who_quote(manager, viewer, drawn):
    project_id, file_id = drawn
    page = manager.get(f"/projects/{project_id}/pricing", params={f"qty_{file_id}": "7"}).text
    assert f'action="/projects/{project_id}/quote-from-drawing"' in page
    assert f'name="qty_{file_id}" value="7"' in page  # the quantities priced are the ones quoted
    assert "quote-from-drawing" not in viewer.get(f"/projects/{project_id}/pricing").text


def test_no_preset_for_the_sheet_is_refused_with_the_pricing_message_and_nothing_written(manager, db_query):
    project_id = create_project(manager, create_client(manager), name="No preset", quoted_price="")
    assert upload(manager, f"/projects/{project_id}/files", "part.dxf", dxf_bytes()).status_code == 303
    before = db_query("SELECT estimated_cut_time, sheets_required FROM projects WHERE id = ?", (project_id,))
    response = manager.post_form(f"/projects/{project_id}/quote-from-drawing")
    assert response.status_code == 409
    assert "No preset for 3.0 mm Mild Steel — add one under Presets" in response.text
    assert quote_rows(db_query) == []
    assert db_query("SELECT estimated_cut_time, sheets_required FROM projects WHERE id = ?", (project_id,)) == before


def test_a_project_without_a_drawing_is_refused(admin, manager, db_query):
    create_preset(admin)
    project_id = create_project(manager, create_client(manager), quoted_price="")
    response = manager.post_form(f"/projects/{project_id}/quote-from-drawing")
    assert response.status_code == 409 and "No DXF drawing on this project" in response.text
    assert quote_rows(db_query) == []


def test_a_bad_quantity_is_422_and_writes_nothing(manager, db_query, drawn):
    project_id, file_id = drawn
    response = manager.post_form(f"/projects/{project_id}/quote-from-drawing", {f"qty_{file_id}": "0"})
    assert response.status_code == 422 and "Enter a whole number of parts from 1 to 10,000." in response.text
    assert quote_rows(db_query) == []
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type = 'quote'") == [(0,)]


def test_an_unknown_project_is_404(manager):
    assert manager.post_form("/projects/99999/quote-from-drawing").status_code == 404


@pytest.mark.parametrize(("role", "status"), [("admin", 303), ("viewer", 403), ("operator", 403)])
def test_managers_and_admins_quote_viewers_and_operators_do_not(login_as, db_query, drawn, role, status):
    project_id, _file_id = drawn
    assert login_as(role).post_form(f"/projects/{project_id}/quote-from-drawing").status_code == status
    assert len(quote_rows(db_query)) == (1 if status == 303 else 0)
