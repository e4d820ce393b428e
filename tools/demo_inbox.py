"""The demo inbox of `make run`: a real SMTP server and a real HTTP receiver on 127.0.0.1 that
stand in for customers' mailboxes and phones and for agents' Slack/webhooks. GET / lists what
arrived (newest first) as JSON; POST anything to any path to deliver it.

Usage: demo_inbox.py HTTP_PORT SMTP_PORT
"""
from __future__ import annotations

import asyncio
import email
import json
import sys
from datetime import UTC, datetime
from email import policy

from aiohttp import web
from aiosmtpd.controller import Controller

RECEIVED: list[dict] = []
LIMIT = 500


def keep(item: dict) -> None:
    item["received_at"] = datetime.now(UTC).isoformat()
    RECEIVED.insert(0, item)
    del RECEIVED[LIMIT:]


class SmtpSink:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        keep({"via": "smtp", "to": envelope.rcpt_tos, "subject": message["subject"],
              "in_reply_to": message["in-reply-to"], "body": body.get_content() if body else ""})
        return "250 OK"


async def receive(request: web.Request) -> web.Response:
    raw = await request.read()
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode(errors="replace")
    keep({"via": "http", "path": request.path, "body": body})
    return web.json_response({"ok": True, "id": f"demo-{len(RECEIVED)}"})


async def listing(_request: web.Request) -> web.Response:
    return web.json_response({"count": len(RECEIVED), "messages": RECEIVED}, dumps=lambda o: json.dumps(
        o, ensure_ascii=False, indent=2))


async def main(http_port: int, smtp_port: int) -> None:
    smtp = Controller(SmtpSink(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    app = web.Application()
    app.router.add_get("/", listing)
    app.router.add_route("POST", "/{tail:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    smtp.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
