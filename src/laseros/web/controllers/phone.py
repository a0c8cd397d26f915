"""Phone mode: the shop floor's view of the jobs ready or being cut."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.response import Template

from laseros.domain.admin.roles import Permission
from laseros.web.deps import Queue
from laseros.web.guards import requires
from laseros.web.htmx import render


class PhoneController(Controller):
    path = "/phone"
    guards = [requires(Permission.PHONE_USE)]

    @get("/home")
    async def home(self, request: Request, queue: Queue) -> Template:
        jobs = await queue.list(show_all=False, page=1, per_page=50)
        return render(request, "phone/home.html", {"jobs": jobs.items, "total": jobs.total})
