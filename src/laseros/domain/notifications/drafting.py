"""Drafting client messages: one draft per event, its text from the shop's message template (/comms/templates).

The evaluator (``evaluate.evaluate``) says which events call for a message (``rules.DraftNeed``);
this adds the drafts not made yet and withdraws the unsent ones whose job has moved on.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError
from sqlalchemy import Select, bindparam, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import built_once, utcnow
from laseros.domain.comms.models import MessageTemplate
from laseros.domain.kernel.message_templates import NO_DOCUMENT, render_in_thread
from laseros.domain.kernel.registry import (
    COMPANY_NAME,
    MESSAGE_APPROVAL_FOLLOWUP,
    MESSAGE_MATERIAL_DELAY,
    MESSAGE_READY_FOR_COLLECTION,
)
from laseros.domain.kernel.settings import Setting, SettingsService
from laseros.domain.notifications.models import DraftKind, DraftStatus, OutboundDraft
from laseros.domain.projects.stages import Stage

if TYPE_CHECKING:
    from laseros.domain.notifications.rules import DraftNeed, ProjectFacts

# Each kind's default text (the registry's); the shop's own text is the message template whose
# ``key`` is the kind (moved there from the settings by migration 0008).
MESSAGE_SETTINGS: dict[DraftKind, Setting[str]] = {
    DraftKind.APPROVAL_FOLLOWUP: MESSAGE_APPROVAL_FOLLOWUP,
    DraftKind.READY_FOR_COLLECTION: MESSAGE_READY_FOR_COLLECTION,
    DraftKind.MATERIAL_DELAY: MESSAGE_MATERIAL_DELAY,
}


def _date(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "(not set)"


def template_values(project: ProjectFacts, company_name: str) -> dict[str, Any]:
    return {
        **NO_DOCUMENT,  # a project's stay in a stage is about no one quote or invoice
        "client_name": project.client_name,
        "project_code": project.project_code,
        "project_name": project.name,
        "pop_deadline": _date(project.pop_deadline),
        "due_date": _date(project.due_date),
        "company_name": company_name,
    }


async def templates(session: AsyncSession) -> dict[DraftKind, str]:
    """Each kind's text: its active message template (``key`` = the kind, /comms/templates), else the default."""
    rows = await session.execute(
        select(MessageTemplate.key, MessageTemplate.body).where(
            MessageTemplate.key.in_([kind.value for kind in MESSAGE_SETTINGS]), MessageTemplate.is_active
        )
    )
    stored = {key: body for key, body in rows.all() if body}
    return {kind: stored.get(kind.value, setting.default_text) for kind, setting in MESSAGE_SETTINGS.items()}


# The stage a draft is about: once the job has left it, an unsent draft is out of date.
DRAFT_STAGE: dict[DraftKind, Stage] = {
    DraftKind.APPROVAL_FOLLOWUP: Stage.QUOTE,
    DraftKind.READY_FOR_COLLECTION: Stage.READY,
    DraftKind.MATERIAL_DELAY: Stage.WAITING_MATERIAL,
}


@built_once
def _pending_statement(*, scoped: bool) -> Select[*tuple[Any, ...]]:
    """Pending drafts about a stage (``scoped``: of the projects in the ``ids`` parameter)."""
    pending = select(OutboundDraft.id, OutboundDraft.kind, OutboundDraft.project_id, OutboundDraft.event_key).where(
        OutboundDraft.status == DraftStatus.PENDING.value,
        OutboundDraft.kind.in_([kind.value for kind in DRAFT_STAGE]),  # a quote reminder is billing's to withdraw
    )
    return pending.where(OutboundDraft.project_id.in_(bindparam("ids", expanding=True))) if scoped else pending


async def withdraw_outdated(
    session: AsyncSession, current: dict[int, ProjectFacts], projects: Collection[int] | None
) -> int:
    """Withdraw pending drafts whose job has left the stay they were written for (caller's transaction).

    ``current`` holds the facts of the watched projects in scope; a project in scope but not in it
    (delivered, cancelled, back to request) has nothing left to say.
    """
    if projects is None:
        rows = list((await session.execute(_pending_statement(scoped=False))).all())
    else:
        ids = sorted(projects)
        rows = []
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            rows.extend((await session.execute(_pending_statement(scoped=True), {"ids": chunk})).all())
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


async def ensure_drafts(session: AsyncSession, needs: Iterable[DraftNeed]) -> int:
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
    company_name = await SettingsService(session).get(COMPANY_NAME)
    added = 0
    for need in needs:
        key = (need.kind.value, need.project.id, need.project.event_key)
        if key in made:
            continue
        made.add(key)
        try:
            body = await render_in_thread(sources[need.kind], template_values(need.project, company_name))
        except (TemplateError, ArithmeticError, ValueError, TypeError):  # a broken shop template must not stop the shop
            default = MESSAGE_SETTINGS[need.kind].default_text
            body = await render_in_thread(default, template_values(need.project, company_name))
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


@dataclass(frozen=True)
class DocumentDraftNeed:
    """A client message about one document (a quote reminder), drafted once per ``event_key``."""

    project_id: int
    client_id: int
    event_key: str  # "quote:12"
    values: dict[str, Any]  # every placeholder's value


async def ensure_document_drafts(
    session: AsyncSession, kind: DraftKind, needs: Iterable[DocumentDraftNeed], default: str
) -> int:
    """Draft the messages not drafted yet (caller's transaction): the active template keyed ``kind``, else
    ``default``. An event with a draft in any status (sent, deleted, withdrawn) is not drafted again."""
    needs = list(needs)
    if not needs:
        return 0
    made: set[tuple[int, str]] = {
        (project_id, event_key)
        for project_id, event_key in (
            await session.execute(
                select(OutboundDraft.project_id, OutboundDraft.event_key).where(
                    OutboundDraft.kind == kind.value, OutboundDraft.event_key.in_([n.event_key for n in needs])
                )
            )
        ).all()
    }
    source = await session.scalar(
        select(MessageTemplate.body).where(MessageTemplate.key == kind.value, MessageTemplate.is_active)
    )
    added = 0
    for need in needs:
        if (need.project_id, need.event_key) in made:
            continue
        made.add((need.project_id, need.event_key))
        try:
            body = await render_in_thread(source or default, need.values)
        except (TemplateError, ArithmeticError, ValueError, TypeError):  # a broken shop template drafts the default
            body = await render_in_thread(default, need.values)
        session.add(
            OutboundDraft(
                kind=kind.value,
                project_id=need.project_id,
                client_id=need.client_id,
                event_key=need.event_key,
                body_text=body,
            )
        )
        added += 1
    if added:
        await session.flush()
    return added


async def pending_document_drafts(session: AsyncSession, kind: DraftKind) -> list[tuple[int, str]]:
    """The pending ``kind`` drafts: (draft id, event key)."""
    rows = await session.execute(
        select(OutboundDraft.id, OutboundDraft.event_key).where(
            OutboundDraft.kind == kind.value, OutboundDraft.status == DraftStatus.PENDING.value
        )
    )
    return [(draft_id, event_key) for draft_id, event_key in rows.all()]


async def withdraw_drafts(session: AsyncSession, draft_ids: Collection[int]) -> None:
    """Withdraw these pending drafts: what they say is no longer true (caller's transaction)."""
    ids = sorted(draft_ids)
    for start in range(0, len(ids), 400):
        await session.execute(
            update(OutboundDraft)
            .where(OutboundDraft.id.in_(ids[start : start + 400]), OutboundDraft.status == DraftStatus.PENDING.value)
            .values(status=DraftStatus.WITHDRAWN.value, updated_at=utcnow())
        )
