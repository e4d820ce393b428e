"""Who is looking: users, password hashes, signed session tokens and CSRF tokens (stdlib only).

- Passwords: `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>` (hashlib.pbkdf2_hmac), compared in
  constant time; an unknown user costs the same as a wrong password.
- Session: `<payload b64>.<HMAC-SHA256 b64>` with the username, an expiry and a random session id.
  The server keeps no session table, so every replica accepts every session signed with the secret.
- CSRF: HMAC of the session id (password mode) or of the identity (header mode): bound to that
  session, unguessable without the secret, and checked on every state-changing request.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

ALGORITHM = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 260_000


@dataclass(frozen=True)
class User:
    username: str
    name: str
    agent_id: str
    brands: tuple[str, ...]
    role: str = "agent"
    password_hash: str = ""

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


@dataclass(frozen=True)
class Session:
    username: str
    session_id: str
    expires_at: int  # epoch seconds


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{ALGORITHM}${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_hash_format(stored: str) -> str | None:
    """None if `stored` is a usable hash, else what is wrong with it (for config validation)."""
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != ALGORITHM:
        return f"password_hash must look like {ALGORITHM}$<iterations>$<salt base64>$<hash base64>"
    if not parts[1].isdigit() or int(parts[1]) < 1000:
        return "password_hash iterations must be a number of at least 1000"
    try:
        base64.b64decode(parts[2], validate=True)
        base64.b64decode(parts[3], validate=True)
    except ValueError:
        return "password_hash salt and hash must be base64"
    return None


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user is unknown, at the default cost: the answer time does not tell who exists."""
    return hash_password("no such user", salt=b"\0" * 16)


def verify_password(password: str, stored: str | None) -> bool:
    candidate = stored if stored and check_hash_format(stored) is None else _dummy_hash()
    _, iterations, salt, expected = candidate.split("$")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(digest, base64.b64decode(expected)) and candidate is stored


def _sign(secret: bytes, message: bytes) -> str:
    return _b64(hmac.new(secret, message, hashlib.sha256).digest())


def issue_session(secret: bytes, username: str, *, now: datetime, ttl_seconds: int) -> tuple[Session, str]:
    session = Session(username=username, session_id=secrets.token_urlsafe(16),
                      expires_at=int(now.timestamp()) + ttl_seconds)
    payload = _b64(json.dumps({"u": session.username, "s": session.session_id, "e": session.expires_at},
                              separators=(",", ":")).encode())
    return session, f"{payload}.{_sign(secret, payload.encode())}"


def read_session(secret: bytes, token: str | None, *, now: datetime) -> Session | None:
    """The session a cookie carries, or None if it is missing, forged, malformed or expired."""
    if not token or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    if not hmac.compare_digest(signature, _sign(secret, payload.encode())):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = Session(username=str(data["u"]), session_id=str(data["s"]), expires_at=int(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires_at > now.timestamp() else None


def csrf_token(secret: bytes, binding: str) -> str:
    return _sign(secret, b"csrf\x1f" + binding.encode())


def csrf_valid(secret: bytes, binding: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(presented, csrf_token(secret, binding))


def can_see_brand(user: User, brand_id: str) -> bool:
    return brand_id in user.brands
