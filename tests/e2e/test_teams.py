"""Microsoft Teams, end to end: Bot Framework activities with tokens signed by a key the tests
made, sent to the real Rasa server; local stand-ins serve the OpenID metadata and keys, the
tenant's token endpoint and the Bot Connector service that records the bot's replies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization

from tests.e2e import fakes
from tests.e2e.conftest import PUBLIC_URL

WEBHOOK = "/webhooks/teams/webhook"
DESCRIPTION = "the consultants won't come to the meetings and we can't get data out of the EPR"


def send(bot, activity: dict, token: str | None) -> int:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return bot.post_raw(json.dumps(activity).encode(), WEBHOOK, headers)[0]


def conversation() -> str:
    return f"a:1{uuid.uuid4().hex}"


def replies(microsoft, conv: str, count: int) -> list[dict]:
    return [r.json() for r in microsoft.service.wait_for("POST", f"/v3/conversations/{conv}/activities", count)]


def test_a_teams_conversation_with_hero_card_buttons_and_markdown(bot, microsoft):
    conv = conversation()
    assert send(bot, microsoft.activity(DESCRIPTION, conv), microsoft.token()) == 200
    [reading] = replies(microsoft, conv, 1)
    assert reading["textFormat"] == "markdown" and "Is that right?" in reading["text"]
    assert reading["conversation"]["id"] == conv and reading["recipient"]["id"] == "29:user-one"
    [card] = reading["attachments"]
    assert card["contentType"] == "application/vnd.microsoft.card.hero"
    buttons = card["content"]["buttons"]
    assert [b["type"] for b in buttons] == ["messageBack", "messageBack"]
    assert [b["text"] for b in buttons] == ["/affirm", "/deny"] and buttons[0]["displayText"] == buttons[0]["title"]

    # the user presses "Yes": Teams sends the button's text as the message
    yes = buttons[0]
    assert send(bot, microsoft.activity(yes["text"], conv, value=yes["value"]), microsoft.token()) == 200
    shown = replies(microsoft, conv, 7)
    fakes.save_transcript("teams-conversation", [
        {"user": DESCRIPTION}, {"bot replied": reading}, {"user pressed": yes["title"]},
        *({"bot replied": r} for r in shown[1:])])
    cards = [r["text"] for r in shown if re.match(r"\*\*\d\. ", r.get("text") or "")]
    assert len(cards) == 3
    for text in cards:
        assert "\n\n*Evidence:*" in text  # one paragraph per line, as Teams needs
        assert f"]({PUBLIC_URL}/webhooks/webchat/sources#" in text

    # replies were sent with the bot's own token, fetched from the tenant's endpoint
    sent = microsoft.replies(conv)
    assert all(r.headers.get("Authorization") == f"Bearer {fakes.OUTBOUND_TOKEN}" for r in sent)
    [token_request] = microsoft.service.received("POST", f"/{fakes.TEAMS_TENANT}/oauth2/v2.0/token")[:1]
    assert token_request.form()["scope"] == "https://api.botframework.com/.default"


def test_a_mention_of_the_bot_in_a_channel_is_not_read_as_part_of_the_message(bot, microsoft):
    conv = conversation()
    activity = microsoft.activity("<at>qi-coach</at> hello", conv, entities=[
        {"type": "mention", "text": "<at>qi-coach</at>", "mentioned": {"id": "28:qi-coach-bot", "name": "qi-coach"}}])
    assert send(bot, activity, microsoft.token()) == 200
    [greeting] = replies(microsoft, conv, 1)
    assert "quality-improvement" in greeting["text"]


@pytest.mark.parametrize("case", ["missing", "wrong audience", "wrong issuer", "expired", "unsigned",
                                  "another key", "unknown key", "HS256 with the public key"])
def test_teams_requests_without_a_valid_token_get_401_and_reach_no_conversation(bot, microsoft, case):
    conv = conversation()
    tokens = {
        "missing": None,
        "wrong audience": microsoft.token(audience="some-other-bot"),
        "wrong issuer": microsoft.token(issuer="https://login.evil.example"),
        "expired": microsoft.token(expires_in=-3600),
        "unsigned": microsoft.token(algorithm="none"),
        "another key": microsoft.token(key=microsoft.other_key),
        "unknown key": microsoft.token(key=microsoft.other_key, kid="not-microsofts"),
        "HS256 with the public key": _hs256_confusion(microsoft),
    }
    assert send(bot, microsoft.activity("hello", conv), tokens[case]) == 401
    assert microsoft.replies(conv) == []


def test_a_reply_address_the_token_does_not_vouch_for_is_refused(bot, microsoft):
    conv = conversation()
    activity = microsoft.activity("hello", conv)
    # the token names the real service; the body asks for replies to go elsewhere
    token = microsoft.token(service_url="https://smba.trafficmanager.net/emea/")
    assert send(bot, activity, token) == 401
    # without a claim, the address must be an allowed host (here only loopback is)
    activity["serviceUrl"] = "https://attacker.example/"
    assert send(bot, activity, microsoft.token()) == 401
    assert microsoft.replies(conv) == []
    # with a claim that matches, the reply goes out
    good = microsoft.activity("hello", conv)
    assert send(bot, good, microsoft.token(service_url=good["serviceUrl"])) == 200
    assert replies(microsoft, conv, 1)


def test_malformed_teams_requests_are_refused_cleanly(bot, microsoft):
    token = microsoft.token()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    assert bot.post_raw(b"{not json", WEBHOOK, headers)[0] == 400
    assert bot.post_raw(b"{not json", WEBHOOK, {"Content-Type": "application/json"})[0] == 401
    no_conversation = microsoft.activity("hello", conversation())
    del no_conversation["conversation"]
    assert send(bot, no_conversation, token) == 400
    # activities that are not messages (someone added the bot...) are acknowledged quietly
    update = {**microsoft.activity("", conversation()), "type": "conversationUpdate"}
    assert send(bot, update, token) == 200


def _hs256_confusion(microsoft) -> str:
    """A token "signed" with HS256 using the public key as the secret: the classic algorithm
    confusion attack; the connector must accept RS256 only."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": microsoft.kid}).encode())
    now = int(time.time())
    claims = b64(json.dumps({"aud": fakes.TEAMS_APP_ID, "iss": fakes.TEAMS_ISSUER, "exp": now + 600}).encode())
    secret = microsoft.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    signature = hmac.new(secret, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


def test_a_teams_message_over_the_limit_gets_a_clear_reply_and_reaches_no_conversation(bot, microsoft):
    conv = conversation()
    assert send(bot, microsoft.activity("we have no time " * 400, conv), microsoft.token()) == 200
    [reply] = replies(microsoft, conv, 1)
    assert "very long" in reply["text"] and "5,000" in reply["text"]
    time.sleep(2)
    assert len(microsoft.replies(conv)) == 1
