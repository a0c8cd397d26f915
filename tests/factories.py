"""Creating records through the same HTTP routes a user would use."""

from __future__ import annotations

import io
import re
from typing import Any

import ezdxf

from tests.support import ShopClient

PROJECT_DEFAULTS: dict[str, Any] = {
    "name": "Bracket set",
    "description": "",
    "material_type": "Mild Steel",
    "thickness_mm": "3.00",
    "sheet_size": "3000x1500",
    "sheets_required": "4",
    "parts_quantity": "120",
    "estimated_cut_time": "90",
    "quoted_price": "4500.00",
    "due_date": "2026-12-15",
}


def _id_from(response: Any, prefix: str) -> int:
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(rf"{prefix}/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def create_client(client: ShopClient, name: str = "Karoo Steel", **fields: str) -> int:
    data = {"name": name, "contact_person": "Johan", "email": "johan@example.com", "phone": "+27 82 555 0101"}
    return _id_from(client.post_form("/clients/new", {**data, **fields}), "/clients")


def create_project(client: ShopClient, client_id: int, **fields: str) -> int:
    data = {**PROJECT_DEFAULTS, "client_id": str(client_id), **fields}
    return _id_from(client.post_form("/projects/new", data), "/projects")


def paid_project(client: ShopClient, client_id: int, **fields: str) -> int:
    project_id = create_project(client, client_id, **fields)
    assert client.post_form(f"/projects/{project_id}/pop").status_code == 303
    return project_id


def results(page: str) -> str:
    """The list part of a page (what active search swaps), without headers or flash messages."""
    return page[page.index('id="results"') :]


def create_quote(client: ShopClient, project_id: int, **fields: str) -> int:
    """A draft quote for the project (POST /quotes/new)."""
    return _id_from(client.post_form("/quotes/new", {"project_id": str(project_id), **fields}), "/quotes")


def add_quote_line(client: ShopClient, quote_id: int, description: str, quantity: str, unit_price: str) -> None:
    data = {"description": description, "quantity": quantity, "unit_price": unit_price}
    response = client.post_form(f"/quotes/{quote_id}/lines", data)
    assert response.status_code == 303, response.text[:2000]


def accepted_quote(client: ShopClient, project_id: int, lines: list[tuple[str, str, str]]) -> int:
    """A quote with ``lines`` (description, quantity, unit price), sent and accepted."""
    quote_id = create_quote(client, project_id)
    for line in lines:
        add_quote_line(client, quote_id, *line)
    for status in ("sent", "accepted"):
        assert client.post_form(f"/quotes/{quote_id}/status", {"status": status}).status_code == 303
    return quote_id


def move_queue_item(client: ShopClient, item_id: int, status: str) -> Any:
    """Press a queue move as the queue page does; a cancel goes through its confirmation page's form."""
    if status == "Cancelled":
        return client.post_form(f"/queue/{item_id}/cancel", {})
    return client.post_form(f"/queue/{item_id}/status", {"status": status})


# -- products and files --------------------------------------------------------------------------


def create_product(client: ShopClient, name: str = "Gate bracket", **fields: str) -> int:
    data = {"name": name, "unit_price": "125.50", "material_type": "Mild Steel", "thickness_mm": "3", "is_active": "on"}
    response = client.post_form("/products/new", {**data, **fields})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[-1])


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def dxf_bytes(radius: float = 10, units: int = 4) -> bytes:
    doc = ezdxf.new(units=units)
    doc.modelspace().add_circle((0, 0), radius)
    doc.modelspace().add_lwpolyline([(-20, -20), (20, -20), (20, 20), (-20, 20)], close=True)
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def upload(client: ShopClient, url: str, name: str, content: bytes, **kwargs: Any):  # type: ignore[no-untyped-def]
    headers = {"x-csrftoken": client.csrf()}
    return client.post(url, files={"file": (name, content)}, headers=headers, follow_redirects=False, **kwargs)


# -- presets ----------------------------------------------------------------------------------------

PRESET = {
    "name": "MS 3 mm O2",
    "material_type": "Mild Steel",
    "thickness_mm": "3.00",
    "power_w": "3000",
    "speed_mm_min": "2800",
    "frequency_hz": "5000",
    "gas": "O2",
    "pressure_bar": "0.60",
    "nozzle_mm": "1.20",
    "focus_mm": "-1.50",
    "pierce_time_s": "0.80",
    "is_active": "1",
    "notes": "Standard mild steel cut",
}


def create_preset(admin, **fields: str | None) -> int:
    data = {k: v for k, v in {**PRESET, **fields}.items() if v is not None}
    response = admin.post_form("/presets/new", data)
    assert response.status_code == 303, response.text[:2000]
    match = re.fullmatch(r"/presets/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))
