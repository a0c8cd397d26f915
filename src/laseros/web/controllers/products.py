"""Products: the catalogue (list with search and CSV, new, detail, edit, delete) and a project's products."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from laseros.domain.admin.roles import Permission
from laseros.domain.files.services import FileStore
from laseros.domain.kernel.errors import Conflict, InvalidInput
from laseros.domain.kernel.registry import MATERIALS
from laseros.domain.products.models import Product
from laseros.domain.products.schemas import ProductInput, ProjectProductInput
from laseros.domain.products.services import ProductService, ProjectProducts
from laseros.web.controllers.files import provide_files
from laseros.web.deps import CurrentActor, Db, DbSession, PageSize, Projects, ShopSettings
from laseros.web.export import csv_export
from laseros.web.forms import FormState, form_values
from laseros.web.guards import requires, unsafe_methods_require
from laseros.web.htmx import Page, redirect, render


def provide_products(db_session: DbSession, actor: CurrentActor) -> ProductService:
    return ProductService(db_session, actor)


def provide_project_products(db_session: DbSession, actor: CurrentActor) -> ProjectProducts:
    return ProjectProducts(db_session, actor)


Products = NamedDependency[ProductService]
ProjectLines = NamedDependency[ProjectProducts]
Files = NamedDependency[FileStore]
DEPENDENCIES = {
    "products": Provide(provide_products, sync_to_thread=False),
    "project_lines": Provide(provide_project_products, sync_to_thread=False),
    "files": Provide(provide_files, sync_to_thread=False),
}


class ProductController(Controller):
    path = "/products"
    guards = [requires(Permission.PC_VIEW), unsafe_methods_require(Permission.OFFICE_EDIT)]
    dependencies = DEPENDENCIES

    @get("/")
    async def index(
        self,
        request: Request,
        page_size: PageSize,
        db: Db,
        products: Products,
        q: FromQuery[str] = "",
        page: FromQuery[int] = 1,
        format: FromQuery[str] = "",
    ) -> Page | Stream:
        if format == "csv":
            return csv_export(request, db, products.export(q))
        listing = await products.list(q=q, page=page, per_page=page_size)
        return await render(request, "products/index.html", {"page": listing, "q": q}, block="results")

    @get("/new", guards=[requires(Permission.OFFICE_EDIT)])
    async def new_form(self, request: Request, shop_settings: ShopSettings) -> Page:
        return await self._form(request, FormState({"is_active": "on"}), None, shop_settings)

    @post("/new")
    async def create(self, request: Request, products: Products, shop_settings: ShopSettings) -> Response[Any]:
        values = await form_values(request)
        try:
            data = ProductInput.parse(values, materials=await shop_settings.choices(MATERIALS))
            product = await products.create(data)
        except InvalidInput as bad:
            return await self._form(request, FormState(values, bad.errors), None, shop_settings, status_code=422)
        return redirect(request, f"/products/{product.id}", f"Product {product.sku} {product.name} created.")

    @get("/{product_id:int}")
    async def detail(self, request: Request, product_id: FromPath[int], products: Products, files: Files) -> Page:
        return await self._detail(request, product_id, products, files)

    @staticmethod
    async def _detail(
        request: Request,
        product_id: int,
        products: ProductService,
        files: FileStore,
        error: str | None = None,
        status_code: int = 200,
    ) -> Page:
        product = await products.get(product_id)
        context = {
            "product": product,
            "projects": await products.projects_using(product_id),
            "uses": await products.use_count(product_id),
            "attachments": await files.for_product(product_id),
            "upload_url": f"/products/{product_id}/files",
            "max_upload_mb": files.max_upload_mb,
            "error": error,
        }
        return await render(request, "products/detail.html", context, status_code=status_code)

    @get("/{product_id:int}/edit", guards=[requires(Permission.OFFICE_EDIT)])
    async def edit_form(
        self, request: Request, product_id: FromPath[int], products: Products, shop_settings: ShopSettings
    ) -> Page:
        product = await products.get(product_id)
        values = {k: getattr(product, k) for k in ProductInput.__dataclass_fields__}
        values["is_active"] = "on" if product.is_active else ""
        return await self._form(request, FormState(values), product, shop_settings)

    @post("/{product_id:int}/edit")
    async def update(
        self, request: Request, product_id: FromPath[int], products: Products, shop_settings: ShopSettings
    ) -> Response[Any]:
        values = await form_values(request)
        product = await products.get(product_id)
        try:
            materials = await shop_settings.choices(MATERIALS, keep=product.material_type)
            await products.update(product_id, ProductInput.parse(values, materials=materials))
        except InvalidInput as bad:
            return await self._form(request, FormState(values, bad.errors), product, shop_settings, status_code=422)
        return redirect(request, f"/products/{product_id}", "Product details saved.")

    @post("/{product_id:int}/delete")
    async def delete(
        self, request: Request, product_id: FromPath[int], products: Products, files: Files
    ) -> Response[Any]:
        try:
            label = await products.delete(product_id)
        except Conflict as refused:
            return await self._detail(request, product_id, products, files, str(refused), status_code=409)
        return redirect(request, "/products", f"Deleted {label}.")

    @staticmethod
    async def _form(
        request: Request, form: FormState, product: Product | None, shop_settings: Any, status_code: int = 200
    ) -> Page:
        materials = await shop_settings.choices(MATERIALS, keep=product.material_type if product else None)
        context = {"form": form, "product": product, "materials": materials}
        return await render(request, "products/form.html", context, status_code=status_code)


class ProjectProductController(Controller):
    """A project's product lines: added at today's price, removed; the project page shows them."""

    path = "/projects/{project_id:int}/products"
    guards = [requires(Permission.OFFICE_EDIT)]
    dependencies = DEPENDENCIES

    @post("/")
    async def add(
        self, request: Request, project_id: FromPath[int], project_lines: ProjectLines, projects: Projects
    ) -> Response[Any]:
        values = await form_values(request)
        try:
            line = await project_lines.add(project_id, ProjectProductInput.parse(values))
        except InvalidInput as bad:
            from laseros.web.controllers.projects import ProjectController

            message = "Could not add the product: " + "; ".join(bad.errors.values())
            return await ProjectController._detail(request, project_id, projects, message, status_code=422)
        return redirect(request, f"/projects/{project_id}#products", f"Added {line.quantity} to the project.")

    @post("/{line_id:int}/delete")
    async def remove(
        self, request: Request, project_id: FromPath[int], line_id: FromPath[int], project_lines: ProjectLines
    ) -> Response[Any]:
        removed = await project_lines.remove(project_id, line_id)
        return redirect(request, f"/projects/{project_id}#products", f"Removed {removed}.")
