"""Property: whatever a provider (or an attacker) sends, a normalizer either normalizes or raises an
IngestError that maps to a 4xx. It never crashes (which would be a 500 and a provider retry storm)."""
from __future__ import annotations

import json
import os
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_unit_helpers import CTX, as_json, form
from switchboard.ingest.adapters.codec import wire
from switchboard.ingest.adapters.orders_external import validate_record
from switchboard.ingest.adapters.providers.base import normalize_checked
from switchboard.ingest.adapters.providers.registry import PROVIDERS
from switchboard.ingest.domain.errors import IngestError
from switchboard.ingest.domain.model import WebhookOutcome, WebhookRequest

# Text includes unpaired surrogates ("\ud800" is valid JSON but not valid UTF-8).
TEXT = st.text(max_size=20) | st.text(st.characters(categories=["Cs", "Lo", "So"]), max_size=5)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**62) | st.floats(allow_nan=True) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
JSON_PROVIDERS = [n for n, a in PROVIDERS.items() if a.media_type.endswith("json")]
FORM_PROVIDERS = [n for n, a in PROVIDERS.items() if "form" in a.media_type]
# INGEST_HYPOTHESIS_EXAMPLES=1500 for a deeper (slower) search.
SETTINGS = settings(max_examples=int(os.environ.get("INGEST_HYPOTHESIS_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=list(HealthCheck))


def mutate(value, data):
    """The provider's documented example with some leaves replaced by arbitrary JSON."""
    if isinstance(value, dict):
        return {k: (data.draw(JSON) if data.draw(st.booleans()) and data.draw(st.booleans())
                    else mutate(v, data)) for k, v in value.items() if data.draw(st.integers(0, 9)) > 0}
    if isinstance(value, list):
        return [mutate(v, data) for v in value]
    return data.draw(JSON) if data.draw(st.integers(0, 4)) == 0 else value


def run(name: str, request: WebhookRequest) -> None:
    adapter = PROVIDERS[name]
    try:
        outcome = normalize_checked(adapter, request, CTX)
    except IngestError as exc:
        assert 400 <= exc.status < 500 and exc.message
        return
    assert isinstance(outcome, WebhookOutcome)
    for event in outcome.events:
        event.payload.SerializeToString()  # a valid proto, ready for the bus
        assert event.key.startswith("acme/") and event.dedupe_id


@SETTINGS
@given(name=st.sampled_from(JSON_PROVIDERS), data=st.data())
def test_json_providers_never_crash_on_mutated_examples(name, data):
    body = mutate(PROVIDERS[name].example, data)
    headers = {"x-shopify-topic": data.draw(st.sampled_from(["orders/create", "fulfillments/update",
                                                             "refunds/create", "x"])),
               "x-shopify-webhook-id": "w1"}
    run(name, as_json(json.dumps(body).encode(), headers=headers,
                      content_type="application/cloudevents+json" if name == "cloudevents" else "application/json"))


@SETTINGS
@given(name=st.sampled_from(JSON_PROVIDERS), body=st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode()),
       content_type=st.sampled_from(["application/json", "application/cloudevents-batch+json",
                                     "application/cloudevents+json"]))
def test_json_providers_never_crash_on_arbitrary_bodies(name, body, content_type):
    run(name, as_json(body, content_type=content_type, headers={"ce-specversion": "1.0"}))


@SETTINGS
@given(name=st.sampled_from(FORM_PROVIDERS), data=st.data())
def test_form_providers_never_crash(name, data):
    example = PROVIDERS[name].example
    fields = {k: (data.draw(st.text(max_size=30)) if data.draw(st.booleans()) else v)
              for k, v in example.items() if data.draw(st.integers(0, 5)) > 0}
    fields.update(data.draw(st.dictionaries(st.sampled_from(["NumMedia", "MediaUrl0", "MessageStatus", "CallStatus",
                                                             "Timestamp", "message-headers", "attachments",
                                                             "attachment-info", "headers"]),
                                            st.text(max_size=30), max_size=3)))
    if PROVIDERS[name].media_type == "multipart/form-data":
        parts = b"".join(b'--b\r\nContent-Disposition: form-data; name="' + k.encode() + b'"\r\n\r\n' +
                         v.encode() + b"\r\n" for k, v in fields.items() if '"' not in k)
        request = WebhookRequest("POST", "https://x/", {}, (), parts + b"--b--\r\n", "multipart/form-data",
                                 "multipart/form-data; boundary=b")
    else:
        request = form(fields)
    run(name, request)


@SETTINGS
@given(body=st.binary(max_size=200), raw=st.binary(max_size=40))
def test_form_parsing_never_crashes_on_bytes(body, raw):
    for name in FORM_PROVIDERS:
        run(name, WebhookRequest("POST", "https://x/", {}, (), body + raw, "multipart/form-data",
                                 "multipart/form-data; boundary=b"))
        run(name, form({}) if not body else WebhookRequest("POST", "https://x/", {}, (), body,
                                                            "application/x-www-form-urlencoded", ""))


@SETTINGS
@given(value=st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()),
       headers=st.lists(st.tuples(st.sampled_from(["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time",
                                                   "ce_brandid", "content-type"]), st.binary(max_size=30)),
                        max_size=7))
def test_kafka_records_never_crash_the_consumer(value, headers):
    from datetime import UTC, datetime
    try:
        _, out = validate_record(value, headers, known_brand=lambda b: True, now=datetime(2026, 1, 5, tzinfo=UTC))
    except IngestError as exc:
        assert exc.message
    except UnicodeError:
        pass  # the consumer turns this into a DLQ record too (see adapters/orders_external.order_record_decoder)
    else:
        try:
            wire(out).payload.SerializeToString()  # the codec puts every valid record on the wire
        except UnicodeError:
            pass


def test_urlencode_roundtrip_of_unicode():
    assert urlencode({"Body": "你好"})  # sanity for the form helper above
