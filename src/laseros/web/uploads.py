"""Multipart uploads streamed to disk: the body is parsed as it arrives, never held in memory.

The CSRF token comes in the ``x-csrftoken`` header (htmx, fetch) or as a form field placed before
the file (a plain form): the upload routes skip Litestar's CSRF middleware, which would read the
whole body into memory to find the token, and check it here instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRFMiddleware
from multipart import (  # type: ignore[import-untyped]  # multipart ships no type information
    MultipartError,
    MultipartSegment,
    PushMultipartParser,
    parse_options_header,
)

from laseros.domain.files.services import FileTooLarge
from laseros.domain.kernel.errors import InvalidInput

CSRF_FIELD = "_csrf_token"


@dataclass
class Upload:
    filename: str
    path: Path


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _check_csrf(request: Request, token: str | None) -> None:
    config = request.app.csrf_config
    cookie = request.cookies.get(config.cookie_name) if config else None
    if config is None:
        return
    checker = CSRFMiddleware(app=request.app, config=config)
    if not token or not cookie or not checker._csrf_tokens_match(token, cookie):
        raise PermissionDeniedException("CSRF token verification failed")


async def receive_file(request: Request, staging: Path, max_bytes: int, field: str = "file") -> Upload:
    """Stream the request's ``field`` file into ``staging``; refuse a body past ``max_bytes`` (413)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != "multipart/form-data" or not options.get("boundary"):
        raise InvalidInput({"file": "Send the file as a multipart form upload."})
    length = request.headers.get("content-length")
    # The body carries a little more than the file (boundaries, the token field).
    if length and length.isdigit() and int(length) > max_bytes + 64 * 1024:
        raise FileTooLarge(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    token = request.headers.get("x-csrftoken")
    header_token = token is not None
    upload: Upload | None = None
    segment: MultipartSegment | None = None
    field_value = bytearray()
    handle = None
    written = 0
    try:
        with PushMultipartParser(options["boundary"], max_header_count=8, max_segment_count=16) as parser:
            async for chunk in request.stream():
                for part in parser.parse(chunk):
                    if isinstance(part, MultipartSegment):
                        segment = part
                        field_value.clear()
                        if part.name == field and part.filename is not None and upload is None:
                            if not header_token:
                                _check_csrf(request, token)
                            upload = Upload(part.filename, staging)
                            handle = staging.open("wb")
                    elif part is None:
                        if segment is not None and segment.name == CSRF_FIELD and not header_token:
                            token = field_value.decode("ascii", "replace")
                        if handle is not None:
                            handle.close()
                            handle = None
                        segment = None
                    elif handle is not None:
                        written += len(part)
                        if written > max_bytes:
                            raise FileTooLarge(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
                        handle.write(part)
                    elif segment is not None and len(field_value) < 4096:
                        field_value.extend(part)
                if parser.closed:
                    break
    except MultipartError:
        _discard(staging)
        raise InvalidInput({"file": "The upload was cut off or malformed; try again."}) from None
    except BaseException:
        _discard(staging)
        raise
    finally:
        if handle is not None:
            handle.close()
    if upload is None:
        if not header_token:
            _check_csrf(request, token)
        _discard(staging)
        raise InvalidInput({"file": "Choose a file to upload."})
    if header_token:
        _check_csrf(request, token)
    return upload
