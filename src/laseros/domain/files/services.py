"""The file store: files on projects and products, checked, stored under generated names, analysed.

Other areas file an attachment with :meth:`FileStore.add_to_project` (bytes or a path); the web
layer streams an upload to :meth:`FileStore.staging_path` first and hands it over with
:meth:`FileStore.add_staged`.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import secrets
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from laseros.db import action
from laseros.domain.clients.models import Client
from laseros.domain.files import dxf
from laseros.domain.files.kinds import SNIFF_BYTES, kind_by_name, refusal, safe_display_name
from laseros.domain.files.models import StoredFile
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import InvalidInput, NotFound
from laseros.domain.products.models import Product
from laseros.domain.projects.models import Project

log = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD_MB = 25
# An analysis that takes longer is refused (the worker thread is left to finish on its own).
ANALYSIS_SECONDS = 30.0
INCOMING = ".incoming"


class FileTooLarge(Exception):
    """More than the upload limit: the web layer answers 413."""


class FileStore:
    def __init__(
        self, session: AsyncSession, actor: Actor, uploads_dir: Path, max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    ) -> None:
        self.session = session
        self.actor = actor
        self.uploads_dir = uploads_dir
        self.max_upload_mb = max_upload_mb
        session.info["uploads_dir"] = uploads_dir

    @property
    def max_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    def path(self, name: str) -> Path:
        return self.uploads_dir / name

    def staging_path(self) -> Path:
        """A fresh file name to stream an upload into (removed again by :meth:`add_staged`)."""
        folder = self.uploads_dir / INCOMING
        folder.mkdir(parents=True, exist_ok=True)
        return folder / secrets.token_hex(16)

    async def for_project(self, project_id: int) -> builtins.list[StoredFile]:
        stmt = select(StoredFile).where(StoredFile.project_id == project_id).order_by(StoredFile.id)
        return list(await self.session.scalars(stmt))

    async def for_product(self, product_id: int) -> builtins.list[StoredFile]:
        stmt = select(StoredFile).where(StoredFile.product_id == product_id).order_by(StoredFile.id)
        return list(await self.session.scalars(stmt))

    async def get(self, file_id: int) -> StoredFile:
        stored = await self.session.get(StoredFile, file_id)
        if stored is None:
            raise NotFound(f"File {file_id} does not exist.")
        return stored

    async def sheet_for(self, stored: StoredFile) -> tuple[float, float] | None:
        if stored.project_id is None:
            return None
        sheet = await self.session.scalar(select(Project.sheet_size).where(Project.id == stored.project_id))
        return dxf.parse_sheet(sheet)

    @staticmethod
    def analysis_of(stored: StoredFile) -> dxf.Analysis | None:
        return dxf.Analysis.from_dict(json.loads(stored.analysis)) if stored.analysis else None

    async def add_to_project(self, project_id: int, filename: str, source: bytes | Path) -> StoredFile:
        """File an attachment on a project from bytes or a file (copied); checks and analyses it like an upload."""
        return await self.add_staged(self._stage(source), filename, project_id=project_id)

    async def add_to_product(self, product_id: int, filename: str, source: bytes | Path) -> StoredFile:
        """File an attachment on a product from bytes or a file (copied)."""
        return await self.add_staged(self._stage(source), filename, product_id=product_id)

    def _stage(self, source: bytes | Path) -> Path:
        staged = self.staging_path()
        if isinstance(source, bytes):
            staged.write_bytes(source)
        else:
            shutil.copyfile(source, staged)
        return staged

    async def add_staged(
        self, staged: Path, filename: str, *, project_id: int | None = None, product_id: int | None = None
    ) -> StoredFile:
        """Check a staged file, analyse a DXF, move it under a generated name and record it (commits).

        The staged file is always consumed; a refused file leaves nothing behind (``InvalidInput``,
        ``FileTooLarge``).
        """
        stored_paths: list[Path] = []
        try:
            name = safe_display_name(filename)
            kind = _check(staged, name, self.max_bytes, self.max_upload_mb)
            analysis_json: str | None = None
            svg: str | None = None
            if kind == "dxf":
                analysis_json, svg = await _analyse_off_loop(staged)
            size, stored_paths = _place(staged, self.uploads_dir, kind, svg)
            preview_name = stored_paths[1].name if len(stored_paths) > 1 else None
            stored = await self._record(
                name, stored_paths[0].name, kind, size, analysis_json, preview_name, project_id, product_id
            )
        except BaseException:
            _unlink(*stored_paths)
            raise
        finally:
            _unlink(staged)
        return stored

    @action
    async def _record(
        self,
        name: str,
        storage_name: str,
        kind: str,
        size: int,
        analysis: str | None,
        preview_name: str | None,
        project_id: int | None,
        product_id: int | None,
    ) -> StoredFile:
        if project_id is not None:
            if await self.session.get(Project, project_id) is None:
                raise NotFound(f"Project {project_id} does not exist.")
            entity_type, entity_id = "project", project_id
        elif product_id is not None:
            if await self.session.get(Product, product_id) is None:
                raise NotFound(f"Product {product_id} does not exist.")
            entity_type, entity_id = "product", product_id
        else:
            raise ValueError("a file belongs to a project or a product")
        stored = StoredFile(
            project_id=project_id,
            product_id=product_id,
            original_name=name,
            storage_name=storage_name,
            kind=kind,
            size_bytes=size,
            uploaded_by=self.actor.name[:120],
            analysis=analysis,
            preview_name=preview_name,
        )
        self.session.add(stored)
        await self.session.flush()
        record_activity(self.session, self.actor, "file added", entity_type, entity_id, f"{name} ({size:,} bytes)")
        await self.session.commit()
        return stored

    @action
    async def delete(self, file_id: int) -> StoredFile:
        """Delete a file's record; the stored file goes once the commit succeeded. Commits."""
        stored = await self.get(file_id)
        entity_type = "project" if stored.project_id is not None else "product"
        entity_id = stored.project_id if stored.project_id is not None else stored.product_id
        await self.session.delete(stored)
        record_activity(self.session, self.actor, "file deleted", entity_type, entity_id or 0, stored.original_name)
        await self.session.commit()
        return stored


def _unlink(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _check(staged: Path, name: str, max_bytes: int, max_mb: int) -> str:
    """The staged file's kind, or why it is refused."""
    size = staged.stat().st_size
    if size > max_bytes:
        raise FileTooLarge(f"The file is larger than {max_mb} MB.")
    if size == 0:
        raise InvalidInput({"file": "The file is empty."})
    with staged.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if reason := refusal(name, head):
        raise InvalidInput({"file": reason})
    return kind_by_name(name) or ""


def _place(staged: Path, uploads: Path, kind: str, svg: str | None) -> tuple[int, list[Path]]:
    """Move the staged file under a generated name (and write its preview); returns (size, paths)."""
    token = secrets.token_hex(16)
    target = uploads / f"{token}.{kind}"
    size = staged.stat().st_size
    staged.rename(target)
    paths = [target]
    if svg is not None:
        preview = uploads / f"{token}.svg"
        preview.write_text(svg, encoding="utf-8")
        paths.append(preview)
    return size, paths


def _analyse_sync(path: Path) -> tuple[str, str]:
    result = dxf.analyse(path)
    try:
        svg = dxf.render_svg(result)
    except Exception:  # a drawing the renderer chokes on still gets its figures
        log.warning("DXF preview failed for %s", path.name, exc_info=True)
        svg = ""
    return json.dumps(result.analysis.to_dict()), svg


async def _analyse_off_loop(path: Path) -> tuple[str, str | None]:
    try:
        analysis, svg = await asyncio.wait_for(asyncio.to_thread(_analyse_sync, path), ANALYSIS_SECONDS)
    except TimeoutError:
        raise InvalidInput(
            {"file": f"The DXF took longer than {ANALYSIS_SECONDS:g} s to analyse and was refused. Simplify it."}
        ) from None
    except dxf.DxfUnreadable as unreadable:
        raise InvalidInput({"file": str(unreadable)}) from None
    except RecursionError:
        raise InvalidInput({"file": "The DXF nests too deeply to analyse."}) from None
    return analysis, svg or None


# Deleting a file, project, product or client removes the stored files once the commit succeeded.
@event.listens_for(Session, "before_flush")
def _collect_doomed_files(session: Session, _context: Any, _instances: Any) -> None:
    uploads: Path | None = session.info.get("uploads_dir")
    deleted = list(session.deleted)
    if uploads is None or not deleted:
        return
    names: list[str] = []
    ids: dict[type, list[int]] = {Project: [], Product: [], Client: []}
    for obj in deleted:
        if isinstance(obj, StoredFile):
            names.append(obj.storage_name)
            if obj.preview_name:
                names.append(obj.preview_name)
        elif type(obj) in ids:
            ids[type(obj)].append(obj.id)
    query = []
    if ids[Project]:
        query.append(
            select(StoredFile.storage_name, StoredFile.preview_name).where(StoredFile.project_id.in_(ids[Project]))
        )
    if ids[Product]:
        query.append(
            select(StoredFile.storage_name, StoredFile.preview_name).where(StoredFile.product_id.in_(ids[Product]))
        )
    if ids[Client]:
        query.append(
            select(StoredFile.storage_name, StoredFile.preview_name)
            .join(Project, Project.id == StoredFile.project_id)
            .where(Project.client_id.in_(ids[Client]))
        )
    for stmt in query:
        for storage_name, preview_name in session.execute(stmt):
            names.append(storage_name)
            if preview_name:
                names.append(preview_name)
    if not names:
        return

    async def unlink() -> None:
        for name in names:
            (uploads / name).unlink(missing_ok=True)

    session.info.setdefault("after_commit", []).append(unlink)
