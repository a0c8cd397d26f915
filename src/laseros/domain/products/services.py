"""The product catalogue and the products on a project."""

from __future__ import annotations

import builtins
from decimal import Decimal

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from laseros.db import action
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound
from laseros.domain.kernel.paging import Export, Page, paginate
from laseros.domain.kernel.search import contains
from laseros.domain.kernel.sequences import next_code_value
from laseros.domain.products.models import Product, ProjectProduct
from laseros.domain.products.schemas import ProductInput, ProjectProductInput
from laseros.domain.projects.models import Project

EXPORT_COLUMNS = ("id", "sku", "name", "description", "material_type", "thickness_mm", "unit_price", "notes",
                  "is_active", "created_at", "updated_at")  # fmt: skip


class ProductService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    def search_query(self, q: str = "") -> Select[Product]:
        stmt = select(Product).order_by(Product.name, Product.id)
        if term := q.strip():
            columns = (Product.name, Product.sku, Product.description, Product.material_type)
            stmt = stmt.where(or_(*(contains(self.session, column, term) for column in columns)))
        return stmt

    def export(self, q: str = "") -> Export:
        """The searched products as ``EXPORT_COLUMNS`` rows, streamed."""
        columns = (getattr(Product, name) for name in EXPORT_COLUMNS)
        return Export("products.csv", EXPORT_COLUMNS, self.search_query(q).with_only_columns(*columns))

    async def list(self, q: str = "", page: int = 1, per_page: int = 25) -> Page[Product]:
        return await paginate(self.session, self.search_query(q), page, per_page)

    async def get(self, product_id: int) -> Product:
        product = await self.session.get(Product, product_id)
        if product is None:
            raise NotFound(f"Product {product_id} does not exist.")
        return product

    async def choices(self) -> builtins.list[tuple[int, str]]:
        """Active products as a form offers them: (id, "SKU-0001 Name · R 12.50")."""
        rows = await self.session.execute(
            select(Product.id, Product.sku, Product.name, Product.unit_price)
            .where(Product.is_active.is_(True))
            .order_by(Product.name)
        )
        return [(pid, f"{sku} {name} · R {price:,.2f}") for pid, sku, name, price in rows]

    async def projects_using(self, product_id: int) -> builtins.list[Project]:
        stmt = (
            select(Project)
            .join(ProjectProduct, ProjectProduct.project_id == Project.id)
            .where(ProjectProduct.product_id == product_id)
            .distinct()
            .order_by(Project.id.desc())
        )
        return list(await self.session.scalars(stmt))

    async def use_count(self, product_id: int) -> int:
        stmt = select(func.count(ProjectProduct.id)).where(ProjectProduct.product_id == product_id)
        return await self.session.scalar(stmt) or 0

    @action
    async def create(self, data: ProductInput) -> Product:
        """Create a product with the next SKU-#### code; commits."""
        number = await next_code_value(self.session, "product")
        product = Product(sku=f"SKU-{number:04d}", **data.as_dict())
        self.session.add(product)
        await self.session.flush()
        record_activity(self.session, self.actor, "created", "product", product.id, f"{product.sku} {product.name}")
        await self.session.commit()
        return product

    @action
    async def update(self, product_id: int, data: ProductInput) -> Product:
        """Save edited product details (projects keep the prices they were given); commits."""
        product = await self.get(product_id)
        changed = [k for k, v in data.as_dict().items() if getattr(product, k) != v]
        for key, value in data.as_dict().items():
            setattr(product, key, value)
        details = "Changed: " + (", ".join(changed) or "nothing")
        record_activity(self.session, self.actor, "updated", "product", product.id, details)
        await self.session.commit()
        return product

    @action
    async def delete(self, product_id: int) -> str:
        """Delete a product no project uses (its files go after the commit); returns its label. Commits."""
        product = await self.get(product_id)
        uses = await self.use_count(product_id)
        if uses:
            raise Conflict(
                f"{product.sku} is on {uses} project line(s), so it cannot be deleted. Deactivate it instead: "
                "it stays on those projects and is no longer offered."
            )
        label = f"{product.sku} {product.name}"
        await self.session.delete(product)
        record_activity(self.session, self.actor, "deleted", "product", product_id, label)
        await self.session.commit()
        return label


class ProjectProducts:
    """The products a project lists, each with its quantity and the price it had when added."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def lines(self, project_id: int) -> builtins.list[ProjectProduct]:
        stmt = (
            select(ProjectProduct)
            .options(joinedload(ProjectProduct.product))
            .where(ProjectProduct.project_id == project_id)
            .order_by(ProjectProduct.id)
        )
        return list(await self.session.scalars(stmt))

    @staticmethod
    def total(lines: builtins.list[ProjectProduct]) -> Decimal:
        return sum((line.line_total for line in lines), Decimal("0.00"))

    async def _project(self, project_id: int) -> Project:
        project = await self.session.get(Project, project_id)
        if project is None:
            raise NotFound(f"Project {project_id} does not exist.")
        return project

    @action
    async def add(self, project_id: int, data: ProjectProductInput) -> ProjectProduct:
        """Put a product on a project at today's catalogue price; commits."""
        project = await self._project(project_id)
        product = await self.session.get(Product, data.product_id)
        if product is None or not product.is_active:
            raise InvalidInput({"product_id": "Choose an active product from the list."})
        line = ProjectProduct(
            project_id=project.id, product_id=product.id, quantity=data.quantity, unit_price=product.unit_price
        )
        self.session.add(line)
        await self.session.flush()
        details = f"{data.quantity} × {product.sku} {product.name} at R {product.unit_price:,.2f}"
        record_activity(self.session, self.actor, "product added", "project", project.id, details)
        await self.session.commit()
        return line

    @action
    async def remove(self, project_id: int, line_id: int) -> str:
        """Take a product line off a project; returns what was removed. Commits."""
        line = await self.session.scalar(
            select(ProjectProduct)
            .options(joinedload(ProjectProduct.product))
            .where(ProjectProduct.id == line_id, ProjectProduct.project_id == project_id)
        )
        if line is None:
            raise NotFound(f"Project {project_id} has no product line {line_id}.")
        details = f"{line.quantity} × {line.product.sku} {line.product.name}"
        await self.session.delete(line)
        record_activity(self.session, self.actor, "product removed", "project", project_id, details)
        await self.session.commit()
        return details
