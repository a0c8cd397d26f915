"""Talking to Sage over HTTP: pacing, retries with back-off, an audit row per attempt, no secret in a log.

Both back ends send every request through :class:`SageHttp`. It waits so that two requests are at
least ``pace_s`` apart (the SA API allows 100 a minute per company and blocks the address for an
hour after a 429), tries a refused (429) or failed (5xx) request again after a growing pause
(``Retry-After`` when Sage gives one), and tries a read again after a timeout. A write that timed
out is *not* sent again: Sage may have done it, so the caller looks before it creates again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from laseros.settings import SageEndpoints

log = logging.getLogger(__name__)

REDACTED = "•••"
# Reads are safe to send again; a write only when Sage says it did not take it (429, 502-504).
SAFE_TO_REPEAT = frozenset({"GET", "HEAD"})
NOT_TAKEN = frozenset({429, 502, 503, 504})


class SageError(Exception):
    """Sage could not do what was asked; ``str()`` is a message for the shop (no secrets)."""


class SageUnavailable(SageError):
    """Sage is down, too slow or rate-limiting us: try again later."""


class SageTimeout(SageUnavailable):
    """No answer in time: a write may or may not have happened."""


class SageAuthError(SageError):
    """Sage refused the credentials or the token (401/403)."""


class SageRejected(SageError):
    """Sage refused the request itself (another 4xx); trying again will not help."""


class SageSetupError(SageRejected):
    """Sage lacks what every invoice needs (the sales account, a tax rate of the invoice's VAT): a person fixes it."""


@dataclass(frozen=True)
class CallRecord:
    """One attempt, as the audit log keeps it."""

    backend: str
    call: str
    outcome: str
    status_code: int | None
    message: str
    duration_ms: int


Audit = Callable[[CallRecord], Awaitable[None]]


class Redactor:
    """Replaces every known secret in a text with •••."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = {s for s in secrets if s and len(s) >= 4}

    def add(self, *secrets: str) -> None:
        self._secrets.update(s for s in secrets if s and len(s) >= 4)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


_API_KEY_IN_URL = re.compile(r"(apikey=)[^&\s\"']*", re.IGNORECASE)


class _RedactHttpxUrls(logging.Filter):
    """httpx logs each request's URL at INFO; the SA API wants its key in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "apikey=" in message.lower():
            record.msg, record.args = _API_KEY_IN_URL.sub(rf"\1{REDACTED}", message), ()
        return True


_url_filter = _RedactHttpxUrls()
for _name in ("httpx", "httpcore"):
    if _url_filter not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_url_filter)


def _outcome(status: int) -> str:
    if status == 429:
        return "rate limited"
    if status >= 500:
        return "server error"
    if status >= 400:
        return "refused"
    return "ok"


def _retry_after(response: httpx.Response, default: float, cap: float) -> float:
    raw = response.headers.get("retry-after", "")
    try:
        return min(cap, max(0.0, float(raw)))
    except ValueError:
        return min(cap, default)


def error_text(response: httpx.Response) -> str:
    """What Sage said went wrong, briefly (SA: a string or {"Message"}; v3.1: [{"$message"}])."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0].get("$message") or body[0].get("message") or body[0]
    if isinstance(body, dict):
        body = body.get("Message") or body.get("message") or body.get("error_description") or body.get("error") or ""
    return str(body).strip()[:200]


class SageHttp:
    """One paced, audited HTTP client for one back end."""

    def __init__(
        self,
        backend: str,
        endpoints: SageEndpoints,
        audit: Audit,
        redact: Redactor,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.backend = backend
        self.endpoints = endpoints
        self.audit = audit
        self.redact = redact
        self._client = httpx.AsyncClient(timeout=endpoints.timeout_s, transport=transport, follow_redirects=False)
        self._last = 0.0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> SageHttp:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def _pace(self) -> None:
        wait = self._last + self.endpoints.pace_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last = time.monotonic()

    async def _record(self, call: str, outcome: str, status: int | None, message: str, started: float) -> None:
        record = CallRecord(
            self.backend, call, outcome, status, self.redact(message)[:300], int((time.monotonic() - started) * 1000)
        )
        try:
            await self.audit(record)
        except Exception:  # the audit log must never stop the work it describes
            log.exception("could not store the Sage audit row for %s", call)

    async def request(self, method: str, url: str, *, call: str, **kwargs: Any) -> httpx.Response:
        """Send one request (repeated as the module docstring says); raises a :class:`SageError` unless 2xx.

        ``call`` names it in the audit log ("GET Customer/Get"): no query string, no secret.
        """
        attempts = max(1, self.endpoints.attempts)
        backoff = self.endpoints.backoff_s
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            await self._pace()
            started = time.monotonic()
            try:
                response = await self._client.request(method, url, **kwargs)
            except httpx.TimeoutException:
                await self._record(call, "timeout", None, f"no answer within {self.endpoints.timeout_s:g} s", started)
                if method not in SAFE_TO_REPEAT:
                    raise SageTimeout(f"Sage did not answer {call} in time; it may have been done.") from None
                if last:
                    raise SageTimeout(f"Sage did not answer {call} in time.") from None
            except httpx.TransportError as failed:
                await self._record(call, "unreachable", None, failed.__class__.__name__, started)
                if last:
                    raise SageUnavailable(f"Sage could not be reached for {call}.") from None
            else:
                status = response.status_code
                outcome = _outcome(status)
                detail = "" if outcome == "ok" else error_text(response)
                await self._record(call, outcome, status, f"HTTP {status}" + (f": {detail}" if detail else ""), started)
                if outcome == "ok":
                    return response
                if status in (401, 403):
                    raise SageAuthError(self.redact(detail) or "Sage refused the credentials.")
                repeatable = status == 429 or status >= 500
                if not repeatable or (method not in SAFE_TO_REPEAT and status not in NOT_TAKEN):
                    if repeatable:
                        raise SageUnavailable(f"Sage failed on {call} (HTTP {status}).")
                    raise SageRejected(self.redact(detail) or f"Sage refused {call} (HTTP {status}).")
                if last:
                    what = "is rate-limiting us" if status == 429 else f"failed (HTTP {status})"
                    raise SageUnavailable(f"Sage {what} on {call}; the sync will try again later.")
                if status == 429:
                    await asyncio.sleep(_retry_after(response, backoff, self.endpoints.max_wait_s))
                    backoff *= 2
                    continue
            await asyncio.sleep(min(backoff, self.endpoints.max_wait_s))
            backoff *= 2
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt
