"""Provider signature schemes, pure and constant-time. Each check raises or returns None.

Missing credentials -> Unauthenticated (401); presented but wrong or stale -> SignatureMismatch (403).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta

from .errors import SignatureMismatch, Unauthenticated


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def twilio_signature(url: str, params: Iterable[tuple[str, str]], auth_token: str) -> str:
    """Twilio: HMAC-SHA1 over the full URL followed by each POST param name+value, sorted by name."""
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(_key(auth_token), data.encode(), hashlib.sha1).digest()).decode()


def verify_twilio(url: str, params: Iterable[tuple[str, str]], header: str | None, auth_token: str) -> None:
    if not header:
        raise Unauthenticated("X-Twilio-Signature header is missing", field="X-Twilio-Signature")
    if not hmac.compare_digest(twilio_signature(url, params, auth_token).encode(), header.encode()):
        raise SignatureMismatch("X-Twilio-Signature does not match the request URL and parameters",
                                field="X-Twilio-Signature")


def hub_signature_256(body: bytes, app_secret: str) -> str:
    """Meta (WhatsApp Cloud API, Messenger): "sha256=" + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(_key(app_secret), body, hashlib.sha256).hexdigest()


def verify_hub_signature_256(body: bytes, header: str | None, app_secret: str) -> None:
    if not header:
        raise Unauthenticated("X-Hub-Signature-256 header is missing", field="X-Hub-Signature-256")
    if not hmac.compare_digest(hub_signature_256(body, app_secret).encode(), header.strip().lower().encode()):
        raise SignatureMismatch("X-Hub-Signature-256 does not match the body", field="X-Hub-Signature-256")


def shopify_hmac(body: bytes, secret: str) -> str:
    """Shopify: base64 HMAC-SHA256 of the raw body with the app's webhook secret."""
    return base64.b64encode(hmac.new(_key(secret), body, hashlib.sha256).digest()).decode()


def verify_shopify(body: bytes, header: str | None, secret: str) -> None:
    if not header:
        raise Unauthenticated("X-Shopify-Hmac-Sha256 header is missing", field="X-Shopify-Hmac-Sha256")
    if not hmac.compare_digest(shopify_hmac(body, secret).encode(), header.strip().encode()):
        raise SignatureMismatch("X-Shopify-Hmac-Sha256 does not match the body", field="X-Shopify-Hmac-Sha256")


def mailgun_signature(timestamp: str, token: str, signing_key: str) -> str:
    """Mailgun: hex HMAC-SHA256 over timestamp + token with the HTTP webhook signing key."""
    return hmac.new(_key(signing_key), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def verify_mailgun(timestamp: str | None, token: str | None, signature: str | None, signing_key: str,
                   now: datetime, replay_window: timedelta) -> None:
    if not (timestamp and token and signature):
        raise Unauthenticated("Mailgun timestamp, token and signature fields are required", field="signature")
    if not hmac.compare_digest(mailgun_signature(timestamp, token, signing_key).encode(), signature.encode()):
        raise SignatureMismatch("Mailgun signature does not match timestamp and token", field="signature")
    check_replay_window(timestamp, now, replay_window, field="timestamp")


def check_replay_window(unix_timestamp: str, now: datetime, window: timedelta, *, field: str) -> None:
    try:
        sent = float(unix_timestamp)
    except ValueError:
        raise SignatureMismatch(f"{field} is not a unix timestamp", field=field) from None
    if abs(now.timestamp() - sent) > window.total_seconds():
        raise SignatureMismatch(f"{field} is outside the {int(window.total_seconds())} s replay window",
                                field=field)


def verify_shared_secret(presented: str | None, expected: str, *, field: str) -> None:
    """Telegram secret token header, VK `secret`, bearer tokens: a constant-time equality check."""
    if not presented:
        raise Unauthenticated(f"{field} is missing", field=field)
    if not hmac.compare_digest(presented.encode(), _key(expected)):
        raise SignatureMismatch(f"{field} does not match", field=field)


def verify_bearer(authorization: str | None, expected: str | Iterable[str], *, field: str = "Authorization") -> str:
    """`Authorization: Bearer <token>`; returns the matching token. Accepts one token or a list."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("Authorization: Bearer <token> is required", field=field)
    presented = authorization[7:].strip().encode()
    candidates = [expected] if isinstance(expected, str) else list(expected)
    match = None
    for candidate in candidates:  # check every candidate so timing does not reveal which matched
        if hmac.compare_digest(presented, _key(candidate)):
            match = candidate
    if match is None:
        raise SignatureMismatch("bearer token is not valid for this brand", field=field)
    return match


def basic_auth_password(authorization: str | None) -> str | None:
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, _, password = decoded.partition(":")
    return password


def verify_sendgrid(body: bytes, signature: str | None, timestamp: str | None, public_key: str,
                    now: datetime, replay_window: timedelta) -> None:
    """SendGrid signed webhooks (Inbound Parse security policy, Signed Event Webhook): base64 DER
    ECDSA P-256 / SHA-256 over timestamp + raw body, verified with the policy's public key."""
    from . import ecdsa_p256

    if not signature or not timestamp:
        raise Unauthenticated("X-Twilio-Email-Event-Webhook-Signature and -Timestamp headers are required",
                              field="X-Twilio-Email-Event-Webhook-Signature")
    try:
        key = ecdsa_p256.public_key(public_key)
    except ecdsa_p256.InvalidKey as exc:
        # Our configuration is wrong, not the request: say so rather than blaming the signature.
        raise SignatureMismatch(f"sendgrid_verification_key is not usable ({exc})",
                                field="sendgrid_verification_key") from None
    if not ecdsa_p256.verify(timestamp.encode() + body, signature, key):
        raise SignatureMismatch("X-Twilio-Email-Event-Webhook-Signature does not match timestamp and body",
                                field="X-Twilio-Email-Event-Webhook-Signature")
    check_replay_window(timestamp, now, replay_window, field="X-Twilio-Email-Event-Webhook-Timestamp")
