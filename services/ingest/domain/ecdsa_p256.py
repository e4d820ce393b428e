"""ECDSA P-256 / SHA-256 signature verification (SendGrid's signed webhooks) with `cryptography`.

Keys are the base64 DER SubjectPublicKeyInfo SendGrid hands out (PEM is accepted too); signatures
are base64 DER `SEQUENCE { INTEGER r, INTEGER s }`. Verification only: no secret is held here.
"""
from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key


class InvalidKey(ValueError):
    pass


def public_key(text: str) -> ec.EllipticCurvePublicKey:
    """Base64 DER (or PEM) SubjectPublicKeyInfo of a P-256 key."""
    body = "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))
    try:
        key = load_der_public_key(base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise InvalidKey(f"public key is not a base64 DER SubjectPublicKeyInfo: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise InvalidKey("public key is not a P-256 (prime256v1) key")
    return key


def verify(message: bytes, signature_b64: str, key: ec.EllipticCurvePublicKey) -> bool:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
