"""The console in a real browser against the real stack.

Broker, MongoDB-wire store, ingest, router, sla, notifier, analytics and the console run as
processes (tests/e2e/harness.py); customers write through ingest's signed provider webhooks; Debian's
Chromium, driven by Playwright, signs in to the console as the demo users of config/demo/console.yaml.

Screenshots of the inbox, a conversation and the supervisor board are kept as test artifacts (the
folder is printed); with SWITCHBOARD_SCREENSHOTS_TO_DOCS=1 they are also copied to docs/screenshots/.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlencode

import harness
import httpx
import pytest
from console_browser_kit import (
    ConsoleStack,
    Customers,
    go_online,
    launch,
    live_update_latency,
    login,
    new_context,
    seen_at,
    start_console_stack,
    wait_live,
    wait_until,
    watch_for_text,
)
from switchboard.common import processes

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600),
              pytest.mark.skipif(not Path("/usr/bin/chromium").exists(),
                                 reason="Debian chromium missing: make system-deps")]
REPO = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:6]
# A loaded 2-core machine runs eight processes and a browser here: every expectation waits on its
# condition up to this long (it returns as soon as the condition holds).
playwright_api.expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of its own: the console lists every conversation of a brand, so no other test's
    conversations may share its collections (nx-27017 ignores database names)."""
    server = processes.mongo(processes.free_port(), "memory", tmp_path_factory.mktemp("console-store")).start()
    yield processes.mongo_uri(server.port)
    server.stop()


@pytest.fixture(scope="module")
def cs(kafka_bootstrap, store, tmp_path_factory) -> ConsoleStack:
    work = tmp_path_factory.mktemp("console-stack")
    stack = start_console_stack(kafka_bootstrap, store, work)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    ctx = new_context(browser)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("console-screenshots")
    print(f"\nconsole screenshots: {folder}")
    return folder


def screenshot(page, shots: Path, name: str, *, to_docs: bool = True) -> Path:
    """Keeps a screenshot as a test artifact; the README's three (inbox, conversation, board) also go
    to docs/screenshots/ with SWITCHBOARD_SCREENSHOTS_TO_DOCS=1."""
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    if to_docs and os.environ.get("SWITCHBOARD_SCREENSHOTS_TO_DOCS") == "1":
        target = REPO / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)
    return path


def acme(cs: ConsoleStack) -> Customers:
    return Customers(cs.ingest, "acme", cs.secrets("acme"))


def conversation_id_of(page, console: str, customer: str) -> str:
    """The id of the customer's conversation, from the console's JSON API (the viewer's brands)."""
    def lookup():
        response = page.request.get(f"{console}/api/v1/conversations", params={"q": customer, "status": "any"})
        items = response.json().get("items", []) if response.ok else []
        return items[0]["id"] if items else None
    return wait_until(lookup, 30, f"{customer}'s conversation in the console")


def diagnose(cs: ConsoleStack, page, customer: str) -> str:
    """What the console's projection and the router (the owner) each say about the conversation."""
    response = page.request.get(f"{cs.console}/api/v1/conversations", params={"q": customer, "status": "any"})
    items = response.json().get("items", []) if response.ok else []
    if not items:
        return "the console does not list the conversation at all"
    item = items[0]
    owner = httpx.get(f"{cs.stack.url('router')}/v1/brands/{item['brand_id']}/conversations/{item['id']}",
                      headers={"Authorization": f"Bearer {harness.READ_API_TOKEN}"}, timeout=5).json()["conversation"]
    return (f"console row: status={item['status']} assignee={item['assignee_id']!r} channel={item['channel']}; "
            f"router: status={owner['status']} assignee={owner['assignee_id']!r} channel={owner['channel']}")


def row(page, customer: str):
    return page.locator("#rows tr.row", has_text=customer)


# ------------------------------------------------------------------------------------ (a)
def test_an_assigned_conversation_appears_live_in_the_agents_inbox(cs, context, shots):
    page = login(context, cs.console, "alice")
    go_online(page, cs, "acme", "alice")
    # The top bar shows her presence: the one she just set, and after a reload the router's.
    playwright_api.expect(page.locator("form.presence button[value=online]")).to_have_attribute("aria-pressed", "true")
    page.goto(f"{cs.console}/inbox?view=mine")
    playwright_api.expect(page.locator("form.presence button[value=online]")).to_have_attribute("aria-pressed", "true")
    playwright_api.expect(page.locator("form.presence button[value=away]")).to_have_attribute("aria-pressed", "false")
    wait_live(page)
    page.evaluate("window.__no_reload_marker = 'still the same page'")
    customer = f"Ana Novak {RUN}"
    watch_for_text(page, "#rows tr.row", customer)

    answered = acme(cs).email(f"ana.{RUN}@example.com", customer, "Order 4711 is late",
                              "Hello, my order 4711 is late. I need a human agent please.")

    try:
        latency = seen_at(page, customer) - answered
    except playwright_api.TimeoutError:
        raise AssertionError(f"{customer} never showed in alice's inbox; {diagnose(cs, page, customer)}") from None
    new_row = row(page, customer)
    playwright_api.expect(new_row).to_be_visible()
    assert page.evaluate("window.__no_reload_marker") == "still the same page", "the page was reloaded"
    playwright_api.expect(new_row).to_contain_text("alice")
    playwright_api.expect(new_row.locator(".sla")).to_have_text(re.compile(r"\d+s left|\dm \d+s left"))
    print(f"\nlive update latency (webhook 2xx -> row visible): {latency * 1000:.0f} ms")
    assert latency < 5, f"the row took {latency:.1f}s to appear"
    # Alice is also told on the agents' Slack, with the console link of the conversation.
    notice = wait_until(lambda: [r for r in cs.received("/slack/agents") if customer in r.body], 20,
                        "the assignment notice on the agents' Slack")
    button = json.loads(notice[0].body)["blocks"][-1]["elements"][0]["url"]
    assert button == f"{cs.console}/conversations/{conversation_id_of(page, cs.console, customer)}"
    screenshot(page, shots, "inbox-mine", to_docs=False)


# ------------------------------------------------------------------------------------ (b)
def test_the_agent_reads_email_and_whatsapp_in_one_timeline_and_the_reply_reaches_whatsapp(cs, context, shots):
    customers = acme(cs)
    customer, email, phone = f"林美 Mei Lin {RUN}", f"mei.{RUN}@example.com", f"+49 160 {int(RUN, 16) % 10**7:07d}"
    wa_id = re.sub(r"\D", "", phone)
    customers.order(f"o-{RUN}", email, customer, phone)  # the shop knows both: one customer
    page = login(context, cs.console, "alice")
    go_online(page, cs, "acme", "alice")
    customers.email(email, customer, "Where is order 5001?", "Hello, where is my order 5001? I want a human agent.")
    conversation = conversation_id_of(page, cs.console, customer)
    page.goto(f"{cs.console}/conversations/{conversation}")
    wait_live(page)
    page.evaluate("window.__no_reload_marker = 'still the same page'")
    reply_channel = page.locator("form.reply label strong.reply-channel")
    playwright_api.expect(reply_channel).to_have_text("email")
    customers.whatsapp(wa_id, customer, "还有，我的包裹什么时候到？ 📦 Спасибо!")

    timeline = page.locator("[data-part=timeline]")
    email_msg = timeline.locator("li.msg.from-customer", has_text="where is my order 5001")
    whatsapp_msg = timeline.locator("li.msg.from-customer", has_text="还有，我的包裹什么时候到？ 📦 Спасибо!")
    playwright_api.expect(email_msg).to_be_visible()
    playwright_api.expect(whatsapp_msg).to_be_visible()  # arrives live, no reload
    playwright_api.expect(email_msg.locator(".channel")).to_have_text("email")
    playwright_api.expect(whatsapp_msg.locator(".channel")).to_have_text("whatsapp")
    # The customer wrote last on WhatsApp: the composer says so, live.
    try:
        playwright_api.expect(reply_channel).to_have_text("whatsapp")
    except AssertionError:
        raise AssertionError(f"the composer still says {reply_channel.text_content()}; "
                             f"{diagnose(cs, page, customer)}") from None
    assert page.evaluate("window.__no_reload_marker") == "still the same page", "the page was reloaded"
    # The bot's handoff, as a card a person reads (reason, time, facts), not a raw record.
    handoff = page.locator(".handoffs .handoff").first
    playwright_api.expect(handoff).to_contain_text("asked for a person")
    playwright_api.expect(handoff.locator(".handoff-facts")).to_contain_text("Customer already sent")
    assert "{'" not in (page.locator("[data-part=side]").text_content() or "")

    reply = f"Hi Mei, your parcel leaves our warehouse today ({RUN})."
    page.fill("#reply-text", reply)
    page.click("form.reply button[type=submit]")
    sent = wait_until(lambda: [r for r in cs.received("/meta") if reply in r.body], 30,
                      "the reply at the WhatsApp (Meta) receiver")
    assert sent[0].recipient == wa_id, f"the reply went to {sent[0].recipient}, not the customer's WhatsApp"
    playwright_api.expect(timeline.locator("li.msg.from-agent", has_text=reply)).to_be_visible()
    screenshot(page, shots, "conversation")


# ------------------------------------------------------------------------------------ (c)
def test_the_sla_countdown_runs_and_turns_breached_when_the_demo_policy_breaches(cs, context):
    customer = f"Дмитрий {RUN}"
    page = login(context, cs.console, "sam")
    # The inbox is open before the customer writes: the row and its countdown arrive live (the demo
    # policy "chat" gives 10 s; opening a page after finding the id could miss the running part).
    page.goto(f"{cs.console}/inbox?" + urlencode({"view": "all", "status": "any", "q": customer}))
    wait_live(page)
    acme(cs).telegram(700_000 + int(RUN, 16) % 10**5, customer, "Здравствуйте! Где мой заказ? Оператор, пожалуйста.")
    pill = row(page, customer).locator(".sla")
    playwright_api.expect(pill).to_have_attribute("data-state", re.compile("running|at_risk|breached"))

    def seconds_left() -> int | None:
        match = re.fullmatch(r"(\d+)s left", (pill.text_content() or "").strip())
        return int(match.group(1)) if match else None

    first = wait_until(seconds_left, 10, "a running countdown")
    later = wait_until(lambda: (s := seconds_left()) is not None and s < first and s, 5, "the countdown to tick")
    assert later < first
    # The countdown reaches zero and turns breached (the browser's clock, then the SLA service's event).
    playwright_api.expect(pill).to_have_attribute("data-state", "breached", timeout=30_000)
    conversation = conversation_id_of(page, cs.console, customer)
    page.goto(f"{cs.console}/conversations/{conversation}")
    wait_live(page)
    pill = page.locator(".clocks .clock .sla").first
    # Breached: the SLA service's breach arrives live (server-rendered "Breached" line, timeline event).
    playwright_api.expect(page.locator(".clocks .bad-text", has_text="Breached").first).to_be_visible(timeout=30_000)
    playwright_api.expect(pill).to_have_attribute("data-state", "breached")
    playwright_api.expect(pill).to_contain_text("breached")
    playwright_api.expect(page.locator("[data-part=timeline] li.ev-sla_breached").first).to_be_visible()
    listed = page.request.get(f"{cs.console}/api/v1/conversations", params={"sla_state": "breached", "q": customer})
    assert [i["id"] for i in listed.json()["items"]] == [conversation]


# ------------------------------------------------------------------------------------ (d)
def test_the_link_in_the_escalations_slack_message_opens_that_conversation(cs, context, shots):
    customer = f"Sofía {RUN}"
    page = login(context, cs.console, "sam")
    acme(cs).telegram(800_000 + int(RUN, 16) % 10**5, customer, "Hola, necesito hablar con un humano.")
    conversation = conversation_id_of(page, cs.console, customer)
    slack = wait_until(lambda: [r for r in cs.received("/slack/ops") if conversation in r.body], 60,
                       "the escalation in the ops Slack channel")
    message = json.loads(slack[0].body)
    link = message["blocks"][-1]["elements"][0]["url"]
    assert link == f"{cs.console}/conversations/{conversation}" and link in message["text"]

    response = page.goto(link)
    assert response.status == 200
    assert page.locator("body").get_attribute("data-conversation") == conversation
    playwright_api.expect(page.locator(".convhead h1")).to_contain_text(customer)
    playwright_api.expect(page.locator(".escalations")).to_be_visible(timeout=20_000)
    page.goto(f"{cs.console}/board")
    playwright_api.expect(page.locator("main")).to_contain_text(customer, timeout=20_000)
    screenshot(page, shots, "board")


# ------------------------------------------------------------------------------------ (e)
def test_an_agent_of_another_brand_is_refused_by_id_and_never_sees_it_listed(cs, browser):
    acme_customer, globex_customer = f"Acme Only {RUN}", f"Globex Buyer {RUN}"
    supervisor = new_context(browser)
    try:
        sam = login(supervisor, cs.console, "sam")
        acme(cs).email(f"acme-only.{RUN}@example.com", acme_customer, "Hi", "I need a human agent, please.")
        acme_conversation = conversation_id_of(sam, cs.console, acme_customer)
    finally:
        supervisor.close()
    context = new_context(browser)
    try:
        olga = login(context, cs.console, "olga")
        olga.goto(f"{cs.console}/inbox?view=all&status=any")
        wait_live(olga)
        watch_for_text(olga, "#rows tr.row", globex_customer)
        Customers(cs.ingest, "globex", cs.secrets("globex")).telegram(
            900_000 + int(RUN, 16) % 10**5, globex_customer, "Hello, I need a human agent please.")
        seen_at(olga, globex_customer)  # her own brand's conversations do show, live

        assert olga.goto(f"{cs.console}/conversations/{acme_conversation}").status == 404
        assert olga.request.get(f"{cs.console}/api/v1/conversations/{acme_conversation}").status == 404
        assert olga.request.get(f"{cs.console}/fragments/conversations/{acme_conversation}").status == 404
        listed = olga.request.get(f"{cs.console}/api/v1/conversations", params={"status": "any", "limit": "200"})
        ids = [i["id"] for i in listed.json()["items"]]
        assert acme_conversation not in ids and ids, "olga lists globex conversations only"
        assert {i.get("brand_id", "globex") for i in listed.json()["items"]} == {"globex"}
        olga.goto(f"{cs.console}/inbox?view=all&status=any")
        playwright_api.expect(olga.locator("#rows")).to_contain_text(globex_customer)
        playwright_api.expect(olga.locator("#rows")).not_to_contain_text(acme_customer)
        assert olga.request.get(f"{cs.console}/api/v1/conversations", params={"brand": "acme"}).status in (403, 404,
                                                                                                          422)
    finally:
        context.close()


# ------------------------------------------------------------------------------------ latency
def test_live_update_latency_on_an_idle_stack(cs, context, shots):
    """Webhook 2xx -> the row in an open inbox, several samples (the `make bench` figure's test twin)."""
    page = login(context, cs.console, "sam")
    page.goto(f"{cs.console}/inbox?view=all&status=any")
    wait_live(page)
    samples = live_update_latency(page, acme(cs), RUN, 3)
    print(f"\nlive update latency samples (ms): {[round(s * 1000) for s in samples]}")
    assert max(samples) < 5
    screenshot(page, shots, "inbox")  # the supervisor's "all" view, with every conversation of this run
