"""Message templates at /comms/templates: list, new, edit, (de)activate, preview; broken ones refused."""

from __future__ import annotations

import pytest

from tests.factories import create_client, create_project

TEMPLATES_SQL = "SELECT name, subject, body, channel, is_active FROM message_templates ORDER BY id"


def _form(**fields: str) -> dict[str, str]:
    base = {
        "name": "Quote reminder",
        "description": "A nudge",
        "channel": "email",
        "subject": "About {{project_code}}",
        "body": "Hi {{client_name}}, any news on {{project_name}}? — {{company_name}}",
        "is_active": "1",
    }
    return {**base, **fields}


def test_the_pop_confirmation_template_is_seeded_and_listed(viewer):
    page = viewer.get("/comms/templates")
    assert page.status_code == 200
    assert "POP confirmation" in page.text and "used by the shop" in page.text


def test_an_admin_creates_edits_and_switches_off_a_template(admin, db_query):
    response = admin.post_form("/comms/templates/new", _form())
    assert response.status_code == 303
    template_id = int(response.headers["location"].split("/")[3])
    assert db_query(TEMPLATES_SQL)[-1] == (
        "Quote reminder", "About {{project_code}}",
        "Hi {{client_name}}, any news on {{project_name}}? — {{company_name}}", "email", 1,
    )  # fmt: skip
    response = admin.post_form(f"/comms/templates/{template_id}/edit", _form(name="Quote nudge", is_active=""))
    assert response.status_code == 303
    assert db_query(TEMPLATES_SQL)[-1][0] == "Quote nudge" and db_query(TEMPLATES_SQL)[-1][4] == 0
    assert admin.post_form(f"/comms/templates/{template_id}/activate", {"active": "1"}).status_code == 303
    assert db_query(TEMPLATES_SQL)[-1][4] == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("body", "Hi {{client_name", "does not render"),
        ("body", "Dear {{name}}", "{{name}} is not a placeholder"),
        ("subject", "About {{job}}", "{{job}} is not a placeholder"),
        ("body", "{% for i in range(10**9) %}x{% endfor %}", "too costly"),
        ("body", "", "required"),
        ("subject", "", "required"),  # email needs a subject
        ("channel", "fax", "Choose one of"),
        ("name", "POP confirmation", "already has this name"),
    ],
)
def test_a_broken_template_is_refused_beside_the_field_and_nothing_is_written(admin, db_query, field, value, message):
    before = db_query(TEMPLATES_SQL)
    response = admin.post_form("/comms/templates/new", _form(**{field: value}))
    assert response.status_code == 422
    assert message in response.text
    assert db_query(TEMPLATES_SQL) == before


def test_the_preview_fills_in_a_real_project(admin, manager, db_query):
    client_id = create_client(manager, "Karoo Steel")
    project_id = create_project(manager, client_id, name="Gate brackets")
    code = db_query("SELECT project_code FROM projects WHERE id = ?", (project_id,))[0][0]
    [(template_id,)] = db_query("SELECT id FROM message_templates WHERE key = 'pop_confirmation'")
    page = admin.get(f"/comms/templates/{template_id}/edit?project_id={project_id}")
    assert page.status_code == 200
    assert f"Payment received for Gate brackets ({code})" in page.text
    assert "Hi Karoo Steel" in page.text


def test_only_admins_change_templates(manager, viewer, db_query):
    [(template_id,)] = db_query("SELECT id FROM message_templates WHERE key = 'pop_confirmation'")
    for client in (manager, viewer):
        assert client.get("/comms/templates/new").status_code == 403
        assert client.post_form("/comms/templates/new", _form()).status_code == 403
        assert client.post_form(f"/comms/templates/{template_id}/activate", {"active": "0"}).status_code == 403
    assert db_query("SELECT is_active FROM message_templates WHERE id = ?", (template_id,)) == [(1,)]


def test_sending_with_a_template_fills_it_in(manager, db_query):
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    project_id = create_project(manager, client_id, name="Gate brackets")
    [(template_id,)] = db_query("SELECT id FROM message_templates WHERE key = 'pop_confirmation'")
    form = {"client_id": str(client_id), "project_id": str(project_id), "template_id": str(template_id),
            "recipient": "johan@karoo.example", "subject": "", "body": ""}  # fmt: skip
    response = manager.post_form("/comms/send", form)
    assert response.status_code == 303
    [(subject, body, status)] = db_query("SELECT subject, body, status FROM communications")
    assert subject.startswith("Payment received for Gate brackets") and "Hi Karoo Steel" in body
    assert status == "pending"
