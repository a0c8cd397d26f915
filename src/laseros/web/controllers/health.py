"""``GET /healthz``: is the shop's machinery up? Public, JSON, fast even when Redis is away."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from laseros.web.deps import Jobs


@get("/healthz", include_in_schema=False, cache=False)
async def healthz(jobs: Jobs) -> Response[dict[str, Any]]:
    """Database, Redis and the worker's last heartbeat; 200 when all are up, 503 when any is down."""
    report = await jobs.health()
    status = HTTP_200_OK if report["status"] == "ok" else HTTP_503_SERVICE_UNAVAILABLE
    return Response(report, status_code=status, headers={"Cache-Control": "no-store"})
