"""Pricing from the drawing: a DXF of known geometry, a known preset and sheet price → hand-computed figures.

The part: a 100 × 50 mm rectangle (a closed polyline starting at the origin) with a Ø20 hole at
(50, 25). Cut length 2 × (100 + 50) + π × 20 = 362.832 mm; 2 pierces; rapid travel from the box's
corner: 0 to the rectangle's start, then 65 mm to the circle's start at (60, 25).
The preset (Mild Steel 3 mm): 2 000 mm/min, 0.6 s a pierce; rapid at the default 20 000 mm/min.
One part: 362.832 / 2000 + 2 × 0.6 / 60 + 65 / 20000 = 0.181416 + 0.02 + 0.00325 = 0.204666 min.
The sheet Mild Steel 3 mm 3000x1500 costs R 1 450.00 (the test database's stocked sheet).
"""

from __future__ import annotations

import io
import json
import time
from decimal import Decimal

import ezdxf
import pytest

from laseros.domain.pricing import nesting
from laseros.domain.pricing.nesting import Part, nest, pack_rectpack, pack_shelf
from tests.factories import create_client, create_preset, create_project, paid_project, upload
from tests.reports_data import add_run, complete
from tests.support import run


def part_dxf(width: float = 100, height: float = 50, hole: float | None = 10) -> bytes:
    doc = ezdxf.new("R2010", units=4)
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (width, 0), (width, height), (0, height)], close=True)
    if hole:
        msp.add_circle((width / 2, height / 2), hole)
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def set_setting(db_query, key: str, value: str) -> None:
    db_query("INSERT INTO shop_settings (key, value, updated_at) VALUES (?, ?, '2026-01-01 00:00:00')", (key, value))


@pytest.fixture
def priced(admin, manager, db_query):
    """A project (Mild Steel 3 mm, 3000x1500) with the part drawing on it, and the preset for its sheet."""
    create_preset(admin, speed_mm_min="2000", pierce_time_s="0.60")
    client_id = create_client(manager, "Pricing Co")
    project_id = create_project(manager, client_id, name="Priced job")
    assert upload(manager, f"/projects/{project_id}/files", "plate.dxf", part_dxf()).status_code == 303
    file_id = db_query("SELECT id FROM stored_files WHERE project_id = ?", (project_id,))[0][0]
    return project_id, file_id


def pricing_json(client, project_id: int, **query: str):
    response = client.get(f"/projects/{project_id}/pricing", params={"format": "json", **query})
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_the_stored_analysis_measures_the_rapid_travel(manager, priced, db_query):
    _project_id, file_id = priced
    analysis = manager.get(f"/files/{file_id}/analysis").json()
    assert analysis["cut_length_mm"] == pytest.approx(362.832, abs=0.001)
    assert analysis["pierces"] == 2
    stored = db_query("SELECT analysis FROM stored_files WHERE id = ?", (file_id,))[0][0]
    assert '"rapid_mm": 65.0' in stored


def test_the_formula_on_a_known_part(manager, priced):
    project_id, file_id = priced
    data = pricing_json(manager, project_id, **{f"qty_{file_id}": "10"})
    assert data["priced"] and data["refusal"] is None
    # 10 × 0.204666 = 2.04666 → 2.05 min; no history: factor 1.000.
    assert data["cut_minutes"] == "2.05" and data["calibration_factor"] == "1.000"
    assert data["calibrated_cut_minutes"] == "2.05"
    assert data["parts"][0]["quantity"] == 10 and data["parts"][0]["pierces"] == 2
    # 10 parts of 105 × 55 (with the 5 mm gap) fit one sheet.
    assert data["sheets"] == 1
    # 10 × (5000 − π × 100) mm² on 4 500 000 mm²: 1.0 %.
    assert data["utilisation_percent"] == "1.0"
    assert data["material_cost"] == "1450.00"  # 1 sheet × R 1 450.00
    assert data["machine_cost"] == "51.25"  # 2.05 / 60 × R 1 500
    assert data["setup_fee"] == "250.00"
    assert data["subtotal"] == "1751.25" and data["markup"] == "0.00" and not data["minimum_charge_applied"]
    assert data["vat"] == "262.69"  # 15 % of 1 751.25 = 262.6875, half up
    assert data["total"] == "2013.94"
    assert data["flags"] == []


def test_the_page_shows_the_breakdown_line_by_line(manager, viewer, priced):
    project_id, file_id = priced
    assert f'href="/projects/{project_id}/pricing"' in manager.get(f"/projects/{project_id}").text
    for client in (manager, viewer):
        page = client.get(f"/projects/{project_id}/pricing", params={f"qty_{file_id}": "10"})
        assert page.status_code == 200
        text = page.text
        for shown in (
            "Material",
            "Machine time",
            "Setup",
            "R 1,450.00",
            "R 51.25",
            "R 250.00",
            "R 262.69",
            "R 2,013.94",
        ):
            assert shown in text, shown
        assert 'id="calibration-factor">1.000<' in text
        assert f'name="qty_{file_id}"' in text and 'value="10"' in text


def test_markup_minimum_charge_and_no_material_price(manager, priced, db_query):
    project_id, _file_id = priced
    # Markup 10 %: (1450 + 5.00 + 250) × 10 % on one part (0.20 min → R 5.00).
    set_setting(db_query, "markup_percent", "10")
    data = pricing_json(manager, project_id)
    assert data["cut_minutes"] == "0.20" and data["machine_cost"] == "5.00"
    assert data["markup"] == "170.50" and data["subtotal"] == "1875.50"
    assert data["vat"] == "281.33" and data["total"] == "2156.83"  # 281.325 half up
    # A sheet no stock item holds: flagged, no material; R 255 lifts to the R 500 minimum (+10 %).
    db_query("UPDATE projects SET sheet_size = '2500x1250' WHERE id = ?", (project_id,))
    data = pricing_json(manager, project_id)
    assert data["material_cost"] == "0.00" and data["sheets"] == 1
    assert any("No material price" in flag for flag in data["flags"])
    assert data["minimum_charge_applied"] and data["subtotal"] == "550.00"
    assert data["vat"] == "82.50" and data["total"] == "632.50"
    assert "No material price" in manager.get(f"/projects/{project_id}/pricing").text


def test_several_drawings_each_with_its_quantity(manager, priced, db_query):
    project_id, file_id = priced
    assert upload(manager, f"/projects/{project_id}/files", "square.dxf", part_dxf(500, 500, None)).status_code == 303
    square_id = db_query("SELECT max(id) FROM stored_files")[0][0]
    data = pricing_json(manager, project_id, **{f"qty_{file_id}": "2", f"qty_{square_id}": "3"})
    assert [(p["file_id"], p["quantity"]) for p in data["parts"]] == [(file_id, 2), (square_id, 3)]
    # square: 2 000 mm / 2000 + 1 × 0.01 + 0 rapid = 1.01 min each; plate 0.204666 each.
    assert data["cut_minutes"] == str(Decimal("3.4393").quantize(Decimal("0.01")))
    assert data["sheets"] == 1


def test_nesting_counts_sheets_with_gaps_and_margins(manager, priced, db_query):
    project_id, _ = priced
    db_query("DELETE FROM stored_files")
    assert upload(manager, f"/projects/{project_id}/files", "square.dxf", part_dxf(500, 500, None)).status_code == 303
    square_id = db_query("SELECT max(id) FROM stored_files")[0][0]
    # Usable 2 980 × 1 480 (+5 gap): 505 mm boxes, 5 across and 2 down → 10 on a sheet.
    ten = pricing_json(manager, project_id, **{f"qty_{square_id}": "10"})
    assert ten["sheets"] == 1 and ten["utilisation_percent"] == "55.6"  # 2.5 m² of 4.5 m²
    eleven = pricing_json(manager, project_id, **{f"qty_{square_id}": "11"})
    assert eleven["sheets"] == 2 and eleven["material_cost"] == "2900.00"
    # A 300 mm margin: usable 2 400 × 900 (+5 gap) → 4 across, 1 down → 4 a sheet: 3 sheets for 10.
    set_setting(db_query, "sheet_margin_mm", "300")
    assert pricing_json(manager, project_id, **{f"qty_{square_id}": "10"})["sheets"] == 3
    # And a 200 mm gap: 700 mm boxes on 2 400 (+200) → 3 across, 1 down: 4 sheets for 10.
    set_setting(db_query, "part_gap_mm", "200")
    assert pricing_json(manager, project_id, **{f"qty_{square_id}": "10"})["sheets"] == 4


def gusset_dxf(size: float) -> bytes:
    doc = ezdxf.new("R2010", units=4)
    doc.modelspace().add_lwpolyline([(0, 0), (size, 0), (0, size)], close=True)
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def test_parts_nest_by_their_outlines_and_old_analyses_by_their_boxes(manager, priced, db_query, monkeypatch):
    project_id, _ = priced
    db_query("DELETE FROM stored_files")
    assert upload(manager, f"/projects/{project_id}/files", "gusset.dxf", gusset_dxf(1400)).status_code == 303
    gusset_id = db_query("SELECT max(id) FROM stored_files")[0][0]
    # Three 1 400 mm gussets: their boxes fit two on a 3000x1500 sheet; as triangles (two turned
    # into a square), all three.
    three = pricing_json(manager, project_id, **{f"qty_{gusset_id}": "3"})
    assert three["sheets"] == 1 and three["nesting_method"] == "true-shape"
    assert three["utilisation_percent"] == "65.3"  # 3 × 0.98 m² of 4.5 m²
    assert not any("out of time" in flag for flag in three["flags"])
    page = manager.get(f"/projects/{project_id}/pricing", params={f"qty_{gusset_id}": "3"})
    assert "3 parts, true-shape" in page.text
    # The true shapes out of time: the boxes, and the page says so.
    monkeypatch.setattr(nesting, "NEST_SECONDS", 0.2)
    monkeypatch.setattr(nesting, "pack_true_shape", lambda *args: time.sleep(1))
    nesting._finished.clear()
    late = pricing_json(manager, project_id, **{f"qty_{gusset_id}": "3"})
    assert late["sheets"] == 2 and late["nesting_method"] == "rectpack"
    assert "True-shape nesting ran out of time: the sheets are from the parts' bounding boxes." in late["flags"]
    monkeypatch.undo()
    # An analysis stored before outlines were measured: the box, as before.
    stored = json.loads(db_query("SELECT analysis FROM stored_files WHERE id = ?", (gusset_id,))[0][0])
    assert len(stored.pop("outline")) == 3
    stored.pop("outline_tolerance_mm")
    db_query("UPDATE stored_files SET analysis = ? WHERE id = ?", (json.dumps(stored), gusset_id))
    old = pricing_json(manager, project_id, **{f"qty_{gusset_id}": "3"})
    assert old["sheets"] == 2 and old["nesting_method"] == "rectpack"


def test_the_packers_directly():
    sheet = (3000.0, 1500.0)
    squares = [Part(1, 500, 500)] * 10
    assert pack_rectpack(squares, sheet, 10, 10) == 1 and pack_shelf(squares, sheet, 10, 10) == 1
    assert pack_rectpack(squares * 2 + squares[:1], sheet, 10, 10) == 3
    # A part larger than the sheet either way round is left out and named.
    result = run(nest([*squares, Part(7, 3100, 100)], sheet, 10, 10))
    assert result.sheets == 1 and result.placed == 10 and result.too_large == [7] and result.method == "rectpack"
    # Out of time: the shelf packing answers.
    fallback = run(nest(squares, sheet, 10, 10, seconds=0))
    assert fallback.method == "shelf" and fallback.sheets == 1
    # Very many parts: the shelf packing straight away (10 a sheet).
    many = run(nest([Part(1, 500, 500)] * 5_010, sheet, 10, 10))
    assert many.method == "shelf" and many.sheets == 501


def test_two_hundred_parts_nest_quickly():
    parts = [Part(i % 5, 80 + (i * 37) % 420, 60 + (i * 53) % 300) for i in range(200)]
    result = run(nest(parts, (3000.0, 1500.0), 5, 10))
    assert result.method == "rectpack" and result.seconds < 5 and result.placed == 200
    assert 1 <= result.sheets <= pack_shelf(parts, (3000.0, 1500.0), 5, 10)


def test_the_calibration_factor_is_applied_and_its_jobs_shown(manager, priced, db_query):
    project_id, file_id = priced
    client_id = create_client(manager, "History Co")
    operator_id = db_query("SELECT id FROM users WHERE username = 'operator'")[0][0]
    # Five completed Mild Steel 3 mm jobs estimated at 10 min, cut in 12: factor 1.200.
    codes = []
    for day in range(1, 6):
        done = paid_project(manager, client_id, name=f"Past {day}", estimated_cut_time="10")
        add_run(
            db_query, done, operator_id, f"2026-04-0{day} 08:00", "12", 1, 1, material="Mild Steel", thickness="3.00"
        )
        complete(db_query, done, f"2026-04-0{day} 12:00")
        codes.append(db_query("SELECT project_code FROM projects WHERE id = ?", (done,))[0][0])
    data = pricing_json(manager, project_id, **{f"qty_{file_id}": "10"})
    assert data["calibration_factor"] == "1.200" and data["cut_minutes"] == "2.05"
    assert data["calibrated_cut_minutes"] == "2.46"  # 2.05 × 1.2
    assert data["machine_cost"] == "61.50"  # 2.46 / 60 × R 1 500
    assert sorted(job["project_code"] for job in data["calibration_jobs"]) == sorted(codes)
    page = manager.get(f"/projects/{project_id}/pricing", params={f"qty_{file_id}": "10"}).text
    assert 'id="calibration-factor">1.200<' in page and all(code in page for code in codes)


def test_no_preset_gives_the_missing_preset_message(manager, db_query):
    client_id = create_client(manager, "No Preset Co")
    project_id = create_project(manager, client_id, material_type="Stainless Steel", thickness_mm="2.00")
    assert upload(manager, f"/projects/{project_id}/files", "plate.dxf", part_dxf()).status_code == 303
    data = pricing_json(manager, project_id)
    assert not data["priced"] and data["refusal"].startswith("No preset for 2")
    assert "Stainless Steel" in data["refusal"] and data["total"] == "0.00"
    page = manager.get(f"/projects/{project_id}/pricing")
    assert page.status_code == 200 and "No preset for" in page.text and 'id="pricing-breakdown"' not in page.text


def test_no_drawing_says_so(admin, manager):
    create_preset(admin, speed_mm_min="2000", pierce_time_s="0.60")
    project_id = create_project(manager, create_client(manager, "Empty Co"))
    data = pricing_json(manager, project_id)
    assert data["refusal"] == "No DXF drawing on this project: upload one to price it."


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "1.5", "10001"])
def test_a_bad_quantity_is_refused(manager, priced, bad):
    project_id, file_id = priced
    response = manager.get(f"/projects/{project_id}/pricing", params={f"qty_{file_id}": bad})
    assert response.status_code == 422 and "Enter a whole number of parts" in response.text
    assert (
        manager.get(f"/projects/{project_id}/pricing", params={f"qty_{file_id}": bad, "format": "json"}).status_code
        == 422
    )


def test_unknown_and_malformed_ids(manager, priced):
    assert manager.get("/projects/999999/pricing").status_code == 404
    assert manager.get("/projects/999999/pricing?format=json").status_code == 404
    assert manager.get("/projects/abc/pricing").status_code == 404
    # A quantity for a file that is not on the project is ignored.
    project_id, _ = priced
    assert manager.get(f"/projects/{project_id}/pricing", params={"qty_999999": "5"}).status_code == 200


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("manager", 200), ("viewer", 200), ("operator", 403)])
def test_who_may_see_the_pricing(login_as, priced, role, status):
    project_id, _ = priced
    client = login_as(role)
    assert client.get(f"/projects/{project_id}/pricing").status_code == status
    assert client.get(f"/projects/{project_id}/pricing?format=json").status_code == status


def test_the_pricing_settings_are_checked():
    from laseros.domain.kernel import registry
    from laseros.domain.kernel.settings import SettingRefused

    assert registry.MACHINE_RATE_PER_HOUR.clean("R 1,800.50") == "1800.5"
    assert registry.RAPID_SPEED_MM_MIN.read(None) == Decimal(20000)
    assert registry.PART_GAP_MM.read(None) == Decimal(5) and registry.VAT_RATE.read(None) == Decimal(15)
    for setting, bad in (
        (registry.MARKUP_PERCENT, "-1"),
        (registry.VAT_RATE, "abc"),
        (registry.RAPID_SPEED_MM_MIN, "1.5"),
    ):
        with pytest.raises(SettingRefused):
            setting.clean(bad)
