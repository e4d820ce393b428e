"""Transports: HTTP (httpx) and SMTP (aiosmtplib), the HttpPort and SmtpPort of adapters/ports.py.
They execute; the domain decides what to send and how to read the answer."""
from __future__ import annotations

import select
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

import aiosmtplib
import httpcore
import httpx
from switchboard.notifier.domain.model import HttpRequestSpec, SendOutcome
from switchboard.notifier.domain.providers import interpret_http_response


class _SocketStream(httpcore.AsyncNetworkStream):
    """anyio's stream, with its raw socket looked up once. httpcore's pool asks every connection
    `is_readable` on each request and each response close; anyio rebuilds its attribute table to find
    the socket every time: ~25% of a request's CPU with 16 connections (py-spy, benchmarks/notifier.py)."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _SocketStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        if info == "socket":
            return self._socket
        if info == "is_readable":  # as httpcore._utils.is_socket_readable, without the lookup
            fd = -1 if self._socket is None else self._socket.fileno()
            if fd < 0:
                return True
            poll = select.poll()
            poll.register(fd, select.POLLIN)
            return bool(poll.poll(0))
        return self._inner.get_extra_info(info)


class _SocketBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend (what it picks under asyncio), its streams wrapped in _SocketStream."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options=None) -> httpcore.AsyncNetworkStream:
        return _SocketStream(await self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options=None) -> httpcore.AsyncNetworkStream:
        return _SocketStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """The transport httpx.AsyncClient builds by default (same TLS, limits, proxies from the
    environment still mounted by the client), its connections on _SocketBackend."""
    transport = httpx.AsyncHTTPTransport(limits=limits)
    pool = getattr(transport, "_pool", None)  # httpcore 1.0 has no setter (pinned); a later one keeps its default
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = _SocketBackend()
    return transport


class HttpSender:
    """One httpx client per destination pool, sized to the pool's concurrency: destinations never
    share connections, and httpcore's per-request pool bookkeeping stays small."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, pool: str, concurrency: int) -> httpx.AsyncClient:
        client = self._clients.get(pool)
        if client is None:
            limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
            client = httpx.AsyncClient(limits=limits, follow_redirects=False, transport=_transport(limits))
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
