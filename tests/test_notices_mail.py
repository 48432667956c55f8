"""Notices by e-mail, against an SMTP server the test starts on a free local port (aiosmtpd): sent after the commit,
to each person concerned, in Chinese then English; a server that is down, refuses or lacks STARTTLS never fails the
request, and the housekeeping task sends what failed."""

import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import col, select

from footprint_api.core.settings import get_settings
from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import Notice, User
from footprint_api.services import jobs, notices
from tests.conftest import load_example
from tests.labelling import act, calculated_footprint

SENDER = "PCF 通知 <notices@pcf.test>"
PRODUCT = load_example("cement-guizhou-2023.json")["product"]["name"]
ENGINEER, ADMIN = "acme-engineer@test.example", "acme-admin@test.example"


class Mailbox:
    """What the SMTP server received; it refuses for good (550) the addresses in `refused`."""

    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refused: set[str] = set()
        self.port = free_port()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # aiosmtpd's hook name
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def about(self, marker: str, subject: str = "新的审核问题") -> list:
        """The received messages whose text contains the marker (an application's id) and whose subject starts so
        (by default: a finding raised, to the manufacturer's people), parsed."""
        parsed = [(frm, to, message_from_bytes(raw, policy=policy.default)) for frm, to, raw in self.received]
        return [
            (frm, to, m)
            for frm, to, m in parsed
            if marker in m.get_body(("plain",)).get_content() and m["Subject"].startswith(subject)
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def configure_mail(**values) -> None:
    for name, value in values.items():
        variable = f"PCF_SMTP_{name.upper()}"
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = str(value)
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def mailbox(world):
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    configure_mail(host="127.0.0.1", port=box.port, starttls="false", **{"from": SENDER})
    yield box
    controller.stop()
    configure_mail(host=None, port=None, starttls=None, **{"from": None})


@pytest.fixture
def server(mailbox):
    """The running server, emptied, with the settings pointing at it (a test may have changed them)."""
    mailbox.received.clear()
    mailbox.refused.clear()
    configure_mail(port=mailbox.port, starttls="false")
    return mailbox


def drained() -> None:
    """Waits for the mail thread to finish what it was given (it runs one task at a time, in order)."""
    notices._mail_thread().submit(lambda: None).result(timeout=30)


def wait_for(box: Mailbox, marker: str, count: int, timeout: float = 20) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = box.about(marker)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{len(box.about(marker))} of {count} messages about {marker} arrived")


def under_review(world) -> str:
    footprint = calculated_footprint(world, gtin=None)
    response = world.call(
        "acme-engineer",
        "POST",
        "/api/v1/applications",
        json={"footprint_id": footprint["footprint_id"], "certification_body_id": str(world.organisations["cb"])},
    )
    assert response.status_code == 201, response.text
    application = response.json()["id"]
    for user, action in (("acme-engineer", "submit"), ("cb-verifier", "start_review")):
        assert act(world, user, application, action).status_code == 200
    return application


def raise_finding(world, application: str, text: str = "Show the kiln's meter readings.") -> float:
    """Raises a finding; returns how long the request took (seconds)."""
    started = time.monotonic()
    response = world.call(
        "cb-verifier",
        "POST",
        f"/api/v1/applications/{application}/findings",
        json={"subject": "items[0]", "text": text},
    )
    assert response.status_code == 201, response.text
    return time.monotonic() - started


def emailed(application: str, email: str) -> datetime | None:
    with session_scope() as session:
        return session.exec(
            select(Notice.emailed_at)
            .join(User, col(User.id) == col(Notice.user_id))
            .where(User.email == email, col(Notice.link).contains(application), Notice.kind == "finding.raised")
        ).one()


def test_a_finding_is_mailed_to_each_person_of_the_manufacturer_in_chinese_then_english(world, server):
    application = under_review(world)
    raise_finding(world, application)
    received = wait_for(server, application, 2)

    assert sorted(to[0] for _, to, _ in received) == [ADMIN, ENGINEER]
    assert all(sender == "notices@pcf.test" for sender, _, _ in received)
    message = next(m for _, to, m in received if to == [ENGINEER])
    assert message["To"] == ENGINEER and message["From"] == SENDER
    assert message["Subject"] == f"新的审核问题：{PRODUCT} / New finding: {PRODUCT}"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    chinese, english = text.index("acme-engineer，您好："), text.index("Hello acme-engineer,")
    assert chinese < english
    link = f"{get_settings().base_url}/app/applications/{application}"
    assert text.count(link) == 2 and f"查看：{link}" in text and f"Open: {link}" in text
    assert "附言：Show the kiln's meter readings." in text and "Their note: Show the kiln's meter readings." in text
    assert "提出了一个问题" in text[chinese:english] and "raised a finding" in text[english:]
    assert emailed(application, ENGINEER) is not None and emailed(application, ADMIN) is not None


def test_a_mail_server_that_does_not_answer_never_delays_nor_fails_the_request(world, server, caplog):
    """The mail goes from the mail thread after the commit: the request answers at once; the notices wait, not
    mailed, and the housekeeping task sends them once the server is back."""
    application = under_review(world)
    configure_mail(port=free_port())  # nothing listens there: connection refused
    with caplog.at_level(logging.WARNING, logger="footprint_api.services.notices"):
        took = raise_finding(world, application)
        drained()
    assert took < get_settings().smtp_timeout_seconds
    assert "2 notice(s) not mailed" in caplog.text
    assert emailed(application, ENGINEER) is None and emailed(application, ADMIN) is None
    assert server.about(application) == []

    configure_mail(port=server.port)
    report = jobs.housekeeping()
    assert report["notices_mailed"] >= 2
    assert sorted(to[0] for _, to, _ in wait_for(server, application, 2)) == [ADMIN, ENGINEER]
    assert emailed(application, ENGINEER) is not None


def test_starttls_that_the_server_does_not_offer_is_a_failed_send_tried_again(world, server, caplog):
    application = under_review(world)
    configure_mail(starttls="true")
    with caplog.at_level(logging.WARNING, logger="footprint_api.services.notices"):
        raise_finding(world, application)
        drained()
    assert "STARTTLS extension not supported" in caplog.text
    assert emailed(application, ENGINEER) is None and server.about(application) == []
    configure_mail(starttls="false")
    assert notices.deliver() >= 2
    assert len(server.about(application)) == 2


def test_a_recipient_refused_for_good_is_not_tried_again(world, server, caplog):
    application = under_review(world)
    server.refused.add(ADMIN)
    with caplog.at_level(logging.ERROR, logger="footprint_api.services.notices"):
        raise_finding(world, application)
        drained()
    assert [to for _, to, _ in server.about(application)] == [[ENGINEER]]
    assert f"refuses {ADMIN} for good" in caplog.text
    assert emailed(application, ADMIN) is not None  # given up, not retried every minute
    assert notices.deliver() == 0


def test_the_retry_covers_the_retry_window_and_skips_what_was_read(world, server):
    """PCF_SMTP_RETRY_HOURS is 72: a notice made 71 hours ago is mailed, one made 73 hours ago is not, nor one the
    person has already read in the inbox."""
    marker = uuid.uuid4().hex
    now = datetime.now(UTC)
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == ENGINEER)).one()
        for name, age_hours, read in (("recent", 71, False), ("old", 73, False), ("read", 1, True)):
            session.add(
                Notice(
                    organisation_id=user.organisation_id,
                    user_id=user.id,
                    kind="label.expiring",
                    params={"number": f"{name}-{marker}", "product": "p", "expires_on": "2030-01-01"},
                    link=f"/app/applications/{marker}",
                    event_key=f"test:{name}:{marker}",
                    created_at=now - timedelta(hours=age_hours),
                    read_at=now if read else None,
                )
            )
        session.commit()
    assert get_settings().smtp_retry_hours == 72
    notices.deliver()
    subjects = [m["Subject"] for _, _, m in server.about(marker, subject="碳标签")]
    assert len(subjects) == 1 and f"recent-{marker}" in subjects[0]


def test_without_a_server_nothing_is_sent_and_nothing_is_marked(world, server):
    configure_mail(host=None)
    try:
        application = under_review(world)
        raise_finding(world, application)
        drained()
        assert notices.deliver() == 0
        assert emailed(application, ENGINEER) is None
    finally:
        configure_mail(host="127.0.0.1")
    assert server.received == []
