"""Operators: the admin adds phone logins and extra operators, renames, resets and deactivates them,
and everyone in the office sees what each person has cut."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal

import pytest

from laseros.db import Database
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.runs.schemas import RunLog
from laseros.domain.runs.services import RunService
from laseros.domain.runs.totals import Totals
from tests.factories import create_client, create_project
from tests.support import PASSWORDS

CALENDAR = ShopCalendar("Africa/Johannesburg")
NEW_LOGIN = {"username": "thabo", "display_name": "Thabo Nkosi", "password": "laser-cutter-1"}


def _id_from(response, prefix: str) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(rf"{prefix}/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def new_login(admin, **fields: str) -> int:  # type: ignore[no-untyped-def]
    return _id_from(admin.post_form("/operators/new", {**NEW_LOGIN, **fields}), "/operators")


def new_extra(admin, name: str = "Sipho Dlamini", notes: str = "") -> int:  # type: ignore[no-untyped-def]
    response = admin.post_form("/operators/extra/new", {"display_name": name, "notes": notes})
    return _id_from(response, "/operators/extra")


def user_id(db_query, username: str) -> int:  # type: ignore[no-untyped-def]
    return db_query("SELECT id FROM users WHERE username = ?", (username,))[0][0]


def log_run(settings, project_id: int, operator_id: int, extra_operator_id: int | None = None, **report: str) -> None:  # type: ignore[no-untyped-def]
    """A finished run typed in on a PC, through the runs domain (what the run log form will call)."""
    fields = {
        "operator_id": str(operator_id),
        "extra_operator_id": str(extra_operator_id or ""),
        "cut_time_minutes": "60",
        "sheets_used": "1",
        "parts_produced": "10",
        **report,
    }

    async def go() -> None:
        db = Database.from_settings(settings)
        try:
            async with db.session(write=True) as session:
                service = RunService(session, Actor(1, "Ada Admin"), CALENDAR)
                await service.log(project_id, RunLog.parse(fields, today=CALENDAR.today()))
        finally:
            await db.dispose()

    asyncio.run(go())


def row(page: str, key: str) -> str:
    """One person's line on /operators ("u12" for a login, "x3" for an extra operator)."""
    start = page.index(f'id="op-{key}"')
    return page[start : page.index("</tr>", start)]


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


# -- operator logins --------------------------------------------------------------------------


def test_admin_creates_an_operator_login_that_works_on_the_phone(admin, anon, db_query):
    operator_id = new_login(admin)
    assert db_query("SELECT username, display_name, role, is_active FROM users WHERE id = ?", (operator_id,)) == [
        ("thabo", "Thabo Nkosi", "operator", 1)
    ]
    assert db_query(
        "SELECT actor, action FROM activity_log WHERE entity_type='user' AND entity_id=?", (operator_id,)
    ) == [("Ada Admin", "user_created")]
    page = admin.get(f"/operators/{operator_id}")
    assert "Thabo Nkosi can now log in on the phone as thabo." in page.text

    # Thabo logs in on his phone: PC mode is refused, phone mode shows the jobs.
    response = anon.post_form("/auth/login", {"username": "thabo", "password": "laser-cutter-1"})
    assert response.status_code == 303 and response.headers["location"] == "/auth/select-mode"
    assert anon.post_form("/auth/select-mode", {"mode": "pc"}).status_code == 403
    chosen = anon.post_form("/auth/select-mode", {"mode": "phone"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/phone/home"
    assert anon.get("/phone/home").status_code == 200
    assert anon.get("/operators", follow_redirects=False).status_code == 403


def test_a_new_login_is_listed_as_active_with_no_runs(admin):
    operator_id = new_login(admin)
    line = cells(row(admin.get("/operators").text, f"u{operator_id}"))
    assert line == ["Thabo Nkosi", "thabo", "Active", "0", "0.0", "0", "0"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"username": ""}, "username", "This field is required."),
        ({"username": "x" * 81}, "username", "80 characters or fewer"),
        ({"username": "operator"}, "username", "A user called &#39;operator&#39; already exists."),
        ({"username": "OPERATOR"}, "username", "already exists"),
        ({"display_name": "  "}, "display_name", "This field is required."),
        ({"password": "short"}, "password", "Use at least 10 characters."),
        ({"password": ""}, "password", "Use at least 10 characters."),
        ({"password": "qwertyuiop"}, "password", "one of the most common passwords"),
    ],
)
def test_bad_new_login_is_422_beside_the_field_and_writes_nothing(admin, db_query, fields, field, message):
    users_before = db_query("SELECT count(*) FROM users")
    logged_before = db_query("SELECT count(*) FROM activity_log")
    response = admin.post_form("/operators/new", {**NEW_LOGIN, **fields})
    assert response.status_code == 422
    assert message in response.text
    assert f'id="e-{field}"' in response.text
    assert "laser-cutter-1" not in response.text  # a password is never sent back
    assert db_query("SELECT count(*) FROM users") == users_before
    assert db_query("SELECT count(*) FROM activity_log") == logged_before


def test_renaming_an_operator_keeps_their_password_and_session(admin, login_as, db_query):
    olu = login_as("operator")
    olu_id = user_id(db_query, "operator")
    hash_before = db_query("SELECT password_hash FROM users WHERE id=?", (olu_id,))
    form = admin.get(f"/operators/{olu_id}/edit")
    assert form.status_code == 200 and 'value="Olu Operator"' in form.text
    response = admin.post_form(f"/operators/{olu_id}/edit", {"display_name": "Olu Okafor", "password": ""})
    assert response.status_code == 303 and response.headers["location"] == f"/operators/{olu_id}"
    assert db_query("SELECT display_name FROM users WHERE id=?", (olu_id,)) == [("Olu Okafor",)]
    assert db_query("SELECT password_hash FROM users WHERE id=?", (olu_id,)) == hash_before
    assert olu.get("/phone/home").status_code == 200
    assert "Olu Okafor" in admin.get("/operators").text


def test_a_new_password_logs_the_operator_out_everywhere(admin, login_as, anon, db_query):
    olu = login_as("operator")
    olu_id = user_id(db_query, "operator")
    response = admin.post_form(
        f"/operators/{olu_id}/edit", {"display_name": "Olu Operator", "password": "new-secret-99"}
    )
    assert response.status_code == 303
    assert "password was reset" in admin.get(f"/operators/{olu_id}").text
    ended = olu.get("/phone/home", follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"] == "/auth/login"
    assert anon.post_form("/auth/login", {"username": "operator", "password": PASSWORDS["operator"]}).status_code == 401
    assert anon.post_form("/auth/login", {"username": "operator", "password": "new-secret-99"}).status_code == 303


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"display_name": "", "password": ""}, "display_name", "This field is required."),
        ({"display_name": "Olu Okafor", "password": "short"}, "password", "Use at least 10 characters."),
    ],
)
def test_bad_operator_edit_is_422_and_changes_nothing(admin, db_query, fields, field, message):
    olu_id = user_id(db_query, "operator")
    before = db_query("SELECT display_name, password_hash FROM users WHERE id=?", (olu_id,))
    response = admin.post_form(f"/operators/{olu_id}/edit", fields)
    assert response.status_code == 422
    assert message in response.text and f'id="e-{field}"' in response.text
    assert db_query("SELECT display_name, password_hash FROM users WHERE id=?", (olu_id,)) == before
    assert db_query("SELECT count(*) FROM activity_log WHERE action='updated'") == [(0,)]


def test_the_username_cannot_be_changed_on_edit(admin, db_query):
    olu_id = user_id(db_query, "operator")
    response = admin.post_form(
        f"/operators/{olu_id}/edit", {"username": "hijack", "display_name": "Olu", "password": ""}
    )
    assert response.status_code == 303
    assert db_query("SELECT username FROM users WHERE id=?", (olu_id,)) == [("operator",)]


def test_deactivating_an_operator_logs_them_out_and_refuses_their_login(admin, login_as, anon, db_query):
    olu = login_as("operator")
    olu_id = user_id(db_query, "operator")
    response = admin.post_form(f"/operators/{olu_id}/toggle")
    assert response.status_code == 303 and response.headers["location"] == f"/operators/{olu_id}"
    assert "Olu Operator is deactivated" in admin.get(f"/operators/{olu_id}").text
    assert db_query("SELECT is_active FROM users WHERE id=?", (olu_id,)) == [(0,)]
    assert db_query(
        "SELECT action FROM activity_log WHERE entity_type='user' AND entity_id=? AND action LIKE '%activated'",
        (olu_id,),
    ) == [("deactivated",)]
    assert olu.get("/phone/home", follow_redirects=False).headers["location"] == "/auth/login"
    refused = anon.post_form("/auth/login", {"username": "operator", "password": PASSWORDS["operator"]})
    assert refused.status_code == 401 and "Wrong username or password." in refused.text
    assert cells(row(admin.get("/operators").text, f"u{olu_id}"))[2] == "Inactive"

    # Reactivated: they log in again, but the phone they were logged out of stays logged out.
    assert admin.post_form(f"/operators/{olu_id}/toggle").status_code == 303
    assert "Olu Operator is active again" in admin.get(f"/operators/{olu_id}").text
    assert db_query("SELECT is_active FROM users WHERE id=?", (olu_id,)) == [(1,)]
    assert olu.get("/phone/home", follow_redirects=False).status_code == 303
    assert anon.post_form("/auth/login", {"username": "operator", "password": PASSWORDS["operator"]}).status_code == 303


def test_toggling_from_htmx_redirects_the_page(admin, db_query):
    olu_id = user_id(db_query, "operator")
    response = admin.post_form(f"/operators/{olu_id}/toggle", htmx=True)
    assert response.status_code == 201 and response.headers["hx-redirect"] == f"/operators/{olu_id}"


@pytest.mark.parametrize("username", ["admin", "manager", "viewer"])
def test_office_logins_are_not_managed_here(admin, db_query, username):
    other_id = user_id(db_query, username)
    before = db_query("SELECT display_name, is_active FROM users WHERE id=?", (other_id,))
    assert admin.get(f"/operators/{other_id}/edit").status_code == 404
    assert (
        admin.post_form(f"/operators/{other_id}/edit", {"display_name": "Renamed", "password": ""}).status_code == 404
    )
    assert admin.post_form(f"/operators/{other_id}/toggle").status_code == 404
    assert db_query("SELECT display_name, is_active FROM users WHERE id=?", (other_id,)) == before


# -- extra operators --------------------------------------------------------------------------


def test_admin_adds_an_extra_operator_who_is_listed_without_a_login(admin, db_query):
    extra_id = new_extra(admin, "Sipho Dlamini", "Weekend shift")
    assert db_query("SELECT display_name, notes, is_active FROM extra_operators") == [
        ("Sipho Dlamini", "Weekend shift", 1)
    ]
    assert db_query("SELECT actor, action FROM activity_log WHERE entity_type='extra_operator'") == [
        ("Ada Admin", "created")
    ]
    page = admin.get(f"/operators/extra/{extra_id}")
    assert "Sipho Dlamini added" in page.text and "Weekend shift" in page.text
    line = cells(row(admin.get("/operators").text, f"x{extra_id}"))
    assert line == ["Sipho Dlamini", "Extra operator (no login)", "Active", "0", "0.0", "0", "0"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"display_name": ""}, "display_name", "This field is required."),
        ({"display_name": "n" * 121}, "display_name", "120 characters or fewer"),
        ({"display_name": "Sipho", "notes": "n" * 2001}, "notes", "2000 characters or fewer"),
    ],
)
def test_bad_extra_operator_is_422_and_writes_nothing(admin, db_query, fields, field, message):
    response = admin.post_form("/operators/extra/new", {"notes": "Kept note", **fields})
    assert response.status_code == 422
    assert message in response.text and f'id="e-{field}"' in response.text
    if field != "notes":
        assert "Kept note" in response.text
    assert db_query("SELECT count(*) FROM extra_operators") == [(0,)]
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type='extra_operator'") == [(0,)]


def test_editing_an_extra_operator(admin, db_query):
    extra_id = new_extra(admin, "Sipho")
    form = admin.get(f"/operators/extra/{extra_id}/edit")
    assert form.status_code == 200 and 'value="Sipho"' in form.text
    response = admin.post_form(
        f"/operators/extra/{extra_id}/edit", {"display_name": "Sipho Dlamini", "notes": "Nights"}
    )
    assert response.status_code == 303 and response.headers["location"] == f"/operators/extra/{extra_id}"
    assert db_query("SELECT display_name, notes FROM extra_operators") == [("Sipho Dlamini", "Nights")]


def test_bad_extra_operator_edit_is_422_and_changes_nothing(admin, db_query):
    extra_id = new_extra(admin, "Sipho", "Days")
    response = admin.post_form(f"/operators/extra/{extra_id}/edit", {"display_name": "", "notes": "Nights"})
    assert response.status_code == 422 and 'id="e-display_name"' in response.text
    assert db_query("SELECT display_name, notes FROM extra_operators") == [("Sipho", "Days")]


def test_a_deactivated_extra_operator_cannot_have_runs_logged_for_them(admin, manager, settings, db_query):
    extra_id = new_extra(admin, "Sipho")
    response = admin.post_form(f"/operators/extra/{extra_id}/toggle")
    assert response.status_code == 303 and response.headers["location"] == f"/operators/extra/{extra_id}"
    assert "Sipho is deactivated" in admin.get(f"/operators/extra/{extra_id}").text
    assert db_query("SELECT is_active FROM extra_operators") == [(0,)]
    assert cells(row(admin.get("/operators").text, f"x{extra_id}"))[2] == "Inactive"
    project_id = create_project(manager, create_client(manager))
    with pytest.raises(InvalidInput):
        log_run(settings, project_id, user_id(db_query, "operator"), extra_id)

    assert admin.post_form(f"/operators/extra/{extra_id}/toggle").status_code == 303
    assert "Sipho is active again" in admin.get(f"/operators/extra/{extra_id}").text
    assert db_query("SELECT is_active FROM extra_operators") == [(1,)]
    log_run(settings, project_id, user_id(db_query, "operator"), extra_id)
    assert db_query("SELECT action FROM activity_log WHERE entity_type='extra_operator' ORDER BY id") == [
        ("created",),
        ("deactivated",),
        ("activated",),
    ]


# -- totals -----------------------------------------------------------------------------------


def test_totals_count_each_persons_completed_runs(admin, manager, settings, db_query):
    olu_id = user_id(db_query, "operator")
    extra_id = new_extra(admin, "Sipho")
    gates = create_project(manager, create_client(manager), name="Gate panels")
    brackets = create_project(manager, create_client(manager, "Cape Signs"), name="Bracket set")
    log_run(settings, gates, olu_id, cut_time_minutes="60", sheets_used="2", parts_produced="40")
    log_run(settings, brackets, olu_id, cut_time_minutes="30", sheets_used="3", parts_produced="10")
    # Olu logged this one on his phone, but Sipho ran the machine: it is Sipho's.
    log_run(settings, gates, olu_id, extra_id, cut_time_minutes="45", sheets_used="1", parts_produced="7")

    listing = admin.get("/operators").text
    assert cells(row(listing, f"u{olu_id}"))[3:] == ["2", "1.5", "5", "50"]
    assert cells(row(listing, f"x{extra_id}"))[3:] == ["1", "0.8", "1", "7"]

    olu = manager.get(f"/operators/{olu_id}")
    assert olu.status_code == 200
    totals = olu.text[olu.text.index('id="totals"') : olu.text.index('id="recent-runs"')]
    assert re.findall(r'stat-value">([^<]*)<', totals) == ["2", "1.5", "5", "50"]
    runs = olu.text[olu.text.index('id="recent-runs"') :]
    assert f'href="/projects/{gates}"' in runs and f'href="/projects/{brackets}"' in runs
    assert runs.count("<tr>") == 3  # header + Olu's own two runs, not Sipho's

    sipho = manager.get(f"/operators/extra/{extra_id}")
    totals = sipho.text[sipho.text.index('id="totals"') : sipho.text.index('id="recent-runs"')]
    assert re.findall(r'stat-value">([^<]*)<', totals) == ["1", "0.8", "1", "7"]
    runs = sipho.text[sipho.text.index('id="recent-runs"') :]
    assert f'href="/projects/{gates}"' in runs and "Olu Operator" in runs  # who was logged in


def test_an_office_login_with_runs_is_listed_but_not_editable(admin, manager, settings, db_query):
    manager_id = user_id(db_query, "manager")
    log_run(settings, create_project(manager, create_client(manager)), manager_id, cut_time_minutes="90")
    listing = admin.get("/operators").text
    assert cells(row(listing, f"u{manager_id}"))[1:4] == ["manager (manager)", "Active", "1"]
    page = admin.get(f"/operators/{manager_id}")
    assert page.status_code == 200 and "1.5" in page.text
    assert f'href="/operators/{manager_id}/edit"' not in page.text
    assert f"/operators/{manager_id}/toggle" not in page.text


def test_cut_hours_are_rounded_to_a_tenth():
    assert Totals(runs=1, cut_minutes=Decimal("90.00")).cut_hours == Decimal("1.5")
    assert Totals().cut_hours == Decimal("0.0")


# -- who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_office_roles_can_read_but_not_manage_operators(login_as, admin, db_query, role):
    extra_id = new_extra(admin)
    olu_id = user_id(db_query, "operator")
    client = login_as(role)
    listing = client.get("/operators")
    assert listing.status_code == 200 and "Olu Operator" in listing.text and "Sipho Dlamini" in listing.text
    assert "/operators/new" not in listing.text and "/operators/extra/new" not in listing.text
    detail = client.get(f"/operators/{olu_id}")
    assert detail.status_code == 200 and "/toggle" not in detail.text and "/edit" not in detail.text
    detail = client.get(f"/operators/extra/{extra_id}")
    assert detail.status_code == 200 and "/toggle" not in detail.text and "/edit" not in detail.text


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_only_an_admin_creates_edits_or_toggles_operators(login_as, admin, db_query, role):
    extra_id = new_extra(admin)
    olu_id = user_id(db_query, "operator")
    before = (
        db_query("SELECT id, display_name, is_active, password_hash FROM users ORDER BY id"),
        db_query("SELECT id, display_name, notes, is_active FROM extra_operators"),
        db_query("SELECT count(*) FROM activity_log WHERE action != 'login'"),
    )
    client = login_as(role)
    for url in (
        "/operators/new",
        "/operators/extra/new",
        f"/operators/{olu_id}/edit",
        f"/operators/extra/{extra_id}/edit",
    ):
        assert client.get(url).status_code == 403, url
    posts = {
        "/operators/new": NEW_LOGIN,
        "/operators/extra/new": {"display_name": "Intruder"},
        f"/operators/{olu_id}/edit": {"display_name": "Renamed", "password": "new-secret-99"},
        f"/operators/extra/{extra_id}/edit": {"display_name": "Renamed"},
        f"/operators/{olu_id}/toggle": {},
        f"/operators/extra/{extra_id}/toggle": {},
    }
    for url, data in posts.items():
        response = client.post_form(url, data)
        assert response.status_code == 403, url
        assert "Only an admin can manage users and operators." in response.text
    after = (
        db_query("SELECT id, display_name, is_active, password_hash FROM users ORDER BY id"),
        db_query("SELECT id, display_name, notes, is_active FROM extra_operators"),
        db_query("SELECT count(*) FROM activity_log WHERE action != 'login'"),
    )
    assert after == before


def test_operators_cannot_open_any_operators_page(login_as, admin, db_query):
    extra_id = new_extra(admin)
    olu_id = user_id(db_query, "operator")
    olu = login_as("operator")
    for url in (
        "/operators",
        "/operators/new",
        "/operators/extra/new",
        f"/operators/{olu_id}",
        f"/operators/{olu_id}/edit",
        f"/operators/extra/{extra_id}",
        f"/operators/extra/{extra_id}/edit",
    ):
        assert olu.get(url).status_code == 403, url
    assert olu.post_form(f"/operators/{olu_id}/toggle").status_code == 403
    assert db_query("SELECT is_active FROM users WHERE id=?", (olu_id,)) == [(1,)]


def test_logged_out_visitors_are_sent_to_log_in(anon):
    response = anon.get("/operators", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/auth/login"


def test_unknown_operators_are_not_found(admin, db_query):
    logged_before = db_query("SELECT count(*) FROM activity_log")
    for url in ("/operators/999", "/operators/999/edit", "/operators/extra/999", "/operators/extra/999/edit"):
        assert admin.get(url).status_code == 404, url
    for url, data in {
        "/operators/999/edit": {"display_name": "Nobody", "password": ""},
        "/operators/999/toggle": {},
        "/operators/extra/999/edit": {"display_name": "Nobody"},
        "/operators/extra/999/toggle": {},
    }.items():
        assert admin.post_form(url, data).status_code == 404, url
    # A refused form for someone who does not exist is still "not found", not a form to fix.
    assert admin.post_form("/operators/999/edit", {"display_name": ""}).status_code == 404
    assert admin.post_form("/operators/extra/999/edit", {"display_name": ""}).status_code == 404
    assert db_query("SELECT count(*) FROM extra_operators") == [(0,)]
    assert db_query("SELECT count(*) FROM activity_log") == logged_before
