"""The one accounting interface and its two back ends (docs/accounting.md has the resources used).

:class:`ZaBackend` speaks the South African Sage Business Cloud Accounting API 2.0.0 (HTTP Basic
with the Sage user's login, the integration's ``apikey`` and ``companyid`` in the query string);
:class:`V31Backend` speaks Sage's international API v3.1 (an OAuth2 bearer token that lasts five
minutes, the business in ``X-Business``). The sync only sees :class:`AccountingBackend`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from laseros.domain.accounting.client import SageAuthError, SageHttp, SageRejected, SageSetupError
from laseros.domain.accounting.invoices import IssuedInvoice
from laseros.domain.kernel.money import vat_on
from laseros.settings import SageEndpoints

# The SA API returns at most 100 rows per list call, whatever $top asks for.
ZA_PAGE = 100
V31_PAGE = 200
# Refresh a v3.1 access token this long before it runs out (they last 300 s).
REFRESH_MARGIN_S = 60


@dataclass(frozen=True)
class Company:
    id: str
    name: str


@dataclass(frozen=True)
class RemoteCustomer:
    """A customer as Sage has it (the fields the sync compares and copies)."""

    id: str
    name: str
    email: str = ""
    contact_person: str = ""
    phone: str = ""
    address: str = ""


@dataclass(frozen=True)
class NewCustomer:
    name: str
    email: str
    contact_person: str
    phone: str
    address: str


@dataclass(frozen=True)
class RemoteInvoice:
    """A tax invoice (SA) or sales invoice (v3.1) as Sage has it: its number and what is still owed."""

    id: str
    number: str
    total: Decimal
    outstanding: Decimal


class AccountingBackend(Protocol):
    name: str

    async def customers(self) -> list[RemoteCustomer]: ...

    async def create_customer(self, customer: NewCustomer) -> RemoteCustomer: ...


class InvoiceBackend(Protocol):
    """What the invoice sync asks of a back end (both speak it)."""

    name: str

    async def create_invoice(self, invoice: IssuedInvoice, customer_id: str) -> RemoteInvoice: ...

    async def find_invoice(self, number: str) -> RemoteInvoice | None: ...

    async def get_invoice(self, invoice_id: str) -> RemoteInvoice: ...


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value is not None else 0))
    except ArithmeticError:
        return Decimal(0)


def _amount(value: Decimal) -> float:
    # JSON numbers; every amount here is already whole cents, so the float prints back the same.
    return float(value)


def line_vat(nets: Sequence[Decimal], vat_rate: Decimal, vat_total: Decimal) -> list[Decimal]:
    """Each line's VAT, so that they add up to the invoice's VAT (rounded once on the subtotal):
    the rounding difference goes to the largest line."""
    taxes = [vat_on(net, vat_rate) for net in nets]
    if taxes:
        largest = max(range(len(nets)), key=lambda i: nets[i])
        taxes[largest] += vat_total - sum(taxes, Decimal(0))
    return taxes


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _address_lines(address: str, count: int) -> list[str]:
    lines = [line.strip() for line in address.splitlines() if line.strip()]
    if len(lines) > count:
        lines = [*lines[: count - 1], ", ".join(lines[count - 1 :])]
    return lines + [""] * (count - len(lines))


# -- South Africa: SA API 2.0.0 ----------------------------------------------------------------------


class ZaBackend:
    """Sage Business Cloud Accounting, South Africa (``{za_url}/{Service}/{Method}?apikey=…&companyid=…``)."""

    name = "za"

    def __init__(self, http: SageHttp, username: str, password: str, api_key: str, company_id: str = "") -> None:
        self.http = http
        self.base = http.endpoints.za_url.rstrip("/")
        self.auth = httpx.BasicAuth(username, password)
        self.api_key = api_key
        self.company_id = company_id
        self._account_id: str | None = None
        self._tax_types: dict[Decimal, str] = {}
        http.redact.add(password, api_key)

    async def _call(self, method: str, resource: str, *, company: bool = True, **kwargs: Any) -> Any:
        params: dict[str, Any] = {"apikey": self.api_key, **kwargs.pop("params", {})}
        if company:
            params["companyid"] = self.company_id
        response = await self.http.request(
            method, f"{self.base}/{resource}", call=f"{method} {resource}", params=params, auth=self.auth, **kwargs
        )
        return response.json() if response.content else None

    async def companies(self) -> list[Company]:
        """``Company/Get``: the companies this login may use (checks the credentials too)."""
        body = await self._call("GET", "Company/Get", company=False)
        rows = body.get("Results", []) if isinstance(body, dict) else body or []
        return [Company(_text(row.get("ID")), _text(row.get("Name"))) for row in rows if isinstance(row, dict)]

    async def _rows(self, resource: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a list call, 100 at a time (``$skip``/``$top``)."""
        found: list[dict[str, Any]] = []
        skip = 0
        while True:
            query = {"$top": ZA_PAGE, "$skip": skip, "$orderby": "ID", **params}
            body = await self._call("GET", resource, params=query)
            rows = [row for row in (body or {}).get("Results", []) if isinstance(row, dict)]
            found.extend(rows)
            total = int((body or {}).get("TotalResults") or 0)
            skip += len(rows)
            if not rows or skip >= total:
                return found

    async def customers(self) -> list[RemoteCustomer]:
        """Every customer, 100 at a time (``Customer/Get`` with ``$skip``/``$top``)."""
        return [self._customer(row) for row in await self._rows("Customer/Get")]

    async def create_customer(self, customer: NewCustomer) -> RemoteCustomer:
        """``Customer/Save`` without an ``ID``: a new customer."""
        lines = _address_lines(customer.address, 5)
        body = {
            "Name": customer.name,
            "ContactName": customer.contact_person,
            "Email": customer.email,
            "Telephone": customer.phone,
            "Active": True,
            **{f"PostalAddress0{i + 1}": line for i, line in enumerate(lines)},
        }
        saved = await self._call("POST", "Customer/Save", json=body)
        if not isinstance(saved, dict) or not saved.get("ID"):
            raise SageRejected("Sage saved the customer but did not say its ID.")
        return self._customer(saved)

    @staticmethod
    def _customer(row: dict[str, Any]) -> RemoteCustomer:
        lines = (_text(row.get(f"PostalAddress0{i}")) for i in range(1, 6))
        address = "\n".join(line for line in lines if line)
        return RemoteCustomer(
            id=_text(row.get("ID")),
            name=_text(row.get("Name")),
            email=_text(row.get("Email")),
            contact_person=_text(row.get("ContactName")),
            phone=_text(row.get("Telephone")) or _text(row.get("Mobile")),
            address=address,
        )

    # Tax invoices: used by the invoice sync (docs/accounting.md, "Invoices to Sage").

    async def _sales_account(self) -> str:
        """``Account/Get``: the account named ``LASEROS_SAGE_SALES_ACCOUNT`` ("Sales"), once per run."""
        if self._account_id is None:
            wanted = self.http.endpoints.sales_account.strip().casefold()
            rows = await self._rows("Account/Get")
            found = next(
                (r for r in rows if _text(r.get("Name")).casefold() == wanted and r.get("Active") is not False), None
            )
            if found is None or not _text(found.get("ID")):
                raise SageSetupError(
                    f"Sage has no account named “{self.http.endpoints.sales_account}” for the invoice lines: "
                    "set LASEROS_SAGE_SALES_ACCOUNT to the sales account's name in Sage."
                )
            self._account_id = _text(found.get("ID"))
        return self._account_id

    async def _tax_type(self, vat_rate: Decimal) -> str:
        """``TaxType/Get``: the tax type whose ``Percentage`` is the invoice's VAT rate (the default one first)."""
        if vat_rate not in self._tax_types:
            rows = await self._rows("TaxType/Get")
            matching = [r for r in rows if _money(r.get("Percentage")) == vat_rate and r.get("Active") is not False]
            matching.sort(key=lambda r: not r.get("IsDefault"))
            if not matching:
                raise SageSetupError(f"Sage has no tax type of {_quantity(vat_rate)} % for the invoices' VAT.")
            self._tax_types[vat_rate] = _text(matching[0].get("ID"))
        return self._tax_types[vat_rate]

    async def create_invoice(self, invoice: IssuedInvoice, customer_id: str) -> RemoteInvoice:
        """``TaxInvoice/Save`` without an ``ID``: account lines (``LineType`` 1, ``Quantity`` 1 as the API
        wants for them) to the sales account, VAT by the tax type, numbered as here."""
        account, tax_type = await self._sales_account(), await self._tax_type(invoice.vat_rate)
        nets = [line.line_total for line in invoice.lines]
        taxes = line_vat(nets, invoice.vat_rate, invoice.vat_amount)
        lines = []
        for line, tax in zip(invoice.lines, taxes, strict=True):
            description = line.description
            if line.quantity != 1:
                description = f"{_quantity(line.quantity)} × {description} @ {line.unit_price:.2f}"
            lines.append(
                {
                    "LineType": 1,
                    "SelectionId": int(account) if account.isdigit() else account,
                    "TaxTypeId": int(tax_type) if tax_type.isdigit() else tax_type,
                    "Description": description[:100],
                    "Quantity": 1,
                    "UnitPriceExclusive": _amount(line.line_total),
                    "Exclusive": _amount(line.line_total),
                    "Tax": _amount(tax),
                    "Total": _amount(line.line_total + tax),
                }
            )
        body = {
            "CustomerId": int(customer_id) if customer_id.isdigit() else customer_id,
            "Date": invoice.issued_on.isoformat(),
            "DueDate": invoice.due_on.isoformat(),
            "DocumentNumber": invoice.number,
            "Reference": invoice.number,
            "Inclusive": False,
            "Exclusive": _amount(invoice.subtotal),
            "Tax": _amount(invoice.vat_amount),
            "Total": _amount(invoice.total),
            "Lines": lines,
        }
        saved = await self.save_invoice(body)
        if not saved.id:
            raise SageRejected("Sage saved the tax invoice but did not say its ID.")
        return saved

    async def find_invoice(self, number: str) -> RemoteInvoice | None:
        """``TaxInvoice/Get`` filtered by ``DocumentNumber`` (after a timeout, before creating again)."""
        safe = number.replace("'", "''")
        body = await self._call("GET", "TaxInvoice/Get", params={"$filter": f"DocumentNumber eq '{safe}'"})
        rows = [row for row in (body or {}).get("Results", []) if isinstance(row, dict)]
        return self._invoice(rows[0]) if rows else None

    async def get_invoice(self, invoice_id: str) -> RemoteInvoice:
        """``TaxInvoice/Get/{id}``: the invoice with its ``AmountDue`` (what is still outstanding)."""
        return self._invoice(await self._call("GET", f"TaxInvoice/Get/{invoice_id}"))

    async def save_invoice(self, body: dict[str, Any]) -> RemoteInvoice:
        """``TaxInvoice/Save`` (``CustomerId``, ``Date``, ``DueDate``, ``DocumentNumber``, ``Reference``, ``Lines``)."""
        return self._invoice(await self._call("POST", "TaxInvoice/Save", json=body))

    @staticmethod
    def _invoice(row: Any) -> RemoteInvoice:
        row = row if isinstance(row, dict) else {}
        number, total = _text(row.get("DocumentNumber")), _money(row.get("Total"))
        return RemoteInvoice(_text(row.get("ID")), number, total, _money(row.get("AmountDue")))


# -- International: API v3.1 -------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # time.time() when the access token runs out

    @classmethod
    def from_response(cls, body: dict[str, Any]) -> Tokens:
        access, refresh = _text(body.get("access_token")), _text(body.get("refresh_token"))
        if not access or not refresh:
            raise SageRejected("Sage's token answer had no access or refresh token.")
        return cls(access, refresh, time.time() + float(body.get("expires_in") or 300))

    def as_dict(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_at": self.expires_at}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Tokens:
        return cls(str(values["access_token"]), str(values["refresh_token"]), float(values["expires_at"]))


SaveTokens = Callable[[Tokens], Awaitable[None]]


def authorisation_url(endpoints: SageEndpoints, redirect_uri: str, state: str) -> str:
    """Where ``/sage/connect`` sends the admin: Sage's sign-in, coming back to ``redirect_uri`` with ``state``."""
    parts = urlsplit(endpoints.auth_url)
    query = [
        *parse_qsl(parts.query),
        ("client_id", endpoints.client_id),
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("scope", "full_access"),
        ("state", state),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def exchange_code(http: SageHttp, code: str, redirect_uri: str) -> Tokens:
    """The authorisation code for the first tokens (``grant_type=authorization_code``)."""
    endpoints = http.endpoints
    response = await http.request(
        "POST",
        endpoints.token_url,
        call="POST token (authorization_code)",
        data={
            "client_id": endpoints.client_id,
            "client_secret": endpoints.client_secret,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
        },
        headers={"Accept": "application/json"},
    )
    tokens = Tokens.from_response(response.json())
    http.redact.add(tokens.access_token, tokens.refresh_token)
    return tokens


class V31Backend:
    """Sage Business Cloud Accounting v3.1: bearer token, ``X-Business``, tokens refreshed as they run out."""

    name = "v31"

    def __init__(self, http: SageHttp, tokens: Tokens, save_tokens: SaveTokens, business_id: str = "") -> None:
        self.http = http
        self.base = http.endpoints.api_url.rstrip("/")
        self.tokens = tokens
        self.save_tokens = save_tokens
        self.business_id = business_id
        self._ledger_account_id: str | None = None
        self._tax_rates: dict[Decimal, str] = {}
        http.redact.add(tokens.access_token, tokens.refresh_token, http.endpoints.client_secret)

    async def refresh(self) -> None:
        """A new access token; the refresh token rotates, and the new one is stored at once."""
        endpoints = self.http.endpoints
        try:
            response = await self.http.request(
                "POST",
                endpoints.token_url,
                call="POST token (refresh_token)",
                data={
                    "client_id": endpoints.client_id,
                    "client_secret": endpoints.client_secret,
                    "grant_type": "refresh_token",
                    "refresh_token": self.tokens.refresh_token,
                },
                headers={"Accept": "application/json"},
            )
        except SageRejected:  # invalid_grant: revoked, expired (31 days) or already used
            raise SageAuthError("Sage no longer accepts the refresh token.") from None
        self.tokens = Tokens.from_response(response.json())
        self.http.redact.add(self.tokens.access_token, self.tokens.refresh_token)
        await self.save_tokens(self.tokens)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self.tokens.expires_at - REFRESH_MARGIN_S <= time.time():
            await self.refresh()
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.tokens.access_token}", "Accept": "application/json"}
            if self.business_id:
                headers["X-Business"] = self.business_id
            try:
                response = await self.http.request(
                    method, f"{self.base}/{path}", call=f"{method} {path}", headers=headers, **kwargs
                )
            except SageAuthError:
                if attempt == 2:
                    raise
                await self.refresh()  # expired early or revoked: one refresh, then once more
                continue
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    async def user_name(self) -> str:
        """``GET user``: who signed in, for "connected as …"."""
        body = await self._call("GET", "user") or {}
        name = " ".join(_text(body.get(key)) for key in ("first_name", "last_name")).strip()
        return name or _text(body.get("email")) or _text(body.get("displayed_as"))

    async def businesses(self) -> list[Company]:
        body = await self._call("GET", "businesses") or {}
        rows = body.get("$items", []) if isinstance(body, dict) else body
        return [
            Company(_text(row.get("id")), _text(row.get("name")) or _text(row.get("displayed_as")))
            for row in rows
            if isinstance(row, dict)
        ]

    async def customers(self) -> list[RemoteCustomer]:
        """``GET contacts?contact_type_id=CUSTOMER``, page by page until ``$next`` is null."""
        found: list[RemoteCustomer] = []
        page = 1
        while True:
            body = await self._call(
                "GET",
                "contacts",
                params={"contact_type_id": "CUSTOMER", "items_per_page": V31_PAGE, "page": page, "attributes": "all"},
            )
            body = body or {}
            found.extend(self._customer(row) for row in body.get("$items", []) if isinstance(row, dict))
            if not body.get("$next") or not body.get("$items"):
                return found
            page += 1

    async def create_customer(self, customer: NewCustomer) -> RemoteCustomer:
        contact: dict[str, Any] = {
            "name": customer.name,
            "contact_type_ids": ["CUSTOMER"],
            "email": customer.email or None,
            "telephone": customer.phone or None,
        }
        lines = _address_lines(customer.address, 2)
        if customer.address:
            contact["main_address"] = {"address_line_1": lines[0], "address_line_2": lines[1]}
        if customer.contact_person:
            contact["main_contact_person"] = {"name": customer.contact_person, "email": customer.email or None}
        saved = await self._call("POST", "contacts", json={"contact": contact})
        if not isinstance(saved, dict) or not saved.get("id"):
            raise SageRejected("Sage saved the contact but did not say its id.")
        return self._customer(saved)

    @staticmethod
    def _customer(row: dict[str, Any]) -> RemoteCustomer:
        address: dict[str, Any] = row.get("main_address") or {}
        person: dict[str, Any] = row.get("main_contact_person") or {}
        address = address if isinstance(address, dict) else {}
        person = person if isinstance(person, dict) else {}
        lines = [_text(address.get(key)) for key in ("address_line_1", "address_line_2", "city", "postal_code")]
        return RemoteCustomer(
            id=_text(row.get("id")),
            name=_text(row.get("name")) or _text(row.get("displayed_as")),
            email=_text(row.get("email")) or _text(person.get("email")),
            contact_person=_text(person.get("name")),
            phone=_text(row.get("telephone")) or _text(row.get("mobile")),
            address="\n".join(line for line in lines if line),
        )

    # Sales invoices: used by the invoice sync (docs/accounting.md, "Invoices to Sage").

    async def _items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, page by page until ``$next`` is null."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            body = await self._call("GET", path, params={"items_per_page": V31_PAGE, "page": page, **params}) or {}
            items = [row for row in body.get("$items", []) if isinstance(row, dict)]
            found.extend(items)
            if not body.get("$next") or not items:
                return found
            page += 1

    async def _sales_ledger_account(self) -> str:
        """``GET ledger_accounts?ledger_account_type_id=SALES``: the one named like the setting, else the first."""
        if self._ledger_account_id is None:
            wanted = self.http.endpoints.sales_account.strip().casefold()
            rows = await self._items("ledger_accounts", ledger_account_type_id="SALES", attributes="name")
            named = [
                r for r in rows if wanted in (_text(r.get("name")).casefold(), _text(r.get("displayed_as")).casefold())
            ]
            chosen = (named or rows or [{}])[0]
            if not _text(chosen.get("id")):
                raise SageSetupError("Sage has no sales ledger account for the invoice lines.")
            self._ledger_account_id = _text(chosen.get("id"))
        return self._ledger_account_id

    async def _tax_rate(self, vat_rate: Decimal) -> str:
        """``GET tax_rates``: the rate whose ``percentage`` is the invoice's VAT rate."""
        if vat_rate not in self._tax_rates:
            rows = await self._items("tax_rates", attributes="percentage")
            found = next((r for r in rows if _money(r.get("percentage")) == vat_rate and _text(r.get("id"))), None)
            if found is None:
                raise SageSetupError(f"Sage has no tax rate of {_quantity(vat_rate)} % for the invoices' VAT.")
            self._tax_rates[vat_rate] = _text(found.get("id"))
        return self._tax_rates[vat_rate]

    async def create_invoice(self, invoice: IssuedInvoice, customer_id: str) -> RemoteInvoice:
        """``POST sales_invoices``: the contact, dates, our number as ``reference``, one invoice line per line."""
        ledger_account, tax_rate = await self._sales_ledger_account(), await self._tax_rate(invoice.vat_rate)
        nets = [line.line_total for line in invoice.lines]
        taxes = line_vat(nets, invoice.vat_rate, invoice.vat_amount)
        lines = [
            {
                "description": line.description,
                "ledger_account_id": ledger_account,
                "quantity": _amount(line.quantity),
                "unit_price": _amount(line.unit_price),
                "net_amount": _amount(line.line_total),
                "tax_rate_id": tax_rate,
                "tax_amount": _amount(tax),
                "total_amount": _amount(line.line_total + tax),
            }
            for line, tax in zip(invoice.lines, taxes, strict=True)
        ]
        body = {
            "sales_invoice": {
                "contact_id": customer_id,
                "date": invoice.issued_on.isoformat(),
                "due_date": invoice.due_on.isoformat(),
                "reference": invoice.number,
                "invoice_lines": lines,
            }
        }
        saved = self._invoice(await self._call("POST", "sales_invoices", json=body))
        if not saved.id:
            raise SageRejected("Sage saved the sales invoice but did not say its id.")
        return saved

    async def find_invoice(self, number: str) -> RemoteInvoice | None:
        """``GET sales_invoices?search=…`` (searches the reference), the one whose reference is ``number``."""
        rows = await self._items(
            "sales_invoices", search=number, attributes="reference,total_amount,outstanding_amount"
        )
        found = [row for row in rows if _text(row.get("reference")) == number]
        return self._invoice(found[0]) if found else None

    async def get_invoice(self, invoice_id: str) -> RemoteInvoice:
        """``GET sales_invoices/{id}``: the invoice with its ``outstanding_amount``."""
        return self._invoice(await self._call("GET", f"sales_invoices/{invoice_id}"))

    @staticmethod
    def _invoice(row: Any) -> RemoteInvoice:
        row = row if isinstance(row, dict) else {}
        return RemoteInvoice(
            _text(row.get("id")),
            _text(row.get("reference")),
            _money(row.get("total_amount")),
            _money(row.get("outstanding_amount")),
        )
