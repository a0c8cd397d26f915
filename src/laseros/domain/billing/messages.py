"""The client messages about one quote or invoice: their placeholders' values and their default texts.

The shop's own texts are the message templates with these keys (seeded by migration 0015, edited on
/comms/templates); a template switched off or failing to render falls back to the default here.
"""

from __future__ import annotations

from datetime import date

from laseros.domain.billing.models import Invoice, Quote
from laseros.domain.kernel.money import format_rand

QUOTE_EMAIL = "quote_email"  # "Send by email" on a quote
INVOICE_EMAIL = "invoice_email"  # "Send by email" on an invoice
QUOTE_REMINDER = "quote_reminder"  # the draft drafted when quote_expiring is raised

DEFAULT_SUBJECTS: dict[str, str] = {
    QUOTE_EMAIL: "Quote {{quote_number}} for {{project_name}}",
    INVOICE_EMAIL: "Tax invoice {{invoice_number}} for {{project_name}}",
}
DEFAULT_BODIES: dict[str, str] = {
    QUOTE_EMAIL: (
        "Hi {{client_name}},\n\n"
        "Please find attached our quote {{quote_number}} for {{project_name}} ({{project_code}}): "
        "{{quote_total}} incl. VAT, valid until {{quote_valid_until}}.\n\n"
        "Reply to this email to accept it and we will get started.\n\n"
        "Kind regards,\n{{company_name}}"
    ),
    INVOICE_EMAIL: (
        "Hi {{client_name}},\n\n"
        "Please find attached tax invoice {{invoice_number}} for {{project_name}} ({{project_code}}): "
        "{{invoice_total}} incl. VAT, {{invoice_balance}} due by {{invoice_due_date}}.\n\n"
        "Kind regards,\n{{company_name}}"
    ),
    QUOTE_REMINDER: (
        "Hi {{client_name}}, a friendly reminder that our quote {{quote_number}} for {{project_name}} "
        "({{quote_total}}) is valid until {{quote_valid_until}}. Shall we go ahead? — {{company_name}}"
    ),
}


def _date(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "(not set)"


def quote_values(quote: Quote) -> dict[str, str]:
    """{{quote_number}}, {{quote_total}} ("R 15,000.00") and {{quote_valid_until}} ("05 Dec 2026")."""
    return {
        "quote_number": quote.quote_number,
        "quote_total": format_rand(quote.total),
        "quote_valid_until": _date(quote.valid_until),
    }


def invoice_values(invoice: Invoice) -> dict[str, str]:
    """{{invoice_number}}, {{invoice_total}}, {{invoice_balance}} (what is still owed) and {{invoice_due_date}}."""
    return {
        "invoice_number": invoice.invoice_number or "",
        "invoice_total": format_rand(invoice.total),
        "invoice_balance": format_rand(invoice.balance),
        "invoice_due_date": _date(invoice.due_date),
    }
