"""HttpSender against a real local HTTP/1.1 server: keep-alive reuse, a connection the server closed
while idle (the pool's `is_readable` check on the cached socket), and a refused connection."""
from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime

from switchboard.notifier.adapters.senders import HttpSender
from switchboard.notifier.domain.model import HttpRequestSpec, Outcome

ANSWER = b'{"ok":true,"result":{"message_id":7}}'


class Server:
    """Answers every request 200 with ANSWER; `close_after` closes each connection after that many."""

    def __init__(self, close_after: int = 0) -> None:
        self.close_after = close_after
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(ANSWER)).encode() + b"\r\n\r\n" + ANSWER)
                await writer.drain()
                served += 1
                if self.close_after and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def _request(port: int, key: str) -> HttpRequestSpec:
    return HttpRequestSpec("POST", f"http://127.0.0.1:{port}/bot1:x/sendMessage", {"Idempotency-Key": key},
                           json={"chat_id": "42", "text": "Hi Ana", "disable_web_page_preview": True})


async def _send(sender: HttpSender, port: int, key: str):
    return await sender.send(_request(port, key), timeout=5, api="telegram", pool="telegram:telegram",
                             concurrency=2)


async def test_requests_share_a_kept_alive_connection_and_are_delivered():
    server = Server()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    sender = HttpSender(lambda: datetime.now(UTC))
    try:
        outcomes = [await _send(sender, port, f"k{i}") for i in range(3)]
    finally:
        await sender.close()
        listener.close()
    assert [o.outcome for o in outcomes] == [Outcome.DELIVERED] * 3
    assert {o.provider_message_id for o in outcomes} == {"7"}
    assert server.connections == 1
    head = server.requests[0].split(b"\r\n\r\n")[0].lower()
    assert b"idempotency-key: k0" in head and b"user-agent: python-httpx/" in head
    assert server.requests[0].endswith(b'{"chat_id":"42","text":"Hi Ana","disable_web_page_preview":true}')


async def test_a_connection_the_server_closed_while_idle_is_replaced():
    server = Server(close_after=1)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    sender = HttpSender(lambda: datetime.now(UTC))
    try:
        first = await _send(sender, port, "a")
        await asyncio.sleep(0.1)  # the server's close reaches the idle pooled connection
        second = await _send(sender, port, "b")
    finally:
        await sender.close()
        listener.close()
    assert (first.outcome, second.outcome) == (Outcome.DELIVERED, Outcome.DELIVERED)
    assert server.connections == 2


async def test_a_refused_connection_is_retried():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    sender = HttpSender(lambda: datetime.now(UTC))
    try:
        outcome = await _send(sender, port, "c")
    finally:
        await sender.close()
    assert outcome.outcome is Outcome.RETRY
    assert outcome.detail.startswith("connection error: ConnectError")
