"""A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives.

Tests wait for mail with a deadline (`wait_for`), never a sleep. The server can refuse mail
(`refuse`), go down (`stop`: the port refuses connections) and come back on the same port
(`start`). With `tls` it speaks STARTTLS or implicit TLS under a self-signed certificate for
127.0.0.1 (`cert_file`, which a client trusts through SSL_CERT_FILE); with `users` it asks
for AUTH LOGIN/PLAIN.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.live_server import HOST, free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    to: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


class SmtpServer:
    """`with SmtpServer() as smtp: ... smtp.wait_for(1)`."""

    def __init__(
        self,
        *,
        tls: Literal["starttls", "implicit"] | None = None,
        users: dict[str, str] | None = None,
        cert_dir: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.tls = tls
        self.users = users
        self.received: list[Received] = []
        self.refusing: str | None = None
        self._changed = threading.Condition()
        self._controller: Controller | None = None
        self.cert_file: Path | None = None
        self._context: ssl.SSLContext | None = None
        if tls is not None:
            assert cert_dir is not None, "a TLS server needs a folder for its certificate"
            self.cert_file, self._context = _self_signed(cert_dir)

    @property
    def url(self) -> str:
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        query = "?starttls=true" if self.tls == "starttls" else ""
        return f"{scheme}://{HOST}:{self.port}{query}"

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.tls == "starttls":
            options.update(tls_context=self._context, require_starttls=True)
        if self.users is not None:
            # aiosmtpd does not count implicit TLS as TLS for AUTH: there AUTH is offered
            # without being required.
            starttls = self.tls == "starttls"
            options.update(authenticator=self._authenticate, auth_require_tls=starttls)
            options.update(auth_required=starttls)
        controller = Controller(
            self,
            hostname=HOST,
            port=self.port,
            ssl_context=self._context if self.tls == "implicit" else None,
            **options,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Go down: connections to the port are refused until `start`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, reply: str | None = "451 4.3.0 Try again later") -> None:
        """Answer every message with `reply` (None: accept again)."""
        self.refusing = reply

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """The first `count` messages, once they arrived; fails after `timeout` seconds."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            assert arrived, f"{len(self.received)} of {count} message(s) arrived"
            return list(self.received)

    def to(self, recipient: str) -> list[Received]:
        with self._changed:
            return [mail for mail in self.received if recipient in mail.to]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing:
            return self.refusing
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        with self._changed:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self._changed.notify_all()
        return "250 OK"

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        known = isinstance(data, LoginPassword) and self.users is not None
        ok = known and self.users.get(data.login.decode()) == data.password.decode()  # type: ignore[union-attr]
        return AuthResult(success=bool(ok))

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _self_signed(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate and key for 127.0.0.1, and the server context that uses them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return cert_file, context
