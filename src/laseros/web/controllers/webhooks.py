"""Webhooks from outside: ``POST /webhooks/email`` takes a raw MIME message signed with the shop's secret.

The body is the message as received (``Content-Type: message/rfc822`` or anything else); the
header ``X-LaserOS-Signature: sha256=<hex HMAC-SHA256 of the body with LASEROS_WEBHOOK_SECRET>``.
Without a secret configured the endpoint is off (404); a bad or missing signature is 401 and
nothing is stored. The body is read up to the size limit, and not a byte further.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from laseros.domain.comms.inbound import MAX_MESSAGE_BYTES, SIGNATURE_HEADER, InboundMail, NotAnEmail, signature_ok
from laseros.domain.kernel.actor import Actor
from laseros.web.deps import AppSettings, Calendar, DbSession

WEBHOOK_ACTOR = Actor(None, "Email webhook")


def _answer(status_code: int, error: str) -> Response[Any]:
    # Answered here, not raised: the app turns a raised 401 into the sign-in page, which a mail
    # provider has no use for.
    return Response({"ok": False, "error": error}, status_code=status_code)


async def _read_limited(request: Request) -> bytes | None:
    """The body, or None when it is larger than the limit (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_MESSAGE_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_MESSAGE_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@post("/webhooks/email", exclude_from_csrf=True, status_code=200)
async def email_webhook(
    request: Request, app_settings: AppSettings, db_session: DbSession, calendar: Calendar
) -> Response[Any]:
    secret = app_settings.webhook_secret
    if not secret:
        return _answer(404, "The email webhook is off.")
    body = await _read_limited(request)
    if body is None:
        return _answer(413, "The message is too large.")
    if not signature_ok(secret, body, request.headers.get(SIGNATURE_HEADER)):
        return _answer(401, "Bad or missing signature.")
    inbound = InboundMail(db_session, WEBHOOK_ACTOR, calendar, app_settings.data_dir)
    try:
        comm, new = await inbound.receive(body)
    except NotAnEmail as bad:
        return _answer(422, bad.errors["email"])
    return Response({"ok": True, "id": comm.id, "duplicate": not new, "triage": comm.triage or "handled"})
