"""Files on projects and products: streamed uploads, downloads, previews, the DXF analysis, delete."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import File
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.domain.admin.roles import Permission
from laseros.domain.files.dxf import parse_sheet
from laseros.domain.files.kinds import ACCEPT_ATTRIBUTE, MEDIA_TYPES
from laseros.domain.files.models import StoredFile
from laseros.domain.files.services import FileStore, FileTooLarge
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import InvalidInput, NotFound
from laseros.domain.products.services import ProductService, ProjectProducts
from laseros.domain.projects.models import Project
from laseros.web.deps import CurrentActor, DbSession, Projects, Runs
from laseros.web.guards import requires
from laseros.web.htmx import redirect
from laseros.web.uploads import receive_file


def provide_files(db_session: DbSession, actor: CurrentActor, state: State) -> FileStore:
    return FileStore(db_session, actor, state.settings.uploads_dir, state.settings.max_upload_mb)


Files = NamedDependency[FileStore]
DEPENDENCIES = {"files": Provide(provide_files, sync_to_thread=False)}
NO_SNIFF = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}


async def project_file_context(
    request: Request, session: AsyncSession, actor: Actor, project_id: int
) -> dict[str, Any]:
    """What the project page's Files and Products sections show (its files, product lines, their sum)."""
    settings = request.app.state.settings
    store = FileStore(session, actor, settings.uploads_dir, settings.max_upload_mb)
    lines_service = ProjectProducts(session, actor)
    lines = await lines_service.lines(project_id)
    attachments = await store.for_project(project_id)
    sheet = await session.scalar(select(Project.sheet_size).where(Project.id == project_id))
    return {
        "sheet_mm": parse_sheet(sheet),
        "attachments": attachments,
        "analyses": {f.id: FileStore.analysis_of(f) for f in attachments},
        "upload_url": f"/projects/{project_id}/files",
        "max_upload_mb": store.max_upload_mb,
        "accept_files": ACCEPT_ATTRIBUTE,
        "product_lines": lines,
        "product_total": ProjectProducts.total(lines),
        "product_choices": await ProductService(session, actor).choices(),
    }


def _download(store: FileStore, stored: StoredFile, *, inline: bool = False) -> File:
    path = store.path(stored.storage_name)
    if not path.is_file():
        raise NotFound("The stored file is missing from the uploads folder.")
    return File(
        path=path,
        filename=stored.original_name,
        media_type=MEDIA_TYPES.get(stored.kind, "application/octet-stream"),
        content_disposition_type="inline" if inline else "attachment",
        headers=NO_SNIFF,
    )


def _preview(store: FileStore, stored: StoredFile) -> File:
    if not stored.preview_name or not store.path(stored.preview_name).is_file():
        raise NotFound("This file has no preview.")
    return File(
        path=store.path(stored.preview_name),
        filename=f"{stored.original_name}.svg",
        media_type="image/svg+xml",
        content_disposition_type="inline",
        # An SVG opened on its own is a document: no script in it may run.
        headers={**NO_SNIFF, "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


class UploadController(Controller):
    """POST /projects/{id}/files and /products/{id}/files: one file, streamed to disk, checked, analysed."""

    path = "/"
    guards = [requires(Permission.OFFICE_EDIT)]
    dependencies = DEPENDENCIES
    # The body is parsed here, as it streams (web/uploads.py checks the CSRF token itself).
    opt = {"exclude_from_csrf": True}

    @post("/projects/{project_id:int}/files", request_max_body_size=None)
    async def to_project(
        self, request: Request, project_id: FromPath[int], files: Files, projects: Projects
    ) -> Response[Any]:
        await projects.get(project_id)
        try:
            upload = await receive_file(request, files.staging_path(), files.max_bytes)
            stored = await files.add_staged(upload.path, upload.filename, project_id=project_id)
        except (InvalidInput, FileTooLarge) as refused:
            from laseros.web.controllers.projects import ProjectController

            message, status = _refusal(refused)
            return await ProjectController._detail(request, project_id, projects, message, status_code=status)
        return redirect(request, f"/projects/{project_id}#files", f"Uploaded {stored.original_name}.")

    @post("/products/{product_id:int}/files", request_max_body_size=None)
    async def to_product(self, request: Request, product_id: FromPath[int], files: Files) -> Response[Any]:
        from laseros.web.controllers.products import ProductController

        products = ProductService(files.session, files.actor)
        await products.get(product_id)
        try:
            upload = await receive_file(request, files.staging_path(), files.max_bytes)
            stored = await files.add_staged(upload.path, upload.filename, product_id=product_id)
        except (InvalidInput, FileTooLarge) as refused:
            message, status = _refusal(refused)
            return await ProductController._detail(request, product_id, products, files, message, status_code=status)
        return redirect(request, f"/products/{product_id}#files", f"Uploaded {stored.original_name}.")


def _refusal(refused: Exception) -> tuple[str, int]:
    if isinstance(refused, FileTooLarge):
        return f"File refused: {refused}", 413
    assert isinstance(refused, InvalidInput)
    return "File refused: " + "; ".join(refused.errors.values()), 422


class FileController(Controller):
    path = "/files"
    guards = [requires(Permission.PC_VIEW)]
    dependencies = DEPENDENCIES

    @get("/{file_id:int}")
    async def download(self, file_id: FromPath[int], files: Files) -> File:
        return _download(files, await files.get(file_id))

    @get("/{file_id:int}/thumbnail")
    async def thumbnail(self, file_id: FromPath[int], files: Files) -> File:
        stored = await files.get(file_id)
        if not stored.is_image:
            raise NotFound("Only images have thumbnails.")
        return _download(files, stored, inline=True)

    @get("/{file_id:int}/preview.svg")
    async def preview(self, file_id: FromPath[int], files: Files) -> File:
        return _preview(files, await files.get(file_id))

    @get("/{file_id:int}/analysis")
    async def analysis(self, file_id: FromPath[int], files: Files) -> dict[str, Any]:
        stored = await files.get(file_id)
        analysis = FileStore.analysis_of(stored)
        if analysis is None:
            raise NotFound("Only DXF files are analysed.")
        return {
            "file_id": stored.id,
            "name": stored.original_name,
            "units": analysis.units,
            "units_assumed": analysis.units_assumed,
            "width_mm": analysis.width_mm,
            "height_mm": analysis.height_mm,
            "cut_length_mm": analysis.cut_length_mm,
            "pierces": analysis.pierces,
            "contours": analysis.contours,
            "open_contours": analysis.open_contours,
            "area_mm2": analysis.area_mm2,
            "entity_counts": analysis.entity_counts,
            "warnings": analysis.warnings(await files.sheet_for(stored)),
        }

    @post("/{file_id:int}/delete", guards=[requires(Permission.OFFICE_EDIT)])
    async def delete(self, request: Request, file_id: FromPath[int], files: Files) -> Response[Any]:
        stored = await files.delete(file_id)
        back = f"/projects/{stored.project_id}#files" if stored.project_id else f"/products/{stored.product_id}#files"
        return redirect(request, back, f"Deleted {stored.original_name}.")


class RunPreviewController(Controller):
    """The operator's run page shows the job's part: the previews of that run's project only."""

    path = "/phone/run"
    guards = [requires(Permission.PHONE_USE)]
    dependencies = DEPENDENCIES

    @get("/{run_id:int}/files/{file_id:int}/preview.svg")
    async def preview(self, run_id: FromPath[int], file_id: FromPath[int], runs: Runs, files: Files) -> File:
        run = await runs.get(run_id)
        stored = await files.get(file_id)
        if stored.project_id != run.project_id:
            raise NotFound("That file is not on this run's job.")
        return _preview(files, stored)


async def run_previews(request: Request, session: AsyncSession, actor: Actor, project_id: int) -> list[StoredFile]:
    """The DXF files with a preview on a run's project (for the phone run page)."""
    settings = request.app.state.settings
    store = FileStore(session, actor, settings.uploads_dir, settings.max_upload_mb)
    return [f for f in await store.for_project(project_id) if f.preview_name]
