"""quote and invoice emails: the invoice's sent-by-email time; the quote, invoice and reminder templates

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 17:00:00

Seeds the message templates "Send by email" uses for a quote and an invoice (``quote_email``,
``invoice_email``) and the reminder drafted when a quote is about to expire (``quote_reminder``),
with the defaults of ``domain/billing/messages.py`` as they are today (a migration does not change
when the code does). The company logo needs no schema: it is a file under the uploads folder named
by the ``company_logo`` row of ``shop_settings``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import laseros.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TEMPLATES = [
    (
        "quote_email",
        "Quote by email",
        "Sent with the quote's PDF by “Send by email” on a quote.",
        "Quote {{quote_number}} for {{project_name}}",
        "Hi {{client_name}},\n\n"
        "Please find attached our quote {{quote_number}} for {{project_name}} ({{project_code}}): "
        "{{quote_total}} incl. VAT, valid until {{quote_valid_until}}.\n\n"
        "Reply to this email to accept it and we will get started.\n\n"
        "Kind regards,\n{{company_name}}",
        "email",
    ),
    (
        "invoice_email",
        "Invoice by email",
        "Sent with the tax invoice's PDF by “Send by email” on an issued invoice.",
        "Tax invoice {{invoice_number}} for {{project_name}}",
        "Hi {{client_name}},\n\n"
        "Please find attached tax invoice {{invoice_number}} for {{project_name}} ({{project_code}}): "
        "{{invoice_total}} incl. VAT, {{invoice_balance}} due by {{invoice_due_date}}.\n\n"
        "Kind regards,\n{{company_name}}",
        "email",
    ),
    (
        "quote_reminder",
        "Quote expiry reminder",
        "Drafted when a sent quote has three days or fewer left.",
        "Your quote {{quote_number}} for {{project_name}}",
        "Hi {{client_name}}, a friendly reminder that our quote {{quote_number}} for {{project_name}} "
        "({{quote_total}}) is valid until {{quote_valid_until}}. Shall we go ahead? — {{company_name}}",
        "whatsapp",
    ),
]


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", laseros.db.UTCDateTime(timezone=True), nullable=True))
    now = datetime.now(UTC)
    templates = sa.table(
        "message_templates",
        *(sa.column(name) for name in ("key", "name", "description", "subject", "body", "channel", "is_active")),
        sa.column("created_at", laseros.db.UTCDateTime()),
        sa.column("updated_at", laseros.db.UTCDateTime()),
    )
    connection = op.get_bind()
    taken = {name.lower() for (name,) in connection.execute(sa.select(templates.c.name)).all()}
    op.bulk_insert(
        templates,
        [
            {
                "key": key,
                # A shop's own template may already have the name: the seeded one says what it is for.
                "name": name if name.lower() not in taken else f"{name} (Laser OS)",
                "description": description,
                "subject": subject,
                "body": body,
                "channel": channel,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for key, name, description, subject, body, channel in TEMPLATES
        ],
    )


def downgrade() -> None:
    templates = sa.table("message_templates", sa.column("key"))
    op.execute(templates.delete().where(templates.c.key.in_([key for key, *_ in TEMPLATES])))
    shop_settings = sa.table("shop_settings", sa.column("key"))
    op.execute(shop_settings.delete().where(shop_settings.c.key == "company_logo"))
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("sent_at")
