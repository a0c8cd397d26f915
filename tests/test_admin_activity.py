"""The activity log page (SPEC §8.6): filters by user, kind of record, action and dates; pages; CSV; links."""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path

import pytest

import laseros
from laseros.domain.shop_settings.services import ACTIVITY_ENTITY
from laseros.web.controllers.admin import RECORD_URLS
from tests.factories import create_client, create_project


def _ids_on_page(text: str) -> list[str]:
    """The record links of the page's rows, in order."""
    results = text.split('id="results"', 1)[1]
    return re.findall(r'<td class="nowrap"><a href="([^"]+)">', results)


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


@pytest.fixture
def shop(manager, admin, db_query):
    """A manager adds a client and a project; the admin adds a user: rows by two people on three kinds of record."""
    client_id = create_client(manager, "Karoo Steel")
    project_id = create_project(manager, client_id, name="Gate panels")
    assert (
        admin.post_form(
            "/admin/users/new",
            {
                "username": "sam",
                "display_name": "Sam",
                "role": "viewer",
                "is_active": "1",
                "password": "tall-birch-kettle-9",
            },
        ).status_code
        == 303
    )
    users = dict(db_query("SELECT username, id FROM users"))
    return {
        "client_id": client_id,
        "project_id": project_id,
        "manager_id": users["manager"],
        "sam_id": users["sam"],
        "admin_id": users["admin"],
    }


def test_every_row_links_to_its_record(admin, shop):
    page = admin.get("/admin/activity").text
    links = _ids_on_page(page)
    assert f"/clients/{shop['client_id']}" in links
    assert f"/projects/{shop['project_id']}" in links
    assert f"/admin/users/{shop['sam_id']}/edit" in links
    # …and each link opens the record.
    for url in {
        f"/clients/{shop['client_id']}",
        f"/projects/{shop['project_id']}",
        f"/admin/users/{shop['sam_id']}/edit",
    }:
        assert admin.get(url).status_code == 200, url


def test_a_logged_call_and_an_edited_template_link_to_their_records(admin, shop, db_query):
    call = {
        "channel": "phone",
        "direction": "in",
        "client_id": str(shop["client_id"]),
        "subject": "Called",
        "body": "Wants 3 mm",
    }
    assert admin.post_form("/comms/log", call).status_code == 303
    comm_id = db_query("SELECT max(id) FROM communications")[0][0]
    template_id = db_query("SELECT min(id) FROM message_templates")[0][0]
    assert admin.post_form(f"/comms/templates/{template_id}/activate", {"active": "0"}).status_code == 303
    links = _ids_on_page(admin.get("/admin/activity").text)
    assert f"/comms/{comm_id}" in links
    assert f"/comms/templates/{template_id}/edit" in links
    for url in (f"/comms/{comm_id}", f"/comms/templates/{template_id}/edit"):
        assert admin.get(url).status_code == 200, url


def test_every_kind_of_record_the_code_logs_has_its_page():
    """Each entity type passed to record_activity in src/ (as a literal) is in RECORD_URLS."""
    logged: set[str] = {ACTIVITY_ENTITY, "project", "product"}  # files log their project's or product's
    for path in Path(laseros.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record_activity":
                kind = node.args[3] if len(node.args) > 3 else None
                if isinstance(kind, ast.Constant) and isinstance(kind.value, str):
                    logged.add(kind.value)
    assert len(logged) > 12
    assert sorted(logged - set(RECORD_URLS)) == []


def test_filters_narrow_the_rows(admin, shop, db_query):
    by_type = admin.get("/admin/activity?entity_type=client").text
    assert _ids_on_page(by_type) == [f"/clients/{shop['client_id']}"]

    by_user = db_query("SELECT count(*) FROM activity_log WHERE user_id = ?", (shop["manager_id"],))[0][0]
    page = admin.get(f"/admin/activity?user={shop['manager_id']}").text
    assert 0 < by_user <= 25 and f"Showing 1–{by_user} of {by_user}" in page
    assert f"/admin/users/{shop['sam_id']}/edit" not in _ids_on_page(page)

    # Filters combine: the users the admin (not the set-up) created.
    created = admin.get(f"/admin/activity?action=user_created&user={shop['admin_id']}").text
    assert _ids_on_page(created) == [f"/admin/users/{shop['sam_id']}/edit"]

    # The filter choices come from the log itself.
    full = admin.get("/admin/activity").text
    assert '<option value="client"' in full and '<option value="user_created"' in full


def test_a_date_range_keeps_only_its_days(admin, shop, db_query):
    # The client's row moves to last year; the shop's dates are local (Johannesburg, UTC+2).
    db_query("UPDATE activity_log SET created_at = '2025-03-10 21:30:00.000000' WHERE entity_type = 'client'")
    # 21:30 UTC is 23:30 on the 10th locally: in a range ending the 10th, not in one starting the 11th.
    inside = admin.get("/admin/activity?start=2025-03-10&end=2025-03-10").text
    assert _ids_on_page(inside) == [f"/clients/{shop['client_id']}"]
    assert _ids_on_page(admin.get("/admin/activity?start=2025-03-11&end=2025-03-31").text) == []
    recent = _ids_on_page(admin.get("/admin/activity?start=2026-01-01").text)
    assert f"/clients/{shop['client_id']}" not in recent and f"/projects/{shop['project_id']}" in recent


def test_pages_of_twenty_five_newest_first(admin, shop, db_query):
    for n in range(30):
        db_query(
            "INSERT INTO activity_log (created_at, user_id, actor, action, entity_type, entity_id, details)"
            " VALUES (?, NULL, 'System', 'bulk', 'client', ?, '')",
            (f"2024-01-01 10:{n:02d}:00.000000", shop["client_id"]),
        )
    first = admin.get("/admin/activity?action=bulk")
    assert "Showing 1–25 of 30" in first.text
    second = admin.get("/admin/activity?action=bulk&page=2")
    assert "Showing 26–30 of 30" in second.text
    assert "2024-01-01 12:04" in second.text  # the oldest rows (10:00 UTC is 12:00 locally) come last
    assert admin.get("/admin/activity?action=bulk&page=999").status_code == 200  # past the end: the last page
    assert admin.get("/admin/activity?page=abc&user=abc&start=nonsense").status_code == 200
    fragment = admin.get("/admin/activity?action=bulk&page=2", headers={"hx-request": "true"})
    assert fragment.text.lstrip().startswith('<div id="results">')


def test_the_csv_is_the_filtered_list(admin, shop, db_query):
    rows = _csv(admin.get("/admin/activity?entity_type=project&format=csv"))
    assert rows[0] == ["id", "created_at", "user_id", "actor", "action", "entity_type", "entity_id", "details"]
    expected = db_query("SELECT id FROM activity_log WHERE entity_type = 'project' ORDER BY created_at DESC, id DESC")
    assert [int(row[0]) for row in rows[1:]] == [row[0] for row in expected]
    assert {row[5] for row in rows[1:]} == {"project"}
    assert {row[3] for row in rows[1:]} == {"Mo Manager"}


def test_csv_cells_cannot_run_as_formulas(admin, shop, db_query):
    db_query("UPDATE activity_log SET details = '=HYPERLINK(\"http://evil\")' WHERE entity_type = 'client'")
    rows = _csv(admin.get("/admin/activity?entity_type=client&format=csv"))
    assert rows[1][7] == '\'=HYPERLINK("http://evil")'


def test_activity_is_for_admins_only(manager, viewer):
    for client in (manager, viewer):
        assert client.get("/admin/activity").status_code == 403
        assert client.get("/admin/activity?format=csv").status_code == 403
