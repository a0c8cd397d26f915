"""What may be uploaded, told by the content and not only by the name."""

from __future__ import annotations

from pathlib import PurePath

ACCEPTED = {".dxf": "dxf", ".pdf": "pdf", ".png": "png", ".jpg": "jpg", ".jpeg": "jpg"}
MEDIA_TYPES = {
    "dxf": "image/vnd.dxf",
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
}
ACCEPT_ATTRIBUTE = ",".join(ACCEPTED)
BINARY_DXF = b"AutoCAD Binary DXF\r\n\x1a\x00"
# How much of the start of a file the checks read.
SNIFF_BYTES = 4096


def kind_by_name(filename: str) -> str | None:
    return ACCEPTED.get(PurePath(filename).suffix.lower())


def _looks_like_ascii_dxf(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    text = head.decode("latin-1").lstrip("\ufeff\xef\xbb\xbf").split()
    # Group code / value pairs: the first pair opens a SECTION (999 comments may come first).
    while len(text) >= 2 and text[0] == "999":
        text = text[2:]
    return len(text) >= 2 and text[0] == "0" and text[1].upper() == "SECTION"


def kind_by_content(head: bytes) -> str | None:
    """The accepted kind the first bytes of a file show, or None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(BINARY_DXF) or _looks_like_ascii_dxf(head):
        return "dxf"
    return None


def refusal(filename: str, head: bytes) -> str | None:
    """Why this file is refused (by its name or its content), or None when it is accepted."""
    by_name = kind_by_name(filename)
    if by_name is None:
        return "Only .dxf, .pdf, .png and .jpg files are accepted."
    by_content = kind_by_content(head)
    if by_content != by_name:
        return f"This file is not a real {PurePath(filename).suffix.lower()} file (its content says otherwise)."
    return None


def safe_display_name(filename: str) -> str:
    """The user's file name without any folder part or control characters, at most 200 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"')
    return name.strip()[-200:] or "file"
