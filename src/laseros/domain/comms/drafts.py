"""Drafting client messages: the templates, rendered in a Jinja sandbox, and one draft per event."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import utcnow
from laseros.domain.admin.models import ShopSetting
from laseros.domain.comms.models import DraftKind, DraftStatus, OutboundDraft
from laseros.domain.projects.stages import Stage

if TYPE_CHECKING:
    from laseros.domain.notifications.rules import DraftNeed, ProjectFacts

# Defaults; a shop overrides one by storing the setting ``draft_template_<kind>``.
DEFAULT_TEMPLATES: dict[DraftKind, str] = {
    DraftKind.APPROVAL_FOLLOWUP: (
        "Hi {{client_name}}, just checking in on your quote for {{project_name}} ({{project_code}}). "
        "We're ready to start as soon as you approve. Shall we go ahead? — {{company_name}}"
    ),
    DraftKind.READY_FOR_COLLECTION: (
        "Hi {{client_name}}, good news: your order {{project_name}} ({{project_code}}) is cut and ready "
        "for collection. Please let us know what time suits you. — {{company_name}}"
    ),
    DraftKind.MATERIAL_DELAY: (
        "Hi {{client_name}}, a quick update on {{project_name}} ({{project_code}}): we are waiting on "
        "material for your job and will start cutting as soon as it arrives. Sorry for the delay; we'll "
        "keep you posted. — {{company_name}}"
    ),
}

TEMPLATE_FIELDS = ("client_name", "project_code", "project_name", "pop_deadline", "due_date", "company_name")

_sandbox = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)


def setting_key(kind: DraftKind) -> str:
    return f"draft_template_{kind.value}"


def _date(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "(not set)"


def template_values(project: ProjectFacts, company_name: str) -> dict[str, Any]:
    return {
        "client_name": project.client_name,
        "project_code": project.project_code,
        "project_name": project.name,
        "pop_deadline": _date(project.pop_deadline),
        "due_date": _date(project.due_date),
        "company_name": company_name,
    }


def check_template(source: str) -> str | None:
    """Why ``source`` cannot be used as a message template, or None when it renders."""
    try:
        _sandbox.from_string(source).render({field: field for field in TEMPLATE_FIELDS})
    except TemplateError as problem:
        return f"The template does not render: {problem.message or problem}"
    return None


def render_message(source: str, values: dict[str, Any]) -> str:
    """Render a (shop-editable, so untrusted) template in the sandbox."""
    return _sandbox.from_string(source).render(values).strip()


async def templates(session: AsyncSession) -> dict[DraftKind, str]:
    stored = dict(
        (
            await session.execute(
                select(ShopSetting.key, ShopSetting.value).where(ShopSetting.key.like("draft_template_%"))
            )
        ).all()
    )
    return {kind: stored.get(setting_key(kind)) or default for kind, default in DEFAULT_TEMPLATES.items()}


# The stage a draft is about: once the job has left it, an unsent draft is out of date.
DRAFT_STAGE: dict[DraftKind, Stage] = {
    DraftKind.APPROVAL_FOLLOWUP: Stage.QUOTE,
    DraftKind.READY_FOR_COLLECTION: Stage.READY,
    DraftKind.MATERIAL_DELAY: Stage.WAITING_MATERIAL,
}


async def withdraw_outdated(
    session: AsyncSession, current: dict[int, ProjectFacts], projects: Collection[int] | None
) -> int:
    """Withdraw pending drafts whose job has left the stay they were written for (caller's transaction).

    ``current`` holds the facts of the watched projects in scope; a project in scope but not in it
    (delivered, cancelled, back to request) has nothing left to say.
    """
    pending = select(OutboundDraft.id, OutboundDraft.kind, OutboundDraft.project_id, OutboundDraft.event_key).where(
        OutboundDraft.status == DraftStatus.PENDING.value
    )
    if projects is None:
        rows = list((await session.execute(pending)).all())
    else:
        ids = sorted(projects)
        rows = []
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            rows.extend((await session.execute(pending.where(OutboundDraft.project_id.in_(chunk)))).all())
    stale = []
    for draft_id, kind, project_id, event_key in rows:
        facts = current.get(project_id)
        if facts is None or facts.stage != DRAFT_STAGE[DraftKind(kind)] or facts.event_key != event_key:
            stale.append(draft_id)
    for start in range(0, len(stale), 400):
        await session.execute(
            update(OutboundDraft)
            .where(OutboundDraft.id.in_(stale[start : start + 400]))
            .values(status=DraftStatus.WITHDRAWN.value, updated_at=utcnow())
        )
    return len(stale)


async def ensure_drafts(session: AsyncSession, needs: Iterable[DraftNeed], company_name: str) -> int:
    """Add the drafts not made yet for these events (caller's transaction); returns how many were added.

    A draft that was sent or deleted still counts as made, so an event is drafted once.
    """
    needs = list(needs)
    if not needs:
        return 0
    made: set[tuple[str, int, str]] = set()
    for start in range(0, len(needs), 400):
        chunk = needs[start : start + 400]
        keys = [(n.kind.value, n.project.id, n.project.event_key) for n in chunk]
        made.update(
            (await session.execute(
                select(OutboundDraft.kind, OutboundDraft.project_id, OutboundDraft.event_key).where(
                    tuple_(OutboundDraft.kind, OutboundDraft.project_id, OutboundDraft.event_key).in_(keys)
                )
            )).all()
        )  # fmt: skip
    sources = await templates(session)
    added = 0
    for need in needs:
        key = (need.kind.value, need.project.id, need.project.event_key)
        if key in made:
            continue
        made.add(key)
        try:
            body = render_message(sources[need.kind], template_values(need.project, company_name))
        except TemplateError:  # a broken shop template must not stop the shop: fall back to ours
            body = render_message(DEFAULT_TEMPLATES[need.kind], template_values(need.project, company_name))
        session.add(
            OutboundDraft(
                kind=need.kind.value,
                project_id=need.project.id,
                client_id=need.project.client_id,
                event_key=need.project.event_key,
                body_text=body,
            )
        )
        added += 1
    if added:
        await session.flush()
    return added
