"""Logging in, choosing a mode, lockout, sessions and CSRF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from laseros.app import create_app
from tests.support import PASSWORDS, ShopClient


def test_login_leads_to_mode_choice_and_pc_mode_to_the_dashboard(anon):
    response = anon.post_form("/auth/login", {"username": "manager", "password": PASSWORDS["manager"]})
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/select-mode"
    cookie = anon.cookies["laseros_session"]
    assert len(cookie) > 30

    page = anon.get("/auth/select-mode")
    assert "PC mode" in page.text and "Phone mode" in page.text

    chosen = anon.post_form("/auth/select-mode", {"mode": "pc"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/dashboard"
    home = anon.get("/", follow_redirects=False)
    assert home.headers["location"] == "/dashboard"
    dashboard = anon.get("/dashboard")
    assert "Mo Manager" in dashboard.text and "Manager" in dashboard.text


def test_session_cookie_is_httponly_and_lax(anon):
    response = anon.post_form("/auth/login", {"username": "manager", "password": PASSWORDS["manager"]})
    header = response.headers["set-cookie"].lower()
    assert "laseros_session=" in header and "httponly" in header and "samesite=lax" in header


def test_switching_mode_later(login_as):
    manager = login_as("manager")
    assert manager.post_form("/auth/select-mode", {"mode": "phone"}).headers["location"] == "/phone/home"
    assert manager.get("/", follow_redirects=False).headers["location"] == "/phone/home"
    phone = manager.get("/phone/home")
    assert "Jobs to cut" in phone.text and "PC mode" in phone.text
    assert manager.post_form("/auth/select-mode", {"mode": "pc"}).headers["location"] == "/dashboard"


def test_unknown_mode_is_422(login_as):
    manager = login_as("manager")
    response = manager.post_form("/auth/select-mode", {"mode": "tablet"})
    assert response.status_code == 422
    assert "Choose PC mode or Phone mode" in response.text


def test_wrong_password_is_refused_and_recorded_with_ip_and_user_agent(anon, db_query):
    response = anon.post_form(
        "/auth/login", {"username": "manager", "password": "nope"}, headers={"user-agent": "ShopTablet/1.0"}
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert 'value="manager"' in response.text  # the username is kept
    assert "laseros_session" not in anon.cookies
    rows = db_query("SELECT username, success, outcome, ip_address, user_agent FROM login_attempts")
    assert rows == [("manager", 0, "bad_password", "testclient", "ShopTablet/1.0")]


def test_successful_login_is_recorded(anon, db_query):
    anon.login("viewer", PASSWORDS["viewer"])
    assert db_query("SELECT username, success, outcome FROM login_attempts") == [("viewer", 1, "success")]


def test_unknown_user_gets_the_same_message(anon):
    response = anon.post_form("/auth/login", {"username": "ghost", "password": "whatever"})
    assert response.status_code == 401
    assert "Wrong username or password" in response.text


def test_five_failures_lock_the_username_even_for_the_right_password(anon, db_query):
    for _ in range(5):
        assert anon.post_form("/auth/login", {"username": "manager", "password": "bad"}).status_code == 401
    locked = anon.post_form("/auth/login", {"username": "manager", "password": PASSWORDS["manager"]})
    assert locked.status_code == 401
    assert "locked for 15 minutes" in locked.text
    assert db_query("SELECT outcome FROM login_attempts ORDER BY id DESC LIMIT 1") == [("locked",)]
    # Other usernames are unaffected.
    assert anon.post_form("/auth/login", {"username": "viewer", "password": PASSWORDS["viewer"]}).status_code == 303


def _fail(client: ShopClient, times: int) -> None:
    for _ in range(times):
        assert client.post_form("/auth/login", {"username": "manager", "password": "bad"}).status_code == 401


def _age_attempts(settings, minutes: int) -> None:
    """Move every recorded attempt ``minutes`` into the past."""
    import sqlite3

    past = (datetime.now(UTC) - timedelta(minutes=minutes)).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute("UPDATE login_attempts SET created_at = ?", (past,))


def _manager_can_log_in(client: ShopClient) -> bool:
    response = client.post_form("/auth/login", {"username": "manager", "password": PASSWORDS["manager"]})
    return response.status_code == 303


def test_lock_ends_after_fifteen_minutes(anon, settings):
    _fail(anon, 5)
    assert not _manager_can_log_in(anon)
    _age_attempts(settings, 16)
    assert _manager_can_log_in(anon)


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(anon, settings):
    _fail(anon, 4)
    _age_attempts(settings, 20)
    _fail(anon, 1)
    assert _manager_can_log_in(anon)


def test_a_success_resets_the_failure_count(anon):
    for _ in range(4):
        anon.post_form("/auth/login", {"username": "manager", "password": "bad"})
    assert anon.post_form("/auth/login", {"username": "manager", "password": PASSWORDS["manager"]}).status_code == 303
    for _ in range(4):
        anon.post_form("/auth/login", {"username": "manager", "password": "bad"})
    assert anon.post_form("/auth/login", {"username": "manager", "password": PASSWORDS["manager"]}).status_code == 303


def test_sessions_survive_an_app_restart(settings, login_as):
    manager = login_as("manager")
    token = manager.cookies["laseros_session"]
    restarted = create_app(settings)
    with ShopClient(app=restarted) as client:
        client.cookies.set("laseros_session", token)
        response = client.get("/dashboard", follow_redirects=False)
        assert response.status_code == 200
        assert "Mo Manager" in response.text


def test_sessions_are_stored_hashed(login_as, db_query):
    manager = login_as("manager")
    token = manager.cookies["laseros_session"]
    stored = [row[0] for row in db_query("SELECT token_hash FROM user_sessions")]
    assert token not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_logout_ends_the_session(login_as, db_query):
    manager = login_as("manager")
    response = manager.post_form("/auth/logout")
    assert response.status_code == 303 and response.headers["location"] == "/auth/login"
    assert db_query("SELECT count(*) FROM user_sessions") == [(0,)]
    again = manager.get("/dashboard", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/auth/login"


def test_anonymous_requests_go_to_the_login_page(anon):
    for path in ("/", "/dashboard", "/clients", "/projects/1", "/queue", "/phone/home", "/auth/select-mode"):
        response = anon.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/auth/login"


def test_anonymous_htmx_requests_get_hx_redirect(anon):
    response = anon.get("/clients", headers={"hx-request": "true"}, follow_redirects=False)
    assert response.headers["hx-redirect"] == "/auth/login"


def test_public_paths_need_no_login(anon):
    assert anon.get("/auth/login").status_code == 200
    assert anon.get("/static/css/app.css").status_code == 200
    assert anon.get("/static/img/favicon.svg").status_code == 200
    assert anon.get("/favicon.ico", follow_redirects=False).status_code == 301


def test_post_without_csrf_token_is_refused_and_writes_nothing(login_as, db_query):
    manager = login_as("manager")
    response = manager.post("/clients/new", data={"name": "Sneaky"}, follow_redirects=False)
    assert response.status_code == 403
    assert db_query("SELECT count(*) FROM clients") == [(0,)]


def test_csrf_token_in_form_field_is_accepted(login_as, db_query):
    manager = login_as("manager")
    token = manager.cookies["csrftoken"]
    response = manager.post("/clients/new", data={"name": "Form Co", "_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert db_query("SELECT name FROM clients") == [("Form Co",)]


def test_login_itself_requires_csrf(anon, db_query):
    response = anon.post("/auth/login", data={"username": "manager", "password": PASSWORDS["manager"]})
    assert response.status_code == 403
    assert db_query("SELECT count(*) FROM user_sessions") == [(0,)]


def test_operator_sees_pc_mode_disabled_with_the_reason(login_as):
    operator = login_as("operator", mode=None)
    page = operator.get("/auth/select-mode")
    assert "disabled" in page.text
    assert "Operators use Phone mode only" in page.text


def test_operator_cannot_choose_pc_mode(login_as):
    operator = login_as("operator", mode=None)
    response = operator.post_form("/auth/select-mode", {"mode": "pc"})
    assert response.status_code == 403
    assert "Phone mode" in response.text


def test_inactive_users_cannot_log_in(anon, settings):
    import sqlite3

    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute("UPDATE users SET is_active = 0 WHERE username = 'viewer'")
    assert anon.post_form("/auth/login", {"username": "viewer", "password": PASSWORDS["viewer"]}).status_code == 401


def test_expired_sessions_are_refused_and_cleared_at_the_next_login(login_as, settings, db_query):
    import sqlite3

    manager = login_as("manager")
    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute("UPDATE user_sessions SET expires_at = '2020-01-01 00:00:00'")
    assert manager.get("/dashboard", follow_redirects=False).headers["location"] == "/auth/login"
    login_as("viewer")
    assert db_query("SELECT count(*) FROM user_sessions") == [(1,)]


def test_a_session_in_use_slides_its_expiry_forward(login_as, settings, db_query):
    import sqlite3

    manager = login_as("manager")
    # Last seen long ago, and due to run out tomorrow: the next request must renew it for 14 days.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute("UPDATE user_sessions SET last_seen_at = '2020-01-01 00:00:00', expires_at = ?", (tomorrow,))
    sent = datetime.now(UTC).replace(tzinfo=None)
    assert manager.get("/dashboard").status_code == 200
    answered = datetime.now(UTC).replace(tzinfo=None)
    seen, expires = (
        datetime.fromisoformat(value) for value in db_query("SELECT last_seen_at, expires_at FROM user_sessions")[0]
    )
    assert sent - timedelta(seconds=1) <= seen <= answered + timedelta(seconds=1)
    assert expires - seen == timedelta(days=14)


def test_a_form_sent_as_multipart_form_data_is_read_like_any_other(anon):
    """A form with a file field comes as multipart/form-data (parsed by the `multipart` package); it reads the same."""
    fields = {"username": (None, "manager"), "password": (None, PASSWORDS["manager"])}
    response = anon.post("/auth/login", files=fields, headers={"x-csrftoken": anon.csrf()}, follow_redirects=False)
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert response.status_code == 303 and response.headers["location"] == "/auth/select-mode"
