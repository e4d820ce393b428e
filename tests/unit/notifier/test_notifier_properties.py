"""Properties that must hold for every input, not just the examples."""
from hypothesis import given
from hypothesis import strategies as st
from switchboard.notifier.adapters.template_files import load_template_sources
from switchboard.notifier.domain.email_message import threading_headers
from switchboard.notifier.domain.retry import RetryPolicy
from switchboard.notifier.domain.signature import signature_header, verify_signature
from switchboard.notifier.domain.templates import TemplateCatalog
from switchboard.notifier.domain.variables import csat_links, template_variables

POLICY = RetryPolicy(max_attempts=50, base_backoff_seconds=0.5, max_backoff_seconds=120, total_seconds=10**9)


@given(st.binary(max_size=2000), st.text(min_size=1, max_size=64), st.integers(min_value=0, max_value=2**33))
def test_whatever_the_body_a_signature_verifies_with_its_key_only(body, secret, t):
    header = signature_header(secret, t, body)
    assert verify_signature(header, secret, body, now_unix=t) == t
    try:
        verify_signature(header, secret + "x", body, now_unix=t)
    except ValueError:
        pass
    else:
        raise AssertionError("a different key verified")


@given(st.integers(min_value=1, max_value=49), st.floats(min_value=0, max_value=1e6),
       st.none() | st.floats(min_value=0, max_value=1e5))
def test_next_delay_never_shorter_than_retry_after_and_never_beyond_the_cap_otherwise(attempt, elapsed, after):
    delay = POLICY.next_delay(attempt, elapsed, after)
    assert delay is not None
    if after is not None:
        assert delay >= after
    else:
        assert 0 < delay <= 120


CATALOG = TemplateCatalog(load_template_sources())


@given(st.sampled_from(["transcript", "csat_survey", "order_delayed", "still_working", "queue_position"]),
       st.sampled_from(["en", "de", "zh", "ja", "ru", "xx", "", "pt-BR"]),
       st.text(max_size=30), st.text(max_size=30), st.lists(st.text(min_size=1, max_size=10), max_size=3),
       st.dictionaries(st.sampled_from(["position", "eta_seconds", "new_eta", "transcript", "estimated_delivery"]),
                       st.text(max_size=20)))
def test_customer_templates_never_render_empty(name, language, brand, customer, orders, extra):
    variables = template_variables(brand_name=brand, customer_name=customer, order_ids=orders,
                                   conversation_id="c-1", extra=extra, csat=csat_links("https://x", "b", "i"))
    rendered = CATALOG.render(name, language, variables)
    assert rendered.text.strip()


@given(st.text(alphabet="abc@.<>", max_size=20), st.lists(st.text(alphabet="abc@.<>", max_size=20), max_size=40))
def test_references_end_with_the_parent_and_hold_no_duplicates(parent, references):
    in_reply_to, refs = threading_headers(parent, references)
    ids = refs.split()
    assert len(ids) == len(set(ids)) <= 20
    if in_reply_to:
        assert ids[-1] == in_reply_to
