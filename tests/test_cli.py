"""The `laseros` command: migrations, demo data and user creation on a fresh data folder."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from laseros.__main__ import cli


def _head() -> str:
    """The newest migration (the one `db upgrade` must reach)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from laseros.settings import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _env(tmp_path):
    return {"LASEROS_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "LASEROS_SECRET_KEY": ""}


def test_db_upgrade_creates_the_schema_and_a_secret(tmp_path):
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "laseros.db") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"clients", "projects", "queue_items", "users", "user_sessions", "activity_log"} <= tables
        assert {"inventory_items", "inventory_transactions", "presets", "extra_operators", "laser_runs"} <= tables
        assert {"notifications", "outbound_drafts", "daily_reports"} <= tables
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (_head(),)
    secret = (tmp_path / "secret_key").read_text()
    assert len(secret) > 40
    # A second run keeps the same secret.
    CliRunner().invoke(cli, ["db", "upgrade"], env=_env(tmp_path))
    assert (tmp_path / "secret_key").read_text() == secret


def test_create_user(tmp_path):
    args = [
        "create-user",
        "--username",
        "sipho",
        "--password",
        "long-enough-pw",
        "--role",
        "operator",
        "--display-name",
        "Sipho M",
    ]
    result = CliRunner().invoke(cli, args, env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "laseros.db") as conn:
        row = conn.execute("SELECT username, role, display_name, password_hash FROM users").fetchone()
    assert row[:3] == ("sipho", "operator", "Sipho M")
    assert row[3].startswith("$argon2id$")
    again = CliRunner().invoke(cli, args, env=_env(tmp_path))
    assert again.exit_code != 0 and "already exists" in again.output


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Use at least 10 characters."),
        ("password123", "one of the most common passwords"),
        ("shop-floor-viewer", "cannot be the username"),
    ],
)
def test_create_user_refuses_a_password_the_rule_refuses(tmp_path, password, message):
    result = CliRunner().invoke(
        cli,
        ["create-user", "--username", "shop-floor-viewer", "--password", password, "--role", "viewer"],
        env=_env(tmp_path),
    )
    assert result.exit_code != 0 and message in result.output
    with sqlite3.connect(tmp_path / "laseros.db") as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_demo_loads_a_small_shop_once(tmp_path):
    result = CliRunner().invoke(cli, ["demo"], env=_env(tmp_path))
    assert result.exit_code == 0 and "Demo data loaded" in result.output
    with sqlite3.connect(tmp_path / "laseros.db") as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (4,)
        assert conn.execute("SELECT count(*) FROM clients").fetchone() == (8,)
        assert conn.execute("SELECT count(*) FROM projects").fetchone() == (45,)
        stages = {row[0] for row in conn.execute("SELECT DISTINCT stage FROM projects")}
        assert {
            "request",
            "quote",
            "waiting_material",
            "queued",
            "cutting",
            "ready",
            "delivered",
            "cancelled",
        } <= stages
        # Stock, presets, an extra operator and weeks of runs, with the ledger adding up.
        assert conn.execute("SELECT count(*) FROM inventory_items").fetchone()[0] >= 10
        assert conn.execute("SELECT count(*) FROM presets WHERE is_active").fetchone()[0] >= 5
        assert conn.execute("SELECT count(*) FROM extra_operators").fetchone() == (1,)
        runs, days = conn.execute("SELECT count(*), count(DISTINCT date(started_at)) FROM laser_runs").fetchone()
        assert runs >= 20 and days >= 10
        assert conn.execute("SELECT count(*) FROM laser_runs WHERE status = 'running'").fetchone() == (1,)
        mismatched = conn.execute(
            "SELECT count(*) FROM inventory_items i WHERE quantity_on_hand != "
            "(SELECT coalesce(sum(quantity), 0) FROM inventory_transactions t WHERE t.item_id = i.id)"
        ).fetchone()
        assert mismatched == (0,)
        active = conn.execute("SELECT count(*) FROM queue_items WHERE status IN ('Queued','In Progress')").fetchone()
        assert active[0] >= 5
    again = CliRunner().invoke(cli, ["demo"], env=_env(tmp_path))
    assert "already has users" in again.output
