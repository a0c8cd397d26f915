"""Quotes and invoices as documents: the print view and its PDF are the same HTML.

The PDF is made by WeasyPrint in a worker thread (about 10 ms of pure Python per line of a
document, docs/performance.md). It may fetch nothing but ``data:`` URLs: a document never reaches
the network or the disk.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from litestar import Request, Response
from litestar.enums import MediaType

from laseros.db import UnitOfWork
from laseros.domain.billing.summary import company_details

# The print view's own policy: its CSS is inline (the same HTML the PDF is made from) and the logo is a
# data: URL; still no script, no frames and nothing fetched from elsewhere.
DOCUMENT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

# WeasyPrint reports every step at INFO; only its warnings belong in the shop's log.
logging.getLogger("weasyprint").setLevel(logging.WARNING)


def html_to_pdf(html: str) -> bytes:
    """A PDF of the document's HTML (its CSS is inline; nothing is fetched).

    WeasyPrint is imported on the first document, not at start-up: importing it parses its own
    stylesheets, seconds of work a server that never prints should not wait for.
    """
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    pdf = HTML(string=html, base_url="data:,", url_fetcher=fetcher).write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return bytes(pdf)


async def render_document(request: Request, session: UnitOfWork, template: str, context: dict[str, Any]) -> str:
    env = request.app.template_engine.engine  # type: ignore[union-attr]  # create_app always sets one
    company = await company_details(session, request.app.state.settings.uploads_dir)
    values = {**context, "company": company, "request": request}
    page = env.get_template(template)
    return await anyio.to_thread.run_sync(lambda: page.render(values))


async def document_pdf(request: Request, session: UnitOfWork, template: str, context: dict[str, Any]) -> bytes:
    """The document's PDF bytes, exactly as its ``.pdf`` address serves them (for "Send by email")."""
    html = await render_document(request, session, template, {**context, "for_pdf": True})
    return await anyio.to_thread.run_sync(html_to_pdf, html)


async def document_response(
    request: Request, session: UnitOfWork, template: str, context: dict[str, Any], *, pdf_name: str | None
) -> Response[bytes]:
    """The print view (``pdf_name`` None) or the PDF download named ``pdf_name``."""
    if pdf_name is None:
        html = await render_document(request, session, template, {**context, "for_pdf": False})
        return Response(
            content=html.encode(), media_type=MediaType.HTML, headers={"Content-Security-Policy": DOCUMENT_POLICY}
        )
    pdf = await document_pdf(request, session, template, context)
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{pdf_name}"'},
    )
