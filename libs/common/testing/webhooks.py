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
