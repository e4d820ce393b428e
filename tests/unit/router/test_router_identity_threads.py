"""Identity resolution and threading decisions (pure)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from router_unit_kit import T0
from switchboard.router.domain import identity, threads
from switchboard.router.domain.model import RESOLVED, Conversation, Handle


def test_email_handles_are_case_insensitive_and_phone_numbers_are_e164():
    assert identity.normalize("email", " Ann@Example.COM ") == Handle("email", "ann@example.com")
    assert identity.normalize("phone", "0049 151 1234 5678") == Handle("phone", "+4915112345678")
    assert identity.normalize("phone", "+49 (151) 1234-5678") == Handle("phone", "+4915112345678")
    with pytest.raises(identity.InvalidHandle):
        identity.normalize("email", "not-an-address")


def test_whatsapp_id_resolves_to_the_customer_known_by_that_phone_number():
    index = {Handle("phone", "+4915112345678"): "cust-1"}
    decision = identity.resolve([Handle("whatsapp_id", "4915112345678")], index, "new")
    assert decision.customer_id == "cust-1" and not decision.created
    assert Handle("whatsapp_id", "4915112345678") in decision.new_handles


def test_unknown_handles_create_one_new_profile_holding_all_of_them():
    decision = identity.resolve([Handle("email", "a@x.com"), Handle("phone", "+331234567")], {}, "new-id")
    assert decision.created and decision.customer_id == "new-id"
    assert {h.kind for h in decision.new_handles} == {"email", "phone", "whatsapp_id"}


def test_two_known_profiles_in_one_contact_are_never_auto_merged():
    index = {Handle("email", "a@x.com"): "c-a", Handle("phone", "+331234567"): "c-b"}
    decision = identity.resolve([Handle("email", "a@x.com"), Handle("phone", "+331234567")], index, "new")
    assert decision.customer_id == "c-a"
    assert decision.conflicting_customers == ["c-b"]
    assert Handle("phone", "+331234567") not in decision.new_handles  # stays with its own profile


def conv(status="bot", resolved_at=None) -> Conversation:
    return Conversation(
        id="c1",
        brand_id="acme",
        customer_id="cu",
        opened_at=T0,
        channel="email",
        status=status,
        resolved_at=resolved_at,
    )


def test_thread_key_names_the_conversation_even_when_the_customer_has_a_newer_one():
    decision = threads.decide(by_key=conv(), latest_of_customer=None, now=T0, reopen_window=timedelta(days=7))
    assert (decision.action, decision.matched_by) == (threads.APPEND, "thread_key")


def test_a_new_contact_on_another_channel_joins_the_customers_open_conversation():
    decision = threads.decide(by_key=None, latest_of_customer=conv(), now=T0, reopen_window=timedelta(days=7))
    assert (decision.action, decision.matched_by) == (threads.APPEND, "customer")


def test_writing_back_inside_the_reopen_window_reopens_and_after_it_opens_a_new_conversation():
    resolved = conv(RESOLVED, resolved_at=T0)
    inside = threads.decide(
        by_key=None, latest_of_customer=resolved, now=T0 + timedelta(hours=1), reopen_window=timedelta(days=1)
    )
    after = threads.decide(
        by_key=resolved, latest_of_customer=None, now=T0 + timedelta(days=2), reopen_window=timedelta(days=1)
    )
    assert inside.action == threads.REOPEN and inside.conversation.id == "c1"
    assert after.action == threads.OPEN and after.conversation is None


def test_email_thread_keys_ignore_angle_brackets_and_case():
    assert threads.email_key("<ABC@mail.example>") == threads.email_key("abc@mail.example")
    keys = threads.lookup_keys(email_in_reply_to="<b@x>", email_references=["<a@x>", "<b@x>"])
    assert keys[0] == "email:b@x" and "email:a@x" in keys


def test_config_errors_name_the_file_and_field_to_fix(templates):
    from switchboard.router.domain.config import ConfigError, parse_bot, parse_routing

    with pytest.raises(ConfigError, match="version: 1"):
        parse_routing({"queues": []})
    bad_queue = {"version": 1, "defaults": {"queues": [{"name": "general"}], "agents": [{"id": "a", "queues": ["zh"]}]}}
    with pytest.raises(ConfigError, match=r"agents\[0\].queues: unknown queue\(s\) \['zh'\]"):
        parse_routing(bad_queue)
    with pytest.raises(ConfigError, match="windows.reopen"):
        parse_routing({"version": 1, "defaults": {"queues": [{"name": "g"}], "windows": {"reopen": "soon"}}})
    with pytest.raises(ConfigError, match="English templates are required"):
        parse_bot({"version": 1, "defaults": {}}, {"de": {"clarify": "?"}})
