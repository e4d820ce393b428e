"""The one builder of DLQ headers: where and why it failed, the error masked, the original kept."""
from switchboard.common.deadletters import dead_letter_headers, dlq_topic


def test_dead_letter_headers_keep_the_original_and_say_where_and_why_it_failed():
    original = [("ce_id", b"e-1"), ("dlq_reason", b"old failure"), ("dlq_field", b"old")]
    headers = dead_letter_headers(original, reason="rejected", error="no customer anna@example.com +4915112345678",
                                  topic="t.inbound", partition=3, offset=42, group="g",
                                  extra=[("dlq_field", "sender")])
    values = dict(headers)
    assert headers[0] == ("ce_id", b"e-1")
    assert [name for name, _ in headers].count("dlq_reason") == 1  # a replayed record's old failure is dropped
    assert (values["dlq_reason"], values["dlq_topic"], values["dlq_partition"], values["dlq_offset"],
            values["dlq_group"], values["dlq_field"]) == (b"rejected", b"t.inbound", b"3", b"42", b"g", b"sender")
    assert b"anna@example.com" not in values["dlq_error"] and b"+4915112345678" not in values["dlq_error"]
    assert dlq_topic("t.inbound") == "t.inbound.dlq"


def test_the_error_text_is_cut_to_a_bounded_length():
    headers = dict(dead_letter_headers([], reason="failed", error="x" * 5000, topic="t", partition=0, offset=0,
                                       group="g"))
    assert len(headers["dlq_error"]) == 1000
