"""The role matrix of SPEC §2, route by route: who may look, who may change, who is refused."""

from __future__ import annotations

import pytest

from laseros.domain.kernel.shop import ShopCalendar
from tests.factories import (
    PDF,
    add_quote_line,
    create_client,
    create_product,
    create_quote,
    dxf_bytes,
    paid_project,
    upload,
)
from tests.support import sql

# Pages every PC role may read; operators get 403.
PC_PAGES = [
    "/dashboard",
    "/clients",
    "/clients/{client_id}",
    "/projects",
    "/projects/{project_id}",
    "/projects/{project_id}/pricing",
    "/projects/{project_id}/pricing?format=json",
    "/queue",
    "/queue?filter=all",
    "/queue/{item_id}",
    "/queue/runs",
    "/inventory",
    "/inventory/{stock_id}",
    "/inventory/transactions",
    "/presets",
    "/operators",
    "/comms/drafts",
    "/comms/drafts?status=all",
    "/comms/drafts/{draft_id}",
    "/comms",
    "/comms?channel=email&status=pending",
    "/comms/{comm_id}",
    "/comms/panel?client_id={client_id}",
    "/comms/panel?project_id={project_id}",
    "/comms/templates",
    "/comms/inbox",
    "/reports/daily",
    "/quotes",
    "/quotes?status=draft",
    "/quotes/{quote_id}",
    "/quotes/{quote_id}/print",
    "/quotes/{quote_id}.pdf",
    "/invoices",
    "/invoices/payments",
    "/invoices/{invoice_id}",
    "/invoices/{invoice_id}/print",
    "/invoices/{invoice_id}.pdf",
    "/reports",
    "/reports/production",
    "/reports/efficiency",
    "/reports/inventory",
    "/reports/clients",
    "/products",
    "/products/{product_id}",
    "/files/{file_id}",
    "/files/{file_id}/preview.svg",
    "/files/{file_id}/analysis",
]
# The business reports' CSV: admins and managers only (the shop's data leaving the app).
REPORT_EXPORTS = [
    "/reports/production?format=csv",
    "/reports/production?format=csv&table=by_operator",
    "/reports/efficiency?format=csv",
    "/reports/efficiency?format=csv&table=calibration",
    "/reports/inventory?format=csv&table=valuation",
    "/reports/clients?format=csv",
]
# The bell's pages: every role reads them, operators included (in their phone layout).
ALL_ROLE_PAGES = [
    "/notifications/list",
    "/notifications/list?status=all",
    "/notifications/count",
]
# Every CSV export: the shop's data leaving the app, for admins and managers only (Permission.DATA_EXPORT).
EXPORTS = [
    "/clients?format=csv",
    "/projects?format=csv",
    "/queue?format=csv",
    "/queue/runs?format=csv",
    "/inventory?format=csv",
    "/inventory/transactions?format=csv",
    "/presets?format=csv",
    "/comms/drafts?format=csv",
    "/notifications/list?format=csv",
]
# Shop set-up only an admin may change (SPEC §2): inventory item definitions, presets, operators, settings.
ADMIN_PAGES = [
    "/inventory/new",
    "/inventory/{stock_id}/edit",
    "/presets/new",
    "/operators/new",
    "/operators/extra/new",
    "/admin/settings",
    "/admin/users",
    "/admin/users?format=csv",
    "/admin/users/new",
    "/admin/users/{user_id}/edit",
    "/admin/roles",
    "/admin/activity",
    "/admin/activity?entity_type=client&action=created",
    "/admin/activity?format=csv",
    "/comms/templates/new",
    "/comms/templates/{template_id}/edit",
]
# User administration (SPEC §8.6): changes only an admin may make (valid bodies, so a 303 means it went through).
ADMIN_WRITES = [
    (
        "/admin/users/new",
        {
            "username": "newbie",
            "display_name": "New",
            "role": "viewer",
            "is_active": "1",
            "password": "tall-birch-kettle-9",
        },
    ),
    (
        "/admin/users/{user_id}/edit",
        {"username": "viewer", "display_name": "Vi V", "email": "", "role": "viewer", "is_active": "1"},
    ),
    ("/admin/users/{user_id}/reset-password", {"password": "quiet-harbour-lamp-4"}),
    ("/admin/users/{user_id}/unlock", {}),
]
# Pages only editors may open.
EDIT_PAGES = [
    "/clients/new",
    "/clients/{client_id}/edit",
    "/projects/new",
    "/projects/{project_id}/edit",
    "/comms/drafts/{draft_id}/edit",
    "/quotes/new",
    "/products/new",
    "/products/{product_id}/edit",
    "/comms/send",
    "/comms/send?client_id={client_id}",
]
# Changes only admin and manager may make (the body is valid so a 303 means it went through).
WRITES = [
    ("/clients/new", {"name": "Role Test Co"}),
    ("/clients/{client_id}/edit", {"name": "Renamed"}),
    ("/projects/new", {"client_id": "{client_id}", "name": "Role job"}),
    ("/projects/{project_id}/edit", {"client_id": "{client_id}", "name": "Renamed job"}),
    ("/projects/{project_id}/status", {"stage": "cutting"}),
    ("/projects/{fresh_id}/pop", {}),
    ("/queue/{item_id}/edit", {"priority": "High", "scheduled_date": "", "notes": ""}),
    ("/queue/{item_id}/status", {"status": "Completed"}),
    ("/queue/reorder", {"item": ["{item_id}"]}),
    ("/notifications/resolve", {"notif_id": "{notif_id}"}),
    ("/comms/drafts/{draft_id}/edit", {"body_text": "Your order is ready."}),
    ("/comms/drafts/{draft_id}/sent", {}),
    ("/comms/drafts/{draft_id}/delete", {}),
    # Quotes, invoices and payments: managers quote and invoice (SPEC §2, §8.3).
    ("/quotes/new", {"project_id": "{project_id}"}),
    ("/quotes/{quote_id}/edit", {"valid_until": "2100-01-01", "notes": "Role notes"}),
    ("/quotes/{quote_id}/lines/{quote_line_id}/edit", {"description": "Edited", "quantity": "2", "unit_price": "5"}),
    ("/quotes/{quote_id}/lines/{quote_line_id}/delete", {}),
    ("/quotes/{quote_id}/lines/reorder", {"line": ["{quote_line2_id}"]}),
    ("/quotes/{quote_id}/lines", {"description": "Role line", "quantity": "1", "unit_price": "10.00"}),
    ("/quotes/{quote_id}/status", {"status": "sent"}),
    ("/quotes/{quote_id}/revise", {}),
    ("/quotes/{quote_id}/status", {"status": "accepted"}),
    ("/quotes/{quote_id}/invoice", {}),
    ("/invoices/new", {"project_id": "{project_id}"}),
    ("/invoices/{invoice_id}/edit", {"notes": "Role notes"}),
    (
        "/invoices/{invoice_id}/lines/{invoice_line_id}/edit",
        {"description": "Edited", "quantity": "1", "unit_price": "9"},
    ),
    ("/invoices/{invoice_id}/lines/{invoice_line_id}/delete", {}),
    ("/invoices/{invoice_id}/lines/reorder", {"line": ["{invoice_line2_id}"]}),
    ("/invoices/{invoice_id}/lines", {"description": "Role line", "quantity": "1", "unit_price": "10.00"}),
    ("/invoices/{invoice_id}/status", {"status": "sent"}),
    ("/invoices/{invoice_id}/payments", {"amount": "1.00", "paid_on": "{today}", "method": "EFT", "reference": "R"}),
    ("/invoices/{void_id}/status", {"status": "void"}),
    ("/products/new", {"name": "Role bracket", "unit_price": "10"}),
    ("/products/{product_id}/edit", {"name": "Renamed bracket", "unit_price": "12", "is_active": "on"}),
    ("/projects/{project_id}/products", {"product_id": "{product_id}", "quantity": "2"}),
    ("/projects/{project_id}/products/{line_id}/delete", {}),
    ("/products/{spare_product_id}/delete", {}),
    ("/files/{file_id}/delete", {}),
    ("/comms/drafts/{draft_id}/email", {"recipient": "a@example.com", "subject": "Ready", "body_text": "Hi"}),
    ("/comms/send", {"client_id": "{client_id}", "recipient": "a@example.com", "subject": "Hi", "body": "Hello"}),
    ("/comms/log", {"channel": "phone", "direction": "out", "client_id": "{client_id}", "body": "Called about it"}),
    ("/comms/{comm_id}/retry", {}),
    ("/comms/inbox/{inbox_id}/link", {"client_id": "{client_id}"}),
    ("/comms/inbox/{inbox_id}/discard", {}),
    ("/projects/{fresh_id}/delete", {}),
    ("/clients/{client_id}/delete", {}),
]


@pytest.fixture
def ids(manager, db_query, settings):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id)
    fresh_id = paid_project(manager, client_id)
    manager.post_form(f"/projects/{fresh_id}/status", {"stage": "cancelled"})
    # a project still in Request, for POP
    fresh = manager.post_form("/projects/new", {"client_id": str(client_id), "name": "Fresh"})
    fresh_id = int(fresh.headers["location"].rsplit("/", 1)[1])
    item_id = db_query("SELECT id FROM queue_items WHERE project_id = ?", (project_id,))[0][0]
    stock_id = db_query("SELECT id FROM inventory_items")[0][0]
    # the paid job has no preset for its sheet: it is flagged on the bell
    notif_id = db_query("SELECT id FROM notifications WHERE project_id = ?", (project_id,))[0][0]
    # a finished job: its ready-for-collection message is drafted
    ready_id = paid_project(manager, client_id, name="Ready job")
    ready_item = db_query("SELECT id FROM queue_items WHERE project_id = ?", (ready_id,))[0][0]
    for status in ("In Progress", "Completed"):
        manager.post_form(f"/queue/{ready_item}/status", {"status": status})
    draft_id = db_query("SELECT id FROM outbound_drafts WHERE project_id = ?", (ready_id,))[0][0]
    user_id = db_query("SELECT id FROM users WHERE username = 'viewer'")[0][0]
    # a product on the job, a spare one, and a drawing on the job
    product_id = create_product(manager)
    spare_product_id = create_product(manager, "Spare")
    manager.post_form(f"/projects/{project_id}/products", {"product_id": str(product_id), "quantity": "1"})
    line_id = db_query("SELECT id FROM project_products")[0][0]
    assert upload(manager, f"/projects/{project_id}/files", "part.dxf", dxf_bytes()).status_code == 303
    file_id = db_query("SELECT id FROM stored_files")[0][0]
    comm_id = db_query("SELECT id FROM communications ORDER BY id")[0][0]  # a POP confirmation
    template_id = db_query("SELECT id FROM message_templates ORDER BY id")[0][0]
    columns = "channel, direction, status, kind, subject, body, recipient, sender, in_reply_to, attempts, error"
    at = "2026-01-01 08:00:00.000000"
    sql(
        settings,
        f"INSERT INTO communications ({columns}, triage, created_at, updated_at) VALUES ('email', 'in', 'received',"
        f" 'inbound', 'Hello', 'A stranger writes', '', 'x@stranger.example', '', 0, '', 'inbox', '{at}', '{at}')",
    )
    inbox_id = db_query("SELECT id FROM communications WHERE triage = 'inbox'")[0][0]
    # a draft quote and a draft invoice with two lines each, and a draft invoice to void
    quote_id = create_quote(manager, project_id)
    invoice_id = int(manager.post_form("/invoices/new", {"project_id": str(project_id)}).headers["location"][10:])
    void_id = int(manager.post_form("/invoices/new", {"project_id": str(project_id)}).headers["location"][10:])
    for n in (1, 2):
        add_quote_line(manager, quote_id, f"Line {n}", "1", "100.00")
    # (the invoice starts with one line at the project's quoted price)
    line = {"description": "Line 2", "quantity": "1", "unit_price": "100.00"}
    assert manager.post_form(f"/invoices/{invoice_id}/lines", line).status_code == 303
    quote_lines = [row[0] for row in db_query("SELECT id FROM quote_lines ORDER BY position")]
    invoice_lines = [row[0] for row in db_query("SELECT id FROM invoice_lines WHERE invoice_id=? ORDER BY position",
                                                (invoice_id,))]  # fmt: skip
    return {
        "quote_id": quote_id,
        "quote_line_id": quote_lines[0],
        "quote_line2_id": quote_lines[1],
        "invoice_id": invoice_id,
        "invoice_line_id": invoice_lines[0],
        "invoice_line2_id": invoice_lines[-1],
        "void_id": void_id,
        "today": ShopCalendar("Africa/Johannesburg").today().isoformat(),
        "user_id": user_id,
        "product_id": product_id,
        "spare_product_id": spare_product_id,
        "line_id": line_id,
        "file_id": file_id,
        "comm_id": comm_id,
        "template_id": template_id,
        "inbox_id": inbox_id,
        "client_id": client_id,
        "project_id": project_id,
        "item_id": item_id,
        "fresh_id": fresh_id,
        "stock_id": stock_id,
        "notif_id": notif_id,
        "draft_id": draft_id,
    }


def _fill(value, ids):
    if isinstance(value, list):
        return [v.format(**ids) for v in value]
    return value.format(**ids)


@pytest.mark.parametrize("role", ["admin", "manager", "viewer"])
def test_pc_roles_can_read_every_pc_page(login_as, ids, role):
    client = login_as(role)
    for path in PC_PAGES:
        assert client.get(path.format(**ids)).status_code == 200, path


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("manager", 200), ("viewer", 403), ("operator", 403)])
def test_only_admins_and_managers_export_the_reports(login_as, role, status):
    client = login_as(role)
    for path in REPORT_EXPORTS:
        response = client.get(path)
        assert response.status_code == status, (role, path)
        if status == 200:
            assert response.headers["content-type"].startswith("text/csv")


def test_the_csv_links_show_only_to_those_who_may_export(login_as):
    assert "format=csv" not in login_as("viewer").get("/reports/production").text
    assert "format=csv&amp;table=by_operator" in login_as("manager").get("/reports/production").text


@pytest.mark.parametrize("role", ["admin", "manager", "viewer", "operator"])
def test_every_role_can_read_the_bell(login_as, ids, role):
    client = login_as(role)
    for path in ALL_ROLE_PAGES:
        assert client.get(path.format(**ids)).status_code == 200, path


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_export_every_list(login_as, ids, role):
    client = login_as(role)
    for path in EXPORTS:
        response = client.get(path.format(**ids))
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv"), path


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_export_nothing(login_as, ids, role):
    client = login_as(role)
    for path in EXPORTS:
        assert client.get(path.format(**ids)).status_code == 403, path


@pytest.mark.parametrize("role", ["manager", "viewer", "operator"])
def test_only_an_admin_may_open_shop_setup_forms(login_as, ids, role):
    client = login_as(role)
    for path in ADMIN_PAGES:
        assert client.get(path.format(**ids)).status_code == 403, (role, path)


def test_an_admin_may_open_shop_setup_forms(login_as, ids):
    admin = login_as("admin")
    for path in ADMIN_PAGES:
        assert admin.get(path.format(**ids)).status_code == 200, path


def test_operators_get_403_on_every_pc_page(login_as, ids):
    operator = login_as("operator")
    for path in PC_PAGES + EDIT_PAGES:
        response = operator.get(path.format(**ids), follow_redirects=False)
        assert response.status_code == 403, path
        assert "have access to this" in response.text


def test_operators_use_phone_mode(login_as, ids):
    operator = login_as("operator")
    assert operator.get("/phone/home").status_code == 200
    assert operator.get("/", follow_redirects=False).headers["location"] == "/phone/home"


def test_viewer_cannot_open_edit_pages(login_as, ids):
    viewer = login_as("viewer")
    for path in EDIT_PAGES:
        assert viewer.get(path.format(**ids)).status_code == 403, path


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_read_only_roles_cannot_change_anything(login_as, ids, role, db_query):
    client = login_as(role)
    before = db_query("SELECT count(*) FROM activity_log")
    for path, body in WRITES:
        data = {k: _fill(v, ids) for k, v in body.items()}
        response = client.post_form(path.format(**ids), data)
        assert response.status_code == 403, path
    assert db_query("SELECT count(*) FROM activity_log") == before


@pytest.mark.parametrize(("role", "status"), [("admin", 303), ("manager", 303), ("viewer", 403), ("operator", 403)])
def test_only_editors_upload_files(login_as, ids, role, status, db_query):
    client = login_as(role)
    before = db_query("SELECT count(*) FROM stored_files")[0][0]
    for path in ("/projects/{project_id}/files", "/products/{product_id}/files"):
        assert upload(client, path.format(**ids), "a.pdf", PDF).status_code == status, path
    assert db_query("SELECT count(*) FROM stored_files")[0][0] == before + (2 if status == 303 else 0)


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_editors_can_change_things(login_as, ids, role):
    client = login_as(role)
    for path, body in WRITES:
        data = {k: _fill(v, ids) for k, v in body.items()}
        response = client.post_form(path.format(**ids), data)
        assert response.status_code == 303, (path, response.text[:500])


def test_viewer_sees_no_edit_controls(login_as, ids):
    viewer = login_as("viewer")
    pages = {
        "/clients": ["New client"],
        "/clients/{client_id}": ["New project", "/edit", "Delete"],
        "/projects": ["New project"],
        "/projects/{project_id}": ["Mark POP", "/edit", "Change stage", "/status", "Delete"],
        "/queue": ["drag-handle", "/status", "/edit", "/reorder"],
        "/queue/{item_id}": ["/status", "/edit"],
        "/inventory": ["/inventory/new"],
        "/inventory/{stock_id}": ["/{stock_id}/transaction", "/edit", "Record stock movement"],
        "/presets": ["/presets/new"],
        "/operators": ["/operators/new"],
        "/notifications/list": ["/notifications/resolve", "Resolve"],
        "/comms/drafts": ["/comms/drafts/{draft_id}/", "Mark sent", "wa.me", "mailto:"],
        "/reports/daily": ["/reports/daily/generate", "Generate now"],
        "/quotes": ["/quotes/new"],
        "/quotes/{quote_id}": ["/status", "/lines", "/edit", "Revise", "Add a line"],
        "/invoices/{invoice_id}": ["/status", "/lines", "Issue invoice", "Void", "Record a payment"],
    }
    for path, forbidden in pages.items():
        text = viewer.get(path.format(**ids)).text
        for marker in forbidden:
            assert marker.format(**ids) not in text, (path, marker)


def test_quote_invoice_and_payment_lists_export_csv_for_editors_only(login_as, ids):
    for role, expected in (("admin", 200), ("manager", 200), ("viewer", 403)):
        client = login_as(role)
        for path in ("/quotes?format=csv", "/invoices?format=csv", "/invoices/payments?format=csv"):
            assert client.get(path).status_code == expected, (role, path)


# Sage (SPEC §2): admins and managers see the connection; only admins connect, choose, disconnect and sync.
# For an admin each answer is what the route gives without a Sage server: the point is that it is not 403.
SAGE_ADMIN_ROUTES = [
    ("GET", "/sage/connect", {}, 303),  # no v3.1 app configured: back to /sage with what to set
    ("GET", "/sage/callback?code=x&state=y", {}, 303),  # a state that did not start here: refused
    ("POST", "/sage/za", {"username": "", "password": "", "api_key": ""}, 422),
    ("POST", "/sage/company", {"company_id": "1"}, 409),  # not connected
    ("POST", "/sage/disconnect", {}, 303),
    ("POST", "/sage/sync/customers", {}, 303),
    ("POST", "/sage/sync/invoices", {}, 303),
]


def _sage(client, method, path, body):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(path, follow_redirects=False)
    return client.post_form(path, body)


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("manager", 200), ("viewer", 403), ("operator", 403)])
def test_admins_and_managers_see_the_sage_page(login_as, role, status):
    assert login_as(role).get("/sage", follow_redirects=False).status_code == status


@pytest.mark.parametrize("role", ["manager", "viewer", "operator"])
def test_only_an_admin_may_connect_sage_or_start_a_sync(login_as, role, db_query):
    client = login_as(role)
    before = db_query("SELECT count(*) FROM activity_log")
    for method, path, body, _ in SAGE_ADMIN_ROUTES:
        assert _sage(client, method, path, body).status_code == 403, (role, path)
    assert db_query("SELECT count(*) FROM activity_log") == before
    assert db_query("SELECT count(*) FROM sage_connections") == [(0,)]


def test_an_admin_may_use_every_sage_route(login_as):
    admin = login_as("admin")
    for method, path, body, status in SAGE_ADMIN_ROUTES:
        assert _sage(admin, method, path, body).status_code == status, path


def test_a_manager_sees_the_sage_status_without_the_admin_controls(login_as):
    text = login_as("manager").get("/sage").text
    assert "Sage is not connected." in text
    for marker in ("/sage/za", "/sage/connect", "/sage/disconnect", "/sage/sync/customers", "/sage/sync/invoices"):
        assert marker not in text, marker
    assert "/sage/za" in login_as("admin").get("/sage").text


@pytest.mark.parametrize("role", ["manager", "viewer", "operator"])
def test_only_an_admin_may_change_users(login_as, ids, role, db_query):
    client = login_as(role)
    before = db_query("SELECT count(*), group_concat(password_hash || role || display_name) FROM users")
    activity = db_query("SELECT count(*) FROM activity_log")
    for path, body in ADMIN_WRITES:
        response = client.post_form(path.format(**ids), body)
        assert response.status_code == 403, (role, path)
    assert db_query("SELECT count(*), group_concat(password_hash || role || display_name) FROM users") == before
    assert db_query("SELECT count(*) FROM activity_log") == activity


def test_an_admin_may_change_users(login_as, ids):
    admin = login_as("admin")
    for path, body in ADMIN_WRITES:
        response = admin.post_form(path.format(**ids), body)
        assert response.status_code == 303, (path, response.text[:500])
