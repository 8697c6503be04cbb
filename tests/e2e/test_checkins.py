"""Check-ins, end to end, on every channel: the person chooses what to try and when to be asked;
the scheduler (run here with the clock frozen at the check-in's day) sends it through the real
Rasa server, once; the person answers on the same channel; the plan and the reports are updated.

What each channel showed is saved for a person to read in ``reports/channels/checkin-*.json``.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect

from knowledge.db import create_engine_for
from qi_coach.checkin_scheduler import Scheduler
from qi_coach.followup import ANSWERED, SENT, CheckinView, FollowUps
from qi_coach.records import UserRecords
from tests.e2e import fakes
from tests.e2e.conftest import SCREENSHOTS, describe_on_the_page, payloads, texts
from tests.e2e.test_slack import buttons_of, post_event, posted, press, section_text
from tests.e2e.test_slack import event as slack_event
from tests.e2e.test_teams import send as teams_send
from tests.e2e.test_webchat import WebClient

TIME = "we never have time for the project, the ward is too busy and nobody gets protected time"
OBSTACLE = "the rota team can't release anyone and we still can't get any data out of the EPR to show it works"


@pytest.fixture(scope="module")
def followups(bot) -> FollowUps:
    return FollowUps(create_engine_for(bot.env["DATABASE_URL"]))


def deliver(bot, followups: FollowUps, conversation_id: str) -> CheckinView:
    """Run the scheduler as if it were the check-in's day (a frozen clock): exactly this
    conversation's check-in is sent, and a second round sends nothing more."""
    [checkin] = followups.of_conversation(conversation_id)
    scheduler = Scheduler(bot.url, bot.env["QI_COACH_WEBCHAT_SECRET"].encode(), followups)
    day = checkin.due_at + timedelta(minutes=1)
    assert scheduler.run_once(now=day - timedelta(hours=1)).sent == []  # not before its time
    done = scheduler.run_once(now=day)
    assert checkin.id in done.sent and done.failed == [], done
    assert checkin.id not in scheduler.run_once(now=day + timedelta(days=1)).sent
    sent = followups.get(checkin.id)
    assert sent is not None and sent.state == SENT
    return sent


def reported(followups: FollowUps, checkin_id: int) -> list[tuple]:
    view = followups.get(checkin_id)
    assert view is not None and view.state == ANSWERED
    return [(c.progress, c.helped, c.obstacle) for c in view.commitments]


# --- REST (the terminal chat of make run), with a restart between commitment and check-in ------


def test_a_check_in_over_rest_survives_a_restart_and_updates_the_plan(bot, followups, sender):
    bot.say(TIME, sender)
    strategies = bot.say("yes", sender)
    assert "/commit_strategies" in payloads(strategies)
    choose = bot.say("/commit_strategies", sender)
    assert "Which will you try?" in texts(choose)
    when = bot.say("I'll try 1 and 3", sender)
    assert "When shall I check in" in texts(when)
    done = bot.say("in two weeks", sender)
    assert "I'll check in on" in texts(done)
    [checkin] = followups.of_conversation(sender)
    assert checkin.due_at.date() - datetime.now(timezone.utc).date() == timedelta(days=14)
    titles = [c.title for c in checkin.commitments]
    assert len(titles) == 2 and all(t in texts(strategies) for t in titles)

    bot.restart_rasa()  # nothing about the check-in lives in a process

    deliver(bot, followups, sender)
    waiting = bot_waiting(bot, sender)
    assert "Hello again" in texts(waiting) and f"How did **{titles[0]}** go?" in texts(waiting)
    assert bot_waiting(bot, sender) == []  # given once
    turns = [("Done", '/inform{"checkin_choice":"done"}'), ("5", "5"), ("nothing", "nothing really"),
             ("Partly", '/inform{"checkin_choice":"partly"}'), ("2", '/inform{"checkin_choice":"2"}'),
             ("obstacle", OBSTACLE)]
    transcript: list[dict] = [{"bot (waiting)": texts(waiting)}]
    replies: list[dict] = []
    for _, message in turns:
        replies = bot.say(message, sender)
        transcript += [{"user": message}, {"bot": texts(replies)}]
    assert "added how it went to your plan" in texts(replies)
    assert "is now the block" in texts(replies) and "/affirm" in payloads(replies)
    assert reported(followups, checkin.id) == [("done", 5, None), ("partly", 2, OBSTACLE)]
    plan = texts(bot.say("show my plan", sender))
    assert "## Check-in," in plan and "done; helped 5 out of 5" in plan and OBSTACLE in plan
    offered = bot.say("yes please", sender)  # the next step: strategies for what got in the way
    assert "Here are strategies that fit" in texts(offered)
    fakes.save_transcript("checkin-rest", transcript + [{"user": "show my plan"}, {"bot": plan}])


def bot_waiting(bot, sender: str) -> list[dict]:
    """What the terminal chat fetches: replies that came while it was away."""
    with urllib.request.urlopen(f"{bot.url}/webhooks/rest/waiting?sender={sender}", timeout=30) as reply:
        return json.loads(reply.read())


def test_stop_reminding_me_means_no_check_in_is_sent(bot, followups, sender):
    bot.say(TIME, sender)
    bot.say("yes", sender)
    bot.say("I'll try the first one, ask me next Friday", sender)
    [checkin] = followups.of_conversation(sender)
    assert "won't check in again" in texts(bot.say("stop reminding me", sender))
    scheduler = Scheduler(bot.url, bot.env["QI_COACH_WEBCHAT_SECRET"].encode(), followups)
    assert checkin.id not in scheduler.run_once(now=checkin.due_at + timedelta(days=1)).sent


def test_the_check_in_route_refuses_what_the_scheduler_did_not_sign(bot):
    body = json.dumps({"checkin": 1, "at": int(time.time())}).encode()
    status, _ = bot.post_raw(body, "/webhooks/checkins/deliver", {"Content-Type": "application/json",
                                                                   "X-Qi-Coach-Signature": "0" * 64})
    assert status == 401


# --- Slack: a DM, and the check-in arrives in the same DM -----------------------------------------


def test_a_check_in_in_a_slack_dm(bot, slack_api, followups):
    channel = "D" + uuid.uuid4().hex[:8].upper()
    user = "U" + uuid.uuid4().hex[:6].upper()
    conversation = f"slack:{user}:{channel}"

    def say(text: str) -> list[dict]:
        before = len(posted(slack_api, channel))
        assert post_event(bot, slack_event(text, channel=channel, user=user))[0] == 200
        return _settle(lambda: posted(slack_api, channel))[before:]

    say(TIME)
    say("yes")
    say("I'll try 1 and 2")
    say("in a month")
    deliver(bot, followups, conversation)
    arrived = _settle(lambda: posted(slack_api, channel))
    question = [p for p in arrived if "go?" in section_text(p)][-1]
    assert any("Hello again" in section_text(p) for p in arrived)
    transcript = [{"bot (check-in)": section_text(p)} for p in arrived if "Hello again" in section_text(p)]
    transcript.append({"bot": section_text(question)})
    done = next(b for b in buttons_of(question) if b["text"]["text"] == "Done")
    before = len(posted(slack_api, channel))
    assert press(bot, done, channel=channel, user=user) == 200
    helped = _settle(lambda: posted(slack_api, channel))[before:]
    transcript += [{"user pressed": "Done"}, *({"bot": section_text(p)} for p in helped)]
    for message in ("4 it helped", "the meeting kept getting cancelled", "not started", "we had no time at all"):
        replies = say(message)
        transcript += [{"user": message}, *({"bot": section_text(p)} for p in replies)]
    fakes.save_transcript("checkin-slack", transcript)
    [checkin] = followups.of_conversation(conversation, states=(ANSWERED,))
    assert [(c.progress, c.helped) for c in checkin.commitments] == [("done", 4), ("not_started", None)]
    assert "added how it went to your plan" in "\n".join(t.get("bot", "") for t in transcript)
    fakes.save_transcript("checkin-slack", transcript)


# --- Teams: a proactive message into the stored conversation --------------------------------------


def test_a_check_in_in_teams_is_a_proactive_message(bot, microsoft, followups):
    conv = f"a:1{uuid.uuid4().hex}"

    def say(text: str, **extra) -> list[dict]:
        before = len(microsoft.replies(conv))
        assert teams_send(bot, microsoft.activity(text, conv, **extra), microsoft.token()) == 200
        return [r.json() for r in _settle(lambda: microsoft.replies(conv))[before:]]

    say(TIME)
    say("yes")
    say("I'll try the second one, ask me next Friday")
    [checkin] = followups.of_conversation(f"teams:{conv}:aad-29:user-one")
    before = len(microsoft.replies(conv))
    deliver(bot, followups, checkin.conversation_id)
    arrived = [r.json() for r in _settle(lambda: microsoft.replies(conv))[before:]]
    assert "Hello again" in arrived[0]["text"] and "replyToId" not in arrived[0]  # proactive, not a reply
    assert arrived[0]["conversation"]["id"] == conv and arrived[0]["recipient"]["id"] == "29:user-one"
    transcript: list[dict] = [{"bot (proactive)": a.get("text")} for a in arrived]
    for message in ("partly", "3", "nothing"):
        replies = say(message)
        transcript += [{"user": message}, *({"bot": r.get("text")} for r in replies)]
    assert reported(followups, checkin.id) == [("partly", 3, None)]
    fakes.save_transcript("checkin-teams", transcript)


# --- the web chat: pushed live to an open page, and waiting in a closed one ------------------------


def test_a_check_in_reaches_an_open_web_chat_page_live(bot, followups):
    async def conversation() -> list[dict]:
        client = WebClient(bot.url)
        session = await client.connect()
        token = session["token"]
        await client.say(token, TIME)
        await client.replies_until("Is that right?")
        await client.say(token, "/affirm", display="Yes, that's it")
        await client.replies_until("Was this useful?")
        await client.say(token, "I'll try 1, ask me in 2 weeks")
        await client.replies_until("I'll check in on")
        session_id = token.split(".")[0]
        await asyncio.to_thread(deliver, bot, followups, session_id)
        live = await client.replies_until("go?")
        transcript = [{"bot (pushed live)": m.get("text")} for m in live]
        for message in ('/inform{"checkin_choice":"done"}', "5", "nothing"):
            await client.say(token, message)
            got = await client.replies_until("anything else" if message == "nothing" else "?")
            transcript += [{"user": message}, *({"bot": m.get("text")} for m in got)]
        await client.close()
        [checkin] = followups.of_conversation(session_id, states=(ANSWERED,))
        assert [(c.progress, c.helped) for c in checkin.commitments] == [("done", 5)]
        return transcript

    transcript = asyncio.run(conversation())
    assert "Hello again" in transcript[0]["bot (pushed live)"]
    fakes.save_transcript("checkin-webchat", transcript)


def test_a_check_in_waits_in_the_page_for_the_next_visit(bot, followups, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page: Page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        log = describe_on_the_page(page, bot.url, TIME)
        page.get_by_role("button", name="Yes, that's it").click()
        page.get_by_role("button", name="I'll try some of these").click()
        page.get_by_role("button", name="All of them").click()
        page.get_by_role("button", name="In 2 weeks").click()
        expect(log).to_contain_text("If this page is closed then, the check-in will be waiting")
        session_id = page.evaluate("() => localStorage.getItem('qi-coach.session')").split(".")[0]
        page.close()  # the person closes the page

        deliver(bot, followups, session_id)

        page = context.new_page()  # and comes back on the day
        page.set_default_timeout(60_000)
        page.goto(f"{bot.url}/webhooks/webchat/")
        log = page.get_by_role("log", name="Conversation")
        expect(log.locator(".message.bot", has_text="Hello again")).to_be_visible()
        expect(page.get_by_role("button", name="Done").last).to_be_enabled()
        page.screenshot(path=SCREENSHOTS / "webchat-9-check-in-waiting.png")  # what they see on opening it
        def press(name: str, once_asked: str) -> None:
            """Press the newest button called ``name`` once the question it answers is the last one."""
            expect(log.locator(".message.bot").last).to_contain_text(once_asked)
            page.get_by_role("button", name=name, exact=True).last.click()

        press("Partly", "How did")  # the first of the three
        press("4", "Did it help?")
        press("Nothing really", "Did anything get in the way?")
        press("Not started", "How did")  # the second
        expect(log.locator(".message.bot").last).to_contain_text("What got in the way?")
        box = page.get_by_label("Your message")
        box.fill(OBSTACLE)
        box.press("Enter")
        press("Done", "How did")  # the third
        press("5 a lot", "Did it help?")
        press("Nothing really", "Did anything get in the way?")
        expect(log).to_contain_text("Would you like strategies for that?")
        page.screenshot(path=SCREENSHOTS / "webchat-10-check-in-answered.png")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download my plan").click()
        plan = open(download.value.path(), encoding="utf-8").read()
        assert "## Check-in," in plan and "partly done; helped 4 out of 5" in plan and OBSTACLE in plan
        assert "done; helped 5 out of 5" in plan
    finally:
        context.close()
    saved = UserRecords(followups.engine).latest_plan(session_id)
    assert saved is not None and "## What you're trying" in saved.markdown


def _settle(read, quiet: float = 2.0, timeout: float = 60.0) -> list:
    """``read()`` once it has stopped growing for ``quiet`` seconds (replies arrive one by one)."""
    deadline = time.monotonic() + timeout
    last, since = read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = read()
        if len(now) != len(last):
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet and last:
            return last
    return last
