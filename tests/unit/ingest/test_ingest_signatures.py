"""Signature schemes against the providers' published examples and the obvious attacks."""
from datetime import UTC, datetime, timedelta

import pytest
from switchboard.ingest.domain import signatures as sig
from switchboard.ingest.domain.errors import SignatureMismatch, Unauthenticated

TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
                 ("From", "+12349013030"), ("To", "+18005551212")]


def test_twilio_matches_the_documented_example():
    # The worked example of Twilio's webhook security guide (auth token 12345).
    assert sig.twilio_signature(TWILIO_URL, TWILIO_PARAMS, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    sig.verify_twilio(TWILIO_URL, list(reversed(TWILIO_PARAMS)), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345")


@pytest.mark.parametrize("url, params, token", [
    (TWILIO_URL, [*TWILIO_PARAMS[:2], ("Digits", "9999"), *TWILIO_PARAMS[3:]], "12345"),
    ("https://evil.example/myapp.php?foo=1&bar=2", TWILIO_PARAMS, "12345"),
    (TWILIO_URL, TWILIO_PARAMS, "54321"),
])
def test_twilio_rejects_changed_params_url_or_token(url, params, token):
    with pytest.raises(SignatureMismatch):
        sig.verify_twilio(url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", token)


def test_missing_header_is_unauthenticated_not_forbidden():
    with pytest.raises(Unauthenticated):
        sig.verify_twilio(TWILIO_URL, TWILIO_PARAMS, None, "12345")
    with pytest.raises(Unauthenticated):
        sig.verify_hub_signature_256(b"{}", "", "secret")


def test_meta_hub_signature_256():
    body = b'{"object":"page","entry":[]}'
    header = sig.hub_signature_256(body, "app-secret")
    assert header.startswith("sha256=") and len(header) == 7 + 64
    sig.verify_hub_signature_256(body, header, "app-secret")
    sig.verify_hub_signature_256(body, header.upper().replace("SHA256=", "sha256="), "app-secret")  # hex case
    with pytest.raises(SignatureMismatch):
        sig.verify_hub_signature_256(body + b" ", header, "app-secret")


def test_shopify_hmac_is_base64_of_the_raw_body():
    body = b'{"id":820982911946154508}'
    header = sig.shopify_hmac(body, "hush")
    sig.verify_shopify(body, header, "hush")
    with pytest.raises(SignatureMismatch):
        sig.verify_shopify(body, header, "other")


def test_mailgun_signature_and_replay_window():
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    ts = str(int(now.timestamp()))
    good = sig.mailgun_signature(ts, "tok", "key")
    sig.verify_mailgun(ts, "tok", good, "key", now, timedelta(minutes=15))
    with pytest.raises(SignatureMismatch, match="replay window"):
        sig.verify_mailgun(ts, "tok", good, "key", now + timedelta(minutes=16), timedelta(minutes=15))
    with pytest.raises(SignatureMismatch):
        sig.verify_mailgun(ts, "tok2", good, "key", now, timedelta(minutes=15))
    with pytest.raises(Unauthenticated):
        sig.verify_mailgun(ts, None, good, "key", now, timedelta(minutes=15))


def test_bearer_accepts_any_configured_key():
    assert sig.verify_bearer("Bearer k2", ["k1", "k2"]) == "k2"
    with pytest.raises(SignatureMismatch):
        sig.verify_bearer("Bearer k3", ["k1", "k2"])
    with pytest.raises(Unauthenticated):
        sig.verify_bearer("Basic abc", ["k1"])


def test_basic_auth_password():
    import base64
    assert sig.basic_auth_password("Basic " + base64.b64encode(b"parse:s3cr:et").decode()) == "s3cr:et"
    assert sig.basic_auth_password("Basic !!!") is None
