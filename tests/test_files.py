"""Files on projects and products: checked by content and size, stored under generated names,
downloaded as attachments, previewed, and removed from disk only after the commit."""

from __future__ import annotations

import math

import pytest

from tests.factories import PDF, PNG, create_client, create_product, create_project, dxf_bytes, paid_project, upload
from tests.support import browser, make_settings


def stored_names(settings) -> set[str]:  # type: ignore[no-untyped-def]
    folder = settings.uploads_dir
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.exists() else set()


@pytest.fixture
def project_id(manager) -> int:
    return create_project(manager, create_client(manager), sheet_size="3000x1500")


def test_a_dxf_upload_is_stored_analysed_and_previewed(manager, project_id, db_query, settings):
    response = upload(manager, f"/projects/{project_id}/files", "Bracket plate.dxf", dxf_bytes())
    assert response.status_code == 303, response.text
    [(file_id, name, storage, kind)] = db_query("SELECT id, original_name, storage_name, kind FROM stored_files")
    assert (name, kind) == ("Bracket plate.dxf", "dxf")
    assert "Bracket" not in storage and storage.endswith(".dxf")
    assert storage in stored_names(settings)
    analysis = manager.get(f"/files/{file_id}/analysis").json()
    assert analysis["cut_length_mm"] == pytest.approx(2 * math.pi * 10 + 160, abs=1e-3)
    assert analysis["pierces"] == 2 and analysis["width_mm"] == pytest.approx(40)
    assert analysis["area_mm2"] == pytest.approx(1600 - math.pi * 100, abs=0.5)
    page = manager.get(f"/projects/{project_id}")
    assert f"/files/{file_id}/preview.svg" in page.text and "Cut length" in page.text
    preview = manager.get(f"/files/{file_id}/preview.svg")
    assert preview.status_code == 200 and preview.headers["content-type"].startswith("image/svg+xml")
    assert "<svg" in preview.text


def test_download_is_an_attachment_with_the_original_name_and_nosniff(manager, project_id, db_query):
    upload(manager, f"/projects/{project_id}/files", "drawing.pdf", PDF)
    [(file_id,)] = db_query("SELECT id FROM stored_files")
    response = manager.get(f"/files/{file_id}")
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-disposition"].startswith("attachment")
    assert "drawing.pdf" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"].startswith("application/pdf")


def test_images_are_shown_as_thumbnails(manager, project_id, db_query):
    upload(manager, f"/projects/{project_id}/files", "photo.png", PNG)
    [(file_id,)] = db_query("SELECT id FROM stored_files")
    assert f"/files/{file_id}/thumbnail" in manager.get(f"/projects/{project_id}").text
    thumb = manager.get(f"/files/{file_id}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 100, "Only .dxf, .pdf, .png and .jpg"),
        ("drawing.dxf", b"MZ\x90\x00" + b"\x00" * 100, "not a real .dxf"),
        ("photo.png", b"\x7fELF" + b"\x00" * 100, "not a real .png"),
        ("doc.pdf", PNG, "not a real .pdf"),
        ("empty.pdf", b"", "empty"),
        ("broken.dxf", b"0\nSECTION\n2\nENTITIES\n0\nLINE\nxx\n1.0\n", "could not be read, even in recovery mode"),
    ],
)
def test_refused_files_are_422_and_nothing_is_stored(manager, project_id, db_query, settings, name, content, message):
    response = upload(manager, f"/projects/{project_id}/files", name, content)
    assert response.status_code == 422, response.text
    assert message in response.text and "File refused" in response.text
    assert db_query("SELECT count(*) FROM stored_files") == [(0,)]
    assert stored_names(settings) == set()


def test_a_file_over_the_limit_is_413_and_nothing_is_stored(project_id, db_query, settings):
    small = browser(make_settings(settings.data_dir, max_upload_mb=1))
    try:
        response = upload(small, f"/projects/{project_id}/files", "big.pdf", PDF + b"0" * (1024 * 1024 + 10))
        # Told by its announced length or counted as it streams: refused either way.
        chunks = (PDF + b"0" * 4096 for _ in range(300))
        streamed = small.post(
            f"/projects/{project_id}/files",
            content=_multipart_stream(chunks),
            headers={"x-csrftoken": small.csrf(), "content-type": "multipart/form-data; boundary=XyZ"},
            follow_redirects=False,
        )
    finally:
        small.__exit__(None, None, None)
    assert response.status_code == 413 and "larger than 1 MB" in response.text
    assert streamed.status_code == 413
    assert db_query("SELECT count(*) FROM stored_files") == [(0,)]
    assert stored_names(settings) == set()


def _multipart_stream(chunks):  # type: ignore[no-untyped-def]
    yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n\r\n'
    yield from chunks
    yield b"\r\n--XyZ--\r\n"


def test_upload_without_the_csrf_token_is_refused(manager, project_id, db_query):
    response = manager.post(f"/projects/{project_id}/files", files={"file": ("a.pdf", PDF)}, follow_redirects=False)
    assert response.status_code == 403
    assert db_query("SELECT count(*) FROM stored_files") == [(0,)]


def test_a_plain_form_sends_the_token_as_a_field_before_the_file(manager, project_id, db_query):
    response = manager.post(
        f"/projects/{project_id}/files",
        data={"_csrf_token": manager.csrf()},
        files={"file": ("a.pdf", PDF)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert db_query("SELECT count(*) FROM stored_files") == [(1,)]


def test_deleting_a_file_removes_it_from_disk_after_the_commit(manager, project_id, db_query, settings):
    upload(manager, f"/projects/{project_id}/files", "a.dxf", dxf_bytes())
    [(file_id,)] = db_query("SELECT id FROM stored_files")
    assert len(stored_names(settings)) == 2  # the drawing and its preview
    assert manager.post_form(f"/files/{file_id}/delete").status_code == 303
    assert db_query("SELECT count(*) FROM stored_files") == [(0,)]
    assert stored_names(settings) == set()


def test_deleting_a_project_or_its_client_removes_their_files(manager, db_query, settings):
    client_id = create_client(manager)
    first = create_project(manager, client_id)
    second = create_project(manager, client_id)
    upload(manager, f"/projects/{first}/files", "a.pdf", PDF)
    upload(manager, f"/projects/{second}/files", "b.pdf", PDF)
    assert manager.post_form(f"/projects/{first}/delete").status_code == 303
    assert len(stored_names(settings)) == 1
    assert manager.post_form(f"/clients/{client_id}/delete").status_code == 303
    assert stored_names(settings) == set()
    assert db_query("SELECT count(*) FROM stored_files") == [(0,)]


def test_files_on_a_product_go_with_the_product(manager, db_query, settings):
    product = create_product(manager)
    assert upload(manager, f"/products/{product}/files", "p.png", PNG).status_code == 303
    assert "p.png" in manager.get(f"/products/{product}").text
    assert manager.post_form(f"/products/{product}/delete").status_code == 303
    assert stored_names(settings) == set()


def test_viewers_read_and_download_but_do_not_upload(manager, viewer, project_id, db_query):
    upload(manager, f"/projects/{project_id}/files", "a.dxf", dxf_bytes())
    [(file_id,)] = db_query("SELECT id FROM stored_files")
    assert viewer.get(f"/files/{file_id}").status_code == 200
    assert viewer.get(f"/files/{file_id}/preview.svg").status_code == 200
    assert viewer.get(f"/files/{file_id}/analysis").status_code == 200
    assert upload(viewer, f"/projects/{project_id}/files", "b.pdf", PDF).status_code == 403
    assert viewer.post_form(f"/files/{file_id}/delete").status_code == 403
    assert db_query("SELECT count(*) FROM stored_files") == [(1,)]


def test_operators_see_the_part_on_their_run_page_only(manager, operator, db_query):
    project = paid_project(manager, create_client(manager))
    upload(manager, f"/projects/{project}/files", "part.dxf", dxf_bytes())
    [(file_id,)] = db_query("SELECT id FROM stored_files")
    assert operator.get(f"/files/{file_id}/preview.svg").status_code == 403
    assert operator.get(f"/files/{file_id}").status_code == 403
    started = operator.post_form("/phone/run/start", {"project_id": str(project)})
    assert started.status_code == 303, started.text
    run_url = started.headers["location"]
    page = operator.get(run_url)
    assert f"{run_url}/files/{file_id}/preview.svg" in page.text
    assert operator.get(f"{run_url}/files/{file_id}/preview.svg").status_code == 200
    other = create_project(manager, create_client(manager, "Other"))
    upload(manager, f"/projects/{other}/files", "other.dxf", dxf_bytes())
    other_file = db_query("SELECT max(id) FROM stored_files")[0][0]
    assert operator.get(f"{run_url}/files/{other_file}/preview.svg").status_code == 404


def test_the_attachment_helper_files_bytes_on_a_project(manager, project_id, db, db_query, settings):
    from laseros.domain.files.services import FileStore
    from laseros.domain.kernel.actor import Actor
    from tests.support import run

    async def add() -> int:
        async with db.session(write="actions") as session:
            store = FileStore(session, Actor(None, "Email in"), settings.uploads_dir)
            stored = await store.add_to_project(project_id, "from-email.dxf", dxf_bytes())
            return stored.id

    file_id = run(add())
    assert db_query("SELECT original_name, uploaded_by FROM stored_files WHERE id = ?", (file_id,)) == [
        ("from-email.dxf", "Email in")
    ]


def test_a_backup_archives_the_uploads_and_a_restore_puts_them_back(manager, project_id, db_query, settings):
    from laseros.backup import backup_database, restore_uploads, uploads_archive_for

    upload(manager, f"/projects/{project_id}/files", "kept.pdf", PDF)
    [(storage,)] = db_query("SELECT storage_name FROM stored_files")
    written = backup_database(settings)
    archive = uploads_archive_for(written)
    assert archive.exists()
    (settings.uploads_dir / storage).unlink()
    aside = restore_uploads(settings, archive)
    assert (settings.uploads_dir / storage).read_bytes() == PDF
    assert aside is not None and aside.exists()  # the folder it replaced is kept, not deleted
    assert manager.get(f"/files/{db_query('SELECT id FROM stored_files')[0][0]}").content == PDF


def test_an_analysis_past_its_time_limit_is_refused_not_hung(manager, project_id, db_query, settings, monkeypatch):
    import time

    from laseros.domain.files import dxf, services

    def slow(path):  # type: ignore[no-untyped-def]
        time.sleep(3)
        raise AssertionError("not reached in time")

    monkeypatch.setattr(services, "ANALYSIS_SECONDS", 0.5)
    monkeypatch.setattr(dxf, "analyse", slow)
    started = time.perf_counter()
    response = upload(manager, f"/projects/{project_id}/files", "slow.dxf", dxf_bytes())
    assert time.perf_counter() - started < 2.5
    assert response.status_code == 422 and "longer than 0.5 s" in response.text
    assert db_query("SELECT count(*) FROM stored_files") == [(0,)]
    assert stored_names(settings) == set()


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("Plaat ø 3mm.pdf", "Plaat ø 3mm.pdf"),
        ('..\\..\\evil"\r\nX-Bad: 1.pdf', "evilX-Bad: 1.pdf"),
        ("/etc/passwd.pdf", "passwd.pdf"),
    ],
)
def test_hostile_or_foreign_file_names_are_kept_safely(manager, project_id, db_query, settings, sent, kept):
    assert upload(manager, f"/projects/{project_id}/files", sent, PDF).status_code == 303
    [(file_id, name, storage)] = db_query("SELECT id, original_name, storage_name FROM stored_files")
    assert name == kept
    assert (settings.uploads_dir / storage).is_file() and "/" not in storage and ".." not in storage
    response = manager.get(f"/files/{file_id}")
    assert response.status_code == 200 and "x-bad" not in response.headers


def test_a_malformed_multipart_body_is_422_not_500(manager, project_id, db_query, settings):
    headers = {"x-csrftoken": manager.csrf(), "content-type": "multipart/form-data; boundary=B"}
    many = (
        b"".join(b'--B\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % n for n in range(40))
        + b"--B--\r\n"
    )
    for body in (b"--B\r\nno headers end", many, b"not multipart at all"):
        response = manager.post(f"/projects/{project_id}/files", content=body, headers=headers, follow_redirects=False)
        assert response.status_code == 422, (body[:30], response.status_code)
    assert db_query("SELECT count(*) FROM stored_files") == [(0,)]
    assert stored_names(settings) == set()


def test_a_damaged_dxf_is_read_in_recovery_mode_and_says_so(manager, project_id, db_query):
    damaged = b"  0\nSECTION\n  2\nENTITIES\n  0\nLINE\n 10\nnan-ish\n"
    assert upload(manager, f"/projects/{project_id}/files", "damaged.dxf", damaged).status_code == 303
    assert "recovery mode" in manager.get(f"/projects/{project_id}").text
