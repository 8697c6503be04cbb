"""Slack, end to end: signed Events API and interactivity payloads to the real Rasa server;
a stand-in for Slack's Web API on loopback records what the bot posts back."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import urlencode

import pytest

from tests.e2e import fakes
from tests.e2e.conftest import PUBLIC_URL

WEBHOOK = "/webhooks/slack/webhook"
DESCRIPTION = "the consultants won't come to the meetings and we can't get data out of the EPR"


def event(text: str, *, channel: str, user: str = "U0NURSE", kind: str = "message", channel_type: str = "im",
          thread_ts: str | None = None, event_id: str | None = None) -> dict:
    inner = {"type": kind, "user": user, "text": text, "channel": channel, "channel_type": channel_type,
             "ts": f"{time.time():.6f}"}
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return {"type": "event_callback", "team_id": "T0TRUST", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
            "event": inner, "authorizations": [{"user_id": "U0BOT", "is_bot": True}]}


def post_event(bot, body: dict, **signing) -> tuple[int, bytes]:
    raw = json.dumps(body).encode()
    return bot.post_raw(raw, WEBHOOK, fakes.slack_headers(raw, **signing))


def press(bot, button: dict, *, channel: str, user: str = "U0NURSE", thread_ts: str | None = None) -> int:
    message = {"ts": f"{time.time():.6f}", **({"thread_ts": thread_ts} if thread_ts else {})}
    payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": channel}, "message": message,
               "trigger_id": uuid.uuid4().hex,
               "actions": [{"type": "button", "action_id": button["action_id"], "value": button["value"],
                            "text": button["text"], "action_ts": f"{time.time():.6f}"}]}
    raw = urlencode({"payload": json.dumps(payload)}).encode()
    status, _ = bot.post_raw(raw, WEBHOOK, fakes.slack_headers(raw, content_type="application/x-www-form-urlencoded"))
    return status


def posts_to(slack_api, channel: str, count: int) -> list[dict]:
    """What the bot posted to a Slack channel, once there are ``count`` posts (or after 60 s)."""
    found = slack_api.wait_for("POST", "/api/chat.postMessage", count, where=lambda r: r.json()["channel"] == channel)
    return [r.json() for r in found]


def posted(slack_api, channel: str) -> list[dict]:
    """What the bot has posted to a Slack channel so far."""
    return [r.json() for r in slack_api.received("POST", "/api/chat.postMessage") if r.json()["channel"] == channel]


def buttons_of(post: dict) -> list[dict]:
    return [e for b in post.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def section_text(post: dict) -> str:
    return "\n".join(b["text"]["text"] for b in post.get("blocks", []) if b["type"] == "section")


def fresh_channel(prefix: str = "D") -> str:
    return prefix + uuid.uuid4().hex[:8].upper()


def test_slack_url_verification_echoes_the_challenge(bot):
    status, body = post_event(bot, {"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    assert status == 200 and json.loads(body)["challenge"].startswith("3eZbrw1a")


@pytest.mark.parametrize("secret, age", [
    ("not-the-signing-secret", 0),  # forged
    (fakes.SLACK_SECRET, 6 * 60),  # stale: signed over five minutes ago
    (fakes.SLACK_SECRET, -6 * 60),  # dated in the future
], ids=["forged", "stale", "future"])
def test_slack_requests_with_a_bad_signature_get_401_and_reach_no_conversation(bot, slack_api, secret, age):
    channel = fresh_channel()
    status, _ = post_event(bot, event("hello", channel=channel), secret=secret, timestamp=int(time.time()) - age)
    assert status == 401
    time.sleep(1)
    assert posted(slack_api, channel) == []


def test_slack_requests_without_a_signature_get_401(bot):
    raw = json.dumps(event("hello", channel=fresh_channel())).encode()
    assert bot.post_raw(raw, WEBHOOK, {"Content-Type": "application/json"})[0] == 401


def test_slack_malformed_bodies_get_400(bot):
    for raw, content_type in ((b"{not json", "application/json"), (b"[1, 2]", "application/json"),
                              (b"payload=%7Bbroken", "application/x-www-form-urlencoded"),
                              (b"hello", "text/plain")):
        status, _ = bot.post_raw(raw, WEBHOOK, fakes.slack_headers(raw, content_type=content_type))
        assert status == 400, raw


def test_a_slack_conversation_in_a_dm_uses_block_kit_and_buttons(bot, slack_api):
    channel = fresh_channel()
    assert post_event(bot, event(DESCRIPTION, channel=channel))[0] == 200
    [reading] = posts_to(slack_api, channel, 1)
    assert "thread_ts" not in reading  # a direct message is answered in the DM itself
    assert "Is that right?" in section_text(reading) and "*" in section_text(reading)  # mrkdwn bold
    assert [b["value"] for b in buttons_of(reading)] == ["/affirm", "/deny"]
    assert reading["text"] and "**" not in reading["text"]  # plain fallback for notifications

    yes = next(b for b in buttons_of(reading) if b["value"] == "/affirm")
    assert press(bot, yes, channel=channel) == 200
    posts = posts_to(slack_api, channel, 7)
    fakes.save_transcript("slack-conversation", [
        {"user": DESCRIPTION}, {"bot posted": reading}, {"user pressed": yes["text"]["text"]},
        *({"bot posted": p} for p in posts[1:])])
    cards = [section_text(p) for p in posts if re.match(r"\*\d\. ", section_text(p))]
    assert len(cards) == 3
    for card in cards:
        assert "_Evidence:_" in card and "**" not in card
        assert f"<{PUBLIC_URL}/webhooks/webchat/sources#" in card  # evidence links, made absolute
    assert any(buttons_of(p) for p in posts[1:])


def test_a_slack_retry_of_the_same_event_is_acknowledged_but_not_answered_twice(bot, slack_api):
    channel = fresh_channel()
    body = event("hello", channel=channel)
    assert post_event(bot, body)[0] == 200
    posts_to(slack_api, channel, 1)
    raw = json.dumps(body).encode()
    headers = {**fakes.slack_headers(raw), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    assert bot.post_raw(raw, WEBHOOK, headers)[0] == 200
    time.sleep(3)
    assert len(posted(slack_api, channel)) == 1


def test_a_mention_in_a_channel_is_answered_in_a_thread_that_then_needs_no_mention(bot, slack_api):
    channel = fresh_channel("C")
    mention = event(f"<@U0BOT> {DESCRIPTION}", channel=channel, kind="app_mention", channel_type="channel")
    assert post_event(bot, mention)[0] == 200
    [reading] = posts_to(slack_api, channel, 1)
    thread = mention["event"]["ts"]
    assert reading["thread_ts"] == thread

    # the same text also arrives as a plain channel message: not answered twice
    duplicate = event(f"<@U0BOT> {DESCRIPTION}", channel=channel, channel_type="channel")
    assert post_event(bot, duplicate)[0] == 200
    # chatter elsewhere in the channel is not for the bot
    assert post_event(bot, event("lunch anyone?", channel=channel, channel_type="channel"))[0] == 200
    # a reply in the bot's thread, without a mention, continues the conversation
    assert post_event(bot, event("yes", channel=channel, channel_type="channel", thread_ts=thread))[0] == 200
    posts = posts_to(slack_api, channel, 7)
    time.sleep(2)  # anything answered twice would have arrived by now
    posts = posted(slack_api, channel)
    assert len(posts) == 7
    assert all(p.get("thread_ts") == thread for p in posts)
    assert sum(bool(re.match(r"\*1\. ", section_text(p))) for p in posts) == 1  # strategies once, in the thread


def test_a_slack_message_over_the_limit_gets_a_clear_reply_and_reaches_no_conversation(bot, slack_api):
    channel = fresh_channel()
    assert post_event(bot, event("we have no time " * 400, channel=channel))[0] == 200  # 6,400 characters
    [reply] = posts_to(slack_api, channel, 1)
    assert "very long" in reply["text"] and "5,000" in reply["text"]
    time.sleep(2)
    assert len(posted(slack_api, channel)) == 1  # nothing else: the message never reached the assistant
