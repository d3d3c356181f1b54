"""Sending mail: the `Mailer` interface the outbox delivers through, and its SMTP sender.

`KEYVEND_SMTP_URL` names the server: `smtp://host:25` (plain, a local relay),
`smtp://user:pass@host:587?starttls=true` (STARTTLS) or `smtps://user:pass@host:465`
(implicit TLS). User and password are percent-decoded, so a password may hold `@` as `%40`.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from keyvend.config import Settings

TIMEOUT = 20.0  # seconds for connecting and for each SMTP reply
DEFAULT_PORTS = {"plain": 25, "starttls": 587, "tls": 465}
TRUE = ("true", "1", "yes", "on")


class MailError(Exception):
    """A mail was not sent; the text says why and never holds the SMTP password."""


class Mailer(Protocol):
    """Something that sends one message or raises MailError."""

    def send(self, message: EmailMessage) -> None: ...


class Security(StrEnum):
    PLAIN = "plain"
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS from the first byte (smtps)


@dataclass(frozen=True)
class SmtpMailer:
    """Sends through one SMTP server, a new connection per message (smtplib)."""

    host: str
    port: int
    mail_from: str
    security: Security = Security.PLAIN
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT

    @classmethod
    def from_url(cls, url: str, mail_from: str) -> SmtpMailer:
        """The sender of an `smtp://` or `smtps://` URL; ValueError naming what is wrong."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("KEYVEND_SMTP_URL must look like smtp://host:port or smtps://host")
        starttls = parse_qs(parts.query).get("starttls", ["false"])[-1].lower() in TRUE
        if parts.scheme == "smtps":
            security = Security.TLS
        else:
            security = Security.STARTTLS if starttls else Security.PLAIN
        try:
            port = parts.port or DEFAULT_PORTS[security]
        except ValueError:
            raise ValueError("KEYVEND_SMTP_URL has a port that is not a number") from None
        return cls(
            host=parts.hostname,
            port=port,
            mail_from=mail_from,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def send(self, message: EmailMessage) -> None:
        """Send `message` from `mail_from`; MailError if the server is down or refuses it."""
        if "From" not in message:
            message["From"] = self.mail_from
        try:
            with self._connect() as smtp:
                if self.security == Security.STARTTLS:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(self._describe(exc)) from None

    def _connect(self) -> smtplib.SMTP:
        if self.security == Security.TLS:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _describe(self, exc: Exception) -> str:
        text = f"{self.host}:{self.port}: {type(exc).__name__}: {exc}"
        if self.password:
            text = text.replace(self.password, "***")
        return text[:500]


def mailer_for(settings: Settings) -> Mailer | None:
    """The SMTP sender of these settings; None when KEYVEND_SMTP_URL is not set."""
    if settings.smtp_url is None:
        return None
    return SmtpMailer.from_url(settings.smtp_url.get_secret_value(), settings.mail_from)
