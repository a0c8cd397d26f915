"""Writers in separate processes on one SQLite file, so SQLite's own lock and busy_timeout are what they meet.

Within one app every write goes through a one-connection pool (see ``laseros.db``): concurrent
requests queue in Python and never contend for SQLite's lock. A web process beside a worker (or
a second web process) does contend, and that is what these processes do. A test calls
``in_processes(settings, task, jobs)``: each job runs in a ``python -m tests.contention`` process
of its own, which sets up (imports, its own app and engines, a login), says it is ready, and waits;
once every process is ready they are let go together and each fires its writes concurrently.

Tasks (each returns ``{"results": [...], "errors": [...]}``):
  bump            ``count`` counter bumps (``next_code_value``) on engines of its own; results: the values
  create-clients  ``count`` POST /clients/new as the manager; results: status codes
  create-projects ``count`` POST /projects/new for ``client_id`` as the manager; results: status codes
  end-runs        POST /phone/run/end for each ``[session token, run id, sheets used]``; results: status codes
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from laseros.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
READY = "ready"
GO = "go"


# -- the test's side -------------------------------------------------------------------------------------


def in_processes(settings: Settings, task: str, jobs: list[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    """Run ``task`` once per job, each in a process of its own, all let go at once; their results, in job order.

    ``folder`` keeps each process's stderr (shown when one fails).
    """
    fields = {**dataclasses.asdict(settings), "data_dir": str(settings.data_dir)}
    started: list[tuple[subprocess.Popen[str], Path]] = []
    try:
        for number, job in enumerate(jobs):
            log = folder / f"{task}-{number}.log"
            with log.open("w") as errors:
                process = subprocess.Popen(
                    [sys.executable, "-m", "tests.contention"],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    text=True,
                )
            started.append((process, log))
            assert process.stdin is not None
            process.stdin.write(json.dumps({"task": task, "settings": fields, "job": job}) + "\n")
            process.stdin.flush()
        for process, log in started:  # every process set up and waiting ...
            assert process.stdout is not None
            said = process.stdout.readline().strip()
            assert said == READY, f"a {task} process said {said!r}:\n{log.read_text()}"
        for process, _ in started:  # ... then all of them at once
            assert process.stdin is not None
            process.stdin.write(GO + "\n")
            process.stdin.flush()
        results = []
        for process, log in started:
            out, _ = process.communicate(timeout=240)
            assert process.returncode == 0, f"a {task} process exited with {process.returncode}:\n{log.read_text()}"
            results.append(json.loads(out))
        return results
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.kill()
                process.wait(10)


# -- the process's side ----------------------------------------------------------------------------------


async def _all(calls: list[Any]) -> tuple[list[Any], list[str]]:
    """Await every call at once; the results, and what went wrong (exceptions, refused responses)."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    results: list[Any] = []
    errors: list[str] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            errors.append(repr(outcome))
            results.append(None)
        elif hasattr(outcome, "status_code"):
            results.append(outcome.status_code)
            if outcome.status_code != 303 or "database is locked" in outcome.text:
                errors.append(f"{outcome.status_code}: {outcome.text[:500]}")
        else:
            results.append(outcome)
    return results, errors


async def _bump(settings: Settings, job: dict[str, Any], go: asyncio.Future[None]) -> dict[str, Any]:
    from sqlalchemy import text

    from laseros.db import Database
    from laseros.domain.kernel.sequences import next_code_value

    db = Database.from_settings(settings)

    async def bump() -> int:
        async with db.session(write=True) as session:
            # Read, then write: the pattern that fails with deferred transactions.
            await session.execute(text("SELECT count(*) FROM clients"))
            value = await next_code_value(session, job["name"])
            await session.commit()
            return value

    try:
        async with db.session(write=False) as session:  # connected before the start
            await session.execute(text("SELECT 1"))
        _ready()
        await go
        results, errors = await _all([bump() for _ in range(job["count"])])
    finally:
        await db.dispose()
    return {"results": results, "errors": errors}


async def _over_http(settings: Settings, task: str, job: dict[str, Any], go: asyncio.Future[None]) -> dict[str, Any]:
    from litestar.testing import AsyncTestClient

    from laseros.app import create_app

    async with AsyncTestClient(app=create_app(settings)) as client:
        await client.get("/auth/login")
        csrf = client.cookies["csrftoken"]
        headers = {"x-csrftoken": csrf}
        if task != "end-runs":
            login = {"username": "manager", "password": job["password"]}
            logged_in = await client.post("/auth/login", data=login, headers=headers, follow_redirects=False)
            assert logged_in.status_code == 303, logged_in.text[:500]

        def post(url: str, data: dict[str, str], **extra: str) -> Any:
            return client.post(url, data=data, headers={**headers, **extra}, follow_redirects=False)

        if task == "create-clients":
            calls = [post("/clients/new", {"name": f"{job['prefix']} {n}"}) for n in range(job["count"])]
        elif task == "create-projects":
            calls = [
                post("/projects/new", {**job["fields"], "name": f"{job['prefix']} {n}"}) for n in range(job["count"])
            ]
        else:  # end-runs: each operator ends their own run, with their own session
            calls = [
                post(
                    "/phone/run/end",
                    {"run_id": str(run_id), "sheets_used": str(used), "job_finished": "1"},
                    cookie=f"csrftoken={csrf}; laseros_session={token}",
                )
                for token, run_id, used in job["runs"]
            ]
        _ready()
        await go
        results, errors = await _all(calls)
    return {"results": results, "errors": errors}


def _ready() -> None:
    print(READY, flush=True)


async def _main() -> None:
    from laseros.settings import Settings

    order = json.loads(sys.stdin.readline())
    fields = order["settings"]
    settings = Settings(**{**fields, "data_dir": Path(fields["data_dir"])})
    loop = asyncio.get_running_loop()
    go: asyncio.Future[None] = loop.create_future()

    def wait_for_go() -> None:
        said = sys.stdin.readline().strip()
        if said == GO:
            loop.call_soon_threadsafe(go.set_result, None)
        else:  # the test went away
            loop.call_soon_threadsafe(go.set_exception, EOFError(f"expected {GO!r}, got {said!r}"))

    # A daemon thread: a process that fails while setting up still exits (and the test sees why).
    threading.Thread(target=wait_for_go, daemon=True).start()
    if order["task"] == "bump":
        outcome = await _bump(settings, order["job"], go)
    else:
        outcome = await _over_http(settings, order["task"], order["job"], go)
    sys.stdout.write(json.dumps(outcome) + "\n")


if __name__ == "__main__":
    asyncio.run(_main())
