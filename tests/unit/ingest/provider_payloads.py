"""Documented provider payloads for issue 16 (raw MIME email, VK group chats, Twilio WhatsApp
location, CloudEvents), shared by the unit, integration and end-to-end tests. Written out by hand
from the providers' documentation, independently of the service's parsers."""
from __future__ import annotations

import uuid

# A reply from Thunderbird-like client: multipart/mixed { multipart/alternative { plain, html },
# a PDF with an RFC 2231 UTF-8 filename }, an RFC 2047 Latin-1 display name and subject.
MIME_REPLY = (
    "Return-Path: <joerg@example.de>\r\n"
    "Received: from mail.example.de by mxa.mailgun.org; Mon, 05 Jan 2026 09:00:01 +0100\r\n"
    "Date: Mon, 05 Jan 2026 09:00:00 +0100\r\n"
    "From: =?ISO-8859-1?Q?J=F6rg_M=FCller?= <Joerg@Example.de>\r\n"
    "To: Support <support@brand.example>\r\n"
    "Subject: =?UTF-8?Q?Re:_Bestellung_#1001_=E2=80=93_R=C3=BCcksendung?=\r\n"
    "Message-ID: <{message_id}>\r\n"
    "In-Reply-To: <{in_reply_to}>\r\n"
    "References: <order-1001@brand.example>\r\n"
    " <{in_reply_to}>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"------------mixed01\"\r\n"
    "\r\n"
    "This is a multi-part message in MIME format.\r\n"
    "--------------mixed01\r\n"
    "Content-Type: multipart/alternative; boundary=\"------------alt01\"\r\n"
    "\r\n"
    "--------------alt01\r\n"
    "Content-Type: text/plain; charset=ISO-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "{text_qp}\r\n"
    "--------------alt01\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: 7bit\r\n"
    "\r\n"
    "<html><body><p>HTML version</p></body></html>\r\n"
    "--------------alt01--\r\n"
    "\r\n"
    "--------------mixed01\r\n"
    "Content-Type: application/pdf; name=\"facture.pdf\"\r\n"
    "Content-Disposition: attachment;\r\n"
    " filename*=UTF-8''facture_n%C2%B0884.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\r\n"
    "--------------mixed01--\r\n"
)
MIME_REPLY_TEXT = "Hallo, die Rücksendung ist unterwegs. Grüße, Jörg"
PDF_SIZE = 52  # bytes of the base64 above, decoded

# Apple Mail style HTML-only message (no text/plain part), UTF-8, with a Russian subject.
MIME_HTML_ONLY = (
    "From: =?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan@example.ru>\r\n"
    "To: support@brand.example\r\n"
    "Subject: =?UTF-8?B?0JfQsNC60LDQtyAxMDAx?=\r\n"
    "Date: Mon, 05 Jan 2026 09:00:00 +0300\r\n"
    "Message-ID: <{message_id}>\r\n"
    "In-Reply-To: <{in_reply_to}>\r\n"
    "References: <{in_reply_to}>\r\n"
    "Mime-Version: 1.0 (Mac OS X Mail 16.0)\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "<html><head><style>p {{color: red}}</style></head><body>"
    "<div>{html_text}</div><div><br></div><div>&mdash; Иван</div></body></html>\r\n"
)


def qp_latin1(text: str) -> str:
    """quoted-printable of the Latin-1 bytes of `text` (what a Latin-1 mail client sends)."""
    return "".join(chr(b) if 32 < b < 127 and b != 61 else f"={b:02X}" if b != 32 else " "
                   for b in text.encode("latin-1"))


def mime_reply(message_id: str, in_reply_to: str, text: str = MIME_REPLY_TEXT) -> bytes:
    return MIME_REPLY.format(message_id=message_id, in_reply_to=in_reply_to, text_qp=qp_latin1(text)).encode("ascii")


def mime_html_only(message_id: str, in_reply_to: str, html_text: str) -> bytes:
    return MIME_HTML_ONLY.format(message_id=message_id, in_reply_to=in_reply_to,
                                 html_text=html_text).encode("utf-8")


def multipart(fields: list[tuple[str, str | bytes]], files: list[tuple[str, str, str, bytes]] = (),
              boundary: str | None = None) -> tuple[bytes, str]:
    """multipart/form-data as providers send it: field and file names as raw UTF-8 (HTML5 forms)."""
    boundary = boundary or "xYzZY" + uuid.uuid4().hex[:8]
    out = []
    for name, value in fields:
        data = value if isinstance(value, bytes) else value.encode("utf-8")
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + data + b"\r\n")
    for name, filename, content_type, data in files:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                   f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def vk_group_chat_message(*, peer_id: int, cmid: int, text: str, from_id: int = 246813579,
                          group_id: int = 192837465) -> dict:
    """Callback API message_new (v5.199) for a message in a group chat the community's bot is in:
    `id` is 0, `peer_id` is 2000000000 + chat id, `conversation_message_id` counts within the chat."""
    return {"type": "message_new", "group_id": group_id, "event_id": uuid.uuid4().hex, "v": "5.199",
            "object": {"message": {"date": 1767603600, "from_id": from_id, "id": 0, "out": 0,
                                   "attachments": [], "conversation_message_id": cmid, "fwd_messages": [],
                                   "important": False, "is_hidden": False, "peer_id": peer_id, "random_id": 0,
                                   "text": text},
                       "client_info": {"button_actions": ["text"], "keyboard": True, "inline_keyboard": True,
                                       "carousel": True, "lang_id": 0}}}


def twilio_whatsapp_location(sid: str) -> dict[str, str]:
    """Twilio inbound WhatsApp location message: no Body text, the place in Latitude/Longitude
    (and Address/Label when the customer picked a named place)."""
    return {"SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Anna", "MessageType": "location",
            "SmsSid": sid, "WaId": "4915112345678", "SmsStatus": "received", "Body": "",
            "To": "whatsapp:+14155238886", "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32, "From": "whatsapp:+4915112345678", "ApiVersion": "2010-04-01",
            "Latitude": "52.520008", "Longitude": "13.404954", "Address": "Alexanderplatz 1, 10178 Berlin",
            "Label": "Packstation 123"}
