"""The guided triage as multi-turn conversations against the running servers: the happy path,
every detour (skip, back, cancel, a side question, an answer that does not fit, correcting the
priorities), and the plan kept in the database across a restart."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

from knowledge.db import create_engine_for
from qi_coach.paths import PROJECT_ROOT
from qi_coach.records import UserRecords
from tests.e2e.conftest import payloads, texts

TRANSCRIPT = PROJECT_ROOT / "reports" / "triage-transcript.md"
STAGE = '/inform{"triage_choice":"testing"}'
LEVELS = '/inform{"triage_choice":"front_line"}'
STUCK = '/inform{"triage_choice":"3 to 6 months"}'
DONE = '/inform{"triage_choice":"done"}'


def records(bot) -> UserRecords:
    return UserRecords(create_engine_for(bot.env["DATABASE_URL"]))


class Conversation:
    """Says things to the bot and keeps what was said, as a user sees it."""

    def __init__(self, bot, sender):
        self.bot, self.sender, self.lines = bot, sender, []

    def say(self, text: str, shown: str | None = None) -> list[dict]:
        replies = self.bot.say(text, self.sender)
        self.lines.append(f"**You:** {shown or text}")
        for reply in replies:
            buttons = " ".join(f"[{b['title']}]" for b in reply.get("buttons") or [])
            self.lines.append(f"**qi-coach:** {reply.get('text') or ''}" + (f"\n\n{buttons}" if buttons else ""))
        return replies


def start(conversation: Conversation) -> list[dict]:
    replies = conversation.say("/start_triage", "Help me work out why my project is stuck")
    assert len(replies) == 2  # the introduction and the first question, no re-prompt
    assert replies[0]["text"].startswith("Let's work out why your project is stuck.")
    assert replies[1]["text"].startswith("What is your project trying to achieve?")
    return replies


def test_the_whole_triage_ends_in_a_plan_that_is_kept(bot, sender):
    chat = Conversation(bot, sender)
    greeting = chat.say("hello")
    assert "/start_triage" in payloads(greeting)
    start(chat)
    stage = chat.say("reduce missed doses of time-critical medicines on our stroke ward")
    assert "What stage" in texts(stage) and STAGE in payloads(stage)
    assert "Who is involved" in texts(chat.say(STAGE, "Testing changes"))
    assert "How long" in texts(chat.say(LEVELS, "Front-line staff only"))
    assert "What have you tried" in texts(chat.say(STUCK, "3 to 6 months"))
    assert "What is getting in the way" in texts(chat.say("we did a teaching session on the ward"))
    more = chat.say("the nurses are too busy to do the audits and nobody has protected time")
    assert "Anything else" in texts(more) and DONE in payloads(more)
    assert "Anything else" in texts(chat.say("and we can't get the data out of the EPR"))
    heard = chat.say(DONE, "No, that's all")
    listed = texts(heard)
    assert "most pressing first" in listed and "Is this the right order?" in listed
    assert payloads(heard) == ["/affirm", "/deny"]

    plan = chat.say("/affirm", "Yes, make my plan")
    shown = texts(plan)
    assert shown.startswith("# Your action plan\n**Aim:** reduce missed doses")
    assert shown.count("\n## ") >= 2 and "## Who else to bring in" in shown  # middle and senior missing
    assert "Middle managers" in shown and "Senior leaders and the board" in shown
    assert "*Evidence:*" in shown and "](sources#" in shown
    saved = records(bot).latest_plan(sender)
    assert saved is not None and saved.markdown in shown
    assert saved.plan["stage"] == "testing" and saved.plan["levels"] == ["front_line"]
    assert len(records(bot).confirmed_barriers(sender)) >= 2
    TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
    TRANSCRIPT.write_text("# A guided triage, as the user saw it\n\n" + "\n\n".join(chat.lines) + "\n")

    # kept: it comes back later, after a restart of the Rasa server, and from the command line
    bot.restart_rasa()
    again = texts(chat.say("show my plan"))
    assert again == saved.markdown
    exported = subprocess.run([sys.executable, "-m", "qi_coach.cli", "plan", "export", sender],
                              capture_output=True, text=True, env=bot.env, cwd=PROJECT_ROOT)
    assert exported.returncode == 0 and exported.stdout == saved.markdown + "\n"


def test_skip_back_and_an_answer_that_does_not_fit(bot, sender):
    chat = Conversation(bot, sender)
    start(chat)
    assert "What stage" in texts(chat.say("skip"))
    refused = texts(chat.say("banana"))
    assert "I didn't catch the stage" in refused and "What stage" in refused
    assert "Who is involved" in texts(chat.say("we are testing changes on one ward"))
    back = texts(chat.say("go back"))
    assert "back one question" in back and "What stage" in back
    assert "Who is involved" in texts(chat.say('/inform{"triage_choice":"planning"}'))
    assert "How long" in texts(chat.say("the nurses and our matron"))
    assert "Roughly how long" in texts(chat.say("dunno really"))


def test_a_side_question_returns_to_the_same_question(bot, sender):
    chat = Conversation(bot, sender)
    start(chat)
    chat.say("get falls risk assessments done within 24 hours of admission")
    side = texts(chat.say("what is a PDSA?"))
    assert "PDSA" in side and side.rstrip().endswith("What stage is the project at?")
    assert "Who is involved" in texts(chat.say(STAGE))


def test_cancel_keeps_nothing(bot, sender):
    chat = Conversation(bot, sender)
    start(chat)
    chat.say("improve discharge before noon on the medical wards")
    chat.say(STAGE)
    cancelled = chat.say("cancel")
    assert "kept none of it" in texts(cancelled) and "/start_triage" in payloads(cancelled)
    assert records(bot).latest_plan(sender) is None
    assert "don't have a plan yet" in texts(chat.say("show my plan"))
    # and an ordinary description works as before
    assert "Is that right?" in texts(chat.say("the consultants won't come to our project meetings"))
    # starting again begins at the first question, with nothing remembered
    restarted = start(chat)
    assert "What is your project trying to achieve?" in texts(restarted)


def test_the_priorities_can_be_corrected_before_the_plan(bot, sender):
    chat = Conversation(bot, sender)
    start(chat)
    for answer in ("cut waiting times for our memory clinic", "skip", "skip", "skip", "nothing yet",
                   "our team never has time for the project because clinics overrun"):
        chat.say(answer)
    listed = chat.say(DONE)
    assert "Is this the right order?" in texts(listed)
    choices = chat.say("/deny", "Change the order")
    assert "Which barrier matters most?" in texts(choices)
    pick = next(p for p in payloads(choices) if "management_support" in p)
    reordered = texts(chat.say(pick, "Managers and leaders not backing it"))
    first_line = [line for line in reordered.splitlines() if line.startswith("1. ")][0]
    assert first_line == "1. **Managers and leaders not backing it**"
    plan = texts(chat.say("/affirm"))
    assert "## 1. Managers and leaders not backing it" in plan
    assert records(bot).latest_plan(sender).plan["barriers"][0]["barrier"] == "management_support"


def test_the_web_page_downloads_the_plan_only_for_its_own_session(bot):
    from qi_coach.channels.webchat_sessions import SessionSigner, WebChatSessions

    sessions = WebChatSessions(SessionSigner(bot.env["QI_COACH_WEBCHAT_SECRET"].encode()),
                               create_engine_for(bot.env["DATABASE_URL"]))
    session_id, token = sessions.start()
    plan = {"barriers": [], "level_asks": []}
    records(bot).save_plan(session_id, plan, "# Your action plan\n**Aim:** test")

    def download(headers: dict) -> tuple[int, bytes, str]:
        request = urllib.request.Request(f"{bot.url}/webhooks/webchat/plan", headers=headers)
        try:
            with urllib.request.urlopen(request) as reply:
                return reply.status, reply.read(), reply.headers.get("Content-Disposition", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), ""

    status, body, disposition = download({"X-Session-Token": token})
    assert status == 200 and body.decode() == "# Your action plan\n**Aim:** test\n"
    assert "qi-coach-action-plan.md" in disposition
    assert download({})[0] == 401
    assert download({"X-Session-Token": f"{session_id}.forged.x"})[0] == 401
    _, other_token = sessions.start()
    status, body, _ = download({"X-Session-Token": other_token})
    assert status == 404 and "no action plan yet" in json.loads(body)["error"]
