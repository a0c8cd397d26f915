"""A stored file, attached to a project or a product, with its DXF analysis when it is a drawing."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from laseros.db import TimestampedBase


class StoredFile(TimestampedBase):
    __tablename__ = "stored_files"

    # Exactly one owner; deleting it deletes the row (and, after the commit, the stored file).
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    # The generated name in <data folder>/uploads/ (never the user's name).
    storage_name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # dxf, pdf, png, jpg
    size_bytes: Mapped[int] = mapped_column(Integer)
    uploaded_by: Mapped[str] = mapped_column(String(120), default="")
    # DXF only: the analysis as JSON (see domain/files/dxf.py), and the cached SVG preview's name.
    analysis: Mapped[str | None] = mapped_column(Text, default=None)
    preview_name: Mapped[str | None] = mapped_column(String(80), default=None)

    @property
    def is_image(self) -> bool:
        return self.kind in ("png", "jpg")
