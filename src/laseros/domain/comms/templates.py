"""Message templates (/comms/templates): list, new, edit, (de)activate, preview with a real project.

A template is written by a person, so it is untrusted: its subject and body must parse, use only
the placeholders (``TEMPLATE_FIELDS``) and render within the sandbox's bounds, or the form is
refused with the reason beside the field.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from laseros.db import action
from laseros.domain.clients.models import Client
from laseros.domain.comms.models import Channel, MessageTemplate
from laseros.domain.comms.templating import RenderFailed, render_text, values_for
from laseros.domain.kernel.activity import record_activity
from laseros.domain.kernel.actor import Actor
from laseros.domain.kernel.errors import InvalidInput, NotFound
from laseros.domain.kernel.fields import FieldReader
from laseros.domain.kernel.message_templates import (
    PLACEHOLDERS,
    TEMPLATE_FIELDS,
    check_template,
    render_message,
    unknown_names,
)
from laseros.domain.kernel.registry import COMPANY_NAME
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.projects.models import Project

NAME_MAX = 100
DESCRIPTION_MAX = 300
SUBJECT_MAX = 300
BODY_MAX = 5000  # an email
MESSAGE_MAX = 2000  # a WhatsApp, phone or note text: what a draft may hold (drafts.BODY_MAX_CHARS)


def template_problem(source: str) -> str | None:
    """Why ``source`` cannot be a template (said plainly for an unknown placeholder), or None."""
    problem = check_template(source)
    if problem is None:
        return None
    unknown = unknown_names(source)
    if unknown:
        names = ", ".join("{{" + name + "}}" for name in unknown)
        problem = f"{names} {'is not a placeholder' if len(unknown) == 1 else 'are not placeholders'}"
    return f"{problem.rstrip('.')}. The placeholders are {PLACEHOLDERS}."


@dataclass(frozen=True)
class TemplateInput:
    name: str
    description: str
    subject: str
    body: str
    channel: str
    is_active: bool

    @classmethod
    def parse(cls, values: dict[str, str]) -> TemplateInput:
        read = FieldReader(values)
        name = read.text("name", required=True, max_length=NAME_MAX)
        description = read.text("description", max_length=DESCRIPTION_MAX)
        channel = read.choice("channel", [c.value for c in Channel], required=True)
        subject = read.text("subject", required=channel == Channel.EMAIL.value, max_length=SUBJECT_MAX)
        limit = BODY_MAX if channel == Channel.EMAIL.value else MESSAGE_MAX
        body = read.text("body", required=True, max_length=limit)
        for field, source in (("subject", subject), ("body", body)):
            if source and field not in read.errors:
                problem = template_problem(source)
                if problem:
                    read.errors[field] = problem
                    continue
                sample = render_message(source, {n: n for n in TEMPLATE_FIELDS})
                if field == "body" and not sample:
                    read.errors[field] = "This message comes out empty: write the text the client should read."
                elif len(sample) > (limit if field == "body" else SUBJECT_MAX):
                    most = limit if field == "body" else SUBJECT_MAX
                    read.errors[field] = f"This comes out longer than {most} characters."
        is_active = read.flag("is_active")
        read.finish()
        return cls(name, description, subject, body, channel, is_active)


@dataclass(frozen=True)
class Preview:
    project: Project
    subject: str
    body: str


class TemplateService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def list(self) -> builtins.list[MessageTemplate]:
        stmt = select(MessageTemplate).order_by(MessageTemplate.is_active.desc(), MessageTemplate.name)
        return builtins.list((await self.session.scalars(stmt)).all())

    async def get(self, template_id: int) -> MessageTemplate:
        template = await self.session.get(MessageTemplate, template_id)
        if template is None:
            raise NotFound(f"Template {template_id} does not exist.")
        return template

    async def _check_name(self, name: str, template_id: int | None) -> None:
        stmt = select(func.count()).select_from(MessageTemplate).where(func.lower(MessageTemplate.name) == name.lower())
        if template_id is not None:
            stmt = stmt.where(MessageTemplate.id != template_id)
        if await self.session.scalar(stmt):
            raise InvalidInput({"name": "Another template already has this name."})

    @action
    async def create(self, data: TemplateInput) -> MessageTemplate:
        await self._check_name(data.name, None)
        template = MessageTemplate(
            name=data.name,
            description=data.description,
            subject=data.subject,
            body=data.body,
            channel=data.channel,
            is_active=data.is_active,
        )
        self.session.add(template)
        await self.session.flush()
        record_activity(self.session, self.actor, "created", "template", template.id, data.name)
        await self.session.commit()
        return template

    @action
    async def update(self, template_id: int, data: TemplateInput) -> MessageTemplate:
        template = await self.get(template_id)
        await self._check_name(data.name, template_id)
        if template.key and data.channel != template.channel:
            raise InvalidInput({"channel": "The shop sends this template itself on this channel: it cannot change."})
        template.name = data.name
        template.description = data.description
        template.subject = data.subject
        template.body = data.body
        template.channel = data.channel
        template.is_active = data.is_active
        record_activity(self.session, self.actor, "edited", "template", template.id, data.name)
        await self.session.commit()
        return template

    @action
    async def set_active(self, template_id: int, active: bool) -> MessageTemplate:
        template = await self.get(template_id)
        if template.is_active != active:
            template.is_active = active
            record_activity(
                self.session,
                self.actor,
                "activated" if active else "deactivated",
                "template",
                template.id,
                template.name,
            )
            await self.session.commit()
        return template

    async def preview(self, template: MessageTemplate, project_id: int | None) -> Preview | None:
        """The template filled in for a real project (the one given, else the newest)."""
        stmt = select(Project).order_by(Project.id.desc()).limit(1)
        if project_id is not None:
            stmt = select(Project).where(Project.id == project_id)
        project = await self.session.scalar(stmt)
        if project is None:
            return None
        client = await self.session.get(Client, project.client_id)
        values = values_for(client, project, await SettingsService(self.session).get(COMPANY_NAME))
        try:
            return Preview(
                project, await render_text(template.subject, values), await render_text(template.body, values)
            )
        except RenderFailed as failed:
            return Preview(project, "", f"(This template does not render: {failed})")

    async def projects(self, limit: int = 200) -> builtins.list[Project]:
        stmt = select(Project).order_by(Project.id.desc()).limit(limit)
        return builtins.list((await self.session.scalars(stmt)).all())
