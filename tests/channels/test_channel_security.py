"""The checks each channel makes before a message reaches a conversation."""

from __future__ import annotations

import hashlib
import hmac
import time

from qi_coach.channels.slack import verify_signature
from qi_coach.channels.teams import host_allowed
from qi_coach.channels.webchat import history_messages
from qi_coach.channels.webchat_sessions import SessionSigner

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


def test_slack_signatures_must_match_and_be_fresh():
    body, now = b'{"type":"event_callback"}', int(time.time())
    assert verify_signature(SECRET, str(now), sign(body, now), body)
    assert not verify_signature(SECRET, str(now), sign(body, now, "another secret"), body)
    assert not verify_signature(SECRET, str(now), sign(body, now), body + b" ")
    assert not verify_signature(SECRET, str(now - 301), sign(body, now - 301), body)
    assert not verify_signature(SECRET, "not a number", sign(body, now), body)
    assert not verify_signature(SECRET, None, None, body)
    assert not verify_signature("", str(now), sign(body, now, ""), body)  # no secret configured: nothing passes


def test_web_sessions_are_issued_by_the_server_and_cannot_be_forged():
    signer = SessionSigner(b"s" * 48)
    session_id, token = signer.issue()
    assert signer.verify(token) == session_id
    other_id, _ = signer.issue()
    assert other_id != session_id and len(session_id) >= 36
    _, key_id, signature = token.split(".")
    assert signer.verify(f"{other_id}.{key_id}.{signature}") is None  # another id with this signature
    assert SessionSigner(b"t" * 48).verify(token) is None  # signed with another secret
    for bad in (None, "", 42, {"token": token}, token + ".x", session_id, "x" * 500):
        assert signer.verify(bad) is None


def test_the_history_shows_what_the_user_saw():
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "/greet", "metadata": {}},
        {"event": "bot", "text": "Hello, I'm qi-coach.", "data": {}},
        {"event": "user", "text": "no time for QI", "metadata": {}},
        {"event": "bot", "text": "Is that right?", "data": {"buttons": [{"title": "Yes", "payload": "/affirm"}]}},
        {"event": "user", "text": "/affirm", "metadata": {"display": "Yes"}},
    ]
    assert history_messages(events) == [
        {"from": "bot", "text": "Hello, I'm qi-coach.", "buttons": []},
        {"from": "user", "text": "no time for QI"},
        {"from": "bot", "text": "Is that right?", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
        {"from": "user", "text": "Yes"},
    ]
    assert len(history_messages(events * 100, limit=10)) == 10


def test_teams_replies_go_only_to_microsoft_hosts_over_https():
    hosts = ("smba.trafficmanager.net", "*.botframework.com")
    assert host_allowed("https://smba.trafficmanager.net/emea/", hosts)
    assert host_allowed("https://europe.webchat.botframework.com/", hosts)
    assert not host_allowed("http://smba.trafficmanager.net/emea/", hosts)  # not over https
    assert not host_allowed("https://botframework.com.evil.example/", hosts)
    assert not host_allowed("https://evilbotframework.com/", hosts)
    assert not host_allowed("ftp://smba.trafficmanager.net/", hosts)
    assert not host_allowed("", hosts)
    assert host_allowed("http://127.0.0.1:8123/", ("127.0.0.1",))  # loopback (tests) may be plain http


def test_the_sources_page_escapes_knowledge_content():
    from knowledge.repository import SourceRef
    from qi_coach.channels.sources_page import sources_html

    class Store:
        def sources(self):
            return [SourceRef('x"><script>alert(1)</script>', "<b>Evil</b> 2020",
                              "A <img src=x onerror=alert(1)> citation.", "000_<script>.txt",
                              venue="<i>Journal</i>", url='https://example.org/"><script>x</script>',
                              details="<u>vol 1</u>")]

    page = sources_html(Store())
    assert "<script>" not in page and "<img" not in page and "<b>Evil" not in page
    assert "<i>" not in page and "<u>" not in page and "000_" not in page  # the file name is never shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and 'id="x&quot;&gt;&lt;script&gt;' in page
