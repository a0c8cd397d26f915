"""Every refusal becomes a readable page (or an htmx redirect to the login page)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied

log = logging.getLogger("laseros")

TITLES = {
    400: "That request was not understood",
    403: "You don't have access to this",
    404: "Not found",
    405: "Not allowed",
    409: "That can't be done right now",
    422: "Please check what you entered",
    500: "Something went wrong",
}


def error_page(request: Request, status_code: int, message: str) -> Response[Any]:
    if request.headers.get("accept", "").startswith("application/json"):
        return Response({"error": message, "status": status_code}, status_code=status_code)
    return Template(
        template_name="errors/error.html",
        context={"status_code": status_code, "title": TITLES.get(status_code, "Error"), "message": message},
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def login_redirect(request: Request, _: NotAuthorizedException) -> Response[Any]:
    if request.headers.get("hx-request"):
        return ClientRedirect(redirect_to="/auth/login")
    return Redirect(path="/auth/login", status_code=HTTP_303_SEE_OTHER)


def domain_error(request: Request, exc: Exception) -> Response[Any]:
    status = {NotFound: 404, Conflict: 409, PermissionDenied: 403, InvalidInput: 422}.get(type(exc), 400)
    return error_page(request, status, str(exc))


def http_error(request: Request, exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, NotFoundException):
        message = "There is nothing at this address. It may have been deleted."
    elif isinstance(exc, PermissionDeniedException):
        message = exc.detail or "Your role does not allow this."
    elif status >= 500:
        message = "The server could not finish this request."
    else:
        message = exc.detail or TITLES.get(status, "Error")
    return error_page(request, status, message)


def server_error(request: Request, exc: Exception) -> Response[Any]:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, 500, "The server could not finish this request. Nothing was saved.")


EXCEPTION_HANDLERS = {
    NotAuthorizedException: login_redirect,
    NotFound: domain_error,
    Conflict: domain_error,
    PermissionDenied: domain_error,
    InvalidInput: domain_error,
    HTTPException: http_error,
    Exception: server_error,
}
