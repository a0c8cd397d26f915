"""The Jinja environments: the pages' filters and globals, and the one for plain-text templates."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.runtime import Macro
from litestar import Request
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from laseros.db import utcnow
from laseros.domain.admin.roles import Permission
from laseros.domain.kernel.money import format_rand
from laseros.domain.kernel.registry import COMPANY_NAME
from laseros.domain.kernel.shop import THICKNESSES_MM, ShopCalendar, sheet_label, thickness_label
from laseros.domain.projects.stages import (
    POP_FROM,
    QUEUE_ACTION_LABELS,
    QUEUE_TRANSITIONS,
    STAGE_LABELS,
    TRANSITIONS,
    QueueStatus,
    Stage,
)
from laseros.domain.queue.models import Priority
from laseros.domain.queue.services import row_values
from laseros.settings import TEMPLATES_DIR
from laseros.web.fragments import FragmentCache


def elapsed(started_at: datetime) -> str:
    """H:MM:SS since ``started_at``: the run timer's first frame before app.js takes over."""
    seconds = max(int((utcnow() - started_at).total_seconds()), 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def sheets(count: int | None) -> str:
    return "" if count is None else f"{count} sheet{'' if count == 1 else 's'}"


def duration(minutes: Decimal | float | int | None) -> str:
    """A length of time as people say it: "7 s", "4 min", "1 h 20 min"."""
    if minutes is None:
        return ""
    seconds = round(float(minutes) * 60)
    if seconds < 60:
        return f"{seconds} s"
    whole = round(seconds / 60)
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def number(value: Decimal | None) -> str:
    """A measured quantity without trailing zeros: 42.00 → 42, 42.50 → 42.5."""
    if value is None:
        return ""
    return f"{value.normalize():f}" if value != value.to_integral() else f"{value:.0f}"


def money(value: Decimal | None) -> str:
    """ZAR as the shop writes it: R 15,000.00 (``kernel.money.format_rand``)."""
    return format_rand(value)


def configure(env: Environment, calendar: ShopCalendar) -> None:
    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return "" if value is None else calendar.local(value).strftime(fmt)

    def isodate(value: date | None) -> str:
        return "" if value is None else value.isoformat()

    def current_user(request: Request) -> Any:
        return request.scope.get("user")

    def csrf_token(request: Request) -> str:
        token = ScopeState.from_scope(request.scope).csrf_token
        return token if isinstance(token, str) else request.cookies.get("csrftoken", "")

    def csrf_field(request: Request) -> Markup:
        return Markup('<input type="hidden" name="_csrf_token" value="{}">').format(csrf_token(request))

    def url_with(request: Request, **changes: Any) -> str:
        """This page's URL with some query parameters changed (for pagination and filters)."""
        params = {k: v for k, v in request.query_params.items() if k not in changes}
        params.update({k: v for k, v in changes.items() if v not in (None, "")})
        return f"{request.url.path}?{urlencode(params)}" if params else request.url.path

    def thickness_options() -> list[tuple[str, str]]:
        return [(str(t), f"{thickness_label(t)} mm") for t in THICKNESSES_MM]

    env.filters.update(
        zip_self=lambda values: [(v, v) for v in values],
        money=money,
        format_rand=format_rand,
        localtime=localtime,
        isodate=isodate,
        thickness=thickness_label,
        elapsed=elapsed,
        sheets=sheets,
        number=number,
        duration=duration,
        stage_label=lambda s: STAGE_LABELS[Stage(s)] if s else "",
    )
    env.globals.update(
        current_user=current_user,
        csrf_token=csrf_token,
        csrf_field=csrf_field,
        url_with=url_with,
        Permission=Permission,
        Stage=Stage,
        STAGES=list(Stage),
        TRANSITIONS=TRANSITIONS,
        QueueStatus=QueueStatus,
        QUEUE_TRANSITIONS=QUEUE_TRANSITIONS,
        QUEUE_ACTION_LABELS=QUEUE_ACTION_LABELS,
        PRIORITIES=[p.value for p in Priority],
        thickness_options=thickness_options,
        POP_FROM=POP_FROM,
        # A page rendered by ``htmx.render`` has the shop's own name; an error page the default.
        company_name=COMPANY_NAME.default_text,
        sheet=sheet_label,
        queue_row_values=row_values,
        cached_fragment=FragmentCache().fragment,  # one per app's environment (web/fragments.py)
        today=calendar.today,
        now_utc=utcnow,
    )
    # The shared macros (form fields, badges, pagination) are globals, so a block rendered on its
    # own as an htmx fragment has them just like the whole page does.
    macros = env.get_template("_components/macros.html").module
    env.globals.update({name: value for name, value in vars(macros).items() if isinstance(value, Macro)})


@functools.cache
def text_environment() -> Environment:
    """Plain-text templates (``*.txt``) from the same folder as the pages, with nothing escaped.

    Block tags take their own line's whitespace with them (``trim_blocks``, ``lstrip_blocks``), so
    a template reads line by line like the text it makes; an unknown name is an error, not a blank.
    """
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters.update(sheets=sheets, number=number)
    return env


def render_text(template: str, context: dict[str, Any]) -> str:
    return text_environment().get_template(template).render(context)
