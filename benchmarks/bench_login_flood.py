"""A login flood must not stall the shop: a manager's save under 8 flooding clients within 5× of its time alone.

Starts ``laseros serve`` (the real server, as the shop runs it) on a fresh database behind a
proxy it trusts, so each flooding client can come from addresses of its own. Measures a
manager's save (creating a client: one write transaction) alone, then while 8 clients post
wrong passwords as fast as they can:

- from rotating addresses: every attempt runs the argon2 check (the worst case for CPU);
- from one address: after its 20 failures the address is refused (429) before any check.

Each refused sign-in answers after a 1 s throttle (``LASEROS_LOGIN_FAILURE_DELAY_S``), so a
client that waits for its answers gets about one try a second. The same floods are then run
against a server with the throttle off (0 s), where only the limit on concurrent argon2 checks
stands between the flood and the shop: that is the figure for an attacker with many connections.

    .venv/bin/python benchmarks/bench_login_flood.py [--saves 60]

Prints the medians, the p95s and the ratio to the save alone; the target is ratio ≤ 5.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from itertools import count
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_foundation import SECRET_KEY, make_settings, percentile
from benchmarks.bench_shop_floor import ShopServer
from laseros import migrate
from laseros.domain.admin.services import UserService
from laseros.services import open_services

MANAGER_PASSWORD = "bench-manager-password"
FLOODERS = 8
TARGET_RATIO = 5.0


def build(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    settings = make_settings(folder)
    migrate.upgrade(settings)

    async def users() -> None:
        async with open_services(settings) as services, services.db.session(write=True) as session:
            await UserService(session).create("manager", MANAGER_PASSWORD, "manager", "Bench Manager")

    asyncio.run(users())
    return folder / "laseros.db"


def logged_in(base_url: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    client.get("/auth/login")
    client.headers["x-csrftoken"] = client.cookies["csrftoken"]
    assert client.post("/auth/login", data={"username": "manager", "password": MANAGER_PASSWORD}).status_code == 303
    client.post("/auth/select-mode", data={"mode": "pc"})
    return client


def saves(client: httpx.Client, how_many: int, names: count[int]) -> list[float]:
    timings = []
    for _ in range(how_many):
        started = time.perf_counter()
        response = client.post("/clients/new", data={"name": f"Flood test client {next(names)}"})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 303, response.status_code
    return timings


def flood(base_url: str, stop: threading.Event, rotate: bool, sent: list[int], seed: int) -> None:
    client = httpx.Client(base_url=base_url, timeout=30)
    client.get("/auth/login")
    client.headers["x-csrftoken"] = client.cookies["csrftoken"]
    n = 0
    while not stop.is_set():
        address = f"10.{seed}.{n // 250 % 250}.{n % 250 + 1}" if rotate else "192.0.2.66"
        client.post(
            "/auth/login",
            data={"username": f"guess{n % 50}", "password": "wrong-password"},
            headers={"X-Forwarded-For": address},
        )
        n += 1
    sent.append(n)
    client.close()


def under_flood(
    base_url: str, client: httpx.Client, how_many: int, rotate: bool, names: count
) -> tuple[list[float], int]:
    stop = threading.Event()
    sent: list[int] = []
    threads = [threading.Thread(target=flood, args=(base_url, stop, rotate, sent, i + 1)) for i in range(FLOODERS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the flood is going
    timings = saves(client, how_many, names)
    stop.set()
    for thread in threads:
        thread.join(30)
    return timings, sum(sent)


def line(label: str, timings: list[float], alone: float | None = None) -> str:
    median = statistics.median(timings)
    ratio = f"  ratio {median / alone:4.2f}" if alone else ""
    return f"  {label:<34} median {median:7.1f} ms  p95 {percentile(timings, 95):7.1f} ms{ratio}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=60)
    args = parser.parse_args()
    names = count(1)
    with tempfile.TemporaryDirectory(prefix="laseros-flood-") as tmp:
        source = build(Path(tmp) / "source")
        results = {}
        problems: list[str] = []
        for delay in ("1.0", "0"):
            env = {"LASEROS_TRUSTED_PROXIES": "127.0.0.1", "LASEROS_SECRET_KEY": SECRET_KEY}
            env["LASEROS_LOGIN_FAILURE_DELAY_S"] = delay
            with ShopServer(source, Path(tmp) / f"served-{delay}", env=env) as server:
                client = logged_in(server.base_url)
                saves(client, 10, names)  # warm up
                alone = saves(client, args.saves, names)
                rotating = under_flood(server.base_url, client, args.saves, True, names)
                one_address = under_flood(server.base_url, client, args.saves, False, names)
                results[delay] = (alone, rotating, one_address)
                problems += server.log_problems()
    print("Login flood: a manager's save (POST /clients/new) with 8 clients posting wrong passwords")
    worst_throttled = 0.0
    for delay, (alone, (rotating, rotating_sent), (one_address, one_sent)) in results.items():
        base = statistics.median(alone)
        print(f" refused sign-ins answer after {delay} s:")
        print(line("alone", alone))
        print(line(f"flood, rotating addresses ({rotating_sent} tries)", rotating, base))
        print(line(f"flood, one address ({one_sent} tries)", one_address, base))
        worst = max(statistics.median(rotating), statistics.median(one_address)) / base
        if delay != "0":
            worst_throttled = worst
    ok = worst_throttled <= TARGET_RATIO and not problems
    print(
        f"  target (as served): median ratio ≤ {TARGET_RATIO:g} → {'met' if ok else 'MISSED'}"
        f" (worst {worst_throttled:.2f})"
    )
    for problem in problems[:5]:
        print("  server:", problem)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
