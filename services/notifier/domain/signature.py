"""Webhook signatures: HMAC-SHA256 over "{timestamp}.{body}" (see docs/webhook-signature.md).

Header: X-Switchboard-Signature: t=<unix seconds>,v1=<hex digest>[,v1=<digest with another secret>]
"""
from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Switchboard-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale, or does not match."""


def compute_signature(secret: str | bytes, timestamp: int, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: str | bytes | list[str | bytes], timestamp: int, body: bytes) -> str:
    """Header value; several secrets give several v1 entries, so receivers can rotate keys."""
    if not isinstance(secrets, list):
        secrets = [secrets]
    if not secrets:
        raise ValueError("at least one signing secret is required")
    parts = [f"t={int(timestamp)}"] + [f"v1={compute_signature(s, timestamp, body)}" for s in secrets]
    return ",".join(parts)


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in (header or "").split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise SignatureError("signature header has a non-integer t=") from exc
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("signature header has no t= timestamp")
    if not signatures:
        raise SignatureError("signature header has no v1= signature")
    return timestamp, signatures


def verify_signature(
    header: str,
    secret: str | bytes,
    body: bytes,
    now_unix: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Verify a received webhook; returns its timestamp or raises SignatureError."""
    timestamp, signatures = parse_signature_header(header)
    if abs(now_unix - timestamp) > tolerance_seconds:
        raise SignatureError(f"signature timestamp is outside the {tolerance_seconds}s tolerance")
    expected = compute_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("signature does not match the body")
    return timestamp
