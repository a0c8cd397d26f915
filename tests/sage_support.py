"""What the Sage tests share that is not a fixture: the fake's endpoints, connecting both back ends,
adding a client through the app, reading the database (the fixtures are in conftest)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from laseros.settings import SageEndpoints, Settings
from tests.fake_sage import FakeSage
from tests.support import ShopClient

SECRET_KEY = "test-secret-key"


def endpoints_for(fake: FakeSage, **overrides: object) -> SageEndpoints:
    values: dict[str, object] = {
        "za_url": fake.za_url,
        "auth_url": fake.auth_url,
        "token_url": fake.token_url,
        "api_url": fake.api_url,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "pace_s": 0.0,
        "timeout_s": 0.5,
        "attempts": 3,
        "backoff_s": 0.01,
        "max_wait_s": 0.05,
    }
    return SageEndpoints(**{**values, **overrides})  # type: ignore[arg-type]


def query(settings: Settings, statement: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(Path(settings.data_dir) / "laseros.db") as conn:
        return conn.execute(statement, params).fetchall()


def connect_za(client: ShopClient, fake: FakeSage, **overrides: str):  # type: ignore[no-untyped-def]
    form = {"username": fake.username, "password": fake.password, "api_key": fake.api_key, **overrides}
    return client.post_form("/sage/za", form)


def add_client(client: ShopClient, name: str, email: str = "") -> int:
    response = client.post_form("/clients/new", {"name": name, "email": email})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def connect_v31(client: ShopClient, fake: FakeSage):  # type: ignore[no-untyped-def]
    start = client.get("/sage/connect", follow_redirects=False)
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    assert location.startswith(fake.base_url + "/oauth/auth?")
    params = parse_qs(urlsplit(location).query)
    assert params["filter"] == ["apiv3.1"] and params["client_id"] == [fake.client_id]
    assert params["response_type"] == ["code"] and params["redirect_uri"][0].endswith("/sage/callback")
    state = params["state"][0]
    return client.get(f"/sage/callback?code={fake.issue_code()}&state={state}", follow_redirects=False), state
