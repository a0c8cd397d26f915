"""A fake Sage Business Cloud Accounting server for the tests: a real HTTP server in a thread.

It speaks both back ends the app uses, with their failure modes:

- South Africa (SA API 2.0.0) under ``/za/api/2.0.0``: HTTP Basic with the Sage login plus
  ``apikey`` in the query string (401 otherwise), ``companyid`` on company calls, ``Company/Get``,
  ``Customer/Get`` (``$skip``/``$top``, never more than 100 rows), ``Customer/Save``,
  ``Account/Get`` and ``TaxType/Get`` (what invoice lines post to), ``TaxInvoice/Get`` (by id, or
  ``$filter=DocumentNumber eq '…'``) and ``TaxInvoice/Save`` (totals worked out from the lines).
- International (v3.1): ``/oauth/auth`` (not browsed: tests take the state from the redirect and ask
  :meth:`FakeSage.issue_code` for a code), ``/oauth/token`` (authorization_code and refresh_token
  grants; refresh tokens are single-use and rotate), and under ``/v31`` ``user``, ``businesses``,
  ``contacts`` (paged with ``page``/``items_per_page``, ``$next``), ``ledger_accounts``, ``tax_rates``
  and ``sales_invoices`` (create, ``search`` by reference, read one) with a bearer token that expires.

:meth:`FakeSage.fail` makes the next matching requests answer with a status (429, 503, …) or
answer late (a timeout for the client), optionally after doing the work (a write that happened but
whose answer was lost).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ZA_PREFIX = "/za/api/2.0.0/"
V31_PREFIX = "/v31/"
ZA_MAX_ROWS = 100


@dataclass
class Failure:
    match: str  # a part of the path ("Customer/Get", "contacts")
    method: str | None
    status: int | None  # None: answer normally, late
    delay_s: float
    times: int
    retry_after: str | None
    after_work: bool  # the delay comes after the work is done (the write happened)


@dataclass
class Seen:
    at: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


@dataclass
class FakeSage:
    username: str = "owner@laser.co.za"
    password: str = "Sage-Password-77"
    api_key: str = "{AAAA1111-2222-3333-4444-FAKEAPIKEY00}"
    companies: list[dict[str, Any]] = field(default_factory=lambda: [{"ID": 7001, "Name": "Laser Shop (Pty) Ltd"}])
    za_customers: list[dict[str, Any]] = field(default_factory=list)
    za_invoices: list[dict[str, Any]] = field(default_factory=list)
    za_accounts: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"ID": 4100, "Name": "Sales", "Active": True},
            {"ID": 4200, "Name": "Interest Received", "Active": True},
        ]
    )
    za_tax_types: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"ID": 150191, "Name": "Zero Rate", "Percentage": 0.0, "IsDefault": False, "Active": True},
            {"ID": 150189, "Name": "Standard Rate", "Percentage": 15.0, "IsDefault": True, "Active": True},
        ]
    )
    client_id: str = "fake-sage-client"
    client_secret: str = "fake-sage-client-secret-123"
    access_lifetime_s: float = 300.0
    businesses: list[dict[str, Any]] = field(default_factory=lambda: [{"id": "biz-0d40342d", "name": "Laser Ltd"}])
    contacts: list[dict[str, Any]] = field(default_factory=list)
    v31_page_cap: int = 200
    ledger_accounts: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": "la-other", "name": "Other Income", "displayed_as": "Other Income (4900)", "type": "OTHER_INCOME"},
            {"id": "la-sales", "name": "Sales", "displayed_as": "Sales (4000)", "type": "SALES"},
        ]
    )
    tax_rates: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": "GB_STANDARD", "displayed_as": "Standard 20.00%", "percentage": 20.0},
            {"id": "ZA_STANDARD", "displayed_as": "Standard 15.00%", "percentage": 15.0},
        ]
    )
    sales_invoices: list[dict[str, Any]] = field(default_factory=list)
    user: dict[str, str] = field(
        default_factory=lambda: {"first_name": "Val", "last_name": "Owner", "email": "val@laser.example"}
    )
    codes: set[str] = field(default_factory=set)
    access_tokens: dict[str, float] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    base_url: str = ""
    _next_id: int = 5000
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what tests use --------------------------------------------------------------------------

    @property
    def za_url(self) -> str:
        return self.base_url + ZA_PREFIX.rstrip("/")

    @property
    def api_url(self) -> str:
        return self.base_url + V31_PREFIX.rstrip("/")

    @property
    def token_url(self) -> str:
        return self.base_url + "/oauth/token"

    @property
    def auth_url(self) -> str:
        return self.base_url + "/oauth/auth?filter=apiv3.1"

    def fail(
        self,
        match: str,
        *,
        status: int | None = None,
        delay_s: float = 0.0,
        times: int = 1,
        retry_after: str | None = None,
        method: str | None = None,
        after_work: bool = False,
    ) -> None:
        with self.lock:
            self.failures.append(Failure(match, method, status, delay_s, times, retry_after, after_work))

    def issue_code(self) -> str:
        code = "code-" + secrets.token_urlsafe(8)
        with self.lock:
            self.codes.add(code)
        return code

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0

    def add_za_customer(self, name: str, email: str = "", **extra: Any) -> dict[str, Any]:
        with self.lock:
            return self._new_za_customer({"Name": name, "Email": email, **extra})

    def add_contact(self, name: str, email: str = "") -> dict[str, Any]:
        with self.lock:
            return self._new_contact({"name": name, "email": email, "contact_type_ids": ["CUSTOMER"]})

    def calls(self, method: str, match: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.method == method and match in s.path]

    # -- internals ------------------------------------------------------------------------------

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _new_za_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        row = {**body, "ID": self._id(), "Active": True, "Balance": 0.0}
        self.za_customers.append(row)
        return row

    def _new_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        row = {**body, "id": f"c{self._id()}", "displayed_as": body.get("name", "")}
        row["contact_types"] = [{"id": t, "displayed_as": t.title()} for t in body.get("contact_type_ids", [])]
        self.contacts.append(row)
        return row

    def _failure_for(self, method: str, path: str) -> Failure | None:
        with self.lock:
            for failure in self.failures:
                if failure.times > 0 and failure.match in path and failure.method in (None, method):
                    failure.times -= 1
                    return failure
        return None

    def _tokens(self) -> dict[str, Any]:
        access, refresh = "at-" + secrets.token_urlsafe(16), "rt-" + secrets.token_urlsafe(16)
        self.access_tokens[access] = time.time() + self.access_lifetime_s
        self.refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "expires_in": int(self.access_lifetime_s),
            "token_type": "bearer",
            "refresh_token": refresh,
            "refresh_token_expires_in": 2678400,
            "scope": "full_access",
            "requested_by_id": "user-1",
        }

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: Any):  # type: ignore[no-untyped-def]
        """(status, JSON body, extra headers)."""
        if path == "/oauth/token":
            return self._token(body or {})
        if path.startswith(ZA_PREFIX):
            return self._za(method, path[len(ZA_PREFIX) :], query, headers, body)
        if path.startswith(V31_PREFIX):
            return self._v31(method, path[len(V31_PREFIX) :], query, headers, body)
        return 404, {"Message": "No such resource"}, {}

    def _token(self, form: dict[str, str]):  # type: ignore[no-untyped-def]
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client"}, {}
        with self.lock:
            if form.get("grant_type") == "authorization_code" and form.get("code") in self.codes:
                self.codes.discard(form["code"])
                return 200, self._tokens(), {}
            if form.get("grant_type") == "refresh_token" and form.get("refresh_token") in self.refresh_tokens:
                self.refresh_tokens.discard(form["refresh_token"])  # single-use: it rotates
                return 200, self._tokens(), {}
        return 400, {"error": "invalid_grant", "error_description": "The grant is not valid"}, {}

    def _za(self, method: str, resource: str, query: dict[str, str], headers: dict[str, str], body: Any):  # type: ignore[no-untyped-def]
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if headers.get("authorization") != expected or query.get("apikey") != self.api_key:
            return 401, {"Message": "Authorization has been denied for this request."}, {}
        if resource == "Company/Get" and method == "GET":
            return 200, {"TotalResults": len(self.companies), "ReturnedResults": len(self.companies),
                         "Results": self.companies}, {}  # fmt: skip
        company = query.get("companyid", "")
        if company not in {str(c["ID"]) for c in self.companies}:
            return 400, {"Message": "Invalid company id."}, {}
        with self.lock:
            if resource == "Customer/Get" and method == "GET":
                return 200, self._za_page(self.za_customers, query), {}
            if resource == "Customer/Save" and method == "POST":
                if not isinstance(body, dict) or not body.get("Name"):
                    return 400, {"Message": "Name is required."}, {}
                return 201, self._new_za_customer(body), {}
            if resource == "Account/Get" and method == "GET":
                return 200, self._za_page(self.za_accounts, query), {}
            if resource == "TaxType/Get" and method == "GET":
                return 200, self._za_page(self.za_tax_types, query), {}
            if resource == "TaxInvoice/Save" and method == "POST":
                problem = self._za_invoice_problem(body)
                if problem:
                    return 400, {"Message": problem}, {}
                exclusive = sum(round(line["Quantity"] * line["UnitPriceExclusive"], 2) for line in body["Lines"])
                tax = sum(line["Tax"] for line in body["Lines"])
                total = round(exclusive + tax, 2)
                row = {**body, "ID": self._id(), "Exclusive": round(exclusive, 2), "Tax": round(tax, 2),
                       "Total": total, "AmountDue": total}  # fmt: skip
                self.za_invoices.append(row)
                return 201, row, {}
            if resource.startswith("TaxInvoice/Get") and method == "GET":
                if match := re.fullmatch(r"TaxInvoice/Get/(\d+)", resource):
                    rows = [r for r in self.za_invoices if str(r["ID"]) == match.group(1)]
                    return (200, rows[0], {}) if rows else (404, {"Message": "Not found"}, {})
                rows = self.za_invoices
                if found := re.fullmatch(r"DocumentNumber eq '(.*)'", query.get("$filter", "")):
                    rows = [r for r in rows if r.get("DocumentNumber") == found.group(1).replace("''", "'")]
                return 200, self._za_page(rows, query), {}
        return 404, {"Message": "No such method"}, {}

    def _za_invoice_problem(self, body: Any) -> str:
        if not isinstance(body, dict) or not body.get("Lines"):
            return "An invoice needs lines."
        if body.get("CustomerId") not in {c["ID"] for c in self.za_customers}:
            return "Invalid customer."
        accounts = {a["ID"] for a in self.za_accounts}
        tax_types = {t["ID"] for t in self.za_tax_types}
        for line in body["Lines"]:
            if line.get("LineType") == 1 and line.get("Quantity") != 1:
                return "Accounts with a quantity greater than one will result in a validation message."
            if line.get("SelectionId") not in accounts or line.get("TaxTypeId") not in tax_types:
                return "Valid Selection Required"
            if len(line.get("Description", "")) > 100:
                return "Description too long."
        return ""

    @staticmethod
    def _za_page(rows: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        skip = int(query.get("$skip") or 0)
        top = min(ZA_MAX_ROWS, int(query.get("$top") or ZA_MAX_ROWS))
        page = rows[skip : skip + top]
        return {"TotalResults": len(rows), "ReturnedResults": len(page), "Results": page}

    def _v31(self, method: str, resource: str, query: dict[str, str], headers: dict[str, str], body: Any):  # type: ignore[no-untyped-def]
        token = headers.get("authorization", "").removeprefix("Bearer ")
        with self.lock:
            expires = self.access_tokens.get(token)
        if expires is None or expires <= time.time():
            return 401, [{"$severity": "error", "$message": "Invalid or expired token"}], {}
        if resource == "user":
            return 200, {"id": "user-1", "displayed_as": "Val Owner", **self.user}, {}
        if resource == "businesses":
            items = [{**b, "displayed_as": b["name"], "$path": f"/businesses/{b['id']}"} for b in self.businesses]
            return 200, {"$total": len(items), "$page": 1, "$next": None, "$back": None, "$items": items}, {}
        business = headers.get("x-business")
        if business not in {b["id"] for b in self.businesses}:
            return 403, [{"$severity": "error", "$dataCode": "NO_BUSINESS", "$message": "Unknown business"}], {}
        with self.lock:
            if resource == "contacts" and method == "GET":
                per_page = min(self.v31_page_cap, int(query.get("items_per_page") or 20))
                page = int(query.get("page") or 1)
                rows = [c for c in self.contacts if "CUSTOMER" in c.get("contact_type_ids", [])]
                items = rows[(page - 1) * per_page : page * per_page]
                more = page * per_page < len(rows)
                next_page = f"/contacts?page={page + 1}&items_per_page={per_page}" if more else None
                return 200, {"$total": len(rows), "$page": page, "$next": next_page, "$items": items}, {}
            if resource == "ledger_accounts" and method == "GET":
                wanted = query.get("ledger_account_type_id")
                rows = [a for a in self.ledger_accounts if wanted in (None, a["type"])]
                return 200, self._v31_page(rows, query, "ledger_accounts"), {}
            if resource == "tax_rates" and method == "GET":
                return 200, self._v31_page(self.tax_rates, query, "tax_rates"), {}
            if resource == "sales_invoices" and method == "POST":
                invoice = (body or {}).get("sales_invoice") if isinstance(body, dict) else None
                problem = self._v31_invoice_problem(invoice)
                if problem:
                    return 422, [{"$severity": "error", "$message": problem}], {}
                assert isinstance(invoice, dict)
                return 201, self._new_sales_invoice(invoice), {}
            if resource == "sales_invoices" and method == "GET":
                term = query.get("search", "").casefold()
                rows = [r for r in self.sales_invoices if term in r.get("reference", "").casefold()]
                return 200, self._v31_page(rows, query, "sales_invoices"), {}
            if match := re.fullmatch(r"sales_invoices/([\w-]+)", resource):
                rows = [r for r in self.sales_invoices if r["id"] == match.group(1)]
                return (200, rows[0], {}) if rows else (404, [{"$message": "Not found"}], {})
            if resource == "contacts" and method == "POST":
                contact = (body or {}).get("contact") if isinstance(body, dict) else None
                if not isinstance(contact, dict) or not contact.get("name"):
                    return 422, [{"$severity": "error", "$message": "name is required"}], {}
                return 201, self._new_contact(contact), {}
        return 404, [{"$message": "No such resource"}], {}

    @staticmethod
    def _v31_page(rows: list[dict[str, Any]], query: dict[str, str], path: str) -> dict[str, Any]:
        per_page = int(query.get("items_per_page") or 20)
        page = int(query.get("page") or 1)
        items = rows[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(rows)
        return {"$total": len(rows), "$page": page, "$next": f"/{path}?page={page + 1}" if more else None,
                "$items": items}  # fmt: skip

    def _v31_invoice_problem(self, invoice: Any) -> str:
        if not isinstance(invoice, dict) or not invoice.get("invoice_lines") or not invoice.get("date"):
            return "contact_id, date and invoice_lines are required"
        if invoice.get("contact_id") not in {c["id"] for c in self.contacts}:
            return "contact is invalid"
        accounts = {a["id"] for a in self.ledger_accounts}
        rates = {r["id"] for r in self.tax_rates}
        for line in invoice["invoice_lines"]:
            if not line.get("description") or line.get("ledger_account_id") not in accounts:
                return "description and ledger_account_id are required"
            if line.get("tax_rate_id") not in rates or "tax_amount" not in line:
                return "tax_rate_id and tax_amount are required"
        return ""

    def _new_sales_invoice(self, invoice: dict[str, Any]) -> dict[str, Any]:
        number = self._id()
        net = round(sum(round(line["quantity"] * line["unit_price"], 2) for line in invoice["invoice_lines"]), 2)
        tax = round(sum(line["tax_amount"] for line in invoice["invoice_lines"]), 2)
        row = {**invoice, "id": f"si-{number}", "invoice_number": f"SI-{number}", "displayed_as": f"SI-{number}",
               "net_amount": net, "tax_amount": tax, "total_amount": round(net + tax, 2),
               "outstanding_amount": round(net + tax, 2), "status": {"id": "UNPAID"}}  # fmt: skip
        self.sales_invoices.append(row)
        return row


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSage

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        body: Any = None
        if raw:
            if "json" in headers.get("content-type", ""):
                body = json.loads(raw)
            else:
                body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        fake = self.fake
        with fake.lock:
            fake.seen.append(Seen(time.monotonic(), method, parts.path, query, headers, body))
        failure = fake._failure_for(method, parts.path)
        extra: dict[str, str] = {}
        if failure is not None and failure.status is not None:
            status, payload = failure.status, {"Message": f"Fake failure {failure.status}"}
            if failure.retry_after is not None:
                extra["Retry-After"] = failure.retry_after
        else:
            if failure is not None and not failure.after_work:
                time.sleep(failure.delay_s)
            status, payload, extra = fake.handle(method, parts.path, query, headers, body)
            if failure is not None and failure.after_work:
                time.sleep(failure.delay_s)
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a timeout test)
            pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")


class FakeSageServer:
    """``with FakeSageServer() as fake:`` — the fake on a free port, served from a thread."""

    def __init__(self) -> None:
        self.fake = FakeSage()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.fake.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-sage", daemon=True)

    def __enter__(self) -> FakeSage:
        self.thread.start()
        return self.fake

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
