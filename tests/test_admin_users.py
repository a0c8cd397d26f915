"""User administration (SPEC §8.6): an admin creates, edits, demotes, resets and unlocks users, and
the shop can never lose its last active admin."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import Callable, Iterator

import pytest

from laseros.app import create_app
from laseros.db import Database
from laseros.domain.admin.roles import PERMISSIONS, Permission, Role
from laseros.domain.admin.services import UserService
from laseros.domain.admin.users import UserAdmin, UserInput
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.kernel.errors import Conflict
from tests.support import ShopClient, run

NEW_USER = {
    "username": "sam",
    "display_name": "Sam Sizwe",
    "email": "sam@example.com",
    "role": "manager",
    "is_active": "1",
    "password": "tall-birch-kettle-9",
}


@pytest.fixture
def fresh_browser(settings) -> Iterator[Callable[[], ShopClient]]:
    """Fresh, logged-out browsers on their own app instances (closed at the end)."""
    opened: list[ShopClient] = []

    def factory() -> ShopClient:
        client = ShopClient(app=create_app(settings))
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


def _user_id(db_query, username: str) -> int:
    return db_query("SELECT id FROM users WHERE username = ?", (username,))[0][0]


def _edit(admin: ShopClient, user_id: int, **changes: str):  # type: ignore[no-untyped-def]
    fields = {k: v for k, v in NEW_USER.items() if k != "password"}
    fields.update(changes)
    if fields.get("is_active") == "":
        del fields["is_active"]  # an unticked checkbox is not sent
    return admin.post_form(f"/admin/users/{user_id}/edit", fields)


def test_a_user_lives_from_creation_to_unlock(admin, fresh_browser, db_query):
    # The admin creates a manager.
    created = admin.post_form("/admin/users/new", NEW_USER)
    assert created.status_code == 303
    sam_id = _user_id(db_query, "sam")
    assert created.headers["location"] == f"/admin/users/{sam_id}/edit"
    assert db_query("SELECT display_name, email, role, is_active FROM users WHERE id = ?", (sam_id,)) == [
        ("Sam Sizwe", "sam@example.com", "manager", 1)
    ]
    assert db_query("SELECT action FROM activity_log WHERE entity_type = 'user' AND entity_id = ?", (sam_id,)) == [
        ("user_created",)
    ]

    # Sam signs in and, as a manager, may add a client.
    sam = fresh_browser()
    assert sam.login("sam", NEW_USER["password"]).status_code == 303
    assert sam.post_form("/clients/new", {"name": "Sam's first client"}).status_code == 303
    assert db_query("SELECT last_login_at IS NOT NULL FROM users WHERE id = ?", (sam_id,)) == [(1,)]

    # Demoted to viewer: the very next change Sam sends is refused, and nothing is written.
    assert _edit(admin, sam_id, role="viewer").status_code == 303
    clients_before = db_query("SELECT count(*) FROM clients")
    refused = sam.post_form("/clients/new", {"name": "Sneaky client"})
    assert refused.status_code == 403
    assert db_query("SELECT count(*) FROM clients") == clients_before
    assert sam.get("/clients").status_code == 200  # a viewer still reads

    # A password reset ends every session; the old password no longer works, the new one does.
    assert db_query("SELECT count(*) FROM user_sessions WHERE user_id = ?", (sam_id,)) == [(1,)]
    reset = admin.post_form(f"/admin/users/{sam_id}/reset-password", {"password": "quiet-harbour-lamp-4"})
    assert reset.status_code == 303
    assert db_query("SELECT count(*) FROM user_sessions WHERE user_id = ?", (sam_id,)) == [(0,)]
    ended = sam.get("/dashboard", follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"] == "/auth/login"
    again = fresh_browser()
    assert again.login("sam", NEW_USER["password"]).status_code == 401
    assert again.login("sam", "quiet-harbour-lamp-4", mode=None).status_code == 303
    assert db_query("SELECT action FROM activity_log WHERE action = 'password_reset' AND entity_id = ?", (sam_id,))

    # Five wrong passwords lock the username: even the right one is refused until an admin unlocks it.
    guesser = fresh_browser()
    for _ in range(5):
        assert guesser.login("sam", "wrong-password-x").status_code == 401
    locked = guesser.login("sam", "quiet-harbour-lamp-4")
    assert locked.status_code == 401 and "locked" in locked.text
    listing = admin.get("/admin/users")
    assert "Locked until" in listing.text and f"/admin/users/{sam_id}/unlock" in listing.text
    assert "Unlock sam" in admin.get(f"/admin/users/{sam_id}/edit").text

    unlocked = admin.post_form(f"/admin/users/{sam_id}/unlock")
    assert unlocked.status_code == 303
    assert db_query("SELECT outcome FROM login_attempts WHERE username = 'sam' ORDER BY id DESC LIMIT 1") == [
        ("unlocked",)
    ]
    assert db_query("SELECT action FROM activity_log WHERE action = 'unlocked' AND entity_id = ?", (sam_id,))
    assert guesser.login("sam", "quiet-harbour-lamp-4").status_code == 303
    assert "Locked until" not in admin.get("/admin/users").text


def test_unlocking_a_user_who_is_not_locked_changes_nothing(admin, db_query):
    viewer_id = _user_id(db_query, "viewer")
    attempts = db_query("SELECT count(*) FROM login_attempts")
    response = admin.post_form(f"/admin/users/{viewer_id}/unlock")
    assert response.status_code == 303
    assert db_query("SELECT count(*) FROM login_attempts") == attempts


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(admin, db_query):
    admin_id = _user_id(db_query, "admin")
    fields = {"username": "admin", "display_name": "Ada Admin", "email": "", "role": "admin", "is_active": "1"}
    activity = db_query("SELECT count(*) FROM activity_log")

    demoted = admin.post_form(f"/admin/users/{admin_id}/edit", {**fields, "role": "manager"})
    assert demoted.status_code == 409
    assert "last active admin" in demoted.text and "cannot be made manager" in demoted.text
    deactivated = admin.post_form(
        f"/admin/users/{admin_id}/edit", {k: v for k, v in fields.items() if k != "is_active"}
    )
    assert deactivated.status_code == 409
    assert "cannot be deactivated" in deactivated.text
    assert db_query("SELECT role, is_active FROM users WHERE id = ?", (admin_id,)) == [("admin", 1)]
    assert db_query("SELECT count(*) FROM activity_log") == activity
    assert db_query("SELECT count(*) FROM user_sessions WHERE user_id = ?", (admin_id,)) == [(1,)]

    # With a second active admin, the first may step down.
    assert admin.post_form("/admin/users/new", {**NEW_USER, "role": "admin"}).status_code == 303
    assert admin.post_form(f"/admin/users/{admin_id}/edit", {**fields, "role": "manager"}).status_code == 303
    assert db_query("SELECT role FROM users WHERE id = ?", (admin_id,)) == [("manager",)]
    # …and is a manager from the next request on: the admin pages are closed to them.
    assert admin.get("/admin/users").status_code == 403


def test_an_inactive_admin_does_not_count_as_the_spare(admin, db_query):
    assert admin.post_form("/admin/users/new", {**NEW_USER, "role": "admin", "is_active": ""}).status_code == 303
    assert db_query("SELECT is_active FROM users WHERE username = 'sam'") == [(0,)]
    admin_id = _user_id(db_query, "admin")
    response = _edit(admin, admin_id, username="admin", display_name="Ada Admin", email="", role="viewer")
    assert response.status_code == 409


def test_deactivating_a_user_signs_them_out(admin, login_as, fresh_browser, db_query):
    manager = login_as("manager")
    manager_id = _user_id(db_query, "manager")
    response = _edit(admin, manager_id, username="manager", display_name="Mo Manager", role="manager", is_active="")
    assert response.status_code == 303
    assert db_query("SELECT is_active FROM users WHERE id = ?", (manager_id,)) == [(0,)]
    assert db_query("SELECT count(*) FROM user_sessions WHERE user_id = ?", (manager_id,)) == [(0,)]
    assert manager.get("/dashboard", follow_redirects=False).headers["location"] == "/auth/login"
    assert fresh_browser().login("manager", "manager-password").status_code == 401


def test_an_edit_changes_every_field_and_logs_what_changed(admin, db_query):
    viewer_id = _user_id(db_query, "viewer")
    response = _edit(
        admin, viewer_id, username="vi.viewer", display_name="Vi Viewer-Nkosi", email="vi@example.com", role="manager"
    )
    assert response.status_code == 303
    assert db_query("SELECT username, display_name, email, role FROM users WHERE id = ?", (viewer_id,)) == [
        ("vi.viewer", "Vi Viewer-Nkosi", "vi@example.com", "manager")
    ]
    details = db_query("SELECT details FROM activity_log WHERE action = 'updated' AND entity_id = ?", (viewer_id,))
    assert "username: viewer → vi.viewer" in details[0][0] and "role: viewer → manager" in details[0][0]


BAD_NEW_USERS = [
    ({"username": ""}, "username"),
    ({"username": "has space"}, "username"),
    ({"username": "x" * 81}, "username"),
    ({"username": "ADMIN"}, "username"),  # taken, whatever the case
    ({"display_name": ""}, "display_name"),
    ({"email": "not-an-email"}, "email"),
    ({"role": "owner"}, "role"),
    ({"role": ""}, "role"),
    ({"password": "short"}, "password"),
    ({"password": "password123"}, "password"),  # a common one
    ({"username": "sam.sizwe.k", "password": "Sam.Sizwe.K"}, "password"),  # the username
    ({"display_name": "Sam\x00"}, "display_name"),
]


@pytest.mark.parametrize(("change", "field"), BAD_NEW_USERS)
def test_a_bad_new_user_is_refused_beside_the_field_and_nothing_is_written(admin, db_query, change, field):
    users, activity = db_query("SELECT count(*) FROM users"), db_query("SELECT count(*) FROM activity_log")
    response = admin.post_form("/admin/users/new", {**NEW_USER, **change})
    assert response.status_code == 422
    assert f'id="e-{field}"' in response.text
    assert db_query("SELECT count(*) FROM users") == users
    assert db_query("SELECT count(*) FROM activity_log") == activity
    assert NEW_USER["password"] not in response.text  # a typed password is never sent back


def test_a_bad_edit_is_refused_and_the_record_is_unchanged(admin, db_query):
    viewer_id = _user_id(db_query, "viewer")
    before = db_query("SELECT username, display_name, email, role, is_active FROM users WHERE id = ?", (viewer_id,))
    for change in ({"username": "manager"}, {"display_name": ""}, {"role": "root"}, {"email": "@nowhere"}):
        fields = {"username": "viewer", "display_name": "Vi Viewer", "email": "", "role": "viewer", **change}
        response = _edit(admin, viewer_id, **fields)
        assert response.status_code == 422, change
    assert db_query("SELECT username, display_name, email, role, is_active FROM users WHERE id = ?", (viewer_id,)) == (
        before
    )


def test_a_weak_reset_password_is_refused_and_sessions_survive(admin, login_as, db_query):
    login_as("viewer")
    viewer_id = _user_id(db_query, "viewer")
    stored = db_query("SELECT password_hash FROM users WHERE id = ?", (viewer_id,))
    for password in ("", "short", "viewer", "qwertyuiop"):
        response = admin.post_form(f"/admin/users/{viewer_id}/reset-password", {"password": password})
        assert response.status_code == 422, password
        assert 'id="e-password"' in response.text
    assert db_query("SELECT password_hash FROM users WHERE id = ?", (viewer_id,)) == stored
    assert db_query("SELECT count(*) FROM user_sessions WHERE user_id = ?", (viewer_id,)) == [(1,)]


def test_an_unknown_user_is_404(admin):
    assert admin.get("/admin/users/999/edit").status_code == 404
    assert admin.post_form("/admin/users/999/edit", NEW_USER).status_code == 404
    assert admin.post_form("/admin/users/999/reset-password", {"password": "tall-birch-kettle-9"}).status_code == 404
    assert admin.post_form("/admin/users/999/unlock").status_code == 404
    assert admin.get(f"/admin/users/{10**30}/edit").status_code == 404  # an id no database can hold


def test_the_users_list_shows_role_status_and_last_sign_in(admin, db_query):
    page = admin.get("/admin/users").text
    for name in ("Ada Admin", "Mo Manager", "Olu Operator", "Vi Viewer"):
        assert name in page
    assert "Never" in page  # the viewer has not signed in yet in this test
    assert "user-role-operator" in page and "Active" in page


def test_the_users_csv_lists_every_user_without_password_hashes(admin, db_query):
    response = admin.get("/admin/users?format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0] == [
        "id",
        "username",
        "display_name",
        "email",
        "role",
        "is_active",
        "last_login_at",
        "created_at",
        "updated_at",
    ]
    assert sorted(row[1] for row in rows[1:]) == ["admin", "manager", "operator", "viewer"]
    assert "argon2" not in response.text


def test_the_operators_page_points_to_the_one_place_user_records_are_edited(admin, db_query):
    olu_id = _user_id(db_query, "operator")
    assert 'href="/admin/users"' in admin.get("/operators").text
    assert f'href="/admin/users/{olu_id}/edit"' in admin.get(f"/operators/{olu_id}").text
    assert f'href="/operators/{olu_id}"' in admin.get(f"/admin/users/{olu_id}/edit").text


def test_the_role_matrix_page_is_the_code_s_matrix(admin):
    page = admin.get("/admin/roles").text
    for permission in Permission:
        row = page.split(f'id="perm-{permission.value}"', 1)[1].split("</tr>", 1)[0]
        for role in Role:
            cell = row.split(f'data-role="{role.value}"', 1)[1].split("</td>", 1)[0]
            assert ("allowed" in cell and "not allowed" not in cell) == (role in PERMISSIONS[permission]), (
                permission,
                role,
            )
    # The routes each permission guards come from the running app's guards.
    assert "/admin/users/{user_id:int}/edit" in page
    assert "/admin/settings" in page


def test_user_administration_runs_on_postgresql(pg_settings):
    with ShopClient(app=create_app(pg_settings)) as admin:
        assert admin.login("admin", "admin-password").status_code == 303
        assert admin.post_form("/admin/users/new", {**NEW_USER, "username": "pg-sam"}).status_code == 303
        listing = admin.get("/admin/users")
        assert "pg-sam" in listing.text and "sam@example.com" in listing.text
        admin_row = next(line for line in listing.text.splitlines() if ">Pg Admin</a>" in line)
        admin_id = int(admin_row.split('href="/admin/users/', 1)[1].split("/", 1)[0])
        fields = {"username": "admin", "display_name": "Pg Admin", "email": "", "role": "viewer", "is_active": "1"}
        # The active admins' rows are locked FOR UPDATE before the last-admin check.
        assert admin.post_form(f"/admin/users/{admin_id}/edit", fields).status_code == 409
        activity = admin.get("/admin/activity?entity_type=user&action=user_created&start=2000-01-01")
        assert activity.status_code == 200 and "/edit" in activity.text
        assert admin.get("/admin/activity?format=csv").status_code == 200
        assert admin.get("/admin/roles").status_code == 200


def _hold_after_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each demotion waits (up to a second) after its last-admin check until the other has checked too.

    Without a lock both checks would pass before either writes, and both demotions would go
    through; with the rows locked, the second check cannot even run until the first has committed.
    """
    original = UserAdmin._keep_an_admin
    state: dict[str, object] = {"arrived": 0}

    async def check_then_wait(self: UserAdmin, user, role: str, is_active: bool) -> None:  # type: ignore[no-untyped-def]
        await original(self, user, role, is_active)
        both = state.setdefault("both", asyncio.Event())
        assert isinstance(both, asyncio.Event)
        state["arrived"] = int(state["arrived"]) + 1  # type: ignore[call-overload]
        if state["arrived"] == 2:
            both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), 1.0)

    monkeypatch.setattr(UserAdmin, "_keep_an_admin", check_then_wait)


async def _demote_each_other(db: Database, usernames: tuple[str, str]) -> list[object]:
    """Two admins, each in a session of their own, demote the other's record at the same moment."""
    async with db.session(write=False) as session:
        listing = await UserAdmin(session, SYSTEM).listing()
        ids = [row.user.id for row in listing if row.user.username in usernames]

    async def demote(user_id: int) -> object:
        async with db.session(write="actions") as session:
            admin = UserAdmin(session, SYSTEM)
            user = await admin.get(user_id)  # both read before either writes
            await asyncio.sleep(0)
            data = UserInput(user.username, user.display_name, user.email, "manager", True)
            return await admin.update(user_id, data)

    return await asyncio.gather(*(demote(user_id) for user_id in ids), return_exceptions=True)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(db, db_query, monkeypatch):
    _hold_after_the_check(monkeypatch)

    async def scenario() -> list[object]:
        async with db.session(write=True) as session:
            await UserService(session).create("second-admin", "tall-birch-kettle-9", "admin", "Second Admin")
        return await _demote_each_other(db, ("admin", "second-admin"))

    outcomes = run(scenario())
    assert sum(isinstance(outcome, Conflict) for outcome in outcomes) == 1, outcomes
    assert db_query("SELECT count(*) FROM users WHERE role = 'admin' AND is_active") == [(1,)]


def test_two_admins_demoting_each_other_at_once_on_postgresql(pg_settings, monkeypatch):
    """No single writer here: the rows locked FOR UPDATE are what stops both demotions going through."""
    _hold_after_the_check(monkeypatch)

    async def scenario() -> tuple[list[object], int]:
        db = Database.from_settings(pg_settings)
        try:
            async with db.session(write=True) as session:
                await UserService(session).create("pg-second-admin", "tall-birch-kettle-9", "admin", "Pg Second")
            outcomes = await _demote_each_other(db, ("admin", "pg-second-admin"))
            async with db.session(write=False) as session:
                admins = [row.user for row in await UserAdmin(session, SYSTEM).listing() if row.user.role == "admin"]
            # Put the module's shared database back as it was: "admin" is an admin again.
            async with db.session(write="actions") as session:
                editor = UserAdmin(session, SYSTEM)
                for row in await editor.listing():
                    if row.user.username == "admin" and row.user.role != "admin":
                        user = row.user
                        await editor.update(
                            user.id, UserInput(user.username, user.display_name, user.email, "admin", True)
                        )
            return outcomes, len([user for user in admins if user.is_active])
        finally:
            await db.dispose()

    outcomes, active_admins = run(scenario())
    assert sum(isinstance(outcome, Conflict) for outcome in outcomes) == 1, outcomes
    assert active_admins == 1
