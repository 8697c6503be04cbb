"""Multi-turn conversations through the REST channel against the running servers."""

from __future__ import annotations

import json
import re

from knowledge import KnowledgeStore
from knowledge.db import create_engine_for
from qi_coach.records import UserRecords
from tests.e2e.conftest import payloads, texts

DESCRIPTION = "the consultants won't come to the meetings and we can't get data out of the EPR"


def records(bot) -> UserRecords:
    return UserRecords(create_engine_for(bot.env["DATABASE_URL"]))


def cards(replies) -> list[str]:
    return [r["text"] for r in replies if re.match(r"\*\*\d\. ", r.get("text") or "")]


def test_greeting_explains_in_two_lines_and_invites_a_description(bot, sender):
    reply = texts(bot.say("hello", sender))
    assert len(reply.splitlines()) == 2
    assert "quality-improvement" in reply and "tell me what's getting in the way" in reply.lower()


def test_description_confirmed_gives_three_strategies_with_sources_and_stores_feedback(bot, sender):
    heard = bot.say(DESCRIPTION, sender)
    assert "Is that right?" in texts(heard)
    assert payloads(heard) == ["/affirm", "/deny"]
    assert "data" in texts(heard).lower()

    suggested = bot.say("yes", sender)
    shown = cards(suggested)
    assert len(shown) == 3
    assert all("*First step:*" in c and "*Evidence:*" in c for c in shown)
    assert texts(suggested).endswith("Was this useful?")
    assert records(bot).confirmed_barriers(sender)

    thanks = bot.say("/feedback_useful", sender)
    assert "glad it helps" in texts(thanks)
    [(strategy_ids, useful)] = records(bot).feedback(sender)
    assert useful and len(strategy_ids) == 3


def test_strategies_follow_what_the_person_said_and_say_why_in_their_words(bot, sender):
    told = ("Our sepsis screening project has stalled. The two consultants who pushed it for years are both "
            "retiring in the spring, and nobody else really knows how the audit works.")
    bot.say(told, sender)
    shown = cards(bot.say('/choose_barrier{"barrier":"staff_turnover"}', sender))  # picked: the reading is not the point
    assert len(shown) == 3
    assert shown[0].startswith(("**1. Plan the handover before your champion goes**", "**1. Share the lead and name a deputy**"))
    assert "*Why this for you:* you said \u201cThe two consultants who pushed it for years are both retiring" in shown[0]


def test_the_user_corrects_the_reading_by_picking_a_barrier(bot, sender):
    bot.say(DESCRIPTION, sender)
    choices = bot.say("no, not really", sender)
    assert len(payloads(choices)) == 13
    picked = bot.say('/choose_barrier{"barrier":"team_working"}', sender)
    team = KnowledgeStore(create_engine_for(bot.env["DATABASE_URL"])).get_barrier("team_working").in_short
    assert f"fit for **{team}**" in texts(picked) and len(cards(picked)) == 3
    assert records(bot).confirmed_barriers(sender)[-1] == "team_working"


def test_an_unsure_reading_is_corrected_in_the_persons_own_words(bot, sender):
    asked = bot.say("hard to keep it going with everything else", sender)
    assert "in your own words" in texts(asked)
    assert len(payloads(asked)) == 4  # three likely barriers and "something else"
    heard = bot.say("i'd say more like the IT system than the doctors", sender)
    store = KnowledgeStore(create_engine_for(bot.env["DATABASE_URL"]))
    assert f"**{store.get_barrier('data_and_systems').in_short}**" in texts(heard)
    assert store.get_barrier("clinical_resistance").in_short not in texts(heard)
    assert "Is that right?" in texts(heard)


def test_a_tool_question_mid_conversation_is_answered_and_the_conversation_resumes(bot, sender):
    bot.say(DESCRIPTION, sender)
    answer = bot.say("what is a driver diagram?", sender)
    assert answer[0]["text"].startswith("**Driver diagram**") and "*How:*" in answer[0]["text"]  # one bubble
    assert "Back to your project." in texts(answer) and "/affirm" in payloads(answer)
    assert len(cards(bot.say("yes", sender))) == 3


def test_what_was_already_tried_is_never_suggested_again(bot, sender):
    bot.say("we have no protected time for the project, everyone is too busy on the wards", sender)
    first = bot.say("yes", sender)
    assert cards(first)
    noted = bot.say("we already tried protected time", sender)
    assert "I'll leave out" in texts(noted)
    title = KnowledgeStore(create_engine_for(bot.env["DATABASE_URL"])).get_strategy("protected_time_for_qi").title
    later = bot.say("any other ideas?", sender)
    assert cards(later) and title not in texts(later)


def test_bad_input_always_gets_a_polite_useful_reply(bot, sender):
    for message, expected in [
        ("🙂🙂", "emoji"),
        ("Les médecins ne veulent pas participer au projet", "English"),
        ("what's the dose of amoxicillin for a child?", "outside what I can help with"),
    ]:
        assert expected in texts(bot.say(message, sender)), message
    assert texts(bot.say("asdkjh qwe zxcvb", sender)).strip()


def test_an_empty_or_huge_message_never_crashes_or_lights_every_barrier(bot, sender):
    assert texts(bot.say("   ", sender)).strip()
    huge = ("The consultants won't engage and we have no time. " * 500)[:20000]
    assert "very long" in texts(bot.say(huge, sender))  # one rule on every channel, REST included
    long_but_allowed = ("The consultants won't engage and we have no time. " * 100)[:4900]
    reply = bot.say(long_but_allowed, sender)
    assert "long message" in texts(reply)
    assert texts(reply).count(",") + texts(reply).count(" and ") < 6  # a few barriers, not thirteen


def test_malformed_requests_to_the_webhook_are_refused_cleanly(bot):
    for body in (b"not json", b"{}", json.dumps({"sender": "x"}).encode()):
        status, _ = bot.post_raw(body)
        assert status in (200, 400), body
    assert bot.say("hello", "after-malformed")  # the server is still answering


def test_a_restart_of_the_rasa_server_loses_nothing(bot, sender):
    bot.say("we never have time, the rota is impossible", sender)
    first = cards(bot.say("yes", sender))
    bot.restart_rasa()
    later = bot.say("any other ideas?", sender)
    assert cards(later), texts(later)
    assert not set(cards(later)) & set(first)
