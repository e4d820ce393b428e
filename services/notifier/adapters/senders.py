"""Transports: HTTP (httpx) and SMTP (aiosmtplib), the HttpPort and SmtpPort of adapters/ports.py.
They execute; the domain decides what to send and how to read the answer."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib
import httpx
from switchboard.notifier.domain.model import HttpRequestSpec, SendOutcome
from switchboard.notifier.domain.providers import interpret_http_response


class HttpSender:
    """One httpx client per destination pool, sized to the pool's concurrency: destinations never
    share connections, and httpcore's per-request pool bookkeeping stays small."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, pool: str, concurrency: int) -> httpx.AsyncClient:
        client = self._clients.get(pool)
        if client is None:
            client = httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency,
                                                           max_keepalive_connections=concurrency),
                                       follow_redirects=False)
            self._clients[pool] = client
        return client

    async def send(self, request: HttpRequestSpec, *, timeout: float, api: str, pool: str = "",
                   concurrency: int = 8) -> SendOutcome:
        try:
            response = await self._client(pool, concurrency).request(
                request.method, request.url, headers=request.headers, json=request.json, data=request.form,
                content=request.content, timeout=httpx.Timeout(timeout))
        except httpx.TimeoutException as exc:
            return SendOutcome.retry(f"timeout after {timeout}s ({type(exc).__name__})")
        except httpx.TransportError as exc:
            return SendOutcome.retry(f"connection error: {type(exc).__name__}: {exc}")
        return interpret_http_response(response.status_code, dict(response.headers), response.content,
                                       self._now(), api)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


class SmtpSender:
    def __init__(self, *, host: str, port: int, starttls: bool, use_tls: bool, validate_certs: bool,
                 username: str | None, password: str | None, ca_file: str | None = None) -> None:
        self._options = {"hostname": host, "port": port, "start_tls": starttls if not use_tls else False,
                             "use_tls": use_tls, "validate_certs": validate_certs, "username": username or None,
                             "password": password or None, "cert_bundle": ca_file}

    async def send(self, message: EmailMessage, *, timeout: float) -> SendOutcome:
        try:
            _errors, response = await aiosmtplib.send(message, timeout=timeout, **self._options)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = f"smtp recipients refused {codes}"
            return SendOutcome.retry(detail) if all(400 <= c < 500 for c in codes) else SendOutcome.failed(detail)
        except aiosmtplib.SMTPResponseException as exc:
            detail = f"smtp {exc.code}: {exc.message}"
            return SendOutcome.retry(detail) if 400 <= exc.code < 500 else SendOutcome.failed(detail)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendOutcome.retry(f"smtp connection error: {type(exc).__name__}: {exc}")
        return SendOutcome.delivered(str(message["Message-ID"]), f"smtp {response}")
