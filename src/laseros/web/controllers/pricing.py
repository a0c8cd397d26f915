"""GET /projects/{id}/pricing: the project's price from its drawings, line by line (?format=json: the figures);
POST /projects/{id}/quote-from-drawing: that breakdown as a draft quote."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery

from laseros.domain.admin.roles import Permission
from laseros.domain.billing.from_drawing import DrawingQuotes
from laseros.domain.kernel.errors import InvalidInput, NotFound
from laseros.domain.pricing.services import MAX_QUANTITY, drawings, parse_quantities, price_project
from laseros.domain.projects.models import Project
from laseros.web.deps import Calendar, CurrentActor, DbSession
from laseros.web.forms import form_values
from laseros.web.guards import requires
from laseros.web.htmx import Page, redirect, render


class PricingController(Controller):
    path = "/projects"
    guards = [requires(Permission.PC_VIEW)]

    @get("/{project_id:int}/pricing")
    async def pricing(
        self,
        request: Request,
        project_id: FromPath[int],
        db_session: DbSession,
        state: State,
        format: FromQuery[str] = "",
    ) -> Page | Response[Any]:
        project = await db_session.get(Project, project_id)
        if project is None:
            raise NotFound(f"Project {project_id} does not exist.")
        files = await drawings(db_session, project_id)
        values = {key: request.query_params.get(key) or "" for key in request.query_params}
        try:
            quantities = parse_quantities(values, [f.id for f in files])
        except InvalidInput as bad:
            if format == "json":
                return Response({"errors": bad.errors}, status_code=422)
            context = {"project": project, "files": files, "values": values, "errors": bad.errors, "breakdown": None}
            return await render(
                request, "pricing/project.html", {**context, "max_quantity": MAX_QUANTITY}, status_code=422
            )
        breakdown = await price_project(db_session, project_id, state.settings.uploads_dir, quantities)
        if format == "json":
            return Response(breakdown.to_json())
        context = {
            "project": project,
            "files": files,
            "values": {f"qty_{k}": str(v) for k, v in quantities.items()},
            "errors": {},
            "breakdown": breakdown,
            "max_quantity": MAX_QUANTITY,
        }
        return await render(request, "pricing/project.html", context)

    @post("/{project_id:int}/quote-from-drawing", guards=[requires(Permission.BILLING_EDIT)])
    async def quote_from_drawing(
        self, request: Request, project_id: FromPath[int], db_session: DbSession, state: State,
        actor: CurrentActor, calendar: Calendar,
    ) -> Response[Any]:  # fmt: skip
        """A draft quote whose lines are the breakdown (the quantities as the form sends them, ``qty_<file id>``)."""
        if await db_session.get(Project, project_id) is None:
            raise NotFound(f"Project {project_id} does not exist.")
        files = await drawings(db_session, project_id)
        quantities = parse_quantities(await form_values(request), [f.id for f in files])  # 422 when bad
        quote = await DrawingQuotes(db_session, actor, calendar).create(
            project_id, state.settings.uploads_dir, quantities
        )
        return redirect(request, f"/quotes/{quote.id}",
                        f"Draft quote {quote.quote_number} made from the drawing: check it, then send it.")  # fmt: skip
