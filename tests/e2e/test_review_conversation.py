"""The stalled-project review against the running servers: asked for in words, answered with a
button, a few words and an answer it cannot read, with a side question on the way, ending in the
levels not reached, what to ask of them and strategies acting there."""

from __future__ import annotations

from qi_coach.paths import PROJECT_ROOT
from tests.e2e.conftest import payloads, texts
from tests.e2e.test_triage import Conversation

TRANSCRIPT = PROJECT_ROOT / "reports" / "stall-review-transcript.md"
YES = '/inform{"review_choice":"yes"}'


def test_why_did_my_project_stall_is_answered_level_by_level(bot, sender):
    chat = Conversation(bot, sender)
    opening = chat.say("why did my project stall?")
    assert "one level at a time" in texts(opening) and "front-line staff's priorities" in texts(opening)
    assert YES in payloads(opening) and "/cancel" in payloads(opening)
    middle = chat.say(YES, "Yes")
    assert "middle managers' priorities" in texts(middle)
    again = chat.say("the rota")  # not an answer: asked again, the same question still open
    assert "Yes, partly, no or not sure?" in texts(again)
    tool = chat.say("what is a driver diagram?")  # answered, then the same question comes back
    assert "driver diagram" in texts(tool).lower() and "middle managers' priorities" in texts(tool)
    senior = chat.say("not really, they never put it in the service plan")
    assert "senior leaders and the board" in texts(senior)
    review = chat.say("no idea")
    text = texts(review)
    assert "never reached middle managers" in text and "not known yet" in text
    assert "**What to ask of each level**" in text and "**Strategies to start with**" in text
    assert "(sources#seed_002)" in text and "002_" not in text
    assert any(p.startswith("/strategy_details") for p in payloads(review)) and "/start_triage" in payloads(review)
    TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
    TRANSCRIPT.write_text("# The stalled-project review (recorded by tests/e2e/test_review_conversation.py)\n\n"
                          + "\n\n".join(chat.lines) + "\n", encoding="utf-8")


def test_the_review_can_be_stopped_and_asked_for_again(bot, sender):
    chat = Conversation(bot, sender)
    chat.say("can we do a retrospective on the project")
    stopped = chat.say("/cancel", "Stop the review")
    assert "stopped the review" in texts(stopped)
    assert "front-line staff's priorities" in texts(chat.say("why did our project fail?"))
