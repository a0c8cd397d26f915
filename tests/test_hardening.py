"""The app holds under abuse: exports, odd input, headers, templates that burn CPU (docs/security.md).

Each test here is one thing an attacker (or a confused browser) tried that once gave a 500, ran a
formula in a spreadsheet or froze the server.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time

import pytest
from litestar.routes import HTTPRoute

from laseros.app import create_app
from laseros.domain.kernel.message_templates import MAX_OUTPUT, TemplateTooCostly, check_template, render_message
from laseros.web.export import FORMULA_TRIGGERS, cell
from laseros.web.security import CONTENT_SECURITY_POLICY
from tests.factories import create_client, paid_project

HOSTILE = ["=1+1", "+2+3", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tTAB", "\rCR", '=HYPERLINK("x")', "  =spaced"]


# -- CSV cells a spreadsheet could run ---------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_a_text_cell_that_could_run_as_a_formula_is_written_as_text(value):
    assert cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Karoo Steel", "0825550101", "", "A-1", "R 15,000.00"])
def test_ordinary_text_is_written_as_it_is(value):
    assert cell(value) == value


def test_numbers_stay_numbers_even_when_negative():
    from decimal import Decimal

    assert cell(Decimal("-12.50")) == "-12.50" and cell(-3) == "-3" and cell(0) == "0"


def _csv(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))


def test_every_export_neutralises_hostile_text(manager, login_as, db_query):
    admin_client = login_as("admin")
    names = {}
    for index, value in enumerate(HOSTILE):
        client_id = create_client(manager, name=f"{value} client {index}", contact_person=value, notes=value)
        names[client_id] = value
        paid_project(manager, client_id, name=f"{value} job", description=value)
    db_query("SELECT 1")
    exports = ["/clients", "/projects", "/queue", "/queue/runs", "/inventory", "/inventory/transactions",
               "/presets", "/notifications/list", "/comms/drafts?status=all", "/admin/logins"]  # fmt: skip
    for url in exports:
        sep = "&" if "?" in url else "?"
        rows = _csv(admin_client.get(f"{url}{sep}format=csv"))
        for row in rows:
            for column, value in row.items():
                if value and value.lstrip(" ")[:1] in FORMULA_TRIGGERS:
                    # Only a number may start with "-" (a negative amount), and never with anything else.
                    assert re.fullmatch(r"-\d+(\.\d+)?", value), (url, column, value)
    assert any(row["name"].startswith("'=1+1") for row in _csv(admin_client.get("/clients?format=csv")))


def test_exports_are_for_managers_and_admins(login_as):
    viewer = login_as("viewer")
    for url in ["/clients", "/projects", "/queue", "/inventory", "/presets", "/comms/drafts", "/queue/runs"]:
        response = viewer.get(url, params={"format": "csv"})
        assert response.status_code == 403, url
        assert "export" in response.text
        assert viewer.get(url).status_code == 200, url


# -- inputs that gave 500s ---------------------------------------------------------------------------


def _int_routes(app) -> list[str]:  # type: ignore[no-untyped-def]
    paths = []
    for route in app.routes:
        if isinstance(route, HTTPRoute) and ":int}" in route.path and "GET" in route.methods:
            paths.append(re.sub(r"\{\w+:int\}", str(2**64), route.path))
    return sorted(set(paths))


def test_an_id_no_record_can_have_is_not_found_on_every_route(login_as, settings):
    admin_client = login_as("admin")
    paths = _int_routes(create_app(settings))
    assert len(paths) >= 10
    for path in paths:
        assert admin_client.get(path).status_code == 404, path


# (Not named "page": that is pytest-playwright's fixture, and the clash moved the e2e suite in between.)
@pytest.mark.parametrize("page_number", ["99999", str(2**63), str(2**70)])
def test_a_page_past_the_last_shows_the_last(manager, page_number):
    create_client(manager)
    response = manager.get("/clients", params={"page": page_number})
    assert response.status_code == 200 and "Karoo Steel" in response.text


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2026-02-30"])
def test_list_filter_dates_out_of_range_are_not_an_error(manager, day):
    for url in ["/queue/runs", "/inventory/transactions"]:
        assert manager.get(url, params={"start": day, "end": day}).status_code == 200
        response = manager.get(url, params={"start": day, "end": day, "format": "csv"})
        assert response.status_code == 200 and response.text.startswith("\ufeff")


def test_a_reorder_with_a_page_that_is_not_a_number_is_not_an_error(manager):
    response = manager.post_form("/queue/reorder", {"item": "1", "page": "abc"}, htmx=True)
    assert response.status_code in (204, 409, 422)  # never a 500


def test_a_multipart_form_that_is_not_utf8_is_refused_and_writes_nothing(manager, db_query):
    body = b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\n\xff\xfe\xfa\r\n--b--\r\n'
    response = manager.post(
        "/clients/new",
        content=body,
        headers={"x-csrftoken": manager.csrf(), "content-type": "multipart/form-data; boundary=b"},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert db_query("SELECT count(*) FROM clients") == [(0,)]


@pytest.mark.parametrize("path", ["/static/css/app.css%00x", "/static/%00", "/clients/%01"])
def test_a_path_with_a_control_character_is_not_found(manager, path):
    assert manager.get(path).status_code == 404


def test_options_and_head_on_pages_are_never_an_error(manager, anon):
    for path in ["/dashboard", "/clients", "/projects", "/queue", "/inventory", "/admin/settings", "/auth/login"]:
        assert manager.options(path).status_code in (204, 403, 405), path
        assert manager.head(path).status_code in (200, 403, 405), path
        assert anon.options(path, follow_redirects=False).status_code in (204, 303, 405), path


# -- text with control and invisible characters ---------------------------------------------------------


@pytest.mark.parametrize("name", ["\x00", "Karoo\x00Steel", "Karoo\x1bSteel", "Karoo \ufffd Steel"])
def test_text_with_a_control_character_is_refused_beside_the_field(manager, db_query, name):
    response = manager.post_form("/clients/new", {"name": name})
    assert response.status_code == 422
    assert 'id="e-name"' in response.text
    assert db_query("SELECT count(*) FROM clients") == [(0,)]


@pytest.mark.parametrize("name", ["   ", "\u200b\u200b", "\u2060 \ufeff", "\t\n"])
def test_a_required_field_of_only_invisible_characters_is_empty(manager, db_query, name):
    response = manager.post_form("/clients/new", {"name": name})
    assert response.status_code == 422 and "This field is required." in response.text
    assert db_query("SELECT count(*) FROM clients") == [(0,)]


def test_tabs_and_line_ends_in_notes_are_kept(manager, db_query):
    create_client(manager, notes="line one\r\nline two\tindented")
    assert db_query("SELECT notes FROM clients") == [("line one\nline two\tindented",)]


# -- headers -----------------------------------------------------------------------------------------


def _assert_security_headers(response) -> None:  # type: ignore[no-untyped-def]
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert len(response.headers.get_list("content-type")) <= 1
    assert response.headers.get("content-type", "").count("charset") <= 1


def test_every_response_carries_the_security_headers(manager, anon):
    for path in ["/dashboard", "/clients", "/queue", "/no-such-page", "/static/css/app.css", "/clients?format=csv"]:
        _assert_security_headers(manager.get(path))
    _assert_security_headers(anon.get("/auth/login"))
    _assert_security_headers(anon.get("/healthz"))


def test_pages_have_no_inline_scripts_styles_or_handlers(manager, login_as):
    operator = login_as("operator")
    pages = [manager.get(p).text for p in ("/dashboard", "/clients", "/projects", "/queue", "/reports/daily")]
    pages.append(operator.get("/phone/home").text)
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert "<style" not in html
        assert not re.search(r"\s(on[a-z]+|style)=\"", html)
        assert "hx-on" not in html


# -- message templates that burn CPU --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}", "range() gives at most"),
        ("{{ range(10**9)|length }}", "does not render"),
        (
            "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}"
            "{% endfor %}",
            "takes longer than",
        ),
        ("{{ 'x' * 1000000000 }}", "longer than"),
        ("{{ ((10**60)**60)**60 }}", "grow too large"),
        ("{{ '{:>999999999}'.format(client_name) }}", "unsafe"),
        ("{{ '%999999999s' % client_name }}", "not allowed"),
        ("{% set x = 'x' * 20000 %}{{ x ~ x }}", "cannot use"),
        ("{{ ('a' * 19999)|replace('a', 'a' * 19999) }}", "longer than"),
        ("{{ client_name.__class__.__mro__ }}", "unsafe"),
    ],
)
def test_a_costly_template_is_refused_quickly(source, reason):
    started = time.monotonic()
    problem = check_template(source)
    assert problem is not None and reason in problem, problem
    assert time.monotonic() - started < 2.5


def test_a_normal_template_renders():
    text = render_message("Hi {{ client_name|title }}{% if due_date %}, due {{ due_date }}{% endif %}.", {
        "client_name": "jo", "due_date": "1 Dec",
    })  # fmt: skip
    assert text == "Hi Jo, due 1 Dec."
    with pytest.raises(TemplateTooCostly):
        render_message("{% for i in range(999) %}{{ client_name }}{% endfor %}", {"client_name": "x" * 100})
    assert MAX_OUTPUT < 100 * 999


def test_a_costly_template_is_refused_at_save_without_freezing_the_server(settings, served_app, db_query):
    """While the save spends its second refusing the template, /healthz answers at once."""
    admin = served_app.client("admin")
    loop = "{% for n in range(1000) %}"
    nested = loop * 3 + "{% endfor %}" * 3
    refused: list[object] = []
    saving = threading.Thread(
        target=lambda: refused.append(
            admin.post("/comms/templates/new", data={"name": "Costly", "channel": "whatsapp", "body": nested})
        )
    )
    saving.start()
    time.sleep(0.2)
    started = time.monotonic()
    health = served_app.anonymous().get("/healthz")
    assert time.monotonic() - started < 1.0 and health.status_code in (200, 503)
    saving.join(10)
    response = refused[0]
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "too costly" in response.text  # type: ignore[attr-defined]
    assert db_query("SELECT count(*) FROM message_templates WHERE name = 'Costly'") == [(0,)]
