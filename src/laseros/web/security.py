"""What every response carries, and odd requests turned away before a handler sees them (docs/security.md).

Every response (404s and error pages included) gets a Content-Security-Policy that allows
scripts, styles, images and connections from this site only — no inline script or style, no
framing — plus ``nosniff`` and a same-origin Referrer-Policy. A path with a NUL or another control
character, and an id too large for any record (above 2^63 − 1), are "not found" rather than
errors deeper down.
"""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
LARGEST_ID = 2**63 - 1  # SQLite's and PostgreSQL's largest integer


async def add_security_headers(message: Message, scope: Scope) -> None:
    """``before_send``: the security headers on every HTTP response the app sends."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders(message)
        for name, value in HEADERS.items():
            if name not in headers:
                headers[name] = value


async def refuse_impossible_ids(request: Request) -> None:
    """``before_request``: an id no record can have is not found (SQLite cannot even be asked)."""
    for value in request.path_params.values():
        if isinstance(value, int) and not -LARGEST_ID <= value <= LARGEST_ID:
            raise NotFoundException()


class ControlCharacterPathMiddleware:
    """404 for a path with a control character (a NUL breaks the static-file server's file lookup)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(ord(char) < 32 or ord(char) == 127 for char in scope["path"]):
            raise NotFoundException()
        await self.app(scope, receive, send)
