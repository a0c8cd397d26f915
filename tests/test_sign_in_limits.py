"""Signing in under attack: floods, spraying, locks an admin can lift, and addresses that cannot be spoofed.

These talk HTTP to uvicorn (tests/live.py) so that requests are really in flight together and the
client's address is the one the server sees (X-Forwarded-For is believed only from trusted proxies).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from laseros.domain.admin import services as accounts
from laseros.jobs.tasks import run_now
from laseros.services import open_services
from tests.live import LiveApp
from tests.support import PASSWORDS, run


@pytest.fixture
def behind_proxy(settings):  # type: ignore[no-untyped-def]
    """The app behind a proxy on 127.0.0.1 that it trusts: X-Forwarded-For names each client's address."""
    live = LiveApp(dataclasses.replace(settings, trusted_proxies="127.0.0.1"))
    live.start()
    yield live
    live.stop()


def _attempt(live: LiveApp, address: str, username: str, password: str) -> int:
    client = live.anonymous(**{"X-Forwarded-For": address})
    return client.post("/auth/login", data={"username": username, "password": password}).status_code


def test_a_spoofed_forwarded_for_is_ignored_unless_the_proxy_is_trusted(served_app, db_query):
    client = served_app.anonymous(**{"X-Forwarded-For": "6.6.6.6"})
    client.post("/auth/login", data={"username": "viewer", "password": "wrong-password"})
    assert db_query("SELECT ip_address FROM login_attempts") == [("127.0.0.1",)]


def test_a_trusted_proxy_names_the_clients_address(behind_proxy, db_query):
    assert _attempt(behind_proxy, "203.0.113.7", "viewer", "wrong-password") == 401
    assert db_query("SELECT ip_address FROM login_attempts") == [("203.0.113.7",)]


def test_an_address_that_keeps_failing_waits_whatever_username_it_tries(behind_proxy, db_query):
    for n in range(20):
        assert _attempt(behind_proxy, "198.51.100.9", f"user{n}", "wrong-password") == 401
    client = behind_proxy.anonymous(**{"X-Forwarded-For": "198.51.100.9"})
    refused = client.post("/auth/login", data={"username": "manager", "password": PASSWORDS["manager"]})
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 800 <= wait <= 901  # the window is 15 minutes from the first failure (20 sign-ins take a while)
    assert f"try again in {-(-wait // 60)} minutes" in refused.text
    # Nothing more is written for a refused flood, and anyone else signs in as usual.
    assert db_query("SELECT count(*) FROM login_attempts") == [(20,)]
    assert _attempt(behind_proxy, "198.51.100.10", "manager", PASSWORDS["manager"]) == 303


def test_a_locked_username_still_opens_for_its_password_from_an_address_that_has_not_failed(behind_proxy):
    for _ in range(5):
        assert _attempt(behind_proxy, "192.0.2.1", "manager", "wrong-password") == 401
    assert _attempt(behind_proxy, "192.0.2.1", "manager", PASSWORDS["manager"]) == 401  # locked from there
    assert _attempt(behind_proxy, "192.0.2.2", "manager", PASSWORDS["manager"]) == 303  # the manager's own desk
    # …but that address cannot guess either: its first wrong password makes it a failing one.
    for _ in range(5):
        _attempt(behind_proxy, "192.0.2.1", "manager", "wrong-password")
    assert _attempt(behind_proxy, "192.0.2.3", "manager", "wrong-password") == 401
    assert _attempt(behind_proxy, "192.0.2.3", "manager", PASSWORDS["manager"]) == 401


def test_the_admin_lock_applies_too_and_an_admin_can_lift_any_lock(anon, login_as, db_query):
    for _ in range(5):
        anon.post_form("/auth/login", {"username": "manager", "password": "wrong-password"})
    assert anon.post_form("/auth/login", {"username": "manager", "password": PASSWORDS["manager"]}).status_code == 401
    admin = login_as("admin")
    page = admin.get("/admin/logins")
    assert page.status_code == 200 and "Unlock manager" in page.text
    assert admin.post_form("/admin/logins/unlock", {"username": "manager"}).status_code == 303
    assert "No username is locked." in admin.get("/admin/logins").text
    assert anon.post_form("/auth/login", {"username": "manager", "password": PASSWORDS["manager"]}).status_code == 303
    assert db_query("SELECT actor, action, details FROM activity_log WHERE action = 'unlocked'") == [
        ("Ada Admin", "unlocked", "sign-in lock on 'manager' lifted")
    ]


def test_only_admins_see_the_sign_in_log_and_unlock(login_as, db_query):
    for role in ("manager", "viewer"):
        client = login_as(role)
        assert client.get("/admin/logins").status_code == 403
        assert client.post_form("/admin/logins/unlock", {"username": "manager"}).status_code == 403
    assert login_as("operator").get("/admin/logins").status_code == 403
    assert db_query("SELECT count(*) FROM activity_log WHERE action = 'unlocked'") == [(0,)]


def test_the_sign_in_log_filters_and_exports(login_as, anon):
    anon.post_form("/auth/login", {"username": "zanele-typo", "password": "wrong-password"})
    admin = login_as("admin")
    failed = admin.get("/admin/logins", params={"success": "no"}).text
    assert "zanele-typo" in failed and "unknown user" in failed
    assert "zanele-typo" not in admin.get("/admin/logins", params={"username": "admin"}).text
    rows = admin.get("/admin/logins", params={"format": "csv", "username": "zanele-typo"}).text.splitlines()
    assert rows[0].lstrip("\ufeff").startswith("id,username,user_id,success,outcome,ip_address")
    assert len(rows) == 2 and ",zanele-typo," in rows[1]


def test_the_sign_in_log_filters_by_address_and_by_shop_dates(login_as, anon, db_query):
    for name in ("early-bird", "night-owl", "elsewhere"):
        anon.post_form("/auth/login", {"username": name, "password": "wrong-password"})
    admin = login_as("admin")
    # 23:30 on 9 March and 00:30 on 10 March in the shop (UTC+2); the third from another address.
    when = {"early-bird": "2026-03-09 21:30:00.000000", "night-owl": "2026-03-09 22:30:00.000000"}
    for name, stamp in when.items():
        db_query("UPDATE login_attempts SET created_at = ? WHERE username = ?", (stamp, name))
    db_query("UPDATE login_attempts SET ip_address = '198.51.100.7' WHERE username = 'elsewhere'")

    def names(**params: str) -> set[str]:
        rows = admin.get("/admin/logins", params={"format": "csv", **params}).text.splitlines()[1:]
        return {row.split(",")[1] for row in rows} & {"early-bird", "night-owl", "elsewhere"}

    assert names(start="2026-03-10", end="2026-03-10") == {"night-owl"}
    assert names(start="2026-03-09", end="2026-03-09") == {"early-bird"}
    assert names(end="2026-03-10") == {"early-bird", "night-owl"}
    assert names(address="198.51.100.7") == {"elsewhere"}
    page = admin.get("/admin/logins", params={"address": "198.51.100.7"}).text
    assert "elsewhere" in page and "night-owl" not in page


def test_a_flood_of_wrong_passwords_does_not_hold_up_a_managers_save(served_app, monkeypatch, db_query):
    """The password check runs outside any write transaction: a slow check never holds the writer."""
    checking = threading.Event()
    verify = accounts._verify

    def slow_verify(password_hash: str, password: str) -> bool:
        checking.set()
        time.sleep(1.5)  # argon2 under a flood, exaggerated
        return verify(password_hash, password)

    manager = served_app.client("manager")
    monkeypatch.setattr(accounts, "_verify", slow_verify)
    flood = [
        threading.Thread(
            target=lambda n=n: served_app.anonymous().post(
                "/auth/login", data={"username": f"nobody{n}", "password": "wrong-password"}
            )
        )
        for n in range(4)
    ]
    for thread in flood:
        thread.start()
    assert checking.wait(10)
    started = time.monotonic()
    saved = manager.post("/clients/new", data={"name": "Karoo Steel"})
    waited = time.monotonic() - started
    for thread in flood:
        thread.join(20)
    assert saved.status_code == 303 and waited < 1.0, waited
    assert db_query("SELECT count(*) FROM login_attempts WHERE outcome = 'unknown_user'") == [(4,)]


def test_the_nightly_job_prunes_the_sign_in_log_to_the_shops_setting(settings, anon, db_query, login_as):
    anon.post_form("/auth/login", {"username": "ghost", "password": "wrong-password"})
    old = (datetime.now(UTC) - timedelta(days=200)).replace(tzinfo=None).isoformat(sep=" ")
    db_query("SELECT 1")
    import sqlite3

    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute(
            "INSERT INTO login_attempts (username, success, outcome, created_at) VALUES ('old', 0, 'bad_password', ?)",
            (old,),
        )

    async def prune() -> dict[str, object]:
        async with open_services(settings) as services:
            return await run_now("prune-login-log", services)

    assert run(prune()) == {"removed": 1, "kept_days": 180}
    assert db_query("SELECT username FROM login_attempts") == [("ghost",)]
    # A shorter setting keeps less.
    assert login_as("admin").post_form("/admin/settings", {"login_log_days": "29"}).status_code == 422
    assert login_as("admin").post_form("/admin/settings", {"login_log_days": "30"}).status_code == 303


def test_a_refused_sign_in_answers_only_after_the_throttle(settings):
    # A long throttle, so a busy machine's slow password check cannot be mistaken for it.
    live = LiveApp(dataclasses.replace(settings, login_failure_delay_s=4.0))
    live.start()
    try:
        client = live.anonymous()
        started = time.monotonic()
        assert client.post("/auth/login", data={"username": "viewer", "password": "wrong-password"}).status_code == 401
        assert time.monotonic() - started >= 4.0
        started = time.monotonic()
        assert (
            client.post("/auth/login", data={"username": "viewer", "password": PASSWORDS["viewer"]}).status_code == 303
        )
        assert time.monotonic() - started < 4.0  # a correct password is not held back
    finally:
        live.stop()
