"""The company logo: an admin uploads a PNG or JPEG on the settings page (checked by its content, size-limited,
kept under the uploads folder), the quote and invoice print view and PDF show it, and removing it works."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from pypdf import PdfReader

from laseros.domain.shop_settings.logo import MAX_LOGO_BYTES
from tests.factories import add_quote_line, create_client, create_project, create_quote


def png(width: int = 4, height: int = 2) -> bytes:
    """A real (tiny, red) PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def upload_logo(client, name: str, content: bytes):
    return client.post(
        "/admin/settings/logo",
        files={"logo": (name, content)},
        headers={"x-csrftoken": client.csrf()},
        follow_redirects=False,
    )


def logo_row(db_query) -> list[tuple]:
    return db_query("SELECT value FROM shop_settings WHERE key = 'company_logo'")


@pytest.fixture
def quote_id(manager) -> int:
    project_id = create_project(manager, create_client(manager, "Logo Co"), quoted_price="")
    quote_id = create_quote(manager, project_id)
    add_quote_line(manager, quote_id, "Cutting", "1", "100.00")
    return quote_id


def test_an_admin_uploads_a_logo_the_documents_show_it_and_removing_it_works(admin, manager, settings, db_query,
                                                                             quote_id):  # fmt: skip
    assert "No logo yet" in admin.get("/admin/settings").text
    response = upload_logo(admin, "logo.png", png())
    assert response.status_code == 303, response.text[:1000]
    [(stored,)] = logo_row(db_query)
    assert stored.startswith("branding/logo-") and stored.endswith(".png")
    assert (settings.uploads_dir / stored).read_bytes() == png()
    assert db_query("SELECT action, details FROM activity_log WHERE details LIKE 'company_logo%'") == [
        ("settings_changed", "company_logo: uploaded logo.png")
    ]
    page = admin.get("/admin/settings").text
    assert 'src="/admin/settings/logo/image"' in page and "Remove the logo" in page
    image = admin.get("/admin/settings/logo/image")
    assert image.status_code == 200 and image.content == png() and image.headers["content-type"] == "image/png"

    # The print view carries it inline (its own policy allows data: images); the PDF embeds it.
    printed = manager.get(f"/quotes/{quote_id}/print")
    assert 'class="logo" src="data:image/png;base64,' in printed.text and 'alt="' in printed.text
    assert "img-src 'self' data:" in printed.headers["content-security-policy"]
    pdf = PdfReader(io.BytesIO(manager.get(f"/quotes/{quote_id}.pdf").content))
    assert any(page.images for page in pdf.pages)

    # A new logo replaces the old one, whose file goes.
    assert upload_logo(admin, "new.png", png(8, 8)).status_code == 303
    [(replaced,)] = logo_row(db_query)
    assert replaced != stored and not (settings.uploads_dir / stored).exists()

    assert admin.post_form("/admin/settings/logo/delete").status_code == 303
    assert logo_row(db_query) == []
    assert not (settings.uploads_dir / replaced).exists()
    assert 'class="logo"' not in manager.get(f"/quotes/{quote_id}/print").text
    pdf = PdfReader(io.BytesIO(manager.get(f"/quotes/{quote_id}.pdf").content))
    assert not any(page.images for page in pdf.pages)
    assert admin.get("/admin/settings/logo/image").status_code == 404


def test_a_jpeg_is_accepted_too(admin, db_query):
    assert upload_logo(admin, "logo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 64).status_code == 303
    assert logo_row(db_query)[0][0].endswith(".jpg")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.png", b"GIF89a not a png at all", "not a real PNG or JPEG picture"),
        ("logo.pdf", b"%PDF-1.4 a pdf", "A logo is a .png or .jpg picture."),
        ("drawing.dxf", b"0\nSECTION\n", "A logo is a .png or .jpg picture."),
        ("logo.png", b"", "The file is empty."),
    ],
)
def test_what_is_not_a_png_or_jpeg_is_422_beside_the_field_and_nothing_is_kept(
    admin, settings, db_query, name, content, message
):
    response = upload_logo(admin, name, content)
    assert response.status_code == 422 and message in response.text
    assert 'id="e-logo"' in response.text
    assert logo_row(db_query) == []
    assert not (settings.uploads_dir / "branding").exists() or not list((settings.uploads_dir / "branding").iterdir())
    assert not list((settings.uploads_dir / ".incoming").glob("*"))


def test_a_logo_over_the_size_limit_is_413(admin, db_query):
    response = upload_logo(admin, "big.png", png() + b"\x00" * MAX_LOGO_BYTES)
    assert response.status_code == 413 and "The logo is larger than 2 MB." in response.text
    assert logo_row(db_query) == []


def test_removing_when_there_is_no_logo_is_404(admin):
    assert admin.post_form("/admin/settings/logo/delete").status_code == 404


@pytest.mark.parametrize("role", ["manager", "viewer", "operator"])
def test_only_an_admin_changes_the_logo(login_as, admin, db_query, role):
    client = login_as(role)
    assert upload_logo(client, "logo.png", png()).status_code == 403
    assert logo_row(db_query) == []
    assert upload_logo(admin, "logo.png", png()).status_code == 303
    assert client.post_form("/admin/settings/logo/delete").status_code == 403
    assert len(logo_row(db_query)) == 1
