"""The handoff summary card (pure): a person reads reason, time and labelled facts, never a raw dict."""
from __future__ import annotations

from switchboard.console.domain.handoff import handoff_card

STORED = {"at": "2026-12-01T09:00:00+00:00", "reason": "requested_human", "summary": {
    "reason": "requested_human",
    "customer": {"customer_id": "cu-1", "name": "李伟", "vip": True, "language": "zh"},
    "channels": [{"channel": "email", "messages": 1}, {"channel": "whatsapp", "messages": 2}],
    "orders": [{"order_id": "o-1", "order_number": "#5001", "status": "shipped", "carrier": "", "tracking_url": "",
                "reason": ""}],
    "named_order": "#9999", "bot_said": ["order_status", "ask_order_number"],
    "customer_sent": {"messages": 3, "attachments": [{"filename": "photo.jpg", "content_type": "image/jpeg"}]}}}


def test_a_structured_summary_becomes_labelled_lines():
    card = handoff_card(STORED)
    assert card["reason_text"] == "the customer asked for a person" and card["at"] == STORED["at"]
    assert dict(card["lines"]) == {
        "Customer": "李伟 · VIP · language zh", "Channels": "email ×1, whatsapp ×2", "Orders": "#5001 (shipped)",
        "Verify": "the customer named order #9999, not linked to them",
        "Bot already said": "order status, ask order number",
        "Customer already sent": "3 messages; attachments: photo.jpg"}
    assert card["text"] == ""
    assert not any("{" in text for _, text in card["lines"])


def test_a_one_sentence_summary_and_empty_facts():
    card = handoff_card({"at": None, "reason": "agent_took_over", "summary": "Agent bob took over from the bot."})
    assert (card["text"], card["lines"], card["reason_text"]) == ("Agent bob took over from the bot.", [],
                                                                   "an agent took over")
    sparse = handoff_card({"reason": "unmatched_twice", "summary": {"customer_sent": {"messages": 1,
                                                                                    "attachments": []}}})
    assert sparse["lines"] == [("Customer already sent", "1 message")]
    assert handoff_card({"reason": "something_new"})["reason_text"] == "something new"
