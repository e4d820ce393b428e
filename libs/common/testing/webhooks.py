"""Provider webhooks as the providers send them, for the demo traffic and the browser proofs."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid


def mailgun_form(signing_key: str, sender: str, name: str, subject: str, text: str,
                 recipient: str = "support@acme.example") -> dict[str, str]:
    """An inbound email as Mailgun's routes POST it (form fields), signed with the brand's signing key."""
    timestamp, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    message_id = f"<{uuid.uuid4().hex}@mail.example>"
    return {"recipient": recipient, "sender": sender, "from": f"{name} <{sender}>",
            "subject": subject, "body-plain": text, "stripped-text": text, "Message-Id": message_id,
            "message-headers": json.dumps([["Message-Id", message_id], ["Subject", subject]]),
            "timestamp": timestamp, "token": token, "signature": signature}


def meta_whatsapp_message(app_secret: str, wa_id: str, name: str, text: str) -> tuple[bytes, dict[str, str]]:
    """An inbound WhatsApp text as Meta's Cloud API POSTs it: the body and its signed headers."""
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "100000001", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1000001"},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}]}}]}]}, ensure_ascii=False).encode()
    signature = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
