"""A drawing on a job: uploaded on the office PC, its figures and preview shown, and the operator sees the part."""

from __future__ import annotations

import io
import re
from pathlib import Path

import ezdxf
import pytest
from playwright.sync_api import Page, Playwright, expect

from e2e.helpers import NewContext, desktop_page, end_run_on_phone, paid_job, phone_page, start_run

pytestmark = pytest.mark.e2e


def plate_dxf(path: Path) -> Path:
    """A 120 × 80 mm plate with a Ø20 hole: cut length 400 + 20π mm, two pierces."""
    doc = ezdxf.new(units=4)
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (120, 0), (120, 80), (0, 80)], close=True)
    msp.add_circle((60, 40), 10)
    stream = io.StringIO()
    doc.write(stream)
    path.write_text(stream.getvalue())
    return path


def image_loaded(page: Page, selector: str) -> bool:
    return bool(page.locator(selector).first.evaluate("(img) => img.complete && img.naturalWidth > 0"))


def test_a_drawing_uploaded_on_a_job_is_analysed_and_shown_on_the_operators_phone(
    new_context: NewContext, playwright: Playwright, tmp_path: Path
) -> None:
    office = desktop_page(new_context)
    project_id, code = paid_job(office, material="Mild Steel", thickness="3.0 mm", sheet_size="3000x1500", sheets=1)
    files = office.locator("#files")
    files.locator("input[type=file]").set_input_files(str(plate_dxf(tmp_path / "Plate 120x80.dxf")))
    files.get_by_role("button", name="Upload").click()
    expect(office.locator("#flash")).to_contain_text("Uploaded Plate 120x80.dxf")
    row = office.locator("#files .file-row").first
    expect(row).to_contain_text("120.0 × 80.0 mm")
    expect(row).to_contain_text("462.8 mm")  # 400 + 20π
    expect(row.locator(".dxf-figures")).to_contain_text(re.compile(r"Pierces\s*2"))
    expect(row.locator("img.dxf-preview")).to_be_visible()
    office.wait_for_function("() => { const i = document.querySelector('img.dxf-preview'); return i && i.complete; }")
    assert image_loaded(office, "img.dxf-preview")

    phone = phone_page(new_context, playwright)
    start_run(phone, project_id, code)
    part = phone.locator(".part-previews img")
    expect(part).to_be_visible()
    phone.wait_for_function("() => { const i = document.querySelector('.part-previews img'); return i && i.complete; }")
    assert image_loaded(phone, ".part-previews img")
    box = part.bounding_box()
    assert box is not None and box["width"] >= 250, box  # large on the phone, not a thumbnail
    end_run_on_phone(phone, 1, finished=True)
