"""Clients: the office's address book, searched, edited and deleted with their projects."""

from __future__ import annotations

import csv
import io

import pytest

from tests.contention import in_processes
from tests.factories import create_client, create_project, paid_project, results
from tests.support import PASSWORDS


def test_creating_a_client_gives_it_the_next_code(manager, db_query):
    first = create_client(manager, "Karoo Steel")
    second = create_client(manager, "Cape Signs")
    assert db_query("SELECT id, client_code FROM clients ORDER BY id") == [(first, "CL-0001"), (second, "CL-0002")]
    page = manager.get(f"/clients/{second}")
    assert "Cape Signs" in page.text and "CL-0002" in page.text
    assert "Client CL-0002 Cape Signs created." in page.text  # flash after the redirect


def test_creating_a_client_is_logged(manager, db_query):
    client_id = create_client(manager, "Logged Co")
    assert db_query("SELECT actor, action, entity_type, entity_id FROM activity_log WHERE entity_type='client'") == [
        ("Mo Manager", "created", "client", client_id)
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"name": "x" * 10_000}, "name", "200 characters or fewer"),
        ({"name": "Ok", "email": "not-an-email"}, "email", "Enter an email address"),
        ({"name": "Ok", "notes": "n" * 10_000}, "notes", "2000 characters or fewer"),
        ({"name": "Ok", "phone": "1" * 60}, "phone", "50 characters or fewer"),
    ],
)
def test_bad_client_input_is_422_beside_the_field_and_writes_nothing(manager, db_query, fields, field, message):
    data = {"contact_person": "Kept Value", **fields}
    response = manager.post_form("/clients/new", data)
    assert response.status_code == 422
    assert message in response.text
    assert f'id="e-{field}"' in response.text  # the message sits beside its field
    assert "Kept Value" in response.text  # the user's values are kept
    assert db_query("SELECT count(*) FROM clients") == [(0,)]
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type='client'") == [(0,)]


def test_bad_edit_is_422_and_changes_nothing(manager, db_query):
    client_id = create_client(manager, "Original")
    response = manager.post_form(f"/clients/{client_id}/edit", {"name": ""})
    assert response.status_code == 422
    assert db_query("SELECT name FROM clients") == [("Original",)]


def test_editing_a_client(manager, db_query):
    client_id = create_client(manager, "Old Name")
    response = manager.post_form(
        f"/clients/{client_id}/edit",
        {"name": "New Name", "contact_person": "Johan", "email": "johan@example.com", "phone": "+27 11 000 0000"},
    )
    assert response.status_code == 303
    assert db_query("SELECT name, phone, client_code FROM clients") == [("New Name", "+27 11 000 0000", "CL-0001")]
    assert db_query("SELECT details FROM activity_log WHERE action='updated'") == [("Changed: name, phone",)]


def test_client_page_lists_their_projects(manager):
    client_id = create_client(manager)
    create_project(manager, client_id, name="Gate panels")
    page = manager.get(f"/clients/{client_id}")
    assert "Gate panels" in page.text and "JB-" in page.text


def test_delete_confirmation_says_how_many_projects_go_with_it(manager):
    client_id = create_client(manager)
    create_project(manager, client_id)
    create_project(manager, client_id)
    page = manager.get(f"/clients/{client_id}")
    assert "Delete client and 2 projects" in page.text


def test_deleting_a_client_deletes_their_projects_and_queue_items(manager, db_query):
    client_id = create_client(manager)
    other = create_client(manager, "Stays")
    paid_project(manager, client_id)
    create_project(manager, client_id)
    kept = create_project(manager, other)
    response = manager.post_form(f"/clients/{client_id}/delete")
    assert response.status_code == 303 and response.headers["location"] == "/clients"
    assert db_query("SELECT id FROM projects") == [(kept,)]
    assert db_query("SELECT count(*) FROM queue_items") == [(0,)]
    listing = manager.get("/clients")
    assert "Deleted CL-0001 Karoo Steel and 2 project(s)." in listing.text


def test_unknown_client_is_404(manager):
    assert manager.get("/clients/999").status_code == 404
    assert manager.get("/clients/999/edit").status_code == 404
    assert manager.post_form("/clients/999/edit", {"name": "x"}).status_code == 404
    assert manager.post_form("/clients/999/delete").status_code == 404
    assert "Not found" in manager.get("/clients/999").text


def test_search_finds_by_name_code_contact_and_email(manager):
    create_client(manager, "Karoo Steelworks", contact_person="Johan", email="johan@karoo.co.za")
    create_client(manager, "Cape Signage", contact_person="Aisha", email="aisha@cape.co.za")
    for term, expected, absent in [
        ("karoo", "Karoo Steelworks", "Cape Signage"),
        ("CL-0002", "Cape Signage", "Karoo Steelworks"),
        ("aisha", "Cape Signage", "Karoo Steelworks"),
        ("@karoo", "Karoo Steelworks", "Cape Signage"),
    ]:
        text = results(manager.get("/clients", params={"q": term}).text)
        assert expected in text and absent not in text, term


def test_search_treats_percent_and_underscore_literally(manager):
    create_client(manager, "100% Steel")
    create_client(manager, "Plain")
    text = results(manager.get("/clients", params={"q": "%"}).text)
    assert "100% Steel" in text and "Plain" not in text


def test_active_search_returns_only_the_results_block(manager):
    create_client(manager, "Karoo Steelworks")
    fragment = manager.get("/clients", params={"q": "karoo"}, headers={"hx-request": "true", "hx-target": "results"})
    assert fragment.status_code == 200
    assert 'id="results"' in fragment.text and "Karoo Steelworks" in fragment.text
    assert "<html" not in fragment.text and "sidebar" not in fragment.text
    # A boosted navigation gets the whole page.
    boosted = manager.get("/clients", headers={"hx-request": "true", "hx-boosted": "true"})
    assert "<html" in boosted.text


def test_clients_list_is_paginated(manager):
    for number in range(30):
        create_client(manager, f"Client {number:02d}")
    first = manager.get("/clients").text
    assert "Showing 1–25 of 30" in first and "Page 1 of 2" in first
    second = manager.get("/clients", params={"page": 2}).text
    assert "Showing 26–30 of 30" in second and "Client 29" in second


def test_clients_csv_has_the_record_columns_and_the_same_filter(manager):
    create_client(manager, "Karoo Steelworks", email="j@karoo.co.za")
    create_client(manager, "Cape Signage")
    response = manager.get("/clients", params={"format": "csv", "q": "karoo"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert list(rows[0].keys()) == [
        "id",
        "client_code",
        "name",
        "contact_person",
        "email",
        "phone",
        "address",
        "notes",
        "vat_number",
        "created_at",
        "updated_at",
    ]
    assert [(r["client_code"], r["name"], r["email"]) for r in rows] == [
        ("CL-0001", "Karoo Steelworks", "j@karoo.co.za")
    ]


def test_csv_cells_cannot_run_as_spreadsheet_formulas(manager):
    create_client(manager, "=HYPERLINK(evil)")
    text = manager.get("/clients", params={"format": "csv"}).text
    assert "'=HYPERLINK(evil)" in text


def test_twenty_clients_created_at_once_in_four_web_processes_get_twenty_codes_without_gaps(
    settings, db_query, tmp_path
):
    """Four web processes, five new clients each at the same moment: SQLite's lock orders them, none fails."""
    jobs = [{"password": PASSWORDS["manager"], "prefix": f"Rush Co {p}", "count": 5} for p in range(4)]
    outcomes = in_processes(settings, "create-clients", jobs, tmp_path)
    assert [outcome["errors"] for outcome in outcomes] == [[]] * 4  # no "database is locked", no refusal
    assert [outcome["results"] for outcome in outcomes] == [[303] * 5] * 4
    codes = sorted(row[0] for row in db_query("SELECT client_code FROM clients"))
    assert codes == [f"CL-{n:04d}" for n in range(1, 21)]
    assert db_query("SELECT last_value FROM code_sequences WHERE name = 'client'") == [(20,)]
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type = 'client' AND action = 'created'") == [(20,)]
