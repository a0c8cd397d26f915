"""Machine presets: an admin keeps the cutting parameters, and every open job carries the active one."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.factories import (
    PRESET,
    PROJECT_DEFAULTS,
    create_client,
    create_preset,
    create_project,
    paid_project,
    results,
)


def preset_panel(page: str) -> str:
    """The machine-preset card of a project page."""
    start = page.index('id="preset-panel"')
    return page[start : page.index("</section>", start)]


def deliver(manager, project_id: int) -> None:
    for stage in ("cutting", "ready", "delivered"):
        assert manager.post_form(f"/projects/{project_id}/status", {"stage": stage}).status_code == 303


# -- the library ------------------------------------------------------------------------------


def test_admin_creates_a_preset_and_it_shows_in_the_list_and_on_its_page(admin, db_query):
    preset_id = create_preset(admin)
    assert db_query(
        "SELECT name, material_type, thickness_mm, power_w, speed_mm_min, frequency_hz, gas, pressure_bar,"
        " nozzle_mm, focus_mm, pierce_time_s, is_active, notes FROM presets"
    ) == [("MS 3 mm O2", "Mild Steel", 300, 3000, 2800, 5000, "O2", 60, 120, -150, 80, 1, "Standard mild steel cut")]
    assert db_query("SELECT actor, action, entity_id FROM activity_log WHERE entity_type='preset'") == [
        ("Ada Admin", "created", preset_id)
    ]

    page = admin.get(f"/presets/{preset_id}").text
    assert "Preset MS 3 mm O2 created (active)." in page  # flash after the redirect
    for shown in ("5000 Hz", "-1.50 mm", "Standard mild steel cut", "0 projects carry this preset"):
        assert shown in page, shown
    assert f'href="/presets/{preset_id}/edit"' in page and "Deactivate" in page

    listing = results(admin.get("/presets").text)
    for shown in ("MS 3 mm O2", "Mild Steel", "3.0 mm", "3000 W", "2800 mm/min", "O2", "0.60 bar", "1.20 mm"):
        assert shown in listing, shown
    assert "-1.50 mm" in listing and "0.80 s" in listing and "Active" in listing


def test_a_preset_can_be_saved_inactive_with_only_its_sheet(admin, db_query):
    preset_id = create_preset(
        admin,
        is_active=None,
        power_w="",
        speed_mm_min="",
        frequency_hz="",
        gas="",
        pressure_bar="",
        nozzle_mm="",
        focus_mm="",
        pierce_time_s="",
        notes="",
    )
    assert db_query("SELECT is_active, power_w, gas, focus_mm FROM presets") == [(0, None, "", None)]
    page = admin.get(f"/presets/{preset_id}").text
    assert "Inactive" in page and "Activate" in page


def test_new_form_has_units_the_thickness_list_and_starts_active(admin):
    form = admin.get("/presets/new").text
    for label in ("Power (W)", "Speed (mm/min)", "Frequency (Hz)", "Pressure (bar)", "Nozzle (mm)", "Focus (mm)"):
        assert label in form, label
    assert "Pierce time (s)" in form
    for option in (">0.47 mm<", ">3.0 mm<", ">16.0 mm<", ">O2<", ">N2<", ">Air<", ">Stainless Steel<"):
        assert option in form, option
    assert re.search(r'name="is_active" value="1"\s+checked', form)
    assert 'type="number"' in form and 'min="-50"' in form  # focus may be below the surface


def test_new_form_starts_on_the_sheet_a_project_page_links_with(admin):
    form = admin.get("/presets/new", params={"material_type": "Aluminium", "thickness_mm": "5.00"}).text
    assert re.search(r'<option value="Aluminium"\s+selected>', form)
    assert re.search(r'<option value="5.00"\s+selected>5.0 mm</option>', form)
    # Values that are not on the lists are ignored rather than shown.
    form = admin.get("/presets/new", params={"material_type": "Unobtainium", "thickness_mm": "7"}).text
    assert "Unobtainium" not in form and re.search(r'<option value="Mild Steel"\s+selected>', form)


BAD_PRESET_INPUT = [
    ({"name": ""}, "name", "This field is required."),
    ({"thickness_mm": "7.00"}, "thickness_mm", "Choose a thickness from the list"),
    ({"thickness_mm": ""}, "thickness_mm", "Choose a thickness."),
    ({"material_type": "Unobtainium"}, "material_type", "Choose one of"),
    ({"power_w": "-100"}, "power_w", "at least 0"),
    ({"power_w": "3.5"}, "power_w", "Enter a whole number."),
    ({"speed_mm_min": "fast"}, "speed_mm_min", "Enter a whole number."),
    ({"pressure_bar": "0.625"}, "pressure_bar", "at most 2 decimal places"),
    ({"pressure_bar": "-1"}, "pressure_bar", "at least 0"),
    ({"gas": "Argon"}, "gas", "Choose one of: O2, N2, Air."),
    ({"focus_mm": "-51"}, "focus_mm", "at least -50"),
    ({"nozzle_mm": "NaN"}, "nozzle_mm", "Enter a number like 1.5."),
    ({"pierce_time_s": "601"}, "pierce_time_s", "at most 600"),
]


@pytest.mark.parametrize(("fields", "field", "message"), BAD_PRESET_INPUT)
def test_bad_preset_input_is_422_beside_the_field_and_writes_nothing(admin, db_query, fields, field, message):
    response = admin.post_form("/presets/new", {**PRESET, "notes": "Kept note", **fields})
    assert response.status_code == 422
    assert message in response.text
    assert f'id="e-{field}"' in response.text
    assert "Kept note" in response.text  # the admin's values are kept
    assert db_query("SELECT count(*) FROM presets") == [(0,)]
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type='preset'") == [(0,)]


def test_bad_edit_is_422_and_changes_nothing(admin, db_query):
    preset_id = create_preset(admin)
    before = db_query("SELECT * FROM presets")
    response = admin.post_form(f"/presets/{preset_id}/edit", {**PRESET, "name": "Renamed", "power_w": "-1"})
    assert response.status_code == 422 and "at least 0" in response.text
    assert db_query("SELECT * FROM presets") == before


def test_editing_a_preset(admin, db_query):
    preset_id = create_preset(admin)
    form = admin.get(f"/presets/{preset_id}/edit").text
    assert 'value="MS 3 mm O2"' in form and 'value="-1.50"' in form
    response = admin.post_form(f"/presets/{preset_id}/edit", {**PRESET, "power_w": "3200", "gas": "N2"})
    assert response.status_code == 303 and response.headers["location"] == f"/presets/{preset_id}"
    assert db_query("SELECT power_w, gas, is_active FROM presets") == [(3200, "N2", 1)]
    assert db_query("SELECT details FROM activity_log WHERE entity_type='preset' AND action='updated'") == [
        ("Changed: power_w, gas",)
    ]


# -- who may do what ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_manager_and_viewer_read_presets_but_cannot_change_them(admin, login_as, db_query, role):
    preset_id = create_preset(admin)
    user = login_as(role)
    assert user.get("/presets").status_code == 200
    page = user.get(f"/presets/{preset_id}")
    assert page.status_code == 200 and "MS 3 mm O2" in page.text
    assert "/edit" not in page.text and "/toggle" not in page.text and "Deactivate" not in page.text
    assert "/presets/new" not in user.get("/presets").text

    before = db_query("SELECT * FROM presets")
    assert user.get("/presets/new").status_code == 403
    assert user.get(f"/presets/{preset_id}/edit").status_code == 403
    assert user.post_form("/presets/new", {**PRESET, "name": "Sneaky"}).status_code == 403
    assert user.post_form(f"/presets/{preset_id}/edit", {**PRESET, "power_w": "1"}).status_code == 403
    assert user.post_form(f"/presets/{preset_id}/toggle").status_code == 403
    assert db_query("SELECT * FROM presets") == before


def test_operators_get_no_preset_pages_in_pc_mode(admin, login_as):
    preset_id = create_preset(admin)
    operator = login_as("operator")
    for url in ("/presets", f"/presets/{preset_id}", "/presets/new", f"/presets/{preset_id}/edit"):
        assert operator.get(url).status_code == 403, url
    assert operator.post_form(f"/presets/{preset_id}/toggle").status_code == 403


def test_unknown_preset_is_404(admin):
    assert admin.get("/presets/999").status_code == 404
    assert admin.get("/presets/999/edit").status_code == 404
    assert admin.post_form("/presets/999/edit", PRESET).status_code == 404
    assert admin.post_form("/presets/999/edit", {**PRESET, "name": ""}).status_code == 404
    assert admin.post_form("/presets/999/toggle").status_code == 404


# -- jobs carry the active preset ------------------------------------------------------------


def test_creating_an_active_preset_attaches_it_to_open_jobs_on_that_sheet(admin, manager, db_query):
    client_id = create_client(manager)
    open_job = create_project(manager, client_id)
    other_sheet = create_project(manager, client_id, thickness_mm="5.00")
    assert "No active preset for 3.0 mm Mild Steel" in preset_panel(manager.get(f"/projects/{open_job}").text)

    preset_id = create_preset(admin)
    assert db_query("SELECT id, preset_id FROM projects ORDER BY id") == [(open_job, preset_id), (other_sheet, None)]
    panel = preset_panel(manager.get(f"/projects/{open_job}").text)
    assert f'href="/presets/{preset_id}"' in panel and "MS 3 mm O2" in panel
    assert "3000 W" in panel and "O2 · 0.60 bar" in panel and "-1.50 mm" in panel
    assert "1 project carries this preset" in admin.get(f"/presets/{preset_id}").text


def test_an_inactive_preset_is_attached_to_nothing(admin, manager, db_query):
    client_id = create_client(manager)
    create_project(manager, client_id)
    create_preset(admin, is_active=None)
    create_project(manager, client_id)
    assert db_query("SELECT preset_id FROM projects") == [(None,), (None,)]


def test_a_project_created_later_gets_the_active_preset(admin, manager, db_query):
    preset_id = create_preset(admin, material_type="Stainless Steel", thickness_mm="2.00", gas="N2")
    client_id = create_client(manager)
    project_id = create_project(manager, client_id, material_type="Stainless Steel", thickness_mm="2.00")
    plain = create_project(manager, client_id)  # Mild Steel 3.0: no preset yet
    assert db_query("SELECT id, preset_id FROM projects ORDER BY id") == [(project_id, preset_id), (plain, None)]
    assert "MS 3 mm O2" in preset_panel(manager.get(f"/projects/{project_id}").text)


def test_changing_a_projects_thickness_to_one_without_a_preset_detaches_it(admin, manager, db_query):
    preset_id = create_preset(admin)
    client_id = create_client(manager)
    project_id = create_project(manager, client_id)
    assert db_query("SELECT preset_id FROM projects") == [(preset_id,)]

    edit = {**PROJECT_DEFAULTS, "client_id": str(client_id), "thickness_mm": "5.00"}
    assert manager.post_form(f"/projects/{project_id}/edit", edit).status_code == 303
    assert db_query("SELECT preset_id FROM projects") == [(None,)]
    panel = preset_panel(manager.get(f"/projects/{project_id}").text)
    assert (
        "No active preset for 5.0 mm Mild Steel — the operator will have to check the machine settings manually"
        in panel
    )
    assert "/presets/new" not in panel  # a manager cannot add presets
    admin_panel = preset_panel(admin.get(f"/projects/{project_id}").text)
    assert 'href="/presets/new?material_type=Mild+Steel&amp;thickness_mm=5.00"' in admin_panel

    # Moving it back picks the preset up again.
    edit["thickness_mm"] = "3.00"
    assert manager.post_form(f"/projects/{project_id}/edit", edit).status_code == 303
    assert db_query("SELECT preset_id FROM projects") == [(preset_id,)]


def test_activating_a_second_preset_replaces_the_first_on_open_jobs(admin, manager, db_query):
    client_id = create_client(manager)
    first = create_preset(admin, name="MS 3 old")
    second = create_preset(admin, name="MS 3 faster", speed_mm_min="3400", is_active=None)
    queued = paid_project(manager, client_id)
    requested = create_project(manager, client_id)
    assert db_query("SELECT preset_id FROM projects ORDER BY id") == [(first,), (first,)]

    response = admin.post_form(f"/presets/{second}/toggle")
    assert response.status_code == 303 and response.headers["location"] == f"/presets/{second}"
    assert db_query("SELECT id, is_active FROM presets ORDER BY id") == [(first, 0), (second, 1)]
    assert db_query("SELECT id, preset_id FROM projects ORDER BY id") == [(queued, second), (requested, second)]
    page = admin.get(f"/presets/{second}").text
    assert "Preset MS 3 faster is now active for 3.0 mm Mild Steel; it replaced MS 3 old." in page
    assert "2 projects carry this preset" in page
    assert "MS 3 faster" in preset_panel(manager.get(f"/projects/{queued}").text)


def test_creating_an_active_preset_retires_the_one_in_use(admin, db_query):
    first = create_preset(admin, name="MS 3 old")
    second = create_preset(admin, name="MS 3 new")
    assert db_query("SELECT id, is_active FROM presets ORDER BY id") == [(first, 0), (second, 1)]
    listing = results(admin.get("/presets").text)
    assert listing.count("badge preset-active") == 1 and listing.count("badge preset-inactive") == 1


def test_deactivating_a_preset_leaves_open_jobs_without_one(admin, manager, db_query):
    client_id = create_client(manager)
    preset_id = create_preset(admin)
    project_id = create_project(manager, client_id)
    response = admin.post_form(f"/presets/{preset_id}/toggle")
    assert response.status_code == 303
    assert db_query("SELECT is_active FROM presets") == [(0,)]
    assert db_query("SELECT preset_id FROM projects") == [(None,)]
    assert "Preset MS 3 mm O2 deactivated" in admin.get(f"/presets/{preset_id}").text
    assert "No active preset for 3.0 mm Mild Steel" in preset_panel(manager.get(f"/projects/{project_id}").text)
    # A new job on that sheet gets nothing either.
    create_project(manager, client_id)
    assert db_query("SELECT preset_id FROM projects") == [(None,), (None,)]


def test_delivered_and_cancelled_jobs_keep_the_preset_they_were_cut_with(admin, manager, db_query):
    client_id = create_client(manager)
    first = create_preset(admin, name="MS 3 old")
    delivered = paid_project(manager, client_id)
    deliver(manager, delivered)
    cancelled = create_project(manager, client_id)
    assert manager.post_form(f"/projects/{cancelled}/status", {"stage": "cancelled"}).status_code == 303
    open_job = create_project(manager, client_id)

    second = create_preset(admin, name="MS 3 new")
    assert db_query("SELECT id, preset_id FROM projects ORDER BY id") == [
        (delivered, first),
        (cancelled, first),
        (open_job, second),
    ]
    assert admin.post_form(f"/presets/{second}/toggle").status_code == 303  # deactivate
    assert admin.post_form(f"/presets/{first}/toggle").status_code == 303  # reactivate the old one
    assert admin.post_form(f"/presets/{first}/toggle").status_code == 303  # and retire it again
    assert db_query("SELECT id, preset_id FROM projects ORDER BY id") == [
        (delivered, first),
        (cancelled, first),
        (open_job, None),
    ]
    panel = preset_panel(manager.get(f"/projects/{delivered}").text)
    assert "MS 3 old" in panel and "Inactive" in panel and "No active preset" not in panel


def test_moving_an_active_preset_to_another_sheet_moves_the_jobs(admin, manager, db_query):
    client_id = create_client(manager)
    preset_id = create_preset(admin)
    on_three = create_project(manager, client_id)
    on_five = create_project(manager, client_id, thickness_mm="5.00")
    response = admin.post_form(f"/presets/{preset_id}/edit", {**PRESET, "thickness_mm": "5.00"})
    assert response.status_code == 303
    assert db_query("SELECT id, preset_id FROM projects ORDER BY id") == [(on_three, None), (on_five, preset_id)]


# -- list, filters and export ------------------------------------------------------------------


def test_filters_by_material_thickness_and_active(admin):
    create_preset(admin, name="MS 3 live")
    create_preset(admin, name="MS 3 spare", is_active=None)
    create_preset(admin, name="SS 2 live", material_type="Stainless Steel", thickness_mm="2.00", gas="N2")
    create_preset(admin, name="AL 5 live", material_type="Aluminium", thickness_mm="5.00", gas="N2")
    everything = {"MS 3 live", "MS 3 spare", "SS 2 live", "AL 5 live"}
    for params, expected in [
        ({}, everything),
        ({"material_type": "Mild Steel"}, {"MS 3 live", "MS 3 spare"}),
        ({"thickness_mm": "2.00"}, {"SS 2 live"}),
        ({"thickness_mm": "5"}, {"AL 5 live"}),
        ({"active": "inactive"}, {"MS 3 spare"}),
        ({"active": "active", "material_type": "Mild Steel"}, {"MS 3 live"}),
        ({"material_type": "Aluminium", "thickness_mm": "3.00"}, set()),
        ({"thickness_mm": "nonsense", "active": "maybe"}, everything),  # unknown filters are ignored
    ]:
        text = results(admin.get("/presets", params=params).text)
        assert {name for name in everything if name in text} == expected, params
    assert "No preset matches these filters." in results(admin.get("/presets", params={"thickness_mm": "16"}).text)


def test_filtering_returns_only_the_results_block_to_htmx(admin):
    create_preset(admin)
    fragment = admin.get("/presets", params={"active": "active"}, headers={"hx-request": "true"})
    assert fragment.status_code == 200 and 'id="results"' in fragment.text and "MS 3 mm O2" in fragment.text
    assert "<html" not in fragment.text


def test_presets_csv_has_every_field_and_follows_the_filters(admin):
    create_preset(admin)
    create_preset(admin, name="AL 5", material_type="Aluminium", thickness_mm="5.00", gas="N2", focus_mm="")
    response = admin.get("/presets", params={"format": "csv", "material_type": "Mild Steel"})
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="presets.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert list(rows[0].keys()) == [
        "id",
        "name",
        "material_type",
        "thickness_mm",
        "power_w",
        "speed_mm_min",
        "frequency_hz",
        "gas",
        "pressure_bar",
        "nozzle_mm",
        "focus_mm",
        "pierce_time_s",
        "is_active",
        "notes",
        "created_at",
        "updated_at",
    ]
    assert len(rows) == 1
    row = rows[0]
    assert (row["name"], row["thickness_mm"], row["focus_mm"], row["pressure_bar"], row["is_active"]) == (
        "MS 3 mm O2",
        "3.00",
        "-1.50",
        "0.60",
        "true",
    )
    assert row["created_at"] and row["updated_at"]
    everything = admin.get("/presets", params={"format": "csv"}).text
    assert "AL 5" in everything


def test_a_viewer_reads_presets_but_exports_are_for_managers_and_admins(admin, login_as):
    create_preset(admin)
    viewer = login_as("viewer")
    assert "MS 3 mm O2" in viewer.get("/presets").text
    assert viewer.get("/presets", params={"format": "csv"}).status_code == 403
    assert "MS 3 mm O2" in login_as("manager").get("/presets", params={"format": "csv"}).text
