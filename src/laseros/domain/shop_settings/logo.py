"""The company logo printed on quotes and invoices: uploaded by an admin on the settings page, or removed.

Checked like any upload (``files.kinds``: told by its content, not only its name) and kept to
``MAX_LOGO_BYTES``; stored under ``<uploads>/branding/`` with a generated name, which the
``company_logo`` row of ``shop_settings`` holds (not a registry setting: it is a file, not a text
typed into the form). A replaced or removed logo's file is deleted once the change has committed.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from laseros.db import UnitOfWork, action
from laseros.domain.files.kinds import MEDIA_TYPES, SNIFF_BYTES, kind_by_content, kind_by_name, safe_display_name
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import InvalidInput, NotFound
from laseros.domain.kernel.models import ShopSetting

LOGO_KEY = "company_logo"
MAX_LOGO_BYTES = 2 * 1024 * 1024
LOGO_KINDS = ("png", "jpg")
FOLDER = "branding"
ACTIVITY_ENTITY = "settings"  # as the other settings changes (one set: id 0)


class LogoTooLarge(Exception):
    """Above ``MAX_LOGO_BYTES``: the web layer answers 413."""


@dataclass(frozen=True)
class Logo:
    path: Path
    media_type: str

    def data_url(self) -> str:
        """The logo inline (``data:``), as the PDF renderer, which fetches nothing else, can read it."""
        return f"data:{self.media_type};base64,{base64.b64encode(self.path.read_bytes()).decode('ascii')}"


def check_logo(staged: Path, filename: str) -> str:
    """The logo's kind (png or jpg), or why it is refused (``InvalidInput``, ``LogoTooLarge``)."""
    size = staged.stat().st_size
    if size > MAX_LOGO_BYTES:
        raise LogoTooLarge(f"The logo is larger than {MAX_LOGO_BYTES // (1024 * 1024)} MB.")
    if size == 0:
        raise InvalidInput({"logo": "The file is empty."})
    by_name = kind_by_name(safe_display_name(filename))
    if by_name not in LOGO_KINDS:
        raise InvalidInput({"logo": "A logo is a .png or .jpg picture."})
    with staged.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if kind_by_content(head) != by_name:
        raise InvalidInput({"logo": "This file is not a real PNG or JPEG picture (its content says otherwise)."})
    return by_name


def _place(staged: Path, uploads_dir: Path, kind: str) -> Path:
    folder = uploads_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"logo-{secrets.token_hex(8)}.{kind}"
    staged.rename(target)
    return target


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


class LogoService:
    def __init__(self, session: UnitOfWork, actor: Actor, uploads_dir: Path) -> None:
        self.session = session
        self.actor = actor
        self.uploads_dir = uploads_dir

    async def _row(self) -> ShopSetting | None:
        return await self.session.scalar(select(ShopSetting).where(ShopSetting.key == LOGO_KEY))

    async def current(self) -> Logo | None:
        """The logo in use, or None (none uploaded, or its file is gone)."""
        row = await self._row()
        if row is None or not row.value:
            return None
        path = self.uploads_dir / row.value
        kind = path.suffix.lstrip(".")
        if kind not in LOGO_KINDS or not path.is_file():
            return None
        return Logo(path, MEDIA_TYPES[kind])

    def staging_path(self) -> Path:
        folder = self.uploads_dir / ".incoming"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / secrets.token_hex(16)

    async def replace(self, staged: Path, filename: str) -> str:
        """Check the staged upload and make it the logo (the staged file is always consumed). Commits."""
        target: Path | None = None
        try:
            target = _place(staged, self.uploads_dir, check_logo(staged, filename))
            await self._store(target.relative_to(self.uploads_dir).as_posix(), safe_display_name(filename))
        except BaseException:
            if target is not None:
                _discard(target)
            raise
        finally:
            _discard(staged)
        return target.name

    @action
    async def _store(self, relative: str, shown_name: str) -> None:
        row = await self._row()
        old = row.value if row is not None else None
        if row is None:
            self.session.add(ShopSetting(key=LOGO_KEY, value=relative))
        else:
            row.value = relative
        record_activity(self.session, self.actor, "settings_changed", ACTIVITY_ENTITY, 0,
                        f"{LOGO_KEY}: uploaded {shown_name}")  # fmt: skip
        self._unlink_after_commit(old)
        await self.session.commit()

    @action
    async def remove(self) -> None:
        """No logo on the documents any more. Commits."""
        row = await self._row()
        if row is None:
            raise NotFound("There is no logo to remove.")
        await self.session.delete(row)
        record_activity(self.session, self.actor, "settings_changed", ACTIVITY_ENTITY, 0, f"{LOGO_KEY}: removed")
        self._unlink_after_commit(row.value)
        await self.session.commit()

    def _unlink_after_commit(self, relative: str | None) -> None:
        if not relative:
            return
        path = self.uploads_dir / relative

        async def unlink() -> None:
            _discard(path)

        self.session.after_commit(unlink)
