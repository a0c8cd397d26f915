"""No dead ends: a GET of a form's POST address goes to the form's page; error pages know who is signed in.

After a refused form (422) the address bar shows the form's action; a reload — phones do it by
themselves after sleeping — is a GET of that address. Every POST-only route is tried here, taken
from the app's own route table, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from laseros import migrate
from laseros.app import create_app
from laseros.db import Database
from laseros.demo import DEMO_LOGINS, load_demo
from laseros.domain.clients.services import ClientService
from laseros.domain.kernel.shop import ShopCalendar
from laseros.settings import Settings
from tests.factories import create_client
from tests.support import DISPLAY_NAMES, STOCKED_ID, ShopClient, make_settings, run, sql

DEMO_PASSWORDS = {login.username: login.password for login in DEMO_LOGINS}
PARAM = re.compile(r"\{(\w+):\w+\}")

# Which table a path parameter's id comes from (``item_id`` depends on the area).
ID_SOURCES = {
    "client_id": "SELECT MIN(id) FROM clients",
    "project_id": "SELECT MIN(id) FROM projects",
    "draft_id": "SELECT MIN(id) FROM outbound_drafts WHERE status = 'pending'",
    "extra_id": "SELECT MIN(id) FROM extra_operators",
    "user_id": "SELECT MIN(id) FROM users WHERE role = 'operator'",
    "preset_id": "SELECT MIN(id) FROM presets",
    "run_id": "SELECT MAX(id) FROM laser_runs",
    "/queue/item_id": "SELECT MIN(id) FROM queue_items",
    "/inventory/item_id": "SELECT MIN(id) FROM inventory_items",
    "/admin/user_id": "SELECT MIN(id) FROM users",
    "product_id": "SELECT MIN(id) FROM products",
    "line_id": "SELECT MIN(id) FROM project_products",
    "file_id": "SELECT MIN(id) FROM stored_files",
    "comm_id": "SELECT MIN(id) FROM communications",
}
MISSING = 99_999_999  # the id used where the demo shop has no record of that kind


def post_only_paths(app: Litestar) -> list[str]:
    """Every route that takes a POST and has no GET of its own, as its path template."""
    return sorted(
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute) and "POST" in route.methods and "GET" not in route.methods
    )


def concrete(settings: Settings, template: str) -> tuple[str, bool]:
    """The template with real ids put in, and whether every id names a record the demo shop has."""
    real = True

    def value(match: re.Match[str]) -> str:
        nonlocal real
        name = match.group(1)
        query = ID_SOURCES.get(name) or ID_SOURCES.get(f"/{template.split('/')[1]}/{name}")
        # A parameter this table does not know yet (a new area) is still tried, with a missing id.
        found = sql(settings, query)[0][0] if query else None
        if found is None:
            real = False
            return str(MISSING)
        return str(found)

    return PARAM.sub(value, template), real


def follow(client: ShopClient, path: str) -> tuple[list[str], int]:
    """The addresses a GET of ``path`` is redirected through, and the status of the last."""
    hops = [path]
    response = client.get(path, follow_redirects=False)
    while response.status_code in (301, 302, 303, 307) and len(hops) < 6:
        hops.append(response.headers["location"])
        response = client.get(hops[-1], follow_redirects=False)
    return hops, response.status_code


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A database with the demo shop in it: a record of every kind a route can name."""
    folder: Path = tmp_path_factory.mktemp("demo")
    settings = make_settings(folder)
    migrate.upgrade(settings)

    async def fill() -> None:
        db = Database.from_settings(settings)
        try:
            assert await load_demo(db, ShopCalendar(settings.shop_timezone))
        finally:
            await db.dispose()

    run(fill())
    return settings


@pytest.fixture
def demo_as(demo: Settings) -> Iterator[object]:
    clients: list[ShopClient] = []

    def factory(username: str, mode: str) -> ShopClient:
        client = ShopClient(app=create_app(demo))
        client.__enter__()
        clients.append(client)
        assert client.login(username, DEMO_PASSWORDS[username], mode).status_code == 303
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


def test_the_route_table_has_post_only_addresses_to_try(demo):
    paths = post_only_paths(create_app(demo))
    # The ones the issue names are among them (and a route added later is tried automatically).
    assert {"/phone/run/end", "/inventory/{item_id:int}/transaction", "/projects/{project_id:int}/status"} <= set(paths)


@pytest.mark.parametrize(("username", "mode"), [("admin", "pc"), ("manager", "pc"), ("operator", "phone")])
def test_a_signed_in_get_of_every_post_only_address_lands_on_a_page(demo, demo_as, username, mode):
    client = demo_as(username, mode)
    for template in post_only_paths(client.app):
        path, real = concrete(demo, template)
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, (path, response.status_code, response.text[:300])
        owner = response.headers["location"]
        assert owner.startswith("/") and not owner.startswith("//") and owner != path, owner
        hops, status = follow(client, path)
        on_phone = template.startswith("/phone")
        if not real:
            # No such record in the demo shop: the form's page says so, signed in (never 405 or 500).
            assert status in (200, 403, 404), (username, hops, status)
        elif (username == "admin" and not on_phone) or (username == "operator" and on_phone):
            assert status == 200, (username, hops, status)
        else:
            # A page this role or mode does not reach says so (signed in), never a 405 or a 500.
            assert status in (200, 403), (username, hops, status)
            if status == 403:
                assert "Log in<" not in client.get(hops[-1]).text


def test_the_owner_is_the_page_with_the_form(demo, demo_as):
    admin = demo_as("admin", "pc")
    item = sql(demo, "SELECT MIN(id) FROM inventory_items")[0][0]
    project = sql(demo, "SELECT MIN(id) FROM projects")[0][0]
    expected = {
        f"/inventory/{item}/transaction": f"/inventory/{item}",
        f"/projects/{project}/status": f"/projects/{project}",
        "/queue/reorder": "/queue",
        "/reports/daily/generate": "/reports/daily",
        "/admin/logins/unlock": "/admin/logins",
        "/phone/run/end": "/",
    }
    for path, owner in expected.items():
        response = admin.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, owner), path
    # The query string of the dead address is not carried along.
    response = admin.get(f"/projects/{project}/status?stage=cancelled", follow_redirects=False)
    assert response.headers["location"] == f"/projects/{project}"


def test_the_redirect_says_what_happened_and_nothing_was_written(demo, demo_as):
    admin = demo_as("admin", "pc")
    before = sql(demo, "SELECT COUNT(*) FROM inventory_transactions")[0][0]
    page = admin.get(f"/inventory/{STOCKED_ID}/transaction")  # followed to the item's page
    assert page.status_code == 200
    assert "Nothing was sent again" in page.text
    assert sql(demo, "SELECT COUNT(*) FROM inventory_transactions")[0][0] == before


def test_the_phone_reload_after_a_refused_end_of_run_returns_to_the_phone(demo, demo_as):
    operator = demo_as("operator", "phone")
    hops, status = follow(operator, "/phone/run/end")
    assert status == 200
    assert hops[-1] == "/phone/home"
    assert "405" not in operator.get("/phone/run/end").text


def test_an_anonymous_get_goes_to_the_owner_and_then_to_log_in(anon):
    hops, status = follow(anon, "/phone/run/end")
    assert hops[1] == "/"
    assert hops[-1] == "/auth/login" and status == 200


def test_other_methods_on_a_post_only_address_stay_405(manager):
    for method in ("PUT", "DELETE", "PATCH"):
        response = manager.request(method, "/queue/reorder", headers={"x-csrftoken": manager.csrf()})
        assert response.status_code == 405, method
        assert "POST" in response.headers["allow"]
        assert DISPLAY_NAMES["manager"] in response.text
        assert "Log in" not in response.text


def test_a_404_for_a_signed_in_user_shows_them_signed_in_with_a_way_back(manager, anon):
    for path in ("/projects/99999", "/projects/no-such-page", "/no/such/address"):
        page = manager.get(path)
        assert page.status_code == 404, path
        assert DISPLAY_NAMES["manager"] in page.text, path
        assert 'href="/auth/login"' not in page.text
        assert 'id="sidebar"' in page.text  # the office menu
    assert 'href="/projects">Back to Projects<' in manager.get("/projects/99999").text
    assert 'href="/dashboard">Back to the dashboard<' in manager.get("/no/such/address").text
    anonymous = anon.get("/auth/login/no-such-page")
    assert anonymous.status_code == 404
    assert 'href="/auth/login">Log in<' in anonymous.text


def test_a_404_on_the_phone_shows_the_operator_and_their_jobs(operator):
    page = operator.get("/phone/run/99999")
    assert page.status_code == 404
    assert DISPLAY_NAMES["operator"] in page.text
    assert 'href="/phone/home">Back to your jobs<' in page.text
    assert "Log in<" not in page.text


def test_a_403_shows_who_is_signed_in_and_goes_home(viewer, operator):
    page = viewer.get("/admin/settings")
    assert page.status_code == 403
    assert DISPLAY_NAMES["viewer"] in page.text
    assert 'href="/dashboard">Back to the dashboard<' in page.text
    page = operator.get("/clients")
    assert page.status_code == 403
    assert DISPLAY_NAMES["operator"] in page.text
    assert 'href="/phone/home">Back to your jobs<' in page.text


def test_a_500_shows_who_is_signed_in(manager, monkeypatch):
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    client_id = create_client(manager)
    monkeypatch.setattr(ClientService, "get", broken)
    page = manager.get(f"/clients/{client_id}")
    assert page.status_code == 500
    assert DISPLAY_NAMES["manager"] in page.text
    assert "boom" not in page.text
    assert 'href="/clients">Back to Clients<' in page.text


def test_json_clients_still_get_json(manager):
    response = manager.get("/no/such/address", headers={"accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["status"] == 404
