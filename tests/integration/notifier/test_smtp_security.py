"""SMTP with STARTTLS (certificate checked against its CA) and AUTH, on a real aiosmtpd server."""
from __future__ import annotations

import email
import ssl
import subprocess
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from events import K, notification
from notifier_it_config import notifier_config
from switchboard.common import processes
from switchboard.common.config import Secrets
from switchboard.common.testing import read_topic, wait_for
from switchboard.common.testing.helpers import read_raw
from switchboard.events.v1 import notification_pb2


class SecureMailbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.sessions: list[tuple[bool, bool]] = []  # (over TLS, authenticated)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook)
        self.sessions.append((session.ssl is not None, bool(session.authenticated)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"notifier" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def secure_smtp(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = SecureMailbox()
    port = processes.free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            auth_required=True, authenticator=authenticate)
    controller.start()
    box.port, box.ca_file = port, str(cert)
    yield box
    controller.stop()


def secrets(password: str) -> Secrets:
    return Secrets({"global": {"smtp_username": "notifier", "smtp_password": password}})


def config(receiver, box):
    return notifier_config(receiver.base_url, box.port, smtp={
        "host": "127.0.0.1", "port": box.port, "starttls": True, "validate_certs": True, "ca_file": box.ca_file,
        "username_secret": "smtp_username", "password_secret": "smtp_password", "from_address": "support@sb.test"},
        retry={"max_attempts": 2, "base_backoff_seconds": 0.02, "max_backoff_seconds": 0.05, "total_seconds": 5})


async def test_email_goes_over_starttls_with_auth(receiver, secure_smtp, start_notifier, producer, bus_topics):
    await start_notifier(config(receiver, secure_smtp), secrets("s3cret"))
    await producer.publish(bus_topics.notifications,
                           notification("tls-1", K.NOTIFICATION_KIND_AGENT_REPLY, text="Sent securely"),
                           key="c-1", event_id="tls-1")
    await producer.drain()
    await wait_for(lambda: secure_smtp.messages, timeout=20)
    assert secure_smtp.sessions == [(True, True)]
    assert "Sent securely" in secure_smtp.messages[0].get_body(("plain",)).get_content()


async def test_wrong_smtp_password_fails_permanently_with_the_reason(
        receiver, secure_smtp, start_notifier, producer, bus_topics, kafka_bootstrap):
    await start_notifier(config(receiver, secure_smtp), secrets("wrong"))
    await producer.publish(bus_topics.notifications,
                           notification("tls-2", K.NOTIFICATION_KIND_AGENT_REPLY, text="Never sent"),
                           key="c-1", event_id="tls-2")
    await producer.drain()
    dlq = await read_raw(kafka_bootstrap, bus_topics.dlq("notifications"), min_count=1, timeout=20)
    assert dict(dlq[0].headers)["dlq_error"].startswith(b"smtp 535")
    outcome = (await read_topic(kafka_bootstrap, bus_topics.deliveries, min_count=1, timeout=10))[0].payload
    assert outcome.outcome == notification_pb2.DELIVERY_OUTCOME_FAILED and outcome.attempts == 1
    assert secure_smtp.messages == []
