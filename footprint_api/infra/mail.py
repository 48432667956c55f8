"""Outbound e-mail through the SMTP server of the deployment (settings `smtp_*`; off unless `smtp_host` is set).

One connection sends a batch: the housekeeping task retrying a dozen notices opens one session with the server, not
a dozen, and a server that does not answer costs one timeout, not one per message.
"""

import smtplib
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from footprint_api.core.settings import get_settings

MailError = (smtplib.SMTPException, OSError)  # refused, unreachable, timed out, TLS failed


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


def configured() -> bool:
    return bool(get_settings().smtp_host)


def message(mail: Mail) -> EmailMessage:
    """A plain-text UTF-8 message (RFC 5322, headers in RFC 2047 where they are not ASCII)."""
    sender = get_settings().smtp_from or ""
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    built = EmailMessage()
    built["From"] = sender
    built["To"] = mail.to
    built["Subject"] = mail.subject
    built["Date"] = formatdate(localtime=False)
    built["Message-ID"] = make_msgid(domain=domain)
    built["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
    built.set_content(mail.text)
    return built


@contextmanager
def connection() -> Iterator[Callable[[Mail], None]]:
    """A session with the SMTP server (STARTTLS with the system's CAs and a login when configured): a function that
    sends one mail. Raises one of `MailError` when the server cannot be reached or refuses."""
    settings = get_settings()
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")

        def send(mail: Mail) -> None:
            smtp.send_message(message(mail))

        yield send
