"""The real stack with the console, customers writing through ingest's signed webhooks, and a real
Chromium signed in to the console. Shared by tests/e2e/test_console_browser.py and
benchmarks/console_live.py (which put this folder on sys.path). No pytest import here.

Chromium is Debian's /usr/bin/chromium driven by Playwright; `playwright install` is never run.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
import httpx
import yaml
from switchboard.common.admin import ensure_topics
from switchboard.common.settings import KafkaSettings
from switchboard.common.testing.webhooks import mailgun_form, meta_whatsapp_message

CHROMIUM = "/usr/bin/chromium"
SERVICES = (*harness.SERVICES, harness.CONSOLE)
VIEWPORT = {"width": 1440, "height": 900}
TIMEZONE = "Europe/Berlin"  # the viewer's zone: times on the page are shown in it


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Polls `condition` until it returns something truthy; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# ------------------------------------------------------------------------------------ the stack
@dataclass
class ConsoleStack:
    stack: harness.Stack
    receivers: harness.Receivers

    @property
    def console(self) -> str:
        return self.stack.url(harness.CONSOLE)

    @property
    def ingest(self) -> str:
        return self.stack.url("ingest")

    def secrets(self, brand: str) -> dict:
        return (yaml.safe_load((self.stack.config_dir / "secrets.yaml").read_text()) or {})["brands"][brand]

    def router_agents(self, brand: str) -> dict[str, dict]:
        """The router's view of the brand's agents (its read API, with the console's token)."""
        response = httpx.get(f"{self.stack.url('router')}/v1/brands/{brand}/agents", timeout=5,
                             headers={"Authorization": f"Bearer {harness.READ_API_TOKEN}"})
        response.raise_for_status()
        return {a["agent_id"]: a for a in response.json()["agents"]}

    def received(self, path_prefix: str) -> list[harness.Received]:
        return [r for r in self.receivers.snapshot() if r.path.startswith(path_prefix)]

    def stop(self) -> None:
        self.stack.stop()
        self.receivers.stop()


def start_console_stack(bootstrap: str, mongo_uri: str, work: Path, timeout: float = 180.0) -> ConsoleStack:
    """Broker topics, the demo config pointed at local receivers, all five services and the console."""
    namespace = f"ui{uuid.uuid4().hex[:10]}"
    receivers = harness.Receivers().start()
    try:
        config = harness.prepare_config(work / "config", inbox_http=receivers.http_origin,
                                        smtp_port=receivers.smtp_port)
        stack = harness.proof_stack(bootstrap, mongo_uri, namespace, config, work,
                                    env={"SWITCHBOARD_COOKIE_SECURE": "false"})  # plain http on 127.0.0.1
        asyncio.run(ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), stack.topics))
        for name in SERVICES:
            stack.add(name)
        try:
            stack.start(SERVICES, timeout=timeout)
        except BaseException:
            stack.stop()  # the ones that did start
            raise
    except BaseException:
        receivers.stop()
        raise
    return ConsoleStack(stack, receivers)


# ------------------------------------------------------------------------------------ customers
class Customers:
    """Customers of one brand writing through ingest, signed as each provider signs."""

    def __init__(self, ingest: str, brand: str, secrets: dict) -> None:
        self.base = f"{ingest}/v1/brands/{brand}"
        self.secrets = secrets
        self.client = httpx.Client(timeout=15)

    def _post(self, what: str, path: str, **kwargs) -> float:
        """POSTs and returns the wall-clock time of the 2xx answer."""
        response = self.client.post(self.base + path, **kwargs)
        answered = time.time()
        if response.status_code >= 300:
            raise AssertionError(f"{what}: {response.status_code} {response.text[:300]}")
        return answered

    def email(self, sender: str, name: str, subject: str, text: str) -> float:
        form = mailgun_form(self.secrets["mailgun_signing_key"], sender, name, subject, text)
        return self._post("email (Mailgun)", "/webhooks/mailgun", data=form)

    def whatsapp(self, wa_id: str, name: str, text: str) -> float:
        body, headers = meta_whatsapp_message(self.secrets["meta_app_secret"], wa_id, name, text)
        return self._post("whatsapp (Meta)", "/webhooks/meta_whatsapp", content=body, headers=headers)

    def telegram(self, chat_id: int, first_name: str, text: str) -> float:
        update = {"update_id": int(time.time() * 1000) % 2**31, "message": {
            "message_id": int(time.time() * 1000) % 10**6, "date": int(time.time()), "text": text,
            "from": {"id": chat_id, "is_bot": False, "first_name": first_name},
            "chat": {"id": chat_id, "type": "private", "first_name": first_name}}}
        return self._post("telegram", "/webhooks/telegram", json=update,
                          headers={"X-Telegram-Bot-Api-Secret-Token": self.secrets["telegram_secret_token"]})

    def order(self, order_id: str, email: str, name: str, phone: str) -> float:
        """An order event (CloudEvents): it tells the router that this email and phone are one customer."""
        event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "//shop.example/orders",
                 "type": "com.shop.order.created", "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                 "datacontenttype": "application/json", "subject": order_id,
                 "data": {"order_id": order_id, "order_number": f"#{order_id}", "currency": "EUR", "total": "42.00",
                          "customer": {"email": email, "name": name, "phone": phone}}}
        return self._post("order (CloudEvents)", "/events", json=event,
                          headers={"Content-Type": "application/cloudevents+json",
                                   "Authorization": f"Bearer {self.secrets['cloudevents_token']}"})

    def close(self) -> None:
        self.client.close()


# ------------------------------------------------------------------------------------ the browser
def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-dev-shm-usage"])


def new_context(browser):
    return browser.new_context(viewport=VIEWPORT, timezone_id=TIMEZONE, locale="en-GB")


def login(context, console: str, username: str, password: str | None = None):
    """Signs in through the console's form; returns the page (on the inbox)."""
    page = context.new_page()
    page.goto(f"{console}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or f"{username}-demo")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=20_000)
    return page


def go_online(page, cs: ConsoleStack, brand: str, agent_id: str) -> None:
    """Clicks "online" (unless the router already has the agent online) and waits until the router
    applied it, so the next conversation can be routed to this agent."""
    if cs.router_agents(brand).get(agent_id, {}).get("presence") == "online":
        return
    page.click("form.presence button[value=online]")
    wait_until(lambda: cs.router_agents(brand).get(agent_id, {}).get("presence") == "online", 20,
               f"the router to see {agent_id} online")


def wait_live(page, timeout_ms: int = 15_000) -> None:
    """The page's Server-Sent Events stream is open (so what happens next arrives live)."""
    page.wait_for_function("() => window.switchboardLive && window.switchboardLive.connected", timeout=timeout_ms)


def watch_for_text(page, selector: str, text: str) -> None:
    """Records (in the page) the wall-clock time at which an element matching `selector` first
    contains `text`; read it with seen_at()."""
    page.evaluate("""([selector, text]) => {
        window.__seen = window.__seen || {};
        const check = () => {
          if (window.__seen[text]) return true;
          for (const el of document.querySelectorAll(selector)) {
            if (el.textContent.includes(text)) {
              window.__seen[text] = performance.timeOrigin + performance.now();
              return true;
            }
          }
          return false;
        };
        if (!check()) {
          const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
          observer.observe(document.body, {childList: true, subtree: true, characterData: true});
        }
    }""", [selector, text])


def seen_at(page, text: str, timeout_ms: int = 20_000) -> float:
    """Wall-clock seconds at which watch_for_text() saw `text` (waits for it)."""
    page.wait_for_function("text => window.__seen && window.__seen[text]", arg=text, timeout=timeout_ms)
    return page.evaluate("text => window.__seen[text]", text) / 1000.0


def live_update_latency(page, customers: Customers, run: str, n: int) -> list[float]:
    """Seconds from the webhook's 2xx to the new conversation's row in the open inbox, n times."""
    samples = []
    for i in range(n):
        name = f"Latency {run} {i}"
        watch_for_text(page, "#rows tr.row", name)
        answered = customers.email(f"latency-{run}-{i}@example.com", name, "Question",
                                   "Hello, I need a human agent please.")
        samples.append(seen_at(page, name) - answered)
    return samples


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]
