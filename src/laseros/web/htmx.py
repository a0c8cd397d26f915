"""Responses: a page or one of its blocks, flash messages, and redirects after POST."""

from __future__ import annotations

import base64
import json
from typing import Any

from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

FLASH_COOKIE = "laseros_flash"


def is_fragment_request(request: Request) -> bool:
    """An htmx request that wants part of a page (boosted navigation wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    blocks: list[str] | None = None,
    status_code: int = 200,
) -> Template:
    """The whole page, or the named block(s) of it for an htmx fragment request."""
    if (block or blocks) and is_fragment_request(request):
        return HTMXBlockTemplate(
            template_name=template,
            block_name=block,
            block_names=blocks,
            context=context,
            status_code=status_code,
        )
    flashes = read_flashes(request)
    cookies = [Cookie(key=FLASH_COOKIE, value="", max_age=0, path="/")] if flashes else []
    return Template(
        template_name=template,
        context={**context, "flashes": flashes},
        status_code=status_code,
        cookies=cookies,
    )


def read_flashes(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        messages = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        return []
    return [m for m in messages if isinstance(m, dict)][:5] if isinstance(messages, list) else []


def _flash_cookie(message: str, level: str) -> Cookie:
    payload = base64.urlsafe_b64encode(json.dumps([{"text": message[:300], "level": level}]).encode()).decode()
    return Cookie(key=FLASH_COOKIE, value=payload, path="/", httponly=True, samesite="lax", max_age=120)


def redirect(request: Request, url: str, message: str | None = None, level: str = "success") -> Response[Any]:
    """303 to ``url`` after a POST, carrying a flash message to the next page."""
    cookies = [_flash_cookie(message, level)] if message else []
    if is_fragment_request(request):
        response: Response[Any] = ClientRedirect(redirect_to=url)
        response.cookies.extend(cookies)
        return response
    return Redirect(path=url, status_code=HTTP_303_SEE_OTHER, cookies=cookies)
