"""Every refusal becomes a readable page (or an htmx redirect to the login page).

Two rules keep a person out of dead ends:

* A GET (a reload, a bookmark, a phone waking from sleep) of an address that only takes a form's
  POST — ``/phone/run/end``, ``/inventory/8/transaction``, which the address bar shows after a
  refused form — is redirected to the page that owns the form (``owner_page``: the nearest
  shorter address that answers a GET). Other methods on such an address stay a 405.
* An error page shows who is signed in — their header, their menu and "Back to …" — and a
  Log in button only to someone who is not. The router refuses unknown addresses (404) and
  methods (405) before the session middleware runs, so the page looks the session up itself.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import Receive, Scope, Send

from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from laseros.web.auth import SESSION_COOKIE, CurrentUser, signed_in_user
from laseros.web.htmx import redirect, render

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

# Where "Back to …" goes from an error under each part of the app (the first that matches).
SECTIONS = [
    ("/queue/runs", "/queue/runs", "Runs"),
    ("/queue", "/queue", "the queue"),
    ("/clients", "/clients", "Clients"),
    ("/projects", "/projects", "Projects"),
    ("/inventory", "/inventory", "Inventory"),
    ("/presets", "/presets", "Presets"),
    ("/operators", "/operators", "Operators"),
    ("/comms", "/comms/drafts", "Drafts"),
    ("/reports", "/reports/daily", "the daily report"),
    ("/admin/settings", "/admin/settings", "Settings"),
    ("/admin/logins", "/admin/logins", "the sign-in log"),
    ("/phone", "/phone/home", "your jobs"),
]


def _answers_get(request: Request, path: str) -> bool:
    try:
        request.app.asgi_router.handle_routing(path=path, method="GET")
    except HTTPException:
        return False
    return True


def owner_page(request: Request, path: str) -> str:
    """The page a POST-only address's form lives on: the nearest shorter address that answers a GET.

    ``/inventory/8/transaction`` → ``/inventory/8``, ``/projects/5/status`` → ``/projects/5``,
    ``/queue/reorder`` → ``/queue``, ``/phone/run/end`` → ``/`` (which sends a user to their home).
    Always a path on this site: built from the path's own segments, never ``//host``.
    """
    segments = [segment for segment in path.split("/") if segment]
    while segments:
        segments.pop()
        candidate = "/" + "/".join(segments)
        if _answers_get(request, candidate):
            return candidate
    return "/"


def back_link(user: CurrentUser, path: str, status_code: int) -> tuple[str, str]:
    """Where an error page's main button takes a signed-in user, and what it says."""
    on_phone = user.mode == "phone" or not user.can(Permission.PC_VIEW)
    home = ("/phone/home", "Back to your jobs") if on_phone else ("/dashboard", "Back to the dashboard")
    if status_code == 403:
        return home  # the section itself may be what the role cannot open
    for prefix, href, label in SECTIONS:
        if path == prefix or path.startswith(prefix + "/"):
            if href.startswith("/phone") != on_phone or href == path:
                return home
            return href, f"Back to {label}"
    return home


class ErrorPage(Response[bytes]):
    """An error page rendered when it is sent, once it knows who is signed in (see the module doc)."""

    def __init__(self, status_code: int, title: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(content=b"", status_code=status_code, media_type=MediaType.HTML, headers=headers)
        self.code = status_code
        self.title = title
        self.message = message

    def to_asgi_response(self, app: Any, request: Request, **kwargs: Any) -> Any:
        return _SendErrorPage(self, request, kwargs)


class _SendErrorPage:
    def __init__(self, page: ErrorPage, request: Request, kwargs: dict[str, Any]) -> None:
        self.page, self.request, self.kwargs = page, request, kwargs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request, page = self.request, self.page
        if scope.get("user") is None and SESSION_COOKIE in request.cookies:
            try:
                scope["user"] = await signed_in_user(request)
            except Exception:  # the database may be why this page is shown; show it anonymously
                log.warning("Could not look up the session for an error page on %s", request.url.path)
        user = scope.get("user")
        context: dict[str, Any] = {"status_code": page.code, "title": page.title, "message": page.message}
        if isinstance(user, CurrentUser):
            context["back_href"], context["back_label"] = back_link(user, request.url.path, page.code)
        try:
            response: Response[Any] = await render(request, "errors/error.html", context, status_code=page.code)
        except Exception:  # no database for the header: the page without the shop's name and bell
            log.exception("Rendering the error page on %s without the database", request.url.path)
            response = Template("errors/error.html", context=context, status_code=page.code)
        response.headers.update(page.headers)
        await response.to_asgi_response(app=None, request=request, **self.kwargs)(scope, receive, send)


def error_page(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> Response[Any]:
    if request.headers.get("accept", "").startswith("application/json"):
        return Response({"error": message, "status": status_code}, status_code=status_code, headers=headers)
    return ErrorPage(status_code, TITLES.get(status_code, "Error"), message, headers)


def login_redirect(request: Request, _: NotAuthorizedException) -> Response[Any]:
    if request.headers.get("hx-request"):
        return ClientRedirect(redirect_to="/auth/login")
    return Redirect(path="/auth/login", status_code=HTTP_303_SEE_OTHER)


def domain_error(request: Request, exc: Exception) -> Response[Any]:
    status = {NotFound: 404, Conflict: 409, PermissionDenied: 403, InvalidInput: 422}.get(type(exc), 400)
    return error_page(request, status, str(exc))


def method_not_allowed(request: Request, exc: MethodNotAllowedException) -> Response[Any]:
    """A GET of a form's POST address goes to the form's page; any other wrong method stays a 405."""
    allowed = {method.strip() for method in (exc.headers or {}).get("allow", "").split(",")}
    if request.method in ("GET", "HEAD") and "GET" not in allowed:
        return redirect(
            request,
            owner_page(request, request.url.path),
            "That address only takes a form, so here is the page it belongs to. Nothing was sent again.",
            "info",
        )
    return http_error(request, exc)


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
    headers = {"allow": exc.headers["allow"]} if exc.headers and "allow" in exc.headers else None
    return error_page(request, status, message, headers)


def server_error(request: Request, exc: Exception) -> Response[Any]:
    log.exception("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_page(request, 500, "The server could not finish this request. Nothing was saved.")


EXCEPTION_HANDLERS = {
    NotAuthorizedException: login_redirect,
    NotFound: domain_error,
    Conflict: domain_error,
    PermissionDenied: domain_error,
    InvalidInput: domain_error,
    MethodNotAllowedException: method_not_allowed,
    HTTPException: http_error,
    Exception: server_error,
}
