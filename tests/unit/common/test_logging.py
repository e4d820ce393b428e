import json
import re

from switchboard.common.logging import configure_logging, get_logger, mask_string


def test_emails_and_phone_numbers_inside_free_text_are_masked():
    masked = mask_string("customer jane.doe@example.com called from +49 151 2345 6789 twice")
    assert "jane.doe" not in masked and "2345" not in masked
    assert "j***@example.com" in masked


def test_log_lines_are_json_with_bound_ids_and_no_personal_data(capsys):
    import structlog

    configure_logging("router", "INFO")
    with structlog.contextvars.bound_contextvars(conversation_id="c-42", event_id="e-1"):
        get_logger().info("message_threaded", text="my parcel to 12 Elm St never came", email="a@b.example",
                          detail="reply to bob@example.org", attempts=2)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["service"] == "router" and line["conversation_id"] == "c-42" and line["event_id"] == "e-1"
    assert line["text"] == "***(33 chars)" and line["email"] == "***(11 chars)"
    assert "bob@" not in line["detail"] and line["attempts"] == 2
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z", line["timestamp"]), line["timestamp"]


def test_dates_survive_masking_but_phone_numbers_written_many_ways_do_not():
    assert mask_string("deadline 2026-11-23T04:24:40Z passed") == "deadline 2026-11-23T04:24:40Z passed"
    for phone in ("+49 151 2345 6789", "0151-2345-6789", "(030) 1234567", "+8613800138000"):
        assert phone not in mask_string(f"call {phone} now"), phone
