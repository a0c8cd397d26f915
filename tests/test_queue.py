"""The cutting queue: order by drag and drop, inline plans, status buttons that move the project."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import re

import pytest
from sqlalchemy import event

from laseros.db import Database
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.queue.services import RANK_GAP, QueueService, _single_move
from tests.factories import create_client, move_queue_item, paid_project


@pytest.fixture
def queue_ids(manager, db_query):
    """Four paid projects; returns their queue item ids in queue order."""
    client_id = create_client(manager)
    for number in range(4):
        paid_project(manager, client_id, name=f"Job {number}")
    return [row[0] for row in db_query("SELECT id FROM queue_items ORDER BY rank")]


def shown_order(client) -> list[int]:
    import re

    text = client.get("/queue").text
    return [int(i) for i in re.findall(r'id="queue-item-(\d+)"', text)]


def test_queue_lists_active_items_in_order_with_their_details(manager, queue_ids):
    page = manager.get("/queue").text
    assert shown_order(manager) == queue_ids
    assert "Karoo Steel" in page and "Mild Steel" in page and "3.0 mm" in page and "1 h 30 min" in page
    assert "Normal" in page


def test_dragging_an_item_to_the_top_survives_reload(manager, queue_ids, db_query):
    a, b, c, d = queue_ids
    response = manager.post_form("/queue/reorder", {"item": [d, a, b, c]}, htmx=True)
    assert response.status_code == 204  # the page already shows the new order
    assert shown_order(manager) == [d, a, b, c]
    assert db_query("SELECT entity_id, action FROM activity_log WHERE action='reordered'") == [(d, "reordered")]


def test_dragging_down_and_into_the_middle(manager, queue_ids):
    a, b, c, d = queue_ids
    manager.post_form("/queue/reorder", {"item": [b, c, a, d]}, htmx=True)
    assert shown_order(manager) == [b, c, a, d]
    manager.post_form("/queue/reorder", {"item": [b, d, c, a]}, htmx=True)
    assert shown_order(manager) == [b, d, c, a]


def test_reorder_without_javascript_redirects_back(manager, queue_ids):
    a, b, _, _ = queue_ids
    response = manager.post_form("/queue/reorder", {"item": [b, a]})
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    assert shown_order(manager)[:2] == [b, a]


def test_the_pages_move_buttons_without_javascript_swap_a_row_with_its_neighbour(manager, queue_ids, db_query):
    """Each row's ↑ and ↓ (inside <noscript>) submit the page's one move form with the two ids."""
    import re

    a, b, c, _ = queue_ids
    page = manager.get("/queue").text
    assert page.count('<form id="queue-move" method="post" action="/queue/reorder">') == 1
    assert f'form="queue-move" name="swap" value="{b}-{a}"' in page  # b's ↑
    assert f'form="queue-move" name="swap" value="{c}-{b}"' in page  # b's ↓
    csrf = re.search(r'id="queue-move"[^>]*><input type="hidden" name="_csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    response = manager.post_form("/queue/reorder", {"swap": f"{c}-{b}"})
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    assert shown_order(manager)[:3] == [a, c, b]
    before = db_query("SELECT id, rank FROM queue_items ORDER BY id")
    assert manager.post_form("/queue/reorder", {"swap": f"{c}-x"}).status_code == 422
    assert db_query("SELECT id, rank FROM queue_items ORDER BY id") == before


def test_a_move_writes_one_queue_row_and_one_activity_row(settings, manager, queue_ids):
    a, b, c, d = queue_ids

    async def move() -> int:
        db = Database.from_settings(settings)
        written = 0

        @event.listens_for(db.write_engine.sync_engine, "after_cursor_execute")
        def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            nonlocal written
            if statement.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE"):
                written += max(cursor.rowcount, 0)

        async with db.session(write=True) as session:
            await QueueService(session, Actor(None, "test"), ShopCalendar("Africa/Johannesburg")).reorder([d, a, b, c])
        await db.dispose()
        return written

    assert asyncio.run(move()) == 2


def test_stale_or_foreign_orders_are_refused_without_changes(manager, queue_ids, db_query):
    a, b, c, d = queue_ids
    ranks = db_query("SELECT id, rank FROM queue_items ORDER BY id")
    # Garbled ids are not understood (422); a list that is not one move of the queue is refused (409).
    for bad, status in (([d, c, b, a], 409), ([a, a, b], 409), ([a, 999], 409), ([a, "x"], 422)):
        response = manager.post_form("/queue/reorder", {"item": bad}, htmx=True)
        assert response.status_code == status, bad
    assert db_query("SELECT id, rank FROM queue_items ORDER BY id") == ranks


def test_only_active_items_can_be_reordered(manager, queue_ids, db_query):
    a, b, _, _ = queue_ids
    manager.post_form(f"/queue/{a}/cancel", {})
    response = manager.post_form("/queue/reorder", {"item": [b, a]}, htmx=True)
    assert response.status_code == 409


def test_single_move_detection():
    assert _single_move([1, 2, 3, 4], [4, 1, 2, 3]) == 4
    assert _single_move([1, 2, 3, 4], [2, 3, 1, 4]) == 1
    assert _single_move([1, 2, 3, 4], [1, 3, 2, 4]) in (2, 3)
    assert _single_move([1, 2], [1, 2]) is None
    with pytest.raises(Conflict):
        _single_move([1, 2, 3, 4], [4, 3, 2, 1])


def test_repeated_moves_into_one_gap_renumber_and_keep_the_order(settings, manager, queue_ids, db_query):
    a, b, c, d = queue_ids
    order = [a, b, c, d]
    # Keep dropping the last item between the first two: halves the same gap every time.
    for _ in range(25):
        moved = order.pop()
        order.insert(1, moved)
        assert manager.post_form("/queue/reorder", {"item": order}, htmx=True).status_code == 204
        assert shown_order(manager) == order
    ranks = [row[0] for row in db_query("SELECT rank FROM queue_items ORDER BY rank")]
    assert len(set(ranks)) == 4


def test_start_moves_the_project_to_cutting(manager, queue_ids, db_query):
    item = queue_ids[0]
    response = manager.post_form(f"/queue/{item}/status", {"status": "In Progress", "next": "/queue"})
    assert response.status_code == 303
    assert db_query(
        "SELECT q.status, q.started_at IS NOT NULL, p.stage FROM queue_items q JOIN projects p "
        "ON p.id = q.project_id WHERE q.id = ?",
        (item,),
    ) == [("In Progress", 1, "cutting")]
    details = [
        r[0] for r in db_query("SELECT details FROM activity_log WHERE action IN ('status_changed','stage_changed')")
    ]
    assert "Queued → In Progress (queue button)" in details
    assert "Queued (ready to cut) → Cutting (queue sync)" in details


@pytest.mark.parametrize(
    ("steps", "status", "stage"),
    [
        (["In Progress", "Completed"], "Completed", "ready"),
        (["Cancelled"], "Cancelled", "cancelled"),
        (["In Progress", "Queued"], "Queued", "queued"),
        (["Cancelled", "Queued"], "Queued", "queued"),
        (["In Progress", "Completed", "Queued"], "Queued", "queued"),
    ],
)
def test_queue_status_and_project_stage_stay_in_step(manager, queue_ids, db_query, steps, status, stage):
    item = queue_ids[0]
    for step in steps:
        assert move_queue_item(manager, item, step).status_code == 303
    assert db_query(
        "SELECT q.status, p.stage FROM queue_items q JOIN projects p ON p.id = q.project_id WHERE q.id = ?", (item,)
    ) == [(status, stage)]


def test_requeued_items_go_to_the_end(manager, queue_ids):
    first = queue_ids[0]
    manager.post_form(f"/queue/{first}/cancel", {})
    manager.post_form(f"/queue/{first}/status", {"status": "Queued"})
    assert shown_order(manager)[-1] == first


def test_forbidden_queue_moves_are_409_and_change_nothing(manager, queue_ids, db_query):
    item = queue_ids[0]
    response = manager.post_form(f"/queue/{item}/status", {"status": "Completed"})
    assert response.status_code == 409
    assert "cannot become Completed" in response.text
    assert db_query("SELECT status FROM queue_items WHERE id = ?", (item,)) == [("Queued",)]
    assert manager.post_form(f"/queue/{item}/status", {"status": "Exploded"}).status_code == 422


def test_status_button_from_the_queue_page_returns_the_queue_section(manager, queue_ids):
    item = queue_ids[0]
    response = manager.post_form(f"/queue/{item}/status", {"status": "In Progress", "filter": "active"}, htmx=True)
    assert response.status_code == 200
    assert 'id="queue-section"' in response.text and "<html" not in response.text
    assert "Cutting — no run going" in response.text  # the job state, said once (queue/state.py)


def test_inline_edit_of_priority_date_and_notes(manager, queue_ids, db_query):
    item = queue_ids[1]
    data = {"priority": "Urgent", "scheduled_date": "2026-12-01", "notes": "Client collecting at 2pm"}
    response = manager.post_form(f"/queue/{item}/edit", data, htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="queue-item-{item}"')
    assert db_query("SELECT priority, scheduled_date, notes FROM queue_items WHERE id = ?", (item,)) == [
        ("Urgent", "2026-12-01", "Client collecting at 2pm")
    ]
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type='queue' AND action='updated'") == [(1,)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"priority": "Whenever", "scheduled_date": "", "notes": ""}, "Choose one of"),
        ({"priority": "High", "scheduled_date": "next week", "notes": ""}, "YYYY-MM-DD"),
        ({"priority": "High", "scheduled_date": "", "notes": "n" * 10_000}, "2000 characters"),
    ],
)
def test_bad_inline_edit_is_422_and_writes_nothing(manager, queue_ids, db_query, data, message):
    item = queue_ids[0]
    before = db_query("SELECT priority, scheduled_date, notes FROM queue_items WHERE id = ?", (item,))
    response = manager.post_form(f"/queue/{item}/edit", data, htmx=True)
    assert response.status_code == 422 and message in response.text
    full = manager.post_form(f"/queue/{item}/edit", data)
    assert full.status_code == 422 and message in full.text and "<html" in full.text
    assert db_query("SELECT priority, scheduled_date, notes FROM queue_items WHERE id = ?", (item,)) == before


def test_all_filter_includes_finished_items(manager, queue_ids):
    item = queue_ids[0]
    manager.post_form(f"/queue/{item}/cancel", {})
    assert item not in shown_order(manager)
    assert f'id="queue-item-{item}"' in manager.get("/queue", params={"filter": "all"}).text


def test_queue_item_page(manager, queue_ids):
    page = manager.get(f"/queue/{queue_ids[2]}")
    assert page.status_code == 200
    assert "#3" in page.text and "Start" in page.text and "Timeline" in page.text
    assert manager.get("/queue/999").status_code == 404


def test_queue_csv(manager, queue_ids):
    response = manager.get("/queue", params={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [int(r["id"]) for r in rows] == queue_ids
    assert rows[0]["status"] == "Queued" and rows[0]["project_code"].startswith("JB-")
    assert {"priority", "scheduled_date", "estimated_minutes", "material_type", "created_at"} <= set(rows[0])


def test_dashboard_shows_counts_and_the_next_jobs(manager, queue_ids):
    page = manager.get("/dashboard").text
    assert "In the queue" in page and ">4<" in page
    assert "Next in the queue" in page and "Job 0" in page


def test_rank_gap_is_wide(queue_ids, db_query):
    ranks = [row[0] for row in db_query("SELECT rank FROM queue_items ORDER BY rank")]
    assert all(b - a == RANK_GAP for a, b in itertools.pairwise(ranks))


@pytest.mark.parametrize("named_sheets_up_to", [4, 0], ids=["named sheets", "every sheet"])
def test_each_queued_job_shows_whether_its_sheets_are_on_the_shelf(manager, db_query, monkeypatch, named_sheets_up_to):
    """ok: covered after the jobs ahead; blocked: waiting on material — which is where a queued job goes
    when the sheets it counted on are taken away (a usage here), so queue and stage never disagree.
    The same whether the badges' statements name the listed sheets (a few) or read every sheet (a page)."""
    monkeypatch.setattr("laseros.domain.inventory.stock.NAMED_SHEETS_UP_TO", named_sheets_up_to)
    on_hand = db_query("SELECT quantity_on_hand FROM inventory_items WHERE item_code = 'MS-3-3015'")[0][0]
    manager.post_form("/inventory/1/transaction", {"transaction_type": "Usage", "quantity": str(on_hand - 8)})
    client_id = create_client(manager)
    first = paid_project(manager, client_id, name="First", sheets_required="4")
    second = paid_project(manager, client_id, name="Second", sheets_required="4")
    manager.post_form("/inventory/1/transaction", {"transaction_type": "Usage", "quantity": "3"})  # 5 left
    assert db_query("SELECT stage FROM projects WHERE id = ?", (second,)) == [("waiting_material",)]
    third = paid_project(manager, client_id, name="Third", sheets_required="4")
    assert db_query("SELECT stage FROM projects WHERE id = ?", (third,)) == [("waiting_material",)]

    def badge(project_id: int) -> str:
        row = manager.get("/queue").text.split(f'href="/projects/{project_id}"')[1].split("</tr>")[0]
        return re.search(r'class="badge stock-(\w+)"', row).group(1)  # type: ignore[union-attr]

    assert (badge(first), badge(second), badge(third)) == ("ok", "blocked", "blocked")
    # The project page shows the same badge as the queue.
    assert "stock-blocked" in manager.get(f"/projects/{second}").text


def test_the_queue_page_redraws_only_the_rows_that_changed(manager, queue_ids, login_as, db_query):
    """Rows come from the fragment cache while what they show is the same; any change draws the row again,
    for every user of the process (the key holds everything the row shows), so no page is ever stale."""
    cache = manager.app.template_engine.engine.globals["cached_fragment"].__self__
    first = manager.get("/queue").text
    drawn = cache.misses
    assert manager.get("/queue").text.count('class="queue-row') == 4 and cache.misses == drawn  # none drawn
    b = queue_ids[1]
    assert (
        manager.post_form(f"/queue/{b}/edit", {"priority": "Urgent", "scheduled_date": "", "notes": "Rush"}).status_code
        == 303
    )
    page = manager.get("/queue").text
    row = page.split(f'id="queue-item-{b}"')[1].split("</tr>")[0]
    assert "priority-urgent" in row and "Rush" in row and cache.misses == drawn + 1
    # A change made elsewhere (another process, the database itself) shows just the same.
    db_query("UPDATE clients SET name = 'Karoo Steel & Sons'")
    assert manager.get("/queue").text.count("Karoo Steel &amp; Sons") == 4 and first != page


def test_the_fragment_cache_keeps_the_latest_it_was_asked_for():
    from markupsafe import Markup

    from laseros.web.fragments import FragmentCache

    cache = FragmentCache(size=2)
    drawn: list[str] = []

    def draw(text: str):
        return lambda: drawn.append(text) or Markup(f"<b>{text}</b>")

    assert cache.get("a", draw("a")) == Markup("<b>a</b>")
    cache.get("b", draw("b"))
    cache.get("a", draw("a"))  # kept: drawn once
    cache.get("c", draw("c"))  # pushes out b, the least recently used
    cache.get("b", draw("b"))
    assert drawn == ["a", "b", "c", "b"] and (cache.hits, cache.misses) == (1, 4)
