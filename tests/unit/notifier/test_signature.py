import hashlib
import hmac

import pytest
from switchboard.notifier.domain.signature import (
    SignatureError,
    compute_signature,
    signature_header,
    verify_signature,
)

BODY = b'{"id":"esc-1","type":"escalation.raised"}'


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert compute_signature("s3cret", 1700000000, BODY) == expected
    assert signature_header("s3cret", 1700000000, BODY) == f"t=1700000000,v1={expected}"


def test_receiver_verifies_and_rejects_tampering_wrong_key_and_replay():
    header = signature_header("s3cret", 1700000000, BODY)
    assert verify_signature(header, "s3cret", BODY, now_unix=1700000010) == 1700000000
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(header, "s3cret", BODY + b" ", now_unix=1700000010)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(header, "other", BODY, now_unix=1700000010)
    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(header, "s3cret", BODY, now_unix=1700000000 + 301)


def test_key_rotation_sends_one_signature_per_secret():
    header = signature_header(["new", "old"], 1700000000, BODY)
    assert verify_signature(header, "old", BODY, now_unix=1700000000)
    assert verify_signature(header, "new", BODY, now_unix=1700000000)


@pytest.mark.parametrize("header,message", [("", "no t="), ("t=abc,v1=00", "non-integer"), ("t=1", "no v1=")])
def test_malformed_headers_are_named(header, message):
    with pytest.raises(SignatureError, match=message):
        verify_signature(header, "s", BODY, now_unix=1)
