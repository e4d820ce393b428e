"""Password hashes, signed sessions, CSRF tokens (pure, stdlib)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from switchboard.console.domain import auth

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET = b"k" * 32


def test_pbkdf2_hash_verifies_only_the_right_password():
    stored = auth.hash_password("alice-demo", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$")
    assert auth.verify_password("alice-demo", stored)
    assert not auth.verify_password("alice-dem0", stored)
    assert not auth.verify_password("alice-demo", None)          # unknown user
    assert not auth.verify_password("x", "plain-text-password")  # a malformed hash never matches


def test_hash_format_problems_are_explained():
    assert auth.check_hash_format(auth.hash_password("x", iterations=1000)) is None
    assert "must look like" in auth.check_hash_format("md5$abc")
    assert "at least 1000" in auth.check_hash_format("pbkdf2_sha256$10$AAAA$AAAA")


def test_session_round_trip_and_expiry():
    session, token = auth.issue_session(SECRET, "alice", now=NOW, ttl_seconds=3600)
    assert auth.read_session(SECRET, token, now=NOW + timedelta(minutes=59)) == session
    assert auth.read_session(SECRET, token, now=NOW + timedelta(hours=1)) is None


def test_a_session_signed_with_another_secret_or_edited_is_refused():
    _, token = auth.issue_session(SECRET, "alice", now=NOW, ttl_seconds=3600)
    assert auth.read_session(b"other" * 8, token, now=NOW) is None
    payload, signature = token.split(".")
    _, bob = auth.issue_session(SECRET, "bob", now=NOW, ttl_seconds=3600)
    assert auth.read_session(SECRET, bob.split(".")[0] + "." + signature, now=NOW) is None
    assert auth.read_session(SECRET, "garbage", now=NOW) is None
    assert auth.read_session(SECRET, None, now=NOW) is None


def test_csrf_token_is_bound_to_its_session():
    token = auth.csrf_token(SECRET, "session:abc")
    assert auth.csrf_valid(SECRET, "session:abc", token)
    assert not auth.csrf_valid(SECRET, "session:xyz", token)
    assert not auth.csrf_valid(SECRET, "session:abc", None)
    assert not auth.csrf_valid(SECRET, "session:abc", "")


def test_brand_scoping():
    user = auth.User("alice", "Alice", "alice", ("acme",))
    assert auth.can_see_brand(user, "acme") and not auth.can_see_brand(user, "globex")


def test_an_unknown_user_costs_a_full_hash_check():
    # The stand-in hash checked for unknown users has the default cost: timing does not tell who exists.
    assert auth._dummy_hash().split("$")[1] == str(auth.DEFAULT_ITERATIONS)
    assert not auth.verify_password("no such user", None)
