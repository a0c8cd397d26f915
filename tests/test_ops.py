"""Operations: /healthz, `laseros db backup`, and Litestream replication + `laseros db restore` with
the real litestream binary."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from laseros.__main__ import cli
from laseros.app import create_app
from laseros.backup import LITESTREAM_CONFIG, litestream_binary, litestream_env
from laseros.jobs.broker import heartbeat_key
from laseros.settings import Settings
from tests.support import REDIS_URL, STOCKED_ID, ShopClient, browser, free_port, make_settings, sql, timed, wait_for

LITESTREAM = litestream_binary()


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {"LASEROS_DATA_DIR": str(settings.data_dir), "DATABASE_URL": "", "REDIS_URL": "", **extra}


# -- /healthz ----------------------------------------------------------------------------------------


def beat(ns: str, age: timedelta = timedelta(0)) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.set(heartbeat_key(ns), (datetime.now(UTC) - age).isoformat(), ex=60)
    client.close()


def test_healthz_is_public_and_ok_when_database_redis_and_a_fresh_worker_heartbeat_are(settings, namespace):
    settings = make_settings(settings.data_dir, redis_namespace=namespace)
    beat(namespace, timedelta(seconds=3))
    with ShopClient(app=create_app(settings)) as anon:
        response = anon.get("/healthz")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True and body["redis"] == {"ok": True}
    worker = body["worker"]
    assert worker["ok"] is True and worker["mode"] == "off"
    assert 2 <= worker["age_seconds"] < 10
    assert datetime.fromisoformat(worker["last_heartbeat"]) < datetime.now(UTC)


def test_healthz_is_503_when_no_worker_has_beaten_or_the_beat_is_stale(settings, namespace):
    settings = make_settings(settings.data_dir, redis_namespace=namespace)
    with ShopClient(app=create_app(settings)) as anon:
        silent = anon.get("/healthz")
        beat(namespace, timedelta(seconds=45))
        stale = anon.get("/healthz")
    assert silent.status_code == 503
    assert silent.json()["status"] == "degraded" and silent.json()["redis"]["ok"] is True
    assert silent.json()["worker"] == {"mode": "off", "ok": False, "last_heartbeat": None, "age_seconds": None}
    assert stale.status_code == 503
    assert stale.json()["worker"]["ok"] is False and stale.json()["worker"]["age_seconds"] >= 45


def test_healthz_answers_503_fast_when_redis_is_unreachable(settings):
    settings = make_settings(settings.data_dir, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with ShopClient(app=create_app(settings)) as anon:
        response, took = timed(lambda: anon.get("/healthz"))
        assert anon.get("/auth/login").status_code == 200
    assert response.status_code == 503 and took < 2
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is False and "error" in body["redis"]
    assert body["worker"]["ok"] is False


def test_healthz_is_503_when_the_database_cannot_be_opened(settings, namespace, tmp_path):
    settings = make_settings(settings.data_dir, redis_namespace=namespace)
    beat(namespace)
    with ShopClient(app=create_app(settings)) as anon:
        assert anon.get("/healthz").status_code == 200
        # The data folder disappears under the running app (a lost volume): the next connection fails.
        anon.blocking_portal.call(anon.app.state.db.dispose)
        settings.data_dir.rename(tmp_path.with_name(tmp_path.name + "-gone"))
        try:
            response, took = timed(lambda: anon.get("/healthz"))
        finally:
            tmp_path.with_name(tmp_path.name + "-gone").rename(settings.data_dir)
    assert response.status_code == 503 and took < 3
    assert response.json()["database"]["ok"] is False and response.json()["redis"]["ok"] is True
    assert response.json()["worker"]["ok"] is True


# -- laseros db backup -------------------------------------------------------------------------------


def test_db_backup_copies_a_consistent_database_while_writes_go_on(settings):
    database = settings.data_dir / "laseros.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE pairs (n INTEGER, half TEXT)")
    stop = threading.Event()

    def write_pairs() -> None:
        # Each transaction writes two rows; a consistent copy never holds half a pair.
        conn = sqlite3.connect(database, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        n = 0
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO pairs VALUES (?, 'a')", (n,))
            conn.execute("INSERT INTO pairs VALUES (?, 'b')", (n,))
            conn.execute("COMMIT")
            n += 1
        conn.close()

    writer = threading.Thread(target=write_pairs)
    writer.start()
    try:
        # The backup starts while pairs are being written, well into the writing.
        wait_for(lambda: sql(settings, "SELECT count(*) FROM pairs")[0][0] >= 200, 20, "the writer to get going")
        result = CliRunner().invoke(cli, ["db", "backup"], env=cli_env(settings))
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    copy = Path(result.output.strip())
    assert copy.parent == settings.data_dir / "backups" and copy.name.startswith("laseros-") and copy.suffix == ".db"
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        halves = conn.execute("SELECT n, count(*) FROM pairs GROUP BY n HAVING count(*) != 2").fetchall()
        copied = conn.execute("SELECT count(*) FROM pairs").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (4,)
    assert halves == [] and copied > 0
    # A second backup gets its own file.
    again = CliRunner().invoke(cli, ["db", "backup"], env=cli_env(settings))
    assert again.exit_code == 0 and Path(again.output.strip()) != copy


def test_db_backup_refuses_when_there_is_no_database(tmp_path):
    result = CliRunner().invoke(cli, ["db", "backup"], env={"LASEROS_DATA_DIR": str(tmp_path), "DATABASE_URL": ""})
    assert result.exit_code != 0 and "There is no database" in result.output


# -- Litestream replication and laseros db restore ---------------------------------------------------


def test_the_litestream_config_is_valid_for_the_installed_litestream(settings):
    env = litestream_env(settings)
    listed = subprocess.run(
        [LITESTREAM, "databases", "-config", str(LITESTREAM_CONFIG)], env=env, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert str(settings.data_dir / "laseros.db") in listed.stdout
    assert "file" in listed.stdout


def replicated(env: dict[str, str], folder: Path) -> set[str]:
    """The LS-… references a database restored from the replica right now would hold."""
    trial = folder / "trial-restore.db"
    for path in (trial, Path(f"{trial}-wal"), Path(f"{trial}-shm")):
        path.unlink(missing_ok=True)
    database = Path(env["LASEROS_DATA_DIR"]) / "laseros.db"
    restore = [LITESTREAM, "restore", "-config", str(LITESTREAM_CONFIG), "-o", str(trial), str(database)]
    if subprocess.run(restore, env=env, capture_output=True).returncode != 0:
        return set()
    with sqlite3.connect(trial) as conn:
        rows = conn.execute("SELECT reference FROM inventory_transactions WHERE reference LIKE 'LS-%'").fetchall()
    conn.close()
    return {row[0] for row in rows}


def test_a_database_restored_from_the_litestream_replica_has_every_acknowledged_write(settings, tmp_path):
    env = {**litestream_env(settings), "LITESTREAM_SYNC_INTERVAL": "200ms"}
    database = settings.data_dir / "laseros.db"
    log = (tmp_path / "litestream.log").open("wb")
    replicating = subprocess.Popen(
        [LITESTREAM, "replicate", "-config", str(LITESTREAM_CONFIG)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    manager = browser(settings)
    try:
        wait_for(lambda: list((settings.data_dir / "replica").rglob("*.ltx")), 30, "the first snapshot")
        acknowledged = []
        for n in range(12):  # stock bought through the app: each one a committed transaction
            response = manager.post_form(
                f"/inventory/{STOCKED_ID}/transaction",
                {"transaction_type": "Purchase", "quantity": "3", "unit_cost": "1450.00", "reference": f"LS-{n}"},
            )
            if response.status_code == 303:
                acknowledged.append(f"LS-{n}")
        assert len(acknowledged) == 12
        on_hand = sql(settings, "SELECT quantity_on_hand FROM inventory_items WHERE id = ?", (STOCKED_ID,))[0][0]
        # Shipped: a trial restore of the replica (elsewhere) already holds every acknowledged write.
        wait_for(lambda: replicated(env, tmp_path) >= set(acknowledged), 30, "the writes to reach the replica")
    finally:
        manager.__exit__(None, None, None)
        # Killed, not stopped: nothing may depend on a last sync at shutdown.
        replicating.send_signal(signal.SIGKILL)
        replicating.wait(10)
        log.close()
    assert (settings.data_dir / "replica").is_dir()

    for lost in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        lost.unlink(missing_ok=True)
    result = CliRunner().invoke(cli, ["db", "restore"], env=cli_env(settings))
    assert result.exit_code == 0, result.output + (tmp_path / "litestream.log").read_text()
    assert f"Restored {database}" in result.output

    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        references = [
            row[0] for row in conn.execute("SELECT reference FROM inventory_transactions WHERE reference LIKE 'LS-%'")
        ]
        restored_on_hand = conn.execute(
            "SELECT quantity_on_hand FROM inventory_items WHERE id = ?", (STOCKED_ID,)
        ).fetchone()[0]
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (4,)
    assert sorted(references) == sorted(acknowledged)
    assert restored_on_hand == on_hand == 500 + 3 * 12
    # The restored database works in the app again.
    manager = browser(settings)
    try:
        assert manager.get(f"/inventory/{STOCKED_ID}").status_code == 200
    finally:
        manager.__exit__(None, None, None)


def test_db_restore_refuses_to_replace_an_existing_database_without_force(settings):
    database = settings.data_dir / "laseros.db"
    before = database.read_bytes()
    result = CliRunner().invoke(cli, ["db", "restore"], env=cli_env(settings))
    assert result.exit_code != 0 and "--force" in result.output
    assert database.read_bytes() == before


def test_db_restore_with_force_moves_the_current_database_aside(settings, tmp_path):
    env = litestream_env(settings)
    # A replica taken now (one pass of replication), then a write that never reaches it.
    once = subprocess.run(
        [LITESTREAM, "replicate", "-once", "-config", str(LITESTREAM_CONFIG)], env=env, capture_output=True, text=True
    )
    assert once.returncode == 0, once.stderr
    sql(settings, "UPDATE inventory_items SET location = 'Rack Z' WHERE id = ?", (STOCKED_ID,))
    result = CliRunner().invoke(cli, ["db", "restore", "--force"], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    aside = sorted(settings.data_dir.glob("laseros.db.replaced-*"))
    assert [path.name.split(".replaced-")[0] for path in aside] == ["laseros.db"]
    assert "moved aside" in result.output
    assert sql(settings, "SELECT location FROM inventory_items WHERE id = ?", (STOCKED_ID,)) == [("Rack A",)]
    with sqlite3.connect(aside[0]) as conn:
        assert conn.execute("SELECT location FROM inventory_items WHERE id = ?", (STOCKED_ID,)).fetchone() == (
            "Rack Z",
        )


def test_db_restore_says_so_when_there_is_no_replica(settings):
    (settings.data_dir / "laseros.db").unlink()
    result = CliRunner().invoke(cli, ["db", "restore"], env=cli_env(settings))
    assert result.exit_code != 0 and "Litestream could not restore" in result.output
    assert not (settings.data_dir / "laseros.db").exists()


@pytest.mark.parametrize("line", ["web", "worker", "release"])
def test_the_procfile_runs_web_under_litestream_a_worker_and_migrations(line):
    procfile = dict(
        entry.split(":", 1) for entry in (Path(__file__).resolve().parent.parent / "Procfile").read_text().splitlines()
    )
    command = procfile[line].strip()
    expected = {
        "web": ["LASEROS_WORKER=off", "litestream replicate -config litestream.yml", '-exec "laseros serve --no-demo'],
        "worker": ["laseros worker"],
        "release": ["laseros db upgrade"],
    }[line]
    for part in expected:
        assert part in command
