"""The communication log, its attachments, and the message templates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from laseros.db import TimestampedBase, UTCDateTime

if TYPE_CHECKING:
    from laseros.domain.clients.models import Client
    from laseros.domain.projects.models import Project


class Channel(StrEnum):
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    PHONE = "phone"
    NOTE = "note"

    @property
    def label(self) -> str:
        return {"email": "Email", "whatsapp": "WhatsApp", "phone": "Phone", "note": "Note"}[self.value]


class Direction(StrEnum):
    OUT = "out"
    IN = "in"


class CommStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    RECEIVED = "received"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Triage(StrEnum):
    """Where an inbound message stands: acted on, waiting in /comms/inbox, discarded, or ignored."""

    NONE = ""  # outbound, or inbound and handled (matched to a project or client)
    INBOX = "inbox"  # unknown sender: waits for a person
    DISCARDED = "discarded"
    IGNORED = "ignored"  # auto-reply or bounce: logged, never acted on


class Communication(TimestampedBase):
    __tablename__ = "communications"

    channel: Mapped[str] = mapped_column(String(10), default=Channel.EMAIL.value, index=True)
    direction: Mapped[str] = mapped_column(String(3), default=Direction.OUT.value)
    status: Mapped[str] = mapped_column(String(10), default=CommStatus.PENDING.value, index=True)
    # What made it: "manual", "pop_confirmation", "draft", "inbound", "auto_reply", "bounce", "logged".
    kind: Mapped[str] = mapped_column(String(20), default="manual")
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("message_templates.id", ondelete="SET NULL"))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_drafts.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    recipient: Mapped[str] = mapped_column(String(320), default="")  # out: to whom
    sender: Mapped[str] = mapped_column(String(320), default="")  # in: from whom; out: our From
    # Ours for an email out (replies thread back by it); the sender's for an email in (stored once).
    message_id: Mapped[str | None] = mapped_column(String(300), unique=True, default=None)
    in_reply_to: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    triage: Mapped[str] = mapped_column(String(10), default=Triage.NONE.value, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    client: Mapped[Client | None] = relationship(lazy="raise")
    project: Mapped[Project | None] = relationship(lazy="raise")
    attachments: Mapped[list[CommAttachment]] = relationship(
        back_populates="communication",
        cascade="all, delete-orphan",
        lazy="raise",
        order_by="CommAttachment.id",
    )

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label

    @property
    def status_label(self) -> str:
        return CommStatus(self.status).label


class CommAttachment(TimestampedBase):
    """A file that came with (or went with) a message, kept under <data folder>/uploads/comms/."""

    __tablename__ = "comm_attachments"

    communication_id: Mapped[int] = mapped_column(ForeignKey("communications.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer, default=0)
    stored_path: Mapped[str] = mapped_column(String(500))  # relative to the data folder
    sha256: Mapped[str] = mapped_column(String(64), default="")
    # The project these were filed on (``inbound.file_attachments``), and whether it looks like a POP.
    filed_project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    looks_like_pop: Mapped[bool] = mapped_column(Boolean, default=False)

    communication: Mapped[Communication] = relationship(back_populates="attachments", lazy="raise")


class MessageTemplate(TimestampedBase):
    """A message the shop sends again and again; ``key`` marks the ones the system uses itself."""

    __tablename__ = "message_templates"

    key: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(10), default=Channel.EMAIL.value)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
