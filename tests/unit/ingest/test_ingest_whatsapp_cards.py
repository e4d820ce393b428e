"""WhatsApp Cloud API message types beyond text and media, on the shapes Meta documents (messages
webhook reference: `contacts`, `order`, `system`): none may arrive as an empty customer message."""
from __future__ import annotations

from test_ingest_meta_signals import whatsapp

BASE = {"from": "16505551234", "id": "wamid.CARD1", "timestamp": "1749416383"}


def test_a_shared_contact_card_reaches_the_agent_as_its_name_phone_and_email():
    (event,) = whatsapp(dict(BASE, type="contacts", contacts=[{
        "name": {"formatted_name": "Jörg Brandt", "first_name": "Jörg"},
        "phones": [{"phone": "+49 30 1234567", "type": "WORK", "wa_id": "49301234567"}],
        "emails": [{"email": "joerg@example.de", "type": "WORK"}]}]))
    received = event.payload.message_received
    assert received.text == "Shared contact: Jörg Brandt, +49 30 1234567, joerg@example.de"
    assert received.WhichOneof("signal") is None  # a customer turn, like any message


def test_a_catalog_order_lists_its_items_and_the_customers_note():
    (event,) = whatsapp(dict(BASE, type="order", order={
        "catalog_id": "cat-77", "text": "Gift wrap please",
        "product_items": [{"product_retailer_id": "SKU-1", "quantity": "2", "item_price": "12.50", "currency": "EUR"},
                          {"product_retailer_id": "SKU-9", "quantity": "1", "item_price": "3", "currency": "EUR"}]}))
    text = event.payload.message_received.text
    assert text == "Catalog order (cat-77): 2 x SKU-1 @ 12.50 EUR; 1 x SKU-9 @ 3 EUR\nGift wrap please"


def test_a_changed_number_system_message_is_a_notice_that_moves_no_clock():
    (event,) = whatsapp(dict(BASE, type="system", system={
        "body": "User A changed from 16505551234 to 16505559999", "new_wa_id": "16505559999",
        "type": "user_changed_number"}))
    received = event.payload.message_received
    assert received.WhichOneof("signal") == "notice" and received.text == ""
    assert received.notice.code == "user_changed_number" and received.notice.detail == "16505559999"


def test_a_type_meta_adds_later_is_a_notice_naming_it_not_an_empty_message():
    (event,) = whatsapp(dict(BASE, type="request_welcome"))
    received = event.payload.message_received
    assert received.WhichOneof("signal") == "notice" and received.notice.detail == "request_welcome"
