"""Products: the catalogue (SKU-0001), and the products a project lists at the price they had."""

from __future__ import annotations

import re

from tests.factories import create_client, create_product, create_project, results


def test_creating_products_gives_them_the_next_sku(manager, db_query):
    first = create_product(manager)
    second = create_product(manager, "Signage plate")
    assert db_query("SELECT id, sku, unit_price FROM products ORDER BY id") == [
        (first, "SKU-0001", 12550),
        (second, "SKU-0002", 12550),
    ]
    page = manager.get(f"/products/{second}")
    assert "SKU-0002" in page.text and "Signage plate" in page.text and "R 125.50" in page.text


def test_bad_product_input_is_422_and_writes_nothing(manager, db_query):
    for fields in ({"name": ""}, {"name": "x", "unit_price": "-1"}, {"name": "x", "thickness_mm": "7.77"},
                   {"name": "x", "material_type": "Unobtainium"}):  # fmt: skip
        response = manager.post_form("/products/new", {"unit_price": "1", **fields})
        assert response.status_code == 422, fields
    assert db_query("SELECT count(*) FROM products") == [(0,)]


def test_search_and_csv(manager):
    create_product(manager, "Gate bracket")
    create_product(manager, "Signage plate")
    text = results(manager.get("/products", params={"q": "signage"}).text)
    assert "Signage plate" in text and "Gate bracket" not in text
    csv_text = manager.get("/products", params={"format": "csv"}).text
    assert csv_text.lstrip("\ufeff").startswith("id,sku,name") and "SKU-0002" in csv_text


def test_project_products_copy_the_price_and_sum(manager, db_query):
    product = create_product(manager)
    project = create_project(manager, create_client(manager))
    response = manager.post_form(f"/projects/{project}/products", {"product_id": str(product), "quantity": "4"})
    assert response.status_code == 303
    # A later catalogue change does not alter the project.
    edit = {"name": "Gate bracket", "unit_price": "999.00", "material_type": "Mild Steel", "is_active": "on"}
    assert manager.post_form(f"/products/{product}/edit", edit).status_code == 303
    assert db_query("SELECT quantity, unit_price FROM project_products") == [(4, 12550)]
    page = manager.get(f"/projects/{project}")
    assert "R 502.00" in page.text and "SKU-0001 Gate bracket" in page.text


def test_bad_project_product_is_422_and_writes_nothing(manager, db_query):
    product = create_product(manager)
    project = create_project(manager, create_client(manager))
    for fields in ({"product_id": str(product), "quantity": "0"}, {"product_id": "999", "quantity": "1"}):
        assert manager.post_form(f"/projects/{project}/products", fields).status_code == 422
    create_product(manager, "Old", is_active="")
    inactive = db_query("SELECT id FROM products WHERE name='Old'")[0][0]
    response = manager.post_form(f"/projects/{project}/products", {"product_id": str(inactive), "quantity": "1"})
    assert response.status_code == 422
    assert db_query("SELECT count(*) FROM project_products") == [(0,)]


def test_removing_a_line(manager, db_query):
    product = create_product(manager)
    project = create_project(manager, create_client(manager))
    manager.post_form(f"/projects/{project}/products", {"product_id": str(product), "quantity": "2"})
    line = db_query("SELECT id FROM project_products")[0][0]
    assert manager.post_form(f"/projects/{project}/products/{line}/delete").status_code == 303
    assert db_query("SELECT count(*) FROM project_products") == [(0,)]
    assert manager.post_form(f"/projects/{project}/products/{line}/delete").status_code == 404


def test_a_product_in_use_is_not_deleted_but_can_be_deactivated(manager, db_query):
    product = create_product(manager)
    project = create_project(manager, create_client(manager))
    manager.post_form(f"/projects/{project}/products", {"product_id": str(product), "quantity": "1"})
    refused = manager.post_form(f"/products/{product}/delete")
    assert refused.status_code == 409 and "Deactivate it instead" in refused.text
    assert db_query("SELECT count(*) FROM products") == [(1,)]
    unused = create_product(manager, "Unused")
    assert manager.post_form(f"/products/{unused}/delete").status_code == 303
    assert db_query("SELECT name FROM products") == [("Gate bracket",)]


def test_viewers_read_products_but_do_not_change_them(manager, viewer, db_query):
    product = create_product(manager)
    assert viewer.get("/products").status_code == 200
    assert viewer.get(f"/products/{product}").status_code == 200
    assert viewer.get("/products", params={"format": "csv"}).status_code == 403  # the shop's data leaving: editors
    assert viewer.get("/products/new").status_code == 403
    assert viewer.post_form("/products/new", {"name": "x"}).status_code == 403
    assert viewer.post_form(f"/products/{product}/delete").status_code == 403
    assert db_query("SELECT count(*) FROM products") == [(1,)]


def test_skus_stay_unique_when_two_offices_create_at_once(settings, db_query):
    from concurrent.futures import ThreadPoolExecutor

    from tests.support import browser

    offices = [browser(settings), browser(settings)]  # two app instances: two writers on one database
    try:
        with ThreadPoolExecutor(2) as pool:
            statuses = list(
                pool.map(
                    lambda n: (
                        offices[n % 2].post_form("/products/new", {"name": f"Rush {n}", "unit_price": "1"}).status_code
                    ),
                    range(10),
                )
            )
    finally:
        for office in offices:
            office.__exit__(None, None, None)
    assert statuses == [303] * 10
    assert sorted(row[0] for row in db_query("SELECT sku FROM products")) == [f"SKU-{n:04d}" for n in range(1, 11)]


def test_the_forms_show_the_lists_and_the_active_flag(manager):
    blank = manager.get("/products/new")
    assert blank.status_code == 200 and "Mild Steel" in blank.text and "3.0" in blank.text
    product = create_product(manager, is_active="")
    edit = manager.get(f"/products/{product}/edit")
    assert edit.status_code == 200 and 'value="Gate bracket"' in edit.text
    checkbox = re.search(r'<input type="checkbox" name="is_active"[^>]*>', edit.text)
    assert checkbox is not None and "checked" not in checkbox.group(0)
    ticked = re.search(r'<input type="checkbox" name="is_active"[^>]*>', blank.text)
    assert ticked is not None and "checked" in ticked.group(0)  # new products start active
    detail = manager.get(f"/products/{product}")
    assert "Inactive" in detail.text
    # An inactive product is not offered on a project.
    project = create_project(manager, create_client(manager))
    assert "SKU-0001" not in manager.get(f"/projects/{project}").text.split('id="add-product"')[-1]
