"""A bot answer stored inside the customer message it answers (issue 15): what the engine records
(`answers`), how a batch's new messages fold into documents, how readers get the messages back, how a
later change of an embedded answer is written, and the order messages are shown in (pure)."""

from __future__ import annotations

from datetime import timedelta

from router_unit_kit import T0, message
from switchboard.router.adapters import message_docs
from switchboard.router.domain import transcript
from switchboard.router.domain.engine import Workspace


def _question(_id: str = "q1", at=T0) -> dict:
    return {"_id": _id, "conversation_id": "c1", "brand_id": "acme", "author": "customer", "text": "hi", "at": at}


def _answer(_id: str = "a1", answers: str = "q1", at=T0) -> dict:
    return {"_id": _id, "conversation_id": "c1", "brand_id": "acme", "author": "bot", "text": "hello",
            "answers": answers, "at": at}


def test_the_bot_answer_names_the_customer_message_it_answers(engine, ws: Workspace):
    asked = message("how long does shipping take?")
    engine.apply(ws, asked)
    question, answer = ws.new_messages
    assert (question.get("author", "customer"), answer["author"]) == ("customer", "bot")
    assert answer["answers"] == question["_id"] == engine.message_id_for(asked)


def test_an_answer_new_with_its_question_is_stored_inside_it_and_reads_back_as_two_messages():
    question, answer = _question(), _answer()
    (stored,) = message_docs.fold([question, answer])
    assert stored["_id"] == "q1" and stored[message_docs.BOT_REPLY] == answer
    assert message_docs.BOT_REPLY not in question  # the batch's own history is left unfolded
    read = message_docs.unfold([stored])
    assert read == [question, {**answer, message_docs.PARENT: "q1"}]


def test_answers_to_messages_stored_earlier_agent_replies_and_old_separate_documents_stay_as_they_are():
    earlier_answer = _answer("a2", answers="q0")  # its question is not in this batch
    agent = {"_id": "r1", "conversation_id": "c1", "author": "agent", "text": "hi", "at": T0}
    assert message_docs.fold([earlier_answer, agent]) == [earlier_answer, agent]
    old_bot = {"_id": "b0", "conversation_id": "c1", "author": "bot", "text": "old", "at": T0}  # before `answers`
    assert message_docs.unfold([_question("q0"), old_bot]) == [_question("q0"), old_bot]


def test_a_change_of_an_embedded_answer_is_a_set_of_the_parents_field_and_never_shows_the_marker():
    (stored,) = message_docs.fold([_question(), _answer()])
    _, read_answer = message_docs.unfold([stored])
    read_answer["delivery_state"] = "read"
    (change,) = message_docs.changes([read_answer])
    assert change == {"_id": "q1", "set": {message_docs.BOT_REPLY: {**_answer(), "delivery_state": "read"}}}
    agent = {"_id": "r1", "author": "agent", "delivery_state": "delivered", "at": T0}
    assert message_docs.changes([agent]) == [{"_id": "r1", "set": {"author": "agent", "delivery_state": "delivered",
                                                                   "at": T0}}]


def test_a_bot_answer_is_shown_right_after_its_question_whatever_the_ids():
    later = _question("0-later", at=T0 + timedelta(seconds=1))
    question, answer = _question("z-question"), _answer("a-answer", answers="z-question")  # answer's id sorts first
    other = _question("m-other")  # same time, another message
    ordered = sorted([later, answer, other, question], key=transcript.timeline_key)
    assert [m["_id"] for m in ordered] == ["m-other", "z-question", "a-answer", "0-later"]
    text = transcript.render([answer, question], since=None)
    assert text.index("Customer: hi") < text.index("Bot: hello")
