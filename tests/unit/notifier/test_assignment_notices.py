"""Assignment notices for agents and the console links in people's messages: pure, no I/O."""
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from switchboard.common.config import Secrets
from switchboard.notifier.adapters.template_files import load_template_sources
from switchboard.notifier.bootstrap import apply_overrides
from switchboard.notifier.config import NotifierConfig, load_notifier_config
from switchboard.notifier.domain.assignment_messages import (
    AssignmentView,
    agent_address,
    assignment_slack_payload,
    assignment_webhook_payload,
)
from switchboard.notifier.domain.escalation_messages import signed_webhook_request
from switchboard.notifier.domain.signature import verify_signature
from switchboard.notifier.domain.templates import TemplateCatalog
from switchboard.notifier.settings import NotifierSettings

REPO = Path(__file__).resolve().parents[3]
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def view(**kw) -> AssignmentView:
    base = {"intent_id": "n-1", "brand_id": "acme", "brand_name": "ACME Store", "agent_id": "bob",
            "agent_name": "Bob", "rule": "most_spare_capacity",
            "explanation": "bob has the most spare chat capacity (1 of 1)", "previous_agent_id": "",
            "conversation_id": "c-7", "customer_id": "cu-1", "customer_name": "李伟 <script>",
            "channel": "whatsapp", "priority": "HIGH", "queue": "zh", "language": "zh", "assigned_at": AT,
            "link": "http://127.0.0.1:8085/conversations/c-7"}
    base.update(kw)
    return AssignmentView(**base)


@pytest.fixture(scope="module")
def catalog():
    return TemplateCatalog(load_template_sources())


def test_the_template_names_agent_customer_channel_and_the_console_link(catalog):
    msg = catalog.render("agent_assigned", "en", view().template_variables())
    assert msg.text.splitlines()[0] == ("Bob, a conversation was assigned to you: 李伟 <script> on whatsapp, "
                                        "queue zh, priority high.")
    assert "Open: http://127.0.0.1:8085/conversations/c-7" in msg.text
    assert msg.subject == "[ACME Store] New conversation for you: 李伟 <script> (whatsapp)"
    assert "&lt;script&gt;" in msg.html and 'href="http://127.0.0.1:8085/conversations/c-7"' in msg.html
    assert "Why you: bob has the most spare chat capacity" in msg.html
    normal = catalog.render("agent_assigned", "en", view(priority="NORMAL", queue="").template_variables())
    assert "priority" not in normal.text.splitlines()[0] and "queue" not in normal.text.splitlines()[0]


def test_slack_notice_escapes_customer_text_and_has_an_open_button(catalog):
    text = catalog.render("agent_assigned", "en", view().template_variables()).text.splitlines()[0]
    payload = assignment_slack_payload(view(), text)
    flat = json.dumps(payload, ensure_ascii=False)
    assert "<script>" not in flat and "&lt;script&gt;" in flat
    assert payload["text"].endswith("http://127.0.0.1:8085/conversations/c-7")
    button = payload["blocks"][-1]["elements"][0]
    assert button["url"] == "http://127.0.0.1:8085/conversations/c-7" and button["text"]["text"] == "Open conversation"
    assert any("Why you: bob has the most spare" in json.dumps(b) for b in payload["blocks"])


def test_webhook_notice_is_signed_and_carries_agent_conversation_and_link():
    body = assignment_webhook_payload(view(previous_agent_id="alice"), "text")
    request = signed_webhook_request("https://crm/hook", body, ["k1"], 1772366400, "n-1|webhook:crm")
    assert verify_signature(request.headers["X-Switchboard-Signature"], "k1", request.content, now_unix=1772366400)
    sent = json.loads(request.content)
    assert sent["type"] == "conversation.assigned" and sent["id"] == "n-1"
    assert sent["agent"] == {"id": "bob", "name": "Bob"} and sent["previous_agent_id"] == "alice"
    assert sent["conversation"]["link"] == "http://127.0.0.1:8085/conversations/c-7"
    assert sent["assigned_at"] == "2026-03-01T12:00:00Z"


def test_an_email_destination_can_name_each_agent_or_a_team_alias():
    assert agent_address("{agent_id}@agents.acme.example", "bob") == "bob@agents.acme.example"
    assert agent_address("team@acme.example", "bob") == "team@acme.example"
    with pytest.raises(ValueError, match="cannot be put into an email address"):
        agent_address("{agent_id}@acme.example", "bob@evil.example,")


def test_links_point_at_the_console_and_the_environment_can_move_it():
    config = load_notifier_config(REPO / "config" / "demo")
    assert config.link("c-1", "acme") == "http://127.0.0.1:8085/conversations/c-1"
    moved, _ = apply_overrides(NotifierSettings(console_base_url="https://console.acme.example/"), config,
                               Secrets({}))
    assert moved.link("c-1", "acme") == "https://console.acme.example/conversations/c-1"
    legacy = NotifierConfig.model_validate({"public_base_url": "https://sb.example",
                                            "conversation_link": "{public_base_url}/c/{brand_id}/{conversation_id}"})
    assert legacy.link("c-1", "acme") == "https://sb.example/c/acme/c-1"


def test_assignment_destinations_are_per_brand_then_default_and_must_exist():
    config = NotifierConfig.model_validate({
        "destinations": [{"id": "agents", "type": "slack", "url": "http://x"},
                         {"id": "globex-mail", "type": "email", "address": "{agent_id}@globex.example"}],
        "assignment_notices": {"default": ["agents"], "globex": ["globex-mail"]}})
    assert config.assignment_destinations("acme") == ["agents"]
    assert config.assignment_destinations("globex") == ["globex-mail"]
    assert NotifierConfig().assignment_destinations("acme") == []
    with pytest.raises(ValueError, match=r"assignment_notices.acme names unknown destinations \['pager'\]"):
        NotifierConfig.model_validate({"assignment_notices": {"acme": ["pager"]}})
