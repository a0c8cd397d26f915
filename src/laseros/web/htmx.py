"""Responses: a page or one of its blocks, flash messages, and redirects after POST."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import anyio.to_thread
from jinja2_fragments import render_block, render_blocks
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.enums import MediaType
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy import Select, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import built_once, quick_reads
from laseros.domain.kernel.registry import COMPANY_NAME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.notifications.bell import open_count, open_count_statement
from laseros.web.guards import SAFE_METHODS

FLASH_COOKIE = "laseros_flash"
# Where the request's session is kept while its handler runs: the page's header reads in it too.
PAGE_SESSION = "laseros.page_session"

T = TypeVar("T")

# What a handler that shows HTML returns (rendered by ``render``).
Page = Response[bytes]


def is_fragment_request(request: Request) -> bool:
    """An htmx request that wants part of a page (boosted navigation wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted


async def for_whole_page(request: Request, load: Callable[[], Awaitable[list[T]]]) -> list[T]:
    """``load()`` for the whole page; nothing for a fragment request (its block does not show the list: a
    filter form's choices, say, which the browser already has)."""
    return [] if is_fragment_request(request) else await load()


async def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    blocks: list[str] | None = None,
    status_code: int = 200,
) -> Page:
    """The whole page, or the named block(s) of it for an htmx fragment request.

    The HTML is rendered in a worker thread. A long page (the queue's hundred rows) takes tens of
    milliseconds of Python; rendered on the event loop it would hold up every other request for
    that long — a run being ended waits behind it at each of its database round trips. In a
    thread the interpreter hands control back every few milliseconds (docs/performance.md).
    """
    env = request.app.template_engine.engine  # type: ignore[union-attr]  # Optional in Litestar; create_app always sets one
    page = env.get_template(template)
    values = {**context, "request": request}
    cookies: list[Cookie] = []
    logged_in = request.scope.get("user") is not None
    if (block or blocks) and is_fragment_request(request):
        if block:
            html = await anyio.to_thread.run_sync(render_block, env, page, block, values)
        else:
            names: list[str] = blocks or []
            html = await anyio.to_thread.run_sync(lambda: render_blocks(env, page, names, values))
        if logged_in and request.method not in SAFE_METHODS:
            # Any change may have raised or cleared a notification: the bell's count rides along
            # out of band, so the user's own action updates the header in the same response.
            html += str(env.globals["bell_badge"](await bell_count(request), oob=True))
    else:
        async with reading(request) as session:
            # The header: the shop's name (a setting) and, for a logged-in user, the bell's count.
            with quick_reads():  # a primary-key lookup and a COUNT on a partial index, in one statement
                name, count = (await session.execute(_header_statement(logged_in))).one()
        values["company_name"] = COMPANY_NAME.read(name)
        if logged_in:
            values["bell_count"] = int(count or 0)
        values["flashes"] = read_flashes(request)
        if values["flashes"]:
            cookies.append(Cookie(key=FLASH_COOKIE, value="", max_age=0, path="/"))
        html = await anyio.to_thread.run_sync(lambda: page.render(values))
    return Response(content=html.encode(), media_type=MediaType.HTML, status_code=status_code, cookies=cookies)


@built_once
def _header_statement(with_count: bool) -> Select[*tuple[Any, ...]]:
    name = SettingsService.stored_statement(COMPANY_NAME).scalar_subquery()
    count = open_count_statement().scalar_subquery() if with_count else null()
    return select(name, count)


@asynccontextmanager
async def reading(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's own session while its handler runs (``deps.provide_db_session``), else one of its own."""
    session = cast("AsyncSession | None", request.scope.get(PAGE_SESSION))
    if session is not None:
        yield session
        return
    async with request.app.state.db.session(write=False) as own:
        yield own


async def bell_count(request: Request) -> int:
    """The open-notification count for the header's bell: one COUNT on a partial index."""
    async with reading(request) as session:
        return await open_count(session)


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
