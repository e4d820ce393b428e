"""The console against the real router and SLA service: customer messages go in through the router's
topics, the console projects the router's and the SLA service's events and reads texts, orders,
queues, agents (router read API) and clocks (SLA read API) over HTTP."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from console_kit import login
from switchboard.common.testing import wait_for
from switchboard.console.adapters.users import UserDirectory
from switchboard.console.domain.auth import User, hash_password
from switchboard.events.v1 import agent_pb2
from switchboard.sla.bootstrap import bootstrap as sla_bootstrap
from switchboard.sla.settings import SlaSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "router"))
from router_it_kit import brand_of, presence, running_router  # noqa: E402
from test_router_read_api import ann_talks_by_email_then_whatsapp, send  # noqa: E402


@contextlib.asynccontextmanager
async def running_sla(settings: SlaSettings):
    app = sla_bootstrap(settings, http=True)
    started = []
    try:
        for component in app.service.components:
            await component.start()
            started.append(component)
        await wait_for(lambda: app.consumer.assigned, timeout=20, message="SLA partitions assigned")
        yield app
    finally:
        for component in reversed(started):
            with contextlib.suppress(Exception):
                await component.stop()


async def test_one_timeline_from_the_real_routers_and_slas_read_apis(service_settings, namespace, producer, topics,
                                                                    mongo_db, start_console):
    brand = brand_of(namespace)
    users = UserDirectory([User("alice", "Alice", "alice", (brand,), "supervisor",
                                hash_password("alice-pw", iterations=1000))])
    sla_settings = service_settings(SlaSettings)
    async with running_router(service_settings, namespace, with_http=True) as router, running_sla(sla_settings):
        console = await start_console(users=users, router_url=f"http://127.0.0.1:{router.settings.http.port}",
                                      sla_url=f"http://127.0.0.1:{sla_settings.http.port}")
        await send(producer, topics.agent_commands, presence("alice", agent_pb2.PRESENCE_ONLINE, brand=brand),
                   "agent/alice")
        conv = await ann_talks_by_email_then_whatsapp(producer, topics, mongo_db, brand)
        cid = conv["_id"]
        # The demo policies are short (a breach within a minute), and the messages are 5 minutes old.
        live = {"$in": ["running", "at_risk", "breached"]}
        await wait_for(lambda: console.app.store.rows.find_one({"_id": cid, "status": "assigned", "sla_state": live}),
                       timeout=20,
                       message="the console projected the router's and the SLA service's events")
        async with console.client() as client:
            await login(client, "alice")
            listed = (await client.get("/api/v1/conversations", params={"assignee": "me"})).json()["items"]
            body = (await client.get(f"/api/v1/conversations/{cid}")).json()
            agents = (await client.get("/api/v1/agents")).json()["agents"]
            queues = (await client.get("/api/v1/queues")).json()
            customer = (await client.get(f"/api/v1/customers/{conv['customer_id']}")).json()
    assert [row["id"] for row in listed] == [cid]
    assert listed[0]["channel"] == "whatsapp" and listed[0]["handle"]["value"] == "4915112345678"
    texts = [(e["channel"], e["text"]) for e in body["timeline"]
             if e["type"] == "message" and e["author"] == "customer"]
    assert texts == [("email", "Hello, where is my order? 🙂"),
                     ("whatsapp", "Нужен оператор, I need a human agent please")]
    kinds = [e["kind"] for e in body["timeline"] if e["type"] == "event"]
    assert "conversation_assigned" in kinds and "conversation_handed_off" in kinds
    assigned = next(e for e in body["timeline"] if e.get("kind") == "conversation_assigned")
    assert "alice" in assigned["detail"]["explanation"]
    assert body["orders"][0]["order_number"] == "#1001" and body["warnings"] == []
    clocks = [c for c in body["sla"]["clocks"] if c["state"] in ("running", "breached")]
    assert clocks and all(c["deadline"] and c["policy_id"] for c in clocks)
    assert listed[0]["sla_state"] in ("running", "at_risk", "breached") and listed[0]["next_deadline"]
    assert next(a for a in agents if a["agent_id"] == "alice")["presence"] == "online"
    assert queues["warnings"] == [] and {q["queue"] for q in queues["queues"]} >= {"general"}
    assert {h["value"] for h in customer["customer"]["handles"]} >= {"ann@example.com", "4915112345678"}
