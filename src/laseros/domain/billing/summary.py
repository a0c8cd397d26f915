"""What other pages show of the money side: a project's quotes, invoices and balance; the dashboard's counts;
the company details printed on documents."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from laseros.db import UnitOfWork
from laseros.domain.billing.invoices import InvoiceService
from laseros.domain.billing.models import Invoice, Quote
from laseros.domain.billing.quotes import QuoteService
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.kernel.registry import COMPANY_ADDRESS, COMPANY_BANK_DETAILS, COMPANY_NAME, COMPANY_VAT_NUMBER
from laseros.domain.kernel.settings import SettingsService
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.shop_settings.logo import LogoService


@dataclass(frozen=True)
class ProjectBilling:
    quotes: list[Quote]
    invoices: list[Invoice]
    balance: Decimal


@dataclass(frozen=True)
class BillingCounts:
    quotes_awaiting: int
    quotes_awaiting_value: Decimal
    invoices_overdue: int
    invoices_overdue_value: Decimal


@dataclass(frozen=True)
class CompanyDetails:
    name: str
    address: str
    vat_number: str
    bank_details: str
    logo: str = ""  # the uploaded logo as a data: URL (the PDF renderer fetches nothing else), or empty


async def project_billing(session: UnitOfWork, calendar: ShopCalendar, project_id: int) -> ProjectBilling:
    """The project page's block: its quotes and invoices, newest first, and what is still owed."""
    invoices = InvoiceService(session, SYSTEM, calendar)
    return ProjectBilling(
        quotes=await QuoteService(session, SYSTEM, calendar).for_project(project_id),
        invoices=await invoices.for_project(project_id),
        balance=await invoices.project_balance(project_id),
    )


async def billing_counts(session: UnitOfWork, calendar: ShopCalendar) -> BillingCounts:
    """The dashboard's block: quotes awaiting approval and invoices overdue (counts and value)."""
    awaiting, awaiting_value = await QuoteService(session, SYSTEM, calendar).awaiting_approval()
    overdue, overdue_value = await InvoiceService(session, SYSTEM, calendar).overdue_totals()
    return BillingCounts(awaiting, awaiting_value, overdue, overdue_value)


async def company_details(session: UnitOfWork, uploads_dir: Path | None = None) -> CompanyDetails:
    """The shop's details printed on documents; with ``uploads_dir``, the logo too."""
    settings = SettingsService(session)
    logo = await LogoService(session, SYSTEM, uploads_dir).current() if uploads_dir is not None else None
    return CompanyDetails(
        name=await settings.get(COMPANY_NAME),
        address=await settings.get(COMPANY_ADDRESS),
        vat_number=await settings.get(COMPANY_VAT_NUMBER),
        bank_details=await settings.get(COMPANY_BANK_DETAILS),
        logo=logo.data_url() if logo is not None else "",
    )
