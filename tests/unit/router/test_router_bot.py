"""Bot guarantees: hand off on request in any language, never repeat, second miss hands off,
angry/urgent/repeated hand off with raised priority, and a summary the agent can use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from router_unit_kit import T0, cases, message, order
from switchboard.router.domain import bot
from switchboard.router.domain.model import HIGH, NORMAL, Handle


def bot_texts(ws):
    return [e.data["text"] for e in ws.effects if e.case == "bot_answer"]


def handoff(ws):
    return next(e for e in ws.effects if e.case == "conversation_handed_off")


@pytest.mark.parametrize(
    "text",
    [
        "human",
        "I want an AGENT",
        "representative please",
        "人工",
        "人工服务",
        "转客服",
        "оператор!",
        "quiero un humano",
        "Mensch bitte",
        "un conseiller svp",
        "operatore",
        "オペレーターお願いします",
        "상담원 연결",
        "Falar com atendente",
    ],
)
def test_an_explicit_request_for_a_human_hands_off_on_that_turn(engine, ws, text):
    engine.apply(ws, message(text))
    assert "bot_replied" not in cases(ws)
    assert handoff(ws).data["reason"] == bot.REQUESTED_HUMAN
    assert "conversation_queued" in cases(ws)


def test_a_human_request_after_bot_answers_still_hands_off_at_once(engine, ws):
    engine.apply(ws, message("what is your return policy?"))
    engine.apply(ws, message("人工服务", at=T0 + timedelta(minutes=5), language="zh"))
    assert cases(ws).count("bot_replied") == 1
    assert handoff(ws).data["reason"] == bot.REQUESTED_HUMAN


def test_words_that_merely_contain_a_keyword_do_not_trigger_it(engine, ws):
    engine.apply(ws, message("that was inhuman shipping speed, how long does it take?"))
    assert "conversation_handed_off" not in cases(ws)


def test_the_bot_never_sends_the_same_answer_twice_asking_again_hands_off(engine, ws):
    engine.apply(ws, message("how do I return this?"))
    engine.apply(ws, message("how do I return this?", at=T0 + timedelta(minutes=5)))
    assert len(bot_texts(ws)) == 1
    assert handoff(ws).data["reason"] == bot.ANSWERS_EXHAUSTED


def test_the_second_unmatched_turn_hands_off(engine, ws):
    engine.apply(ws, message("blue widgets?"))
    engine.apply(ws, message("hmm the thing with the lid", at=T0 + timedelta(minutes=5)))
    assert cases(ws).count("bot_replied") == 1
    assert handoff(ws).data["reason"] == bot.UNMATCHED_TWICE


def test_all_answers_in_a_long_conversation_are_distinct(engine, ws):
    for i, text in enumerate(["where is my order", "how long is shipping", "return?", "hello?", "?"]):
        engine.apply(ws, message(text, at=T0 + timedelta(minutes=5 * i)))
    texts = bot_texts(ws)
    assert len(texts) == len(set(texts)) == 4
    assert handoff(ws).data["reason"] == bot.UNMATCHED_TWICE


@pytest.mark.parametrize("text", ["this is ridiculous, where is my order", "URGENT: wrong size", "срочно!!"])
def test_angry_or_urgent_words_hand_off_with_raised_priority(engine, ws, text):
    engine.apply(ws, message(text))
    assert handoff(ws).data["reason"] == bot.ANGRY_OR_URGENT
    conv = next(iter(ws.conversations.values()))
    assert conv.priority == HIGH
    changed = next(e for e in ws.effects if e.case == "priority_changed")
    assert (changed.data["previous"], changed.data["current"]) == (NORMAL, HIGH)


def test_several_messages_within_minutes_hand_off_with_raised_priority(engine, ws):
    engine.apply(ws, message("where is my order"))
    engine.apply(ws, message("hello??", at=T0 + timedelta(seconds=20)))
    assert "conversation_handed_off" not in cases(ws)
    engine.apply(ws, message("???", at=T0 + timedelta(seconds=40)))
    assert handoff(ws).data["reason"] == bot.REPEATED_MESSAGES
    assert next(iter(ws.conversations.values())).priority == HIGH


def test_messages_spread_over_time_are_not_counted_as_repeated(engine, ws):
    engine.apply(ws, message("where is my order"))
    engine.apply(ws, message("how long is shipping", at=T0 + timedelta(minutes=5)))
    engine.apply(ws, message("and returns?", at=T0 + timedelta(minutes=10)))
    assert "conversation_handed_off" not in cases(ws)
    assert cases(ws).count("bot_replied") == 3


def test_order_status_is_answered_from_the_linked_order_in_the_customers_language(engine, ws):
    ann = Handle("email", "ana@example.es")
    engine.apply(
        ws, order("o-1", "shipped", ann, order_number="#1001", carrier="DHL", tracking_url="https://t.example/1")
    )
    engine.apply(
        ws,
        message(
            "¿dónde está mi pedido? Lo compré hace dos semanas", sender=ann, language="es", at=T0 + timedelta(minutes=1)
        ),
    )
    answer = next(e for e in ws.effects if e.case == "bot_answer")
    assert answer.data["language"] == "es"
    assert "#1001" in answer.data["text"] and "DHL" in answer.data["text"] and "enviado" in answer.data["text"]
    assert answer.data["recipient"] == {"kind": "email", "value": "ana@example.es"}


@pytest.mark.parametrize("language", ["en", "es", "fr", "de", "it", "pt", "ru", "ja", "ko", "zh"])
def test_a_shipped_order_without_an_estimated_date_never_says_expected_nothing(engine, ws, language):
    question = "where is my order?"  # the language is set explicitly: this is about each language's answer
    customer = Handle("email", "kim@example.com")
    engine.apply(ws, order("o-2", "shipped", customer, order_number="#1002", carrier="DHL",
                           tracking_url="https://t.example/2"))
    engine.apply(ws, message(question, sender=customer, language=language, at=T0 + timedelta(minutes=1)))
    text = next(e for e in ws.effects if e.case == "bot_answer").data["text"]
    assert "#1002" in text and "https://t.example/2" in text
    import re

    assert not re.search(r"\s[)）]|[(（]\s*[)）]", text), text  # e.g. "(expected )" with the date missing


def test_phone_calls_never_meet_the_bot(engine, ws):
    engine.apply(ws, message("", channel="phone", sender=Handle("phone", "+4915100000001")))
    assert handoff(ws).data["reason"] == bot.NO_BOT_FOR_CHANNEL


def test_the_handoff_summary_tells_the_agent_what_was_said_and_sent(engine, ws):
    photo = {"url": "https://m.example/p.jpg", "content_type": "image/jpeg", "filename": "broken.jpg"}
    engine.apply(ws, order("o-9", "delivered", Handle("email", "ann@example.com"), order_number="#9"))
    engine.apply(ws, message("how do I return a broken item", attachments=(photo,), at=T0 + timedelta(minutes=1)))
    engine.apply(ws, message("email me please", channel="email", at=T0 + timedelta(minutes=9)))
    engine.apply(ws, message("agent", at=T0 + timedelta(minutes=20)))
    text = handoff(ws).data["summary"]
    assert "return_policy" in text and "broken.jpg" in text and "#9 (delivered)" in text
    assert "chat x2" in text and "email x1" in text
    stored = next(iter(ws.conversations.values())).handoffs[-1]["summary"]
    assert stored["customer_sent"]["attachments"][0]["filename"] == "broken.jpg"
    assert stored["bot_said"] == ["return_policy", "clarify"]


def test_every_supported_language_has_every_bot_answer_with_the_same_placeholders(templates):
    import string

    from switchboard.router.domain.config import SUPPORTED_LANGUAGES

    def placeholders(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    english = templates["en"]
    for lang in SUPPORTED_LANGUAGES:
        assert set(templates[lang]) == set(english), lang
        for key, text in english.items():
            assert placeholders(templates[lang][key]) == placeholders(text), (lang, key)


def _two_orders(engine, ws, customer):
    engine.apply(ws, order("o-1", "delivered", customer, order_number="#1001"))
    engine.apply(ws, order("o-2", "shipped", customer, order_number="#1002", carrier="DHL",
                           tracking_url="https://t.example/2"))


@pytest.mark.parametrize("question", ["where is my order #1001?", "and 1001", "what about order no. 1001 please",
                                      "status of #  1001"])
def test_the_order_the_customer_names_is_the_one_answered_not_their_latest(engine, ws, question):
    customer = Handle("email", "kim@example.com")
    _two_orders(engine, ws, customer)
    engine.apply(ws, message(question, sender=customer, at=T0 + timedelta(minutes=1)))
    text = next(e for e in ws.effects if e.case == "bot_answer").data["text"]
    assert "#1001" in text and "delivered" in text and "#1002" not in text


def test_without_a_number_the_latest_order_is_answered(engine, ws):
    customer = Handle("email", "kim@example.com")
    _two_orders(engine, ws, customer)
    engine.apply(ws, message("where is my order?", sender=customer, at=T0 + timedelta(minutes=1)))
    assert "#1002" in next(e for e in ws.effects if e.case == "bot_answer").data["text"]


@pytest.mark.parametrize("reply", ["#1001", "1001", "SO-1001", "where is my order #1001?"])
def test_an_order_number_not_linked_to_the_customer_hands_off_and_discloses_nothing(engine, ws, reply):
    engine.apply(ws, order("o-1", "shipped", Handle("email", "owner@example.com"), order_number="#1001",
                           carrier="DHL", tracking_url="https://t.example/1"))
    stranger = Handle("telegram_id", "555000111")
    engine.apply(ws, message(reply, sender=stranger, channel="telegram", at=T0 + timedelta(minutes=1)))
    assert not [e for e in ws.effects if e.case == "bot_answer"]
    handed = handoff(ws)
    assert handed.data["reason"] == bot.ORDER_NOT_LINKED
    assert "not linked to them" in handed.data["summary"]
    stored = next(c for c in ws.conversations.values() if c.channel == "telegram").handoffs[-1]["summary"]
    assert stored["named_order"] and stored["orders"] == []


def test_the_bot_asks_for_a_number_and_a_reply_with_one_reaches_a_person(engine, ws):
    stranger = Handle("telegram_id", "555000111")
    engine.apply(ws, message("where is my order?", sender=stranger, channel="telegram"))
    assert next(e for e in ws.effects if e.case == "bot_replied").data["answer_key"] == "order_status"
    engine.apply(ws, message("#20417", sender=stranger, channel="telegram", at=T0 + timedelta(minutes=2)))
    assert handoff(ws).data["reason"] == bot.ORDER_NOT_LINKED


@pytest.mark.parametrize("text", ["how long is shipping for 3 items to 10115?", "I ordered in 2025, return policy?",
                                  "size 42 please, what is the return policy"])
def test_numbers_that_are_not_order_references_do_not_hand_off(engine, ws, text):
    engine.apply(ws, message(text))
    assert "conversation_handed_off" not in cases(ws)
    assert cases(ws).count("bot_replied") == 1
