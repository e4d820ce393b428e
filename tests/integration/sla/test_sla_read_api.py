"""The SLA service's read API over real HTTP (uvicorn on the service's ops port), on the real broker and
store, with conversation events going in through the `conversations` topic and time driven by a ManualClock.

Demo email policy (config/demo/sla.yaml, 24x7): first response 20 s (warnings at 75 % / 90 %),
resolution 120 s; escalation L1 at breach, L2 5 s after; ack timeout 10 s.
"""
from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from sla_kit import T0, conversation_event, running_sla, seconds
from switchboard.common.testing import wait_for
from switchboard.events.v1 import common_pb2
from switchboard.sla.adapters.read_api import SlaAnswer
from switchboard.sla.settings import SlaSettings

TOKEN = "sla-read-token"
ASSIGNED = common_pb2.CONVERSATION_STATUS_ASSIGNED


@pytest.fixture
async def sla_http(service_settings, bus_topics, clock):
    settings = service_settings(SlaSettings)
    async with running_sla(settings, clock, http=True), httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.http.port}", timeout=10) as client:
        yield client


def at(moment: str | None) -> datetime | None:
    return None if moment is None else datetime.fromisoformat(moment)


async def sla_of(client: httpx.AsyncClient, cid: str, until=lambda body: True, brand: str = "acme") -> dict:
    """The read API's answer, once the stored state satisfies `until` (state is saved after events)."""
    async def fetch():
        response = await client.get(f"/v1/brands/{brand}/conversations/{cid}/sla")
        if response.status_code != 200:
            return None
        SlaAnswer.model_validate(response.json())  # exactly the documented shape
        return response.json() if until(response.json()) else None
    return await wait_for(fetch, timeout=20, message=f"SLA state of {cid}")


def clock_of(body: dict, metric: str) -> dict:
    (clock,) = [c for c in body["clocks"] if c["metric"] == metric]
    return clock


async def test_time_left_runs_down_with_the_clock_goes_negative_after_breach_and_acks_are_shown(
    sla_http, bus, clock
):
    client = sla_http
    await bus.send(conversation_event("c-read", "conversation_opened", T0))
    body = await sla_of(client, "c-read", lambda b: len(b["clocks"]) == 2)
    first = clock_of(body, "first_response")
    assert (first["state"], first["policy_id"], first["target_seconds"], first["instance"]) == (
        "running", "email", 20, 1)
    assert at(first["started_at"]) == T0 and at(first["deadline"]) == T0 + seconds(20)
    assert (first["business_hours"], first["calendar_id"], first["time_left_seconds"]) == (False, "24x7", 20)
    assert (first["warnings"], first["breached_at"], first["fulfilled_at"]) == ([], None, None)
    assert clock_of(body, "resolution")["time_left_seconds"] == 120 and body["escalations"] == []

    await clock.set(T0 + seconds(5))
    body = await sla_of(client, "c-read")
    assert clock_of(body, "first_response")["time_left_seconds"] == 15  # the injected clock's now
    assert clock_of(body, "resolution")["time_left_seconds"] == 115

    await clock.set(T0 + seconds(15))
    body = await sla_of(client, "c-read", lambda b: clock_of(b, "first_response")["warnings"])
    assert clock_of(body, "first_response")["warnings"] == [{"fraction": 0.75, "at": (T0 + seconds(15)).isoformat()}]

    await clock.set(T0 + seconds(20))
    body = await sla_of(client, "c-read", lambda b: b["escalations"])
    await clock.set(T0 + seconds(23))
    body = await sla_of(client, "c-read")
    first = clock_of(body, "first_response")
    assert (first["state"], first["time_left_seconds"], at(first["breached_at"])) == ("breached", -3, T0 + seconds(20))
    assert [w["fraction"] for w in first["warnings"]] == [0.75, 0.9]
    (l1,) = body["escalations"]
    assert l1 == {"escalation_id": "c-read:first_response:1:1", "level": 1, "level_name": "assignee",
                  "reason": "sla_breached", "metric": "first_response", "raised_at": (T0 + seconds(20)).isoformat(),
                  "acknowledged": False, "acknowledged_by": "", "acknowledged_at": None}

    await bus.send(conversation_event("c-read", "escalation_acknowledged", T0 + seconds(23), status=ASSIGNED,
                                      escalation_id="c-read:first_response:1:1", agent_id="sam"))
    body = await sla_of(client, "c-read", lambda b: b["escalations"][0]["acknowledged"])
    (l1,) = body["escalations"]
    assert (l1["acknowledged_by"], at(l1["acknowledged_at"])) == ("sam", T0 + seconds(23))


async def test_a_paused_clock_keeps_its_time_left_and_a_fulfilled_one_says_when(sla_http, bus, clock):
    client = sla_http
    await bus.send(conversation_event("c-pause", "conversation_opened", T0))
    await bus.send(conversation_event("c-pause", "agent_replied", T0 + seconds(2), status=ASSIGNED))
    await bus.send(conversation_event("c-pause", "customer_message_appended", T0 + seconds(4), status=ASSIGNED,
                                      message_id="m2"))
    await clock.set(T0 + seconds(10))
    await bus.send(conversation_event("c-pause", "status_changed", T0 + seconds(10),
                                      status=common_pb2.CONVERSATION_STATUS_WAITING_ON_CUSTOMER))
    body = await sla_of(client, "c-pause", lambda b: any(c["state"] == "paused" for c in b["clocks"]))
    first, following = clock_of(body, "first_response"), clock_of(body, "next_response")
    assert (first["state"], at(first["fulfilled_at"]), first["time_left_seconds"]) == (
        "fulfilled", T0 + seconds(2), None)
    assert (following["state"], following["deadline"], following["time_left_seconds"]) == ("paused", None, 14)

    await clock.set(T0 + seconds(100))  # far past the original deadline: paused time does not count
    body = await sla_of(client, "c-pause")
    assert clock_of(body, "next_response")["time_left_seconds"] == 14
    assert clock_of(body, "next_response")["state"] == "paused" and body["escalations"] == []


async def test_other_brand_or_unknown_conversation_is_404_and_the_token_is_required_when_set(
    service_settings, bus_topics, bus, clock
):
    settings = service_settings(SlaSettings, read_api_token=TOKEN)
    async with running_sla(settings, clock, http=True):
        base = f"http://127.0.0.1:{settings.http.port}"
        await bus.send(conversation_event("c-brand", "conversation_opened", T0))
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            await sla_of(client, "c-brand")
            other = await client.get("/v1/brands/globex/conversations/c-brand/sla")
            unknown = await client.get("/v1/brands/acme/conversations/never-seen/sla")
        async with httpx.AsyncClient(base_url=base) as anonymous:
            missing = await anonymous.get("/v1/brands/acme/conversations/c-brand/sla")
            wrong = await anonymous.get("/v1/brands/acme/conversations/c-brand/sla",
                                        headers={"Authorization": "Bearer nope"})
            health = await anonymous.get("/healthz")
    for response in (other, unknown):
        assert response.status_code == 404 and response.json()["error"] == "not_found", response.text
    assert missing.status_code == wrong.status_code == 401 and missing.json()["error"] == "unauthorized"
    assert health.status_code == 200  # the ops endpoints stay open
