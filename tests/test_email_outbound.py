"""Email out through real SMTP: the POP confirmation reaches an aiosmtpd server, SMTP down ends Failed
after three tries (the POP stays received), and the embedded outbox keeps mail as .eml."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from laseros.db import Database
from laseros.domain.comms import mail, outbox
from laseros.domain.comms.services import POP_CONFIRMATION
from laseros.jobs.tasks import run_now
from laseros.services import open_services
from tests.factories import create_client, create_project
from tests.support import deliver_now, free_port, run, smtp_settings

COMM_SQL = (
    "SELECT id, status, recipient, subject, body, message_id, attempts, error, kind, project_id FROM communications"
)


def test_pop_confirmation_reaches_a_real_smtp_server_with_the_project_code(manager, settings, db_query, smtp_server):
    inbox, port = smtp_server
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    project_id = create_project(manager, client_id)
    assert manager.post_form(f"/projects/{project_id}/pop").status_code == 303
    code = db_query("SELECT project_code FROM projects WHERE id = ?", (project_id,))[0][0]

    [row] = db_query(COMM_SQL)
    comm_id, status, recipient, subject, _body, message_id, *_rest, kind, comm_project = row
    assert (status, recipient, kind, comm_project) == ("pending", "johan@karoo.example", POP_CONFIRMATION, project_id)
    assert code in subject
    assert message_id.startswith("<laseros.") and message_id.endswith(">")

    result = deliver_now(smtp_settings(settings, port), comm_id)
    assert result == {"communication_id": comm_id, "status": "sent"}
    [message] = inbox.messages
    assert message["To"] == "johan@karoo.example"
    assert message["From"] == "shop@example.com"
    assert code in message["Subject"]
    assert message["Message-ID"] == message_id  # our own, so replies thread back
    text = message.get_body(preferencelist=("plain",))
    assert text is not None and code in text.get_content() and "Karoo Steel" in text.get_content()
    [(status, sent_at, attempts)] = db_query("SELECT status, sent_at, attempts FROM communications")
    assert status == "sent" and sent_at is not None and attempts == 1
    # Idempotent: a second run of the job sends nothing more.
    assert deliver_now(smtp_settings(settings, port), comm_id)["status"] == "sent"
    assert len(inbox.messages) == 1


def test_smtp_down_ends_failed_with_the_error_after_three_tries_and_the_pop_stays(manager, settings, db_query):
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    project_id = create_project(manager, client_id)
    assert manager.post_form(f"/projects/{project_id}/pop").status_code == 303
    [(comm_id,)] = db_query("SELECT id FROM communications")

    down = smtp_settings(settings, free_port())  # nothing listens there
    assert deliver_now(down, comm_id)["status"] == "failed"
    [(status, attempts, error)] = db_query("SELECT status, attempts, error FROM communications")
    assert status == "failed" and attempts == mail.TRIES
    assert "Connect" in error or "refused" in error.lower()
    assert db_query("SELECT pop_received, stage FROM projects WHERE id = ?", (project_id,))[0][0] == 1

    # Retried from its page once the server is back: Pending again, then Sent.
    response = manager.post_form(f"/comms/{comm_id}/retry")
    assert response.status_code == 303
    assert db_query("SELECT status, error FROM communications") == [("pending", "")]


def test_a_client_without_an_email_address_gets_a_clear_reason_not_a_failed_pop(manager, db_query):
    client_id = create_client(manager, "No Mail Ltd", email="")
    project_id = create_project(manager, client_id)
    assert manager.post_form(f"/projects/{project_id}/pop").status_code == 303
    [(status, error)] = db_query("SELECT status, error FROM communications")
    assert status == "failed" and "No Mail Ltd has no usable email address" in error
    assert db_query("SELECT pop_received FROM projects WHERE id = ?", (project_id,)) == [(1,)]


def test_the_pop_confirmation_template_switched_off_sends_nothing(manager, db_query, settings):
    from tests.support import sql

    sql(settings, "UPDATE message_templates SET is_active = 0 WHERE key = 'pop_confirmation'")
    client_id = create_client(manager)
    project_id = create_project(manager, client_id)
    assert manager.post_form(f"/projects/{project_id}/pop").status_code == 303
    assert db_query("SELECT COUNT(*) FROM communications") == [(0,)]


def test_the_embedded_outbox_keeps_each_message_as_eml_and_a_second_process_shares_it(manager, settings, db_query):
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    project_id = create_project(manager, client_id)
    assert manager.post_form(f"/projects/{project_id}/pop").status_code == 303
    [(comm_id, message_id)] = db_query("SELECT id, message_id FROM communications")
    local = replace(settings, smtp_host="", smtp_retry_delay_s=0.0)
    assert outbox.running_port(settings.data_dir) is None
    with outbox.outbox_for(settings.data_dir, "") as port:
        assert port is not None and outbox.running_port(settings.data_dir) == port
        with outbox.outbox_for(settings.data_dir, "") as shared:  # e.g. `laseros worker` on the same folder
            assert shared == port
        assert outbox.running_port(settings.data_dir) == port  # the sharer did not stop it
        assert deliver_now(local, comm_id)["status"] == "sent"
        kept = outbox.read_kept(settings.data_dir, message_id)
        assert kept is not None and kept.path.parent == settings.data_dir / "outbox"
        assert kept.headers["To"] == "johan@karoo.example" and kept.headers["Message-ID"] == message_id
        assert "received your proof of payment" in kept.text
        page = manager.get(f"/comms/{comm_id}")
        assert "kept in the local outbox — no mail server configured" in page.text
        assert "received your proof of payment" in page.text
    assert outbox.running_port(settings.data_dir) is None  # stopped with its owner


def test_no_mail_server_and_no_outbox_fails_with_a_plain_reason(manager, settings, db_query):
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    project_id = create_project(manager, client_id)
    assert manager.post_form(f"/projects/{project_id}/pop").status_code == 303
    [(comm_id,)] = db_query("SELECT id FROM communications")
    assert deliver_now(replace(settings, smtp_host="", smtp_retry_delay_s=0.0), comm_id)["status"] == "failed"
    [(error,)] = db_query("SELECT error FROM communications")
    assert "No mail server configured" in error


def test_the_job_is_queued_only_after_the_commit(settings):
    from laseros.db import UnitOfWork
    from laseros.domain.comms.services import OutgoingEmail, queue_email, set_email_dispatcher
    from laseros.domain.kernel.actor import SYSTEM

    async def go() -> tuple[list[int], list[int]]:
        db = Database.from_settings(settings)
        queued: list[int] = []

        async def dispatcher(comm_id: int) -> bool:
            queued.append(comm_id)
            return True

        remove = set_email_dispatcher(dispatcher)
        try:
            async with db.session(write=True) as session:
                assert isinstance(session, UnitOfWork)
                await queue_email(session, SYSTEM, OutgoingEmail("a@example.com", "Hello", "Body"))
                before = list(queued)
                await session.rollback()  # rolled back: nothing is queued
            async with db.session(write=True) as session:
                comm = await queue_email(session, SYSTEM, OutgoingEmail("a@example.com", "Hello", "Body"))
                await session.commit()
                await asyncio.sleep(0)
            return before, [*queued, comm.id]
        finally:
            remove()
            await db.dispose()

    before, after = run(go())
    assert before == []
    assert after[0] == after[1]


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ("johan@karoo.example", True),
        ("a.b+c@sub.example.co.za", True),
        ("", False),
        ("no-at-sign", False),
        ("two@@example.com", False),
        ("x@localhost", False),
        ("x@example.com, y@example.com", False),
        ("x@example.com\r\nBcc: evil@example.com", False),
        ("<x@example.com>", False),
    ],
)
def test_an_email_address_is_one_plain_address(raw, ok):
    assert (mail.check_address(raw) is not None) is ok


def test_the_smtp_password_never_shows_in_the_server_repr():
    server = mail.MailServer("smtp.example.com", 587, "user", "s3cret-pass", True, False, "a@example.com", False)
    assert "s3cret-pass" not in repr(server)


def test_run_job_send_email_sends_every_pending_email(manager, settings, db_query, smtp_server):
    inbox, port = smtp_server
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    for name in ("One", "Two"):
        assert manager.post_form(f"/projects/{create_project(manager, client_id, name=name)}/pop").status_code == 303

    async def go() -> dict[str, Any]:
        async with open_services(smtp_settings(settings, port)) as services:
            return await run_now("send-email", services)

    assert run(go()) == {"sent": 2, "failed": 0}
    assert len(inbox.messages) == 2
    assert db_query("SELECT DISTINCT status FROM communications") == [("sent",)]
