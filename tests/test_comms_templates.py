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
        ("body", "Hi {{ client_name.__class__ }}", "unsafe"),  # the sandbox refuses it
        ("body", "{% if false %}never{% endif %}", "comes out empty"),
        ("body", "x" * 5001, "5000 characters or fewer"),
        ("body", "{{ client_name * 600 }}", "longer than 5000 characters"),
        ("body", "{% set x = 1 %}{{ x }}", "cannot use"),
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


@pytest.mark.parametrize(
    ("body", "message"),
    [("x" * 2001, "2000 characters or fewer"), ("{{ client_name * 400 }}", "longer than 2000 characters")],
)
def test_a_whatsapp_text_is_held_to_what_a_draft_may_hold(admin, db_query, body, message):
    before = db_query(TEMPLATES_SQL)
    response = admin.post_form("/comms/templates/new", _form(channel="whatsapp", subject="", body=body))
    assert response.status_code == 422 and message in response.text
    assert db_query(TEMPLATES_SQL) == before


def test_an_unknown_placeholder_names_the_right_ones(admin):
    response = admin.post_form("/comms/templates/new", _form(body="Dear {{name}} about {{job}}"))
    assert "{{job}}, {{name}} are not placeholders." in response.text
    assert "{{client_name}}, {{project_code}}, {{project_name}}" in response.text


def _finish(manager, db_query, project_id: int) -> str:  # type: ignore[no-untyped-def]
    """Complete the paid project's queue item; returns its ready-for-collection draft."""
    item_id = db_query("SELECT id FROM queue_items WHERE project_id = ?", (project_id,))[0][0]
    for status in ("In Progress", "Completed"):
        assert manager.post_form(f"/queue/{item_id}/status", {"status": status}).status_code == 303
    return db_query("SELECT body_text FROM outbound_drafts WHERE project_id = ?", (project_id,))[0][0]


def test_the_draft_texts_are_templates_and_drafts_use_the_edited_one(admin, manager, db_query):
    from tests.factories import paid_project

    rows = db_query("SELECT key, name, channel FROM message_templates WHERE channel = 'whatsapp' ORDER BY id")
    assert rows == [
        ("approval_followup", "Approval follow-up", "whatsapp"),
        ("ready_for_collection", "Ready for collection", "whatsapp"),
        ("material_delay", "Material delay", "whatsapp"),
        ("quote_reminder", "Quote expiry reminder", "whatsapp"),  # drafted by billing (migration 0015)
    ]
    assert db_query("SELECT COUNT(*) FROM shop_settings WHERE key LIKE 'draft_template_%'") == [(0,)]
    [(template_id,)] = db_query("SELECT id FROM message_templates WHERE key = 'ready_for_collection'")
    custom = "{{client_name}}: {{project_name}} ({{project_code}}) can be fetched. — {{company_name}}"
    edited = _form(name="Ready for collection", channel="whatsapp", subject="", body=custom)
    assert admin.post_form(f"/comms/templates/{template_id}/edit", edited).status_code == 303
    client_id = create_client(manager, "Karoo Steel")
    first = _finish(manager, db_query, paid_project(manager, client_id, name="Gate panels"))
    assert first.startswith("Karoo Steel: Gate panels (JB-") and first.endswith("can be fetched. — Laser OS Demo Shop")

    # switched off: the default text is drafted
    assert admin.post_form(f"/comms/templates/{template_id}/activate", {"active": "0"}).status_code == 303
    second = _finish(manager, db_query, paid_project(manager, client_id, name="Brackets"))
    assert second.startswith("Hi Karoo Steel, good news: your order Brackets (")


def test_a_template_the_shop_uses_keeps_its_channel(admin, db_query):
    [(template_id,)] = db_query("SELECT id FROM message_templates WHERE key = 'pop_confirmation'")
    response = admin.post_form(f"/comms/templates/{template_id}/edit", _form(name="POP confirmation", channel="note"))
    assert response.status_code == 422 and "cannot change" in response.text
    assert db_query("SELECT channel FROM message_templates WHERE id = ?", (template_id,)) == [("email",)]
