"""The shop settings page (/admin/settings): every setting an admin may change, checked and applied."""

from __future__ import annotations

import html
import re

import pytest

from laseros.db import Database
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.registry import BY_KEY
from laseros.domain.shop_settings.schemas import ShopSettingsInput
from laseros.jobs.worker import report_time_setting
from tests.factories import PROJECT_DEFAULTS, create_client, create_project, paid_project
from tests.support import DISPLAY_NAMES, run

URL = "/admin/settings"
# The form as the page first shows it: every setting at its default (the message texts are
# message templates now: tests/test_comms_templates.py).
# Quotes and invoices (docs/quotes_and_invoices.md); tests/test_quotes.py and test_invoices.py use them.
BILLING_KEYS = {"vat_rate", "quote_valid_days", "payment_terms_days", "company_address", "company_vat_number",
                "company_bank_details"}  # fmt: skip
DEFAULT_FORM = {
    "limit_quote_days": "4",
    "limit_waiting_material_days": "2",
    "limit_cutting_days": "1",
    "limit_ready_days": "2",
    "daily_report_time": "07:30",
    "whatsapp_country_code": "27",
    "materials": "Mild Steel\nStainless Steel\nGalvanised\nAluminium",
    "sheet_sizes": "3000x1500\n2500x1250",
}


def form(**changes: str) -> dict[str, str]:
    """The whole form as a browser sends it, with some fields changed."""
    return {**DEFAULT_FORM, **changes}


@pytest.fixture
def snapshot(db_query):
    """What the settings table and the activity log hold now (to show a refusal wrote nothing)."""

    def take() -> tuple[list[tuple], list[tuple]]:
        return (
            db_query("SELECT key, value FROM shop_settings ORDER BY key"),
            db_query("SELECT id FROM activity_log ORDER BY id"),
        )

    return take


def stored(db_query) -> dict[str, str]:
    return dict(db_query("SELECT key, value FROM shop_settings"))


def field_value(page: str, name: str) -> str:
    """The value an input or textarea of the page shows."""
    match = re.search(rf'<input id="f-{name}" name="{name}" type="\w+" value="([^"]*)"', page)
    if match is None:
        match = re.search(rf'<textarea id="f-{name}" name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, name
    return html.unescape(match.group(1))


def field_error(page: str, name: str) -> str:
    match = re.search(rf'<p class="error" id="e-{name}">(.*?)</p>', page, re.S)
    assert match, f"no error shown for {name}"
    return html.unescape(match.group(1))


def age(db_query, project_id: int, days: int) -> None:
    """Pretend the project entered its stage ``days`` days ago."""
    db_query(f"UPDATE projects SET stage_changed_at = datetime('now', '-{days} days') WHERE id = ?", (project_id,))


def open_notifications(db_query, project_id: int, notif_type: str) -> list[tuple]:
    return db_query(
        "SELECT id FROM notifications WHERE project_id = ? AND notif_type = ? AND resolved_at IS NULL",
        (project_id, notif_type),
    )


# -- the page -------------------------------------------------------------------------------------


def test_the_page_shows_every_setting_at_its_default(admin):
    page = admin.get(URL)
    assert page.status_code == 200
    text = page.text
    for section in ("Alerts", "Daily report", "Client messages", "Materials and sheets"):
        assert f">{section}</h2>" in text
    for key, value in DEFAULT_FORM.items():
        assert field_value(text, key) == value, key
    # each field says what its default is
    assert "Default: 4 days." in text and "Default: 1 day." in text
    assert "Default: 07:30." in text and "Default: 27." in text
    assert "Default: Mild Steel, Stainless Steel, Galvanised, Aluminium." in text
    assert "Default: 3000x1500, 2500x1250." in text
    # the message texts moved to the message templates: the page says where
    assert 'href="/comms/templates"' in text and "draft_template_" not in text
    # a new report time needs no restart (the worker watches it)
    assert "takes effect within a minute of saving" in text and "laseros serve" not in text
    # the admin's sidebar links here
    assert '<a href="/admin/settings" title="Settings" class="active">' in text


def test_the_page_shows_stored_values(admin, db_query):
    response = admin.post_form(URL, form(limit_ready_days="3.5"))
    assert response.status_code == 303
    text = admin.get(URL).text
    assert field_value(text, "limit_ready_days") == "3.5"


# -- saving ---------------------------------------------------------------------------------------


def test_saving_changes_every_kind_of_setting(admin, db_query):
    changes = {
        "limit_quote_days": "6",
        "limit_waiting_material_days": "0,5",  # a decimal comma is read as a point
        "limit_cutting_days": "1.25",
        "limit_ready_days": "3",
        "daily_report_time": "6:45",
        "whatsapp_country_code": "+44",
        "materials": " Mild Steel \nCopper\n\nAluminium",
        "sheet_sizes": "3000x1500\n2500 X 1250\n4000x2000",
    }
    response = admin.post_form(URL, form(**changes))
    assert response.status_code == 303
    assert response.headers["location"] == URL
    page = admin.get(URL).text
    assert "Settings saved (8 changed). The new report time takes effect within a minute." in page
    # stored as the rest of the app reads them: trimmed, normalised
    assert stored(db_query) == {
        "limit_quote_days": "6",
        "limit_waiting_material_days": "0.5",
        "limit_cutting_days": "1.25",
        "limit_ready_days": "3",
        "daily_report_time": "06:45",
        "whatsapp_country_code": "44",
        "materials": "Mild Steel\nCopper\nAluminium",
        "sheet_sizes": "3000x1500\n2500x1250\n4000x2000",
    }
    assert field_value(page, "daily_report_time") == "06:45"
    assert field_value(page, "materials") == "Mild Steel\nCopper\nAluminium"
    # one activity row lists what changed
    rows = db_query("SELECT actor, action, entity_type, details FROM activity_log WHERE action = 'settings_changed'")
    assert len(rows) == 1
    actor, _, entity_type, details = rows[0]
    assert (actor, entity_type) == (DISPLAY_NAMES["admin"], "settings")
    for key in changes:
        assert key in details, key
    assert "limit_quote_days: 4 → 6" in details
    assert "materials: +Copper, -Stainless Steel, -Galvanised" in details


def test_only_changed_settings_are_stored(admin, db_query, snapshot):
    before = snapshot()
    response = admin.post_form(URL, form())  # the page as shown, saved untouched
    assert response.status_code == 303
    assert "Nothing changed" in admin.get(URL).text
    assert snapshot() == before
    admin.post_form(URL, form(limit_cutting_days="2"))
    assert stored(db_query) == {"limit_cutting_days": "2"}
    admin.post_form(URL, form(limit_cutting_days="2", limit_ready_days="2"))  # the same again: nothing new
    assert db_query("SELECT count(*) FROM activity_log WHERE action = 'settings_changed'") == [(1,)]


def test_a_field_left_out_of_the_form_keeps_its_value(admin, db_query):
    admin.post_form(URL, form(whatsapp_country_code="44"))
    # a form without the field (say, an old page) must not reset it
    response = admin.post_form(URL, {"limit_quote_days": "5"})
    assert response.status_code == 303
    assert stored(db_query) == {"whatsapp_country_code": "44", "limit_quote_days": "5"}


def test_the_worker_reads_the_new_report_time(admin, settings):
    admin.post_form(URL, form(daily_report_time="05:15"))

    async def read() -> str:
        db = Database.from_settings(settings)
        try:
            return (await report_time_setting(db)).strftime("%H:%M")
        finally:
            await db.dispose()

    assert run(read()) == "05:15"


# -- stage limits take effect at once ----------------------------------------------------------------


def test_a_lowered_limit_raises_the_alert_at_once(admin, manager, db_query):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id, name="Gate panels")
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303
    age(db_query, project_id, 2)
    # two days under a four-day limit: nothing yet
    edited = {**PROJECT_DEFAULTS, "client_id": str(client_id), "name": "Gate panels"}
    assert manager.post_form(f"/projects/{project_id}/edit", edited).status_code == 303  # evaluates the project
    assert open_notifications(db_query, project_id, "approval_wait") == []

    assert admin.post_form(URL, form(limit_quote_days="1")).status_code == 303
    # right after the save: the alert, its client draft, and the bell's count
    assert len(open_notifications(db_query, project_id, "approval_wait")) == 1
    assert db_query("SELECT kind, status FROM outbound_drafts WHERE project_id = ?", (project_id,)) == [
        ("approval_followup", "pending")
    ]

    # raised again past the quote: the alert clears itself
    assert admin.post_form(URL, form(limit_quote_days="3")).status_code == 303
    assert open_notifications(db_query, project_id, "approval_wait") == []
    assert db_query(
        "SELECT auto_cleared FROM notifications WHERE project_id = ? AND notif_type = 'approval_wait'", (project_id,)
    ) == [(1,)]


def test_the_bell_count_follows_a_changed_limit(admin, manager, db_query):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id)
    manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"})
    age(db_query, project_id, 2)
    before = admin.get("/notifications/count").json()["count"]
    admin.post_form(URL, form(limit_quote_days="1.5"))
    assert admin.get("/notifications/count").json()["count"] == before + 1
    # the page the admin lands on after saving shows the new count in its bell
    assert f'data-count="{before + 1}"' in admin.get(URL).text


# -- client message templates --------------------------------------------------------------------


# The message texts' checks and their use in drafts: tests/test_comms_templates.py.


def _finish(manager, db_query, project_id: int) -> str:
    """Complete the paid project's queue item; returns its ready-for-collection draft."""
    item_id = db_query("SELECT id FROM queue_items WHERE project_id = ?", (project_id,))[0][0]
    for status in ("In Progress", "Completed"):
        assert manager.post_form(f"/queue/{item_id}/status", {"status": status}).status_code == 303
    return db_query("SELECT body_text FROM outbound_drafts WHERE project_id = ?", (project_id,))[0][0]


def test_the_country_code_goes_into_whatsapp_links(admin, manager, db_query):
    admin.post_form(URL, form(whatsapp_country_code="44"))
    client_id = create_client(manager, "Thames Metal", phone="0825550101")
    _finish(manager, db_query, paid_project(manager, client_id))
    assert "https://wa.me/44825550101?text=" in manager.get("/comms/drafts").text


# -- materials and sheet sizes ------------------------------------------------------------------------


def test_list_edits_show_in_the_forms(admin, manager, db_query):
    response = admin.post_form(URL, form(materials="Mild Steel\nCopper\nAluminium", sheet_sizes="3000x1500\n1250x2500"))
    assert response.status_code == 303
    new_project = manager.get("/projects/new").text
    assert '<option value="Copper"' in new_project and '<option value="1250x2500"' in new_project
    assert '<option value="Galvanised"' not in new_project and '<option value="2500x1250"' not in new_project
    assert '<option value="Copper"' in admin.get("/inventory/new").text
    assert '<option value="Copper"' in admin.get("/presets/new").text
    client_id = create_client(manager)
    create_project(manager, client_id, material_type="Copper", sheet_size="1250x2500")
    refused = manager.post_form(
        "/projects/new", {"client_id": str(client_id), "name": "Old sheet", "material_type": "Galvanised"}
    )
    assert refused.status_code == 422


def test_taking_a_used_entry_off_a_list_says_who_still_uses_it(admin, db_query):
    # the stock item MS-3-3015 is Mild Steel 3000x1500
    response = admin.post_form(URL, form(materials="Stainless Steel\nAluminium"))
    assert response.status_code == 303
    page = admin.get(URL).text
    assert "No longer listed but still in use: Mild Steel (1 stock item)." in page
    assert "flash-warning" in page
    assert stored(db_query)["materials"] == "Stainless Steel\nAluminium"


# -- refused values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("limit_quote_days", "0", "more than 0 days"),
        ("limit_quote_days", "-1", "more than 0 days"),
        ("limit_waiting_material_days", "366", "at most 365 days"),
        ("limit_cutting_days", "two", "number of days"),
        ("limit_cutting_days", "nan", "number of days"),
        ("limit_ready_days", "", "number of days"),
        ("limit_ready_days", "1.125", "two decimal places"),
        ("daily_report_time", "24:00", "HH:MM"),
        ("daily_report_time", "7.30", "HH:MM"),
        ("daily_report_time", "", "HH:MM"),
        ("whatsapp_country_code", "", "1 to 3 digits"),
        ("whatsapp_country_code", "1234", "1 to 3 digits"),
        ("whatsapp_country_code", "2a", "1 to 3 digits"),
        ("whatsapp_country_code", "027", "does not start with 0"),
        ("materials", " \n \n", "at least one material"),
        ("materials", "Mild Steel\nmild steel", "are the same"),
        ("materials", "Copper\n" + "x" * 101, "longer than 100 characters"),
        ("sheet_sizes", "", "at least one sheet size"),
        ("sheet_sizes", "3000x1500\nA4", "“A4” is not a sheet size"),
        ("sheet_sizes", "3000x1500\n3000-1500", "is not a sheet size"),
        ("sheet_sizes", "3000x1500\n0x1500", "is not a sheet size"),
        ("sheet_sizes", "3000x1500\n3000 x 1500", "listed twice"),
    ],
)
def test_a_bad_value_is_refused_and_nothing_is_written(admin, snapshot, key, value, message):
    before = snapshot()
    response = admin.post_form(URL, form(**{key: value}))
    assert response.status_code == 422
    assert message in field_error(response.text, key)
    assert field_value(response.text, key) == value
    assert snapshot() == before


def test_every_bad_field_is_named_at_once(admin, snapshot):
    before = snapshot()
    response = admin.post_form(
        URL, form(limit_quote_days="0", daily_report_time="99:99", whatsapp_country_code="x", sheet_sizes="big")
    )
    assert response.status_code == 422
    for key in ("limit_quote_days", "daily_report_time", "whatsapp_country_code", "sheet_sizes"):
        field_error(response.text, key)
    assert '<p class="error" id="e-materials">' not in response.text
    assert snapshot() == before


def test_the_input_is_normalised():
    data = ShopSettingsInput.parse(
        {
            "limit_quote_days": " 4.50 ",
            "daily_report_time": "7:05",
            "whatsapp_country_code": " +2 7",
            "sheet_sizes": "3000×1500\n2500 x 1250",
        }
    )
    assert data.values == {
        "limit_quote_days": "4.5",
        "daily_report_time": "07:05",
        "whatsapp_country_code": "27",
        "sheet_sizes": "3000x1500\n2500x1250",
    }
    pricing = {"rapid_speed_mm_min", "part_gap_mm", "sheet_margin_mm", "machine_rate_per_hour", "setup_fee"}
    pricing |= {"minimum_charge", "markup_percent"}  # tests/test_pricing.py
    assert set(BY_KEY) == {*DEFAULT_FORM, "company_name", "login_log_days", *BILLING_KEYS, *pricing}
    with pytest.raises(InvalidInput) as refused:
        ShopSettingsInput.parse({"limit_quote_days": "0", "materials": ""})
    assert set(refused.value.errors) == {"limit_quote_days", "materials"}


# -- who may -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_managers_and_viewers_are_refused(login_as, snapshot, role):
    client = login_as(role)
    page = client.get(URL)
    assert page.status_code == 403
    assert "Only an admin can see and change the shop settings." in page.text
    before = snapshot()
    assert client.post_form(URL, form(limit_quote_days="1")).status_code == 403
    assert snapshot() == before
    assert 'href="/admin/settings"' not in client.get("/dashboard").text


def test_operators_are_refused(login_as, snapshot):
    operator = login_as("operator")
    assert operator.get(URL).status_code == 403
    before = snapshot()
    assert operator.post_form(URL, form(limit_quote_days="1")).status_code == 403
    assert snapshot() == before


def test_anonymous_visitors_are_sent_to_log_in(anon, snapshot):
    response = anon.get(URL, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/auth/login"
    before = snapshot()
    response = anon.post_form(URL, form(limit_quote_days="1"))
    assert response.status_code == 303 and response.headers["location"] == "/auth/login"
    assert snapshot() == before


def test_a_record_keeps_a_material_that_was_taken_off_the_list(admin, manager, db_query):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id, material_type="Galvanised", name="Old roof panels")
    assert admin.post_form(URL, form(materials="Mild Steel\nStainless Steel\nAluminium")).status_code == 303
    edit_page = manager.get(f"/projects/{project_id}/edit").text
    assert '<option value="Galvanised" selected>' in edit_page
    assert '<option value="Galvanised"' not in manager.get("/projects/new").text
    # Saving the older project with its own material works and keeps it.
    saved = manager.post_form(
        f"/projects/{project_id}/edit",
        {
            **PROJECT_DEFAULTS,
            "client_id": str(client_id),
            "name": "Old roof panels (rev B)",
            "material_type": "Galvanised",
        },
    )
    assert saved.status_code == 303, saved.text[:500]
    assert db_query("SELECT name, material_type FROM projects WHERE id = ?", (project_id,)) == [
        ("Old roof panels (rev B)", "Galvanised")
    ]
    # The stock item MS-3-3015 keeps Mild Steel the same way once Mild Steel is off the list too.
    assert admin.post_form(URL, form(materials="Stainless Steel\nAluminium")).status_code == 303
    assert '<option value="Mild Steel" selected>' in admin.get("/inventory/1/edit").text
