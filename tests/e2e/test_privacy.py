"""Safe with what NHS staff type, against the real servers: identifying details never reach a
table or a log, whatever the channel; oversized and too-frequent requests are refused; Teams
serves its own tenant only; web sessions end when asked; a person can delete their data; and
when part of the system is down the person is told, and nothing stored is corrupted."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import socketio

from qi_coach.channels import intake
from tests.e2e.conftest import PUBLIC_URL, RATE_PER_CONVERSATION, texts
from tests.e2e.test_slack import WEBHOOK as SLACK_WEBHOOK
from tests.e2e.test_slack import event, fresh_channel, post_event, posted, posts_to, section_text
from tests.e2e.test_teams import WEBHOOK as TEAMS_WEBHOOK
from tests.e2e.test_teams import conversation, replies, send
from tests.e2e.test_webchat import WebClient, run

# What a member of staff might paste, in the forms people write it.
DETAILS = {
    "NHS number": ("943 476 5919", "9434765919"),
    "phone": ("07700 900123", "07700900123"),
    "email": ("jo.bloggs@nhs.net",),
    "postcode": ("LS1 4AP",),
    "name": ("Mrs Patel",),
    "date of birth": ("03/04/1951",),
}
PASTED = ("Mrs Patel (NHS 943 476 5919, DOB 03/04/1951, LS1 4AP) fell again; the consultants won't come "
          "to the falls meeting. Ring me on 07700 900123 or email jo.bloggs@nhs.net")


def sqlite_file(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def everything_stored_and_logged(bot) -> str:
    """Every row of every table of both databases, and every log line, as one text."""
    dump = []
    for url in (bot.env["DATABASE_URL"], bot.env["TRACKER_DATABASE_URL"]):
        with sqlite3.connect(sqlite_file(url)) as db:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                dump += [repr(row) for row in db.execute(f'SELECT * FROM "{table}"')]  # noqa: S608
    dump += [path.read_text(errors="replace") for path in (bot.folder / "logs").glob("*.log*")]
    return "\n".join(dump)


def leaked(bot) -> list[str]:
    stored = everything_stored_and_logged(bot)
    flat = stored.replace("\\/", "/")
    return [f"{kind}: {form}" for kind, forms in DETAILS.items() for form in forms
            if form in stored or form in flat]


def test_details_typed_in_every_channel_are_redacted_before_anything_keeps_them(bot, slack_api, microsoft):
    # REST
    rest_sender = f"privacy-{uuid.uuid4().hex[:8]}"
    rest = texts(bot.say(PASTED, rest_sender))
    assert "I've taken a name, an NHS number, a date of birth, a postcode, a phone number and an email " \
           "address out of your message" in rest
    assert "Is that right?" in rest or "Is it mainly one of these?" in rest  # the description is still read
    assert "taken" not in texts(bot.say("07700 900123 is my bleep now", rest_sender))  # told once

    # web chat
    async def web():
        tab = WebClient(bot.url)
        token = (await tab.connect())["token"]
        await tab.say(token, PASTED)
        got = await tab.replies_until("?")  # the reading, checked with the person
        await tab.close()
        return got

    web_replies = run(web())
    assert "out of your message" in web_replies[0]["text"]

    # Slack
    channel = fresh_channel()
    assert post_event(bot, event(PASTED, channel=channel))[0] == 200
    first = posts_to(slack_api, channel, 2)
    assert "out of your message" in section_text(first[0])

    # Teams
    conv = conversation()
    assert send(bot, microsoft.activity(PASTED, conv), microsoft.token()) == 200
    assert "out of your message" in replies(microsoft, conv, 2)[0]["text"]

    time.sleep(1)  # the last turn's save
    assert leaked(bot) == []
    assert "[NHS number]" in everything_stored_and_logged(bot)  # what was kept is the redacted text


def test_every_webhook_refuses_an_oversized_body_with_413_before_reading_it(bot):
    body = b'{"sender": "big", "message": "' + b"x" * (70 * 1024) + b'"}'
    for path in ("/webhooks/rest/webhook", SLACK_WEBHOOK, TEAMS_WEBHOOK, "/webhooks/webchat/forget"):
        status, _ = bot.post_raw(body, path)
        assert status == 413, path
    assert bot.say("hello", "after-413")  # still answering


def test_a_conversation_sending_faster_than_a_person_gets_429_and_a_friendly_reply(bot):
    sender = f"fast-{uuid.uuid4().hex[:8]}"
    limit = int(RATE_PER_CONVERSATION.split("/")[0])
    statuses = [bot.post_raw(json.dumps({"sender": sender, "message": "/greet"}).encode())[0]
                for _ in range(limit)]
    assert set(statuses) == {200}
    status, body = bot.post_raw(json.dumps({"sender": sender, "message": "/greet"}).encode())
    assert status == 429 and json.loads(body) == [{"recipient_id": sender, "text": intake.RATE_LIMITED}]
    assert bot.say("hello", f"other-{sender}")  # other conversations are not held up


def test_teams_serves_only_msteams_and_only_the_configured_tenant_and_handles_a_replay_once(bot, microsoft):
    token = microsoft.token()
    conv = conversation()
    other_channel = microsoft.activity("hello", conv, channelId="webchat")  # the key endorses it, but no
    assert send(bot, other_channel, token) == 403
    other_tenant = microsoft.activity("hello", conv)
    other_tenant["conversation"]["tenantId"] = "99999999-0000-0000-0000-000000000000"
    assert send(bot, other_tenant, token) == 403
    assert microsoft.replies(conv) == []

    replayed = microsoft.activity("hello", conv)
    assert send(bot, replayed, token) == 200
    answered = len(replies(microsoft, conv, 1))
    assert send(bot, replayed, token) == 200  # the same activity id again
    time.sleep(2)
    assert len(microsoft.replies(conv)) == answered


def test_a_page_on_another_origin_cannot_open_the_chat(bot):
    async def connect(origin: str) -> bool:
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(bot.url, socketio_path="/socket.io", transports=["polling"],
                                 headers={"Origin": origin})
        except socketio.exceptions.ConnectionError:
            return False
        await client.eio.disconnect(abort=True)
        return True

    assert not run(connect("https://attacker.example"))
    assert run(connect(PUBLIC_URL))
    assert run(connect(bot.url))  # the page's own origin


def test_start_a_new_conversation_revokes_the_old_session_on_the_server(bot):
    async def scenario():
        tab = WebClient(bot.url)
        old = (await tab.connect())["token"]
        await tab.sio.emit("session_request", {"token": old, "restart": True})
        event_name, fresh = await tab.next()
        while event_name != "session_confirm":
            event_name, fresh = await tab.next()
        await tab.say(old, "the old session")
        refused = await tab.quiet()
        await tab.close()
        again = WebClient(bot.url)
        resumed = await again.connect(old)  # a copy of the old token kept elsewhere
        await again.close()
        return old, fresh, refused, resumed

    old, fresh, refused, resumed = run(scenario())
    assert fresh["token"] != old and fresh["history"] == []
    assert [(name, data.get("reason")) for name, data in refused] == [("error_message", "revoked")]
    assert resumed["token"] != old and resumed["history"] == [] and resumed["ended"] == "revoked"


def conversation_events(bot, sender: str) -> list[dict]:
    with sqlite3.connect(sqlite_file(bot.env["TRACKER_DATABASE_URL"])) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    return [json.loads(row[0]) for row in rows]


def test_delete_my_data_in_chat_deletes_the_conversation_and_its_records(bot, sender):
    bot.say("we never have time, the rota is impossible", sender)
    bot.say("yes", sender)
    assert conversation_events(bot, sender) and records_of(bot).confirmed_barriers(sender)
    ask = bot.say("delete my data", sender)
    assert intake.FORGET_ASK in texts(ask)
    assert texts(bot.say(intake.FORGET_CONFIRM, sender)) == intake.FORGOTTEN
    assert conversation_events(bot, sender) == []
    assert records_of(bot).confirmed_barriers(sender) == []
    assert texts(bot.say("hello", sender)).strip()  # a fresh start, with nothing of the old one
    assert "rota" not in json.dumps(conversation_events(bot, sender))


def records_of(bot):
    from knowledge.db import create_engine_for
    from qi_coach.records import UserRecords

    return UserRecords(create_engine_for(bot.env["DATABASE_URL"]))


def test_the_pages_delete_button_deletes_the_conversation_and_ends_the_session(bot):
    async def scenario():
        tab = WebClient(bot.url)
        token = (await tab.connect())["token"]
        await tab.say(token, "we never have time, the rota is impossible")
        await tab.replies_until("Is that right?")
        request = urllib.request.Request(f"{bot.url}/webhooks/webchat/forget", data=b"", method="POST",
                                         headers={"X-Session-Token": token})
        with urllib.request.urlopen(request) as reply:
            deleted = json.loads(reply.read())
        await tab.say(token, "still there?")
        refused = await tab.quiet()
        await tab.close()
        return token.split(".")[0], deleted, refused

    session_id, deleted, refused = run(scenario())
    assert deleted["deleted"]["events"] > 0
    assert conversation_events(bot, session_id) == []
    assert ("session_ended", {"reason": "deleted"}) in refused
    assert any(name == "error_message" and data["reason"] == "revoked" for name, data in refused)


def test_with_the_action_server_down_the_person_is_told_within_ten_seconds(bot, sender):
    bot.stop_actions()
    try:
        started = time.monotonic()
        reply = texts(bot.say("the consultants won't come to the meetings", sender))
        elapsed = time.monotonic() - started
    finally:
        bot.start_actions()
    assert intake.ACTIONS_FAILED in reply and elapsed < 10
    later = texts(bot.say("the consultants won't come to the meetings", sender))
    assert "Is that right?" in later  # the message was kept and the conversation goes on


def test_a_conversation_store_fault_mid_triage_is_reported_and_leaves_a_valid_prefix(bot, sender):
    from tests.e2e.conftest import payloads

    first = bot.say("/start_triage", sender)
    assert payloads(first) or texts(first)
    bot.say("we never have time and the consultants won't come", sender)
    stored_before = conversation_events(bot, sender)
    db = sqlite3.connect(sqlite_file(bot.env["TRACKER_DATABASE_URL"]))
    db.execute("ALTER TABLE events RENAME TO events_offline")
    db.commit()
    try:
        during = texts(bot.say("and the data is impossible to get", sender))
    finally:
        db.execute("ALTER TABLE events_offline RENAME TO events")
        db.commit()
        db.close()
    assert during == intake.STORE_FAILED
    assert conversation_events(bot, sender) == stored_before  # nothing spliced, nothing lost
    after = bot.say("and the data is impossible to get", sender)
    assert texts(after).strip()
    events = conversation_events(bot, sender)
    assert events[:len(stored_before)] == stored_before
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps) and len({json.dumps(e, sort_keys=True) for e in events}) == len(events)
    assert [e["event"] for e in events].count("session_started") == 1  # no fresh conversation spliced in


@pytest.mark.parametrize("failures", [1, 5])
def test_a_slack_reply_that_fails_to_send_never_loses_the_persons_turn(bot, slack_api, failures):
    route = ("POST", "/api/chat.postMessage")
    working = slack_api.routes[route]
    count = {"n": 0}

    def flaky(record):
        count["n"] += 1
        return (503, {"ok": False, "error": "service_unavailable"}) if count["n"] <= failures else working(record)

    channel = fresh_channel()
    sender = f"slack:U0NURSE:{channel}"
    slack_api.routes[route] = flaky
    try:
        assert post_event(bot, event("we never have time for QI", channel=channel))[0] == 200
        deadline = time.monotonic() + 30
        stored: list[str] = []
        while "bot" not in stored and time.monotonic() < deadline:  # saved at the end of the turn
            time.sleep(0.5)
            stored = [e["event"] for e in conversation_events(bot, sender)]
    finally:
        slack_api.routes[route] = working
    assert "user" in stored and "bot" in stored  # the turn was kept, replies and all
    if failures == 1:
        assert posts_to(slack_api, channel, 1)  # retried and delivered


def test_a_slack_event_whose_server_stopped_mid_way_is_handled_when_slack_retries(bot, slack_api):
    from datetime import datetime, timezone

    from sqlalchemy import insert

    from knowledge.db import create_engine_for
    from qi_coach.channels.dedupe import STALE_AFTER, ChannelEvent

    event_id = f"Ev{uuid.uuid4().hex[:10]}"
    lost_at = datetime.now(timezone.utc) - STALE_AFTER * 2  # claimed, never completed: that server died
    with create_engine_for(bot.env["DATABASE_URL"]).begin() as conn:
        conn.execute(insert(ChannelEvent).values(channel="slack", event_id=event_id, received_at=lost_at))
    channel = fresh_channel()
    assert post_event(bot, event("we never have time for QI", channel=channel, event_id=event_id))[0] == 200
    answered = len(posts_to(slack_api, channel, 1))
    assert answered >= 1
    assert post_event(bot, event("we never have time for QI", channel=channel, event_id=event_id))[0] == 200
    time.sleep(2)
    assert len(posted(slack_api, channel)) == answered  # handled once, not again on the next retry


def test_what_the_servers_write_is_readable_by_their_user_only(bot):
    written = [sqlite_file(bot.env["TRACKER_DATABASE_URL"]), *(bot.folder / "logs").glob("*.log")]
    assert written and all((path.stat().st_mode & 0o777) == 0o600 for path in written), \
        {path.name: oct(path.stat().st_mode & 0o777) for path in written}


def test_a_teams_reply_the_connector_refuses_never_loses_the_persons_turn(bot, microsoft):
    conv = conversation()
    route = ("POST", "/v3/conversations/")
    working = microsoft.service.routes[route]
    count = {"n": 0}

    def flaky(record):
        if f"/v3/conversations/{conv}/" not in record.path:
            return working(record)
        count["n"] += 1
        return (502, {"error": "bad gateway"}) if count["n"] == 1 else working(record)

    microsoft.service.routes[route] = flaky
    try:
        assert send(bot, microsoft.activity("we never have time for QI", conv), microsoft.token()) == 200
    finally:
        microsoft.service.routes[route] = working
    assert count["n"] >= 2 and replies(microsoft, conv, 2)  # the refused reply was sent again
    stored = [e["event"] for e in conversation_events(bot, conversation_id_of(conv))]
    assert "user" in stored and "bot" in stored


def conversation_id_of(teams_conversation: str) -> str:
    return f"teams:{teams_conversation}:aad-29:user-one"
