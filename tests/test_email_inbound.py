"""Email in: the signed webhook, the parser's matching (reply, subject, body), attachments, POP
candidates (POP untouched), duplicates, auto-replies and bounces, the inbox and its triage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage

import pytest

from laseros.app import create_app
from laseros.domain.comms.inbound import looks_like_pop, parse_email, signature_for
from laseros.jobs.tasks import run_now
from laseros.services import open_services
from tests.factories import create_client, create_project
from tests.support import ShopClient, free_port, run

SECRET = "webhook-test-secret"
IN_SQL = "SELECT id, status, client_id, project_id, triage, kind, sender FROM communications WHERE direction = 'in'"


@pytest.fixture
def hook(settings) -> Iterator[ShopClient]:
    with ShopClient(app=create_app(replace(settings, webhook_secret=SECRET))) as client:
        yield client


def email(
    *, sender: str = "johan@karoo.example", subject: str = "Hello", body: str = "Hi there",
    message_id: str = "<m1@karoo.example>",
    headers: dict[str, str] | None = None, attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> bytes:  # fmt: skip
    message = EmailMessage()
    message["From"] = f"Johan <{sender}>"
    message["To"] = "shop@example.com"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def post(client: ShopClient, raw: bytes, signature: str | None = "good"):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "message/rfc822"}
    if signature == "good":
        headers["X-LaserOS-Signature"] = signature_for(SECRET, raw)
    elif signature is not None:
        headers["X-LaserOS-Signature"] = signature
    return client.post("/webhooks/email", content=raw, headers=headers)


def _project(manager: ShopClient, db_query, email_address: str = "johan@karoo.example") -> tuple[int, int, str]:  # type: ignore[no-untyped-def]
    client_id = create_client(manager, "Karoo Steel", email=email_address)
    project_id = create_project(manager, client_id, name="Gate brackets")
    code = db_query("SELECT project_code FROM projects WHERE id = ?", (project_id,))[0][0]
    return client_id, project_id, code


# -- the signature ------------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "nonsense", ""])
def test_a_bad_or_missing_signature_is_401_and_nothing_is_stored(hook, db_query, signature):
    response = post(hook, email(), signature=signature)
    assert response.status_code == 401
    assert db_query("SELECT COUNT(*) FROM communications") == [(0,)]


def test_a_signature_for_other_bytes_is_refused(hook, db_query):
    raw = email()
    response = hook.post(
        "/webhooks/email", content=raw + b" ", headers={"X-LaserOS-Signature": signature_for(SECRET, raw)}
    )
    assert response.status_code == 401
    assert db_query("SELECT COUNT(*) FROM communications") == [(0,)]


def test_without_a_secret_the_webhook_is_off(anon, db_query):
    raw = email()
    response = anon.post("/webhooks/email", content=raw, headers={"X-LaserOS-Signature": signature_for("", raw)})
    assert response.status_code == 404
    assert db_query("SELECT COUNT(*) FROM communications") == [(0,)]


def test_a_body_that_is_not_an_email_is_422_not_500(hook, db_query):
    assert post(hook, b"\x00\xff not mail at all").status_code == 422
    assert db_query("SELECT COUNT(*) FROM communications") == [(0,)]


# -- matching -------------------------------------------------------------------------------------------


def test_a_reply_to_an_email_we_sent_threads_back_to_its_project(manager, hook, db_query):
    _client_id, project_id, _code = _project(manager, db_query)
    assert manager.post_form(f"/projects/{project_id}/pop").status_code == 303
    [(our_id,)] = db_query("SELECT message_id FROM communications WHERE direction = 'out'")
    other_id = create_project(manager, _client_id, name="Other job")  # nothing in the reply names a code
    raw = email(sender="someone-else@elsewhere.example", subject="Re: thanks", body="Great, thank you!",
                headers={"In-Reply-To": our_id, "References": f"<older@x.example> {our_id}"})  # fmt: skip
    response = post(hook, raw)
    assert response.status_code == 200, response.text
    [(_id, status, client_id, matched, triage, kind, _sender)] = db_query(IN_SQL)
    assert (status, client_id, matched, triage, kind) == ("received", _client_id, project_id, "", "inbound")
    assert matched != other_id


def test_a_project_code_in_the_subject_matches(manager, hook, db_query):
    _client_id, project_id, code = _project(manager, db_query)
    assert post(hook, email(subject=f"Drawings for {code}", body="See attached")).status_code == 200
    assert db_query(IN_SQL)[0][3] == project_id


def test_a_project_code_in_the_body_matches_and_a_lower_case_one_too(manager, hook, db_query):
    _client_id, project_id, code = _project(manager, db_query)
    assert (
        post(hook, email(subject="Question", body=f"About job {code.lower()}: can you do it by Friday?")).status_code
        == 200
    )
    assert db_query(IN_SQL)[0][3] == project_id
    assert db_query("SELECT COUNT(*) FROM projects") == [(1,)]  # no new request made


def test_attachments_are_stored_and_filed_on_the_project(manager, hook, db_query, settings):
    _client_id, project_id, code = _project(manager, db_query)
    dxf = b"0\nSECTION\n2\nENTITIES\n0\nENDSEC\n0\nEOF\n"
    raw = email(subject=f"{code} parts", attachments=[("../../etc/bracket.dxf", "application/dxf", dxf)])
    assert post(hook, raw).status_code == 200
    [(filename, size, stored, filed, pop)] = db_query(
        "SELECT filename, size, stored_path, filed_project_id, looks_like_pop FROM comm_attachments"
    )
    assert filename == "bracket.dxf" and size == len(dxf) and filed == project_id and pop == 0
    assert stored.startswith("uploads/comms/") and (settings.data_dir / stored).read_bytes() == dxf
    page = manager.get(f"/comms/{db_query(IN_SQL)[0][0]}")
    assert "bracket.dxf" in page.text


def test_a_proof_of_payment_raises_a_pop_candidate_and_never_marks_pop(manager, hook, db_query, settings):
    _client_id, project_id, code = _project(manager, db_query)
    raw = email(subject=f"Payment for {code}", attachments=[("POP-Karoo.pdf", "application/pdf", b"%PDF-1.4 proof")])
    assert post(hook, raw).status_code == 200
    [(message, notif_project)] = db_query(
        "SELECT message, project_id FROM notifications WHERE closed_at IS NULL AND notif_type = 'pop_candidate'"
    )
    assert notif_project == project_id and message.startswith(f"Confirm POP for {code}") and "POP-Karoo.pdf" in message
    assert db_query("SELECT pop_received, stage FROM projects WHERE id = ?", (project_id,)) == [(0, "request")]

    async def evaluate() -> None:
        async with open_services(settings) as services:
            await run_now("evaluate-notifications", services)

    run(evaluate())  # the hourly pass leaves it open: no rule raised it
    assert len(db_query("SELECT id FROM notifications WHERE closed_at IS NULL AND notif_type = 'pop_candidate'")) == 1


def test_the_same_message_id_twice_is_stored_once(manager, hook, db_query):
    _client_id, _project_id, code = _project(manager, db_query)
    raw = email(subject=f"{code} drawings", attachments=[("a.dxf", "application/dxf", b"0\nEOF\n")])
    first, second = post(hook, raw), post(hook, raw)
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    assert db_query("SELECT COUNT(*) FROM communications") == [(1,)]
    assert db_query("SELECT COUNT(*) FROM comm_attachments") == [(1,)]


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
        {"X-Autoreply": "yes"},
    ],
)
def test_auto_replies_are_logged_but_never_acted_on(manager, hook, db_query, headers):
    _project(manager, db_query)
    raw = email(subject="Out of office", body="I am away", headers=headers,
                attachments=[("payment.pdf", "application/pdf", b"%PDF")])  # fmt: skip
    assert post(hook, raw).status_code == 200
    [row] = db_query(IN_SQL)
    assert row[4:6] == ("ignored", "auto_reply")
    assert db_query("SELECT COUNT(*) FROM projects") == [(1,)]  # no request project made
    assert db_query("SELECT COUNT(*) FROM notifications WHERE notif_type = 'pop_candidate'") == [(0,)]


def test_a_bounce_is_logged_and_ignored(hook, db_query):
    raw = email(sender="MAILER-DAEMON@mx.example", subject="Undelivered Mail Returned to Sender")
    assert post(hook, raw).status_code == 200
    assert db_query(IN_SQL)[0][4:6] == ("ignored", "bounce")


def test_a_known_client_without_a_code_gets_a_new_request_project(manager, hook, db_query):
    client_id = create_client(manager, "Karoo Steel", email="Johan@Karoo.example")
    raw = email(subject="New brackets please", body="Can you cut 40 brackets in 3 mm?",
                attachments=[("brackets.dxf", "application/dxf", b"0\nEOF\n")])  # fmt: skip
    assert post(hook, raw).status_code == 200
    [(project_id, name, description, stage, owner)] = db_query(
        "SELECT id, name, description, stage, client_id FROM projects"
    )
    assert (name, stage, owner) == ("New brackets please", "request", client_id)
    assert "40 brackets" in description
    assert db_query(IN_SQL)[0][2:4] == (client_id, project_id)
    assert db_query("SELECT filed_project_id FROM comm_attachments") == [(project_id,)]


def test_an_unknown_sender_waits_in_the_inbox_and_is_triaged(manager, hook, db_query):
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    assert (
        post(hook, email(sender="new@stranger.example", subject="Quote for a sign", message_id="<s1@x>")).status_code
        == 200
    )
    assert post(hook, email(sender="spam@junk.example", subject="Buy now", message_id="<s2@x>")).status_code == 200
    assert [row[4] for row in db_query(IN_SQL)] == ["inbox", "inbox"]
    page = manager.get("/comms/inbox")
    assert "Quote for a sign" in page.text and "new@stranger.example" in page.text
    assert "Quote for a sign" not in manager.get("/comms").text  # the log shows handled mail
    first, second = (row[0] for row in db_query(IN_SQL))

    response = manager.post_form(f"/comms/inbox/{first}/link", {"client_id": str(client_id), "make_project": "1"})
    assert response.status_code == 303
    [(project_id, name)] = db_query("SELECT id, name FROM projects")
    assert name == "Quote for a sign"
    assert db_query("SELECT client_id, project_id, triage FROM communications WHERE id = ?", (first,)) == [
        (client_id, project_id, "")
    ]
    assert manager.post_form(f"/comms/inbox/{second}/discard").status_code == 303
    assert db_query("SELECT triage FROM communications WHERE id = ?", (second,)) == [("discarded",)]
    assert "Buy now" not in manager.get("/comms/inbox").text
    # Dealt with already: a second triage is refused, nothing changes.
    manager.post_form(f"/comms/inbox/{second}/link", {"client_id": str(client_id)})
    assert db_query("SELECT triage, client_id FROM communications WHERE id = ?", (second,)) == [("discarded", None)]


def test_triage_with_no_client_changes_nothing(manager, hook, db_query):
    assert post(hook, email(sender="new@stranger.example")).status_code == 200
    [(comm_id, *_)] = db_query(IN_SQL)
    manager.post_form(f"/comms/inbox/{comm_id}/link", {"client_id": ""})
    assert db_query(IN_SQL)[0][4] == "inbox"


def test_a_message_over_the_size_limit_is_refused(hook, db_query, monkeypatch):
    from laseros.web.controllers import webhooks

    monkeypatch.setattr(webhooks, "MAX_MESSAGE_BYTES", 1000)
    raw = email(body="x" * 5000)
    assert post(hook, raw).status_code == 413
    assert db_query("SELECT COUNT(*) FROM communications") == [(0,)]


@pytest.mark.parametrize(
    ("filename", "content_type", "subject", "expected"),
    [
        ("POP.pdf", "application/pdf", "", True),
        ("proof_of_payment.jpg", "image/jpeg", "", True),
        ("Remittance advice.pdf", "application/pdf", "", True),
        ("scan.pdf", "application/pdf", "Proof of payment JB-1", True),
        ("bracket.dxf", "application/dxf", "payment", False),
        ("drawing.pdf", "application/pdf", "drawings", False),
        ("population.pdf", "application/pdf", "", False),
    ],
)
def test_what_looks_like_a_proof_of_payment(filename, content_type, subject, expected):
    assert looks_like_pop(filename, content_type, subject) is expected


def test_the_parser_reads_headers_it_is_given_and_survives_odd_ones():
    parsed = parse_email(email(subject="Hi\x07 there", headers={"References": "garbage <a@b> <c@d>"}))
    assert parsed.subject == "Hi there" and parsed.thread_ids == ["<a@b>", "<c@d>"]
    assert parsed.sender == "johan@karoo.example" and parsed.automatic is None
    without_id = b"From: a@b.example\r\nSubject: x\r\n\r\nhello"
    assert parse_email(without_id).message_id == parse_email(without_id).message_id  # stable, so stored once


def test_the_inbound_smtp_listener_feeds_the_same_parser(manager, settings, db_query):
    import aiosmtplib

    client_id, project_id, code = _project(manager, db_query)
    port = free_port()
    app = create_app(replace(settings, inbound_smtp_port=port))
    with ShopClient(app=app):  # the app is started: its listener is up
        raw = email(subject=f"Re: {code}", body="Thanks!", message_id="<smtp-1@karoo.example>")

        async def deliver() -> None:
            await aiosmtplib.send(
                raw, sender="johan@karoo.example", recipients=["shop@example.com"], hostname="127.0.0.1", port=port
            )

        run(deliver())
        run(deliver())  # the same message again is stored once
    assert db_query(IN_SQL)[0][2:5] == (client_id, project_id, "")
    assert db_query("SELECT COUNT(*) FROM communications WHERE direction = 'in'") == [(1,)]
