"""What a user does over and over: log in, pick a mode, drag a queue row, make a paid job, cut it on the
phone; and layout checks. Shared by the e2e test modules (which never import each other or conftest)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, FloatRect, Locator, Page, Playwright, expect

PASSWORDS = {
    "admin": "laser-admin",
    "manager": "laser-manager",
    "operator": "laser-operator",
    "viewer": "laser-viewer",
}
SIDEBAR_LINKS = ("Dashboard", "Clients", "Projects", "Queue")
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE_DEVICE = "Pixel 7"
NewContext = Callable[..., BrowserContext]  # pytest-playwright's new_context fixture
LAYOUT_OF_HOME = {"/dashboard": "pc", "/phone/home": "phone", "/auth/login": "auth"}


def phone_context_args(playwright: Playwright, **overrides: Any) -> dict[str, Any]:
    """The Pixel 7 descriptor, minus the key that chooses a browser rather than a context."""
    args = {k: v for k, v in playwright.devices[PHONE_DEVICE].items() if k != "default_browser_type"}
    args.update(overrides)
    return args


def unique(prefix: str) -> str:
    """A record name no other test (or earlier run on the same server) uses."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def url(path_pattern: str) -> re.Pattern[str]:
    """Match the page URL by its path (and query), whatever host and port the server has."""
    return re.compile(rf"^https?://[^/]+{path_pattern}$")


def log_in(page: Page, username: str) -> None:
    """Log in through the form; ends on the mode choice."""
    page.goto("/auth/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(url("/auth/select-mode"))


def expect_layout(page: Page, path: str) -> None:
    """On `path`, drawn with its own layout (not the previous page's frame, styles and scripts)."""
    expect(page).to_have_url(url(path))
    expect(page.locator("body")).to_have_class(LAYOUT_OF_HOME[path])


def choose_mode(page: Page, mode: str) -> None:
    """Press "PC mode" or "Phone mode" on the mode choice page."""
    page.get_by_role("button", name=mode).click()
    expect_layout(page, "/dashboard" if mode == "PC mode" else "/phone/home")


def log_in_to_pc(page: Page, username: str) -> None:
    log_in(page, username)
    choose_mode(page, "PC mode")


def sidebar_link(page: Page, name: str) -> Locator:
    return page.locator("#sidebar").get_by_role("link", name=name, exact=True)


def settled(page: Page) -> None:
    """htmx has wired up the page: the document is parsed and no request or swap is under way.

    Content that htmx has just swapped in gets its behaviour (hx-get on inputs, SortableJS, ...)
    when the swap settles, a moment after the URL changes; a fast robot must wait for that.
    """
    page.wait_for_load_state("domcontentloaded")
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def go_via_sidebar(page: Page, name: str, path: str) -> None:
    sidebar_link(page, name).click()
    expect(page).to_have_url(url(path))
    settled(page)


def assert_inside_viewport(page: Page, locator: Locator) -> None:
    """The control is visible and entirely on screen without panning sideways."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    scroll_x = page.evaluate("window.scrollX")
    left, right = box["x"] + scroll_x, box["x"] + scroll_x + box["width"]
    assert left >= 0 and right <= viewport["width"] + 0.5, (
        f"{locator} spans x={left:.0f}..{right:.0f}, outside the {viewport['width']} px wide screen"
    )


def assert_pc_frame_usable(page: Page) -> None:
    """The PC frame (top bar and module menu) can be used at this width without panning."""
    header = page.locator("header.topbar")
    for name in ("Phone mode", "Log out"):
        assert_inside_viewport(page, header.get_by_role("button", name=name))
    for name in SIDEBAR_LINKS:
        assert_inside_viewport(page, sidebar_link(page, name))


def queue_row_ids(page: Page) -> list[str]:
    return page.locator("#queue-rows > tr").evaluate_all("rows => rows.map(r => r.id)")


def _box_at_rest(locator: Locator) -> FloatRect:
    """The element's box once it stops moving: wheel scrolling and SortableJS animations are async."""
    locator.evaluate(
        """async (el) => {
            let last = null;
            for (let frame = 0; frame < 120; frame++) {
                await new Promise((resolve) => requestAnimationFrame(resolve));
                const top = el.getBoundingClientRect().top;
                if (last !== null && Math.abs(top - last) < 0.5) return;
                last = top;
            }
        }"""
    )
    box = locator.bounding_box()
    assert box is not None, f"{locator} has no box"
    return box


def drag_queue_row_to_top(page: Page, row: Locator) -> None:
    """Drag a queue row by its handle and drop it above the first row, as a user would.

    SortableJS runs in fallback mode, so the drag is plain pointer events: press on the handle,
    move, and release. When the first row is off screen the user scrolls with the wheel while
    still holding the row. SortableJS looks at the pointer every 50 ms rather than on each move,
    so the row is held over the top until the list shows it there, then let go. Returns once
    the server has answered the reorder.
    """
    settled(page)
    page.wait_for_function("() => !!document.querySelector('#queue-rows.sortable')?._sortable")
    rows = page.locator("#queue-rows > tr")
    first = page.locator(f"#{rows.first.get_attribute('id')}")
    row_id = row.get_attribute("id")
    handle = row.locator(".drag-handle")
    handle.scroll_into_view_if_needed()
    box = _box_at_rest(handle)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    with page.expect_response("**/queue/reorder") as reorder:
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x, y - 20, steps=5)  # past SortableJS's fallback tolerance: the drag starts
        for _ in range(30):
            if _box_at_rest(first)["y"] >= 80:  # on screen, below the sticky top bar
                break
            page.mouse.wheel(0, -400)
            page.mouse.move(x, min(y, 400), steps=2)
        for attempt in range(5):
            top = _box_at_rest(first)
            page.mouse.move(x, top["y"] + top["height"] * 0.25, steps=10)
            try:
                expect(rows.first).to_have_id(row_id or "", timeout=2_000)
                break
            except AssertionError:
                if attempt == 4:
                    raise
        page.mouse.up()
    assert reorder.value.ok, f"reorder answered {reorder.value.status}"


# -- shop floor: records made through the office pages, and the operator's phone ----------------


def log_in_to_phone(page: Page, username: str) -> None:
    log_in(page, username)
    choose_mode(page, "Phone mode")


def create_client(page: Page, prefix: str = "E2E Shop Floor") -> tuple[str, str]:
    """A new client through /clients/new; returns its id and name."""
    page.goto("/clients/new")
    name = unique(prefix)
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_role("button", name="Create client").click()
    expect(page).to_have_url(url(r"/clients/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    return page.url.rsplit("/", 1)[1], name


def create_project(
    page: Page,
    client_id: str,
    *,
    name: str,
    material: str,
    thickness: str,
    sheet_size: str,
    sheets: int,
) -> tuple[str, str]:
    """A new project through /projects/new (thickness as the select shows it, e.g. "3.0 mm").

    Ends on the project page; returns the project's id and code.
    """
    page.goto(f"/projects/new?client_id={client_id}")
    expect(page.get_by_label("Client")).to_have_value(client_id)
    page.get_by_label("Project name").fill(name)
    page.get_by_label("Material", exact=True).select_option(material)
    page.get_by_label("Thickness (mm)").select_option(label=thickness)
    page.get_by_label("Sheet size").select_option(sheet_size)
    page.get_by_label("Sheets required").fill(str(sheets))
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(url(r"/projects/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    code = page.locator(".page-head h1 small").inner_text().strip()
    return page.url.rsplit("/", 1)[1], code


def stage_badge(page: Page) -> Locator:
    """The stage badge under a project page's title."""
    return page.locator(".page-head .badge").first


def mark_pop_received(page: Page, expected_stage: str = "Queued (ready to cut)") -> None:
    """On a project page: press "✓ Mark POP received" and see the stage it lands in."""
    page.get_by_role("button", name="✓ Mark POP received").click()
    expect(stage_badge(page)).to_have_text(expected_stage)
    expect(page.get_by_role("button", name="✓ Mark POP received")).to_have_count(0)


def end_run_on_phone(page: Page, sheets: int | None = None, *, finished: bool = False) -> Locator:
    """On a phone run page: fill the End Run form, press "■ End Run"; returns the flash on /phone/home."""
    form = page.locator("#end-run")
    if sheets is not None:
        form.locator("input[name=sheets_used]").fill(str(sheets))
    if finished:
        form.get_by_label("Job finished").check()
    form.get_by_role("button", name="■ End Run").click()
    expect(page).to_have_url(url("/phone/home"))
    flash = page.locator("#flash .flash")
    expect(flash.first).to_contain_text("Run ended on")
    return flash.first


def end_own_running_run(page: Page) -> None:
    """On /phone/home: if the red "Your run on …" banner is there, open that run and end it (0 sheets)."""
    expect(page).to_have_url(url("/phone/home"))
    page.wait_for_load_state("domcontentloaded")
    banner = page.locator("a.running-banner")
    if banner.count() == 0:
        return
    banner.click()
    expect(page).to_have_url(url(r"/phone/run/\d+"))
    end_run_on_phone(page, 0)
    expect(page.locator("a.running-banner")).to_have_count(0)


# -- the people and their devices, and what they look up -----------------------------------------


def desktop_page(new_context: NewContext, username: str = "manager") -> Page:
    context = new_context(**DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in_to_pc(page, username)
    return page


def phone_page(new_context: NewContext, playwright: Playwright, **overrides: Any) -> Page:
    """The operator on a Pixel 7 (or `overrides`), in Phone mode, with no run of theirs left going."""
    context = new_context(**phone_context_args(playwright, **overrides))
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in_to_phone(page, "operator")
    end_own_running_run(page)
    return page


def paid_job(
    office: Page, *, material: str, thickness: str, sheet_size: str, sheets: int, stage: str = "Queued (ready to cut)"
) -> tuple[str, str]:
    """A new client's project with its POP received, made on the office PC; returns (project id, code)."""
    client_id, _ = create_client(office)
    project_id, code = create_project(
        office,
        client_id,
        name=unique("Shop floor job"),
        material=material,
        thickness=thickness,
        sheet_size=sheet_size,
        sheets=sheets,
    )
    mark_pop_received(office, stage)
    return project_id, code


def start_run(phone: Page, project_id: str, code: str) -> str:
    """Press "▶ Start Run" on the job's card; returns the run page's URL."""
    phone.goto("/phone/home")
    card = phone.locator(f"#job-{project_id}")
    expect(card).to_contain_text(code)
    card.get_by_role("button", name=re.compile(r"^▶ Start")).click()
    expect(phone).to_have_url(url(r"/phone/run/\d+"))
    expect(phone.locator("#flash")).to_contain_text(f"Run started on {code}.")
    expect(phone.locator(".run-code")).to_contain_text(code)
    return phone.url


def on_hand(page: Page, item_url: str) -> int:
    """Sheets on hand as the inventory item's page shows them."""
    page.goto(item_url)
    text = page.locator("#on-hand").inner_text()
    match = re.fullmatch(r"(-?\d+) sheets", text.strip())
    assert match, f"on hand reads {text!r}"
    return int(match.group(1))


def sheet_item_url(page: Page, item_code: str) -> str:
    """The stock item's page, found by its code on the /inventory list."""
    page.goto("/inventory")
    link = page.locator("#results").get_by_role("link", name=item_code, exact=True)
    href = link.get_attribute("href")
    assert href is not None and re.fullmatch(r"/inventory/\d+", href), href
    return href


def open_row_editor(page: Page, row: Locator) -> None:
    """Open a queue row's editor (priority, date, notes and the status moves)."""
    with page.expect_response(re.compile(r"/queue/\d+/row\?edit=1$")):
        row.get_by_role("link", name="Edit", exact=True).click()
    expect(row.get_by_role("button", name="Save")).to_be_visible()


def queue_move(page: Page, row: Locator, button: str) -> None:
    """Press a status move (Start, Complete, Re-queue) in the row's editor; the queue redraws."""
    open_row_editor(page, row)
    with page.expect_response(re.compile(r"/queue/\d+/status$")) as answered:
        row.get_by_role("button", name=button, exact=True).click()
    assert answered.value.ok, f"{button} answered {answered.value.status}"
    settled(page)


def queue_row(page: Page, code: str) -> Locator:
    """The job's row on /queue, on whichever page of the queue it is."""
    page.goto("/queue")
    for _ in range(20):
        row = page.locator("#queue-rows > tr").filter(has=page.get_by_role("link", name=code, exact=True))
        if row.count():
            return row
        next_page = page.locator(".pagination a[rel=next]")
        if next_page.count() == 0:
            break
        page.goto(next_page.first.get_attribute("href") or "")
    raise AssertionError(f"{code} is not on the active queue")


# -- drafts ----------------------------------------------------------------------------------------


def create_client_with_phone(page: Page, phone: str) -> tuple[str, str]:
    page.goto("/clients/new")
    name = unique("E2E Drafts")
    page.get_by_role("textbox", name="Name", exact=True).fill(name)
    page.get_by_role("textbox", name="Phone").fill(phone)
    page.get_by_role("textbox", name="Email").fill("drafts@example.com")
    page.get_by_role("button", name="Create client").click()
    expect(page).to_have_url(url(r"/clients/\d+"))
    return page.url.rsplit("/", 1)[1], name


def finish_from_the_queue(page: Page, code: str) -> None:
    """On the project page: follow its queue item to /queue and press Start, then Complete (in the row's
    editor on a desktop; on a phone, where the queue table scrolls sideways, on the item's own page)."""
    item_href = page.locator("#queue-panel").get_by_role("link", name="Queue item details").get_attribute("href")
    assert item_href is not None
    row = page.locator(f"#queue-item-{item_href.rsplit('/', 1)[1]}")
    go_via_sidebar(page, "Queue", "/queue")
    expect(row).to_contain_text(code)
    narrow = (page.viewport_size or {"width": 1366})["width"] < 800
    for button in ("Start", "Complete"):
        if narrow:
            page.goto(item_href)
            page.get_by_role("button", name=button, exact=True).click()
            settled(page)
        else:
            queue_move(page, row, button)
            if button == "Start":
                expect(row.locator(".job-state")).to_have_text("Cutting — no run going")
    page.goto("/queue")
    expect(row).to_have_count(0)  # a completed job leaves the active queue
