"""Inbox query validation and cursors (pure)."""
from __future__ import annotations

import pytest
from switchboard.console.domain.filters import (
    Cursor,
    FilterError,
    ListQuery,
    decode_cursor,
    encode_cursor,
    parse_list_query,
)
from switchboard.console.domain.vocabulary import OPEN_STATUSES

BRANDS = ("acme", "globex")


def parse(**params) -> ListQuery:
    return parse_list_query(params, viewer_brands=BRANDS, viewer_agent_id="a-17")


def test_defaults_are_all_statuses_all_brands_and_fifty_rows():
    query = parse()
    assert (query.brands, query.statuses, query.limit, query.after) == (BRANDS, (), 50, None)


def test_open_expands_to_every_status_but_resolved_and_lists_are_ordered():
    assert parse(status="open").statuses == OPEN_STATUSES
    assert parse(status="Assigned, queued").statuses == ("queued", "assigned")
    assert parse(status="any").statuses == ()


def test_me_is_the_viewers_agent_id_and_none_is_unassigned():
    assert parse(assignee="me").assignee == "a-17"
    assert parse(assignee="none").assignee == ""
    assert parse(assignee="bob").assignee == "bob"


def test_search_is_lower_cased_and_trimmed():
    assert parse(q="  Анна ").q == "анна"


def test_brand_narrows_to_one_of_the_viewers_brands():
    assert parse(brand="globex").brands == ("globex",)
    with pytest.raises(FilterError, match=r"brand must be one of your brands \(acme, globex\); got 'initech'"):
        parse(brand="initech")


@pytest.mark.parametrize(("params", "param", "says"), [
    ({"limit": "0"}, "limit", "limit must be from 1 to 200; got 0"),
    ({"limit": "x"}, "limit", "limit must be a whole number from 1 to 200"),
    ({"status": "closed"}, "status", "status must be one of open, any, bot"),
    ({"status": ","}, "status", "status must not be empty"),
    ({"channel": "pigeon"}, "channel", "channel must be one of email"),
    ({"sla_state": "ok"}, "sla_state", "sla_state must be one of running, at_risk, breached, paused"),
    ({"q": "x" * 101}, "q", "q must be at most 100 characters"),
    ({"queue": ""}, "queue", "queue must not be empty"),
    ({"page": "2"}, "page", "unknown parameter 'page'"),
])
def test_bad_values_name_the_parameter_and_the_fix(params, param, says):
    with pytest.raises(FilterError) as caught:
        parse(**params)
    assert caught.value.param == param and says in caught.value.message


def test_a_cursor_round_trips_and_is_bound_to_its_filters():
    query = parse(queue="vip")
    token = encode_cursor(Cursor(1796115600000, "c-9"), query.digest())
    assert parse(queue="vip", cursor=token).after == Cursor(1796115600000, "c-9")
    with pytest.raises(FilterError, match="cursor belongs to a query with other filters"):
        parse(queue="general", cursor=token)


def test_the_limit_is_not_part_of_the_cursor_binding():
    token = encode_cursor(Cursor(1, "c"), parse(queue="vip", limit="10").digest())
    assert parse(queue="vip", limit="50", cursor=token).after == Cursor(1, "c")


@pytest.mark.parametrize("token", ["garbage", "eyJ1IjoiMjAyNiJ9", encode_cursor(Cursor(1, "c"), "x")[:-3]])
def test_a_tampered_cursor_is_refused(token):
    with pytest.raises(FilterError, match="cursor"):
        decode_cursor(token, "anything")
