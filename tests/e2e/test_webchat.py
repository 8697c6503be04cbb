"""The web chat's socket.io channel against the real Rasa server: server-issued signed
sessions, refusal of forged or borrowed tokens, and the history replayed on reconnect."""

from __future__ import annotations

import asyncio
import urllib.request

import socketio

from qi_coach.channels.webchat_sessions import SESSION_PREFIX

DESCRIPTION = "the consultants won't come to the meetings and we can't get data out of the EPR"


class WebClient:
    """One browser tab, speaking the page's protocol (web/chat.js)."""

    def __init__(self, url: str):
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue = asyncio.Queue()
        for event in ("session_confirm", "received", "bot_uttered", "error_message", "session_ended"):
            self.sio.on(event, self._collector(event))

    def _collector(self, event: str):
        async def collect(data):
            await self.inbox.put((event, data))
        return collect

    async def connect(self, token: str | None = None) -> dict:
        # long-polling: the engine.io client's websocket transport needs a newer aiohttp than Rasa pins
        await self.sio.connect(self.url, socketio_path="/socket.io", transports=["polling"])
        await self.sio.emit("session_request", {"token": token})
        event, data = await self.next()
        assert event == "session_confirm"
        return data

    async def say(self, token: str, text: str, display: str | None = None, message_id: str | None = None) -> None:
        await self.sio.emit("user_uttered", {"token": token, "message": text, "display": display, "id": message_id})

    async def next(self, timeout: float = 60) -> tuple[str, dict]:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def replies_until(self, needle: str) -> list[dict]:
        got = []
        while True:
            event, data = await self.next()
            assert event == "bot_uttered", (event, data)
            got.append(data)
            if needle in (data.get("text") or ""):
                return got

    async def quiet(self, seconds: float = 2.0) -> list:
        await asyncio.sleep(seconds)
        got = []
        while not self.inbox.empty():
            got.append(self.inbox.get_nowait())
        return got

    async def close(self) -> None:
        # abort: a polite disconnect waits for the open long-poll (up to the 25 s ping interval)
        await self.sio.eio.disconnect(abort=True)


def run(coroutine):
    return asyncio.run(coroutine)


def test_the_page_is_served_with_a_strict_content_security_policy(bot):
    with urllib.request.urlopen(f"{bot.url}/webhooks/webchat/") as reply:
        page = reply.read().decode()
        policy = reply.headers["Content-Security-Policy"]
    assert "<title>qi-coach" in page and 'aria-label="Conversation"' in page
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    with urllib.request.urlopen(f"{bot.url}/webhooks/webchat/sources") as reply:
        sources = reply.read().decode()
    assert 'id="seed_002"' in sources and "Pannick et al. 2016, BMJ Quality &amp; Safety" in sources
    assert 'href="https://qualitysafety.bmj.com/content/25/9/716"' in sources  # a link a reader can follow
    assert "002_4fc24f89e94075fe.txt" not in sources  # the seed's file name is for maintainers only


def test_the_server_issues_the_session_and_the_history_comes_back_on_reconnect(bot):
    async def scenario():
        tab = WebClient(bot.url)
        first = await tab.connect()
        token = first["token"]
        assert token.startswith(SESSION_PREFIX) and first["history"] == []
        await tab.say(token, DESCRIPTION)
        reading = await tab.replies_until("Is that right?")
        assert [b["payload"] for b in reading[-1]["buttons"]] == ["/affirm", "/deny"]
        await tab.say(token, "/affirm", display="Yes, that's it")
        await tab.replies_until("Was this useful?")
        await tab.close()

        again = WebClient(bot.url)
        resumed = await again.connect(token)
        await again.close()
        return token, resumed

    token, resumed = run(scenario())
    assert resumed["token"] == token
    history = resumed["history"]
    assert history[0] == {"from": "user", "text": DESCRIPTION}
    assert {"from": "user", "text": "Yes, that's it"} in history  # the button as the user saw it
    assert history[-1]["from"] == "bot" and "Was this useful?" in history[-1]["text"]
    assert sum(1 for m in history if m["from"] == "bot" and "*Evidence:*" in m["text"]) == 3


def test_a_message_that_overtakes_its_session_request_after_a_reconnection_is_answered(bot):
    """After a reconnection (its server stopped) a page sends its session request and a waiting
    message together, and the server may handle the message first: the token alone admits it."""
    async def scenario():
        tab = WebClient(bot.url)
        token = (await tab.connect())["token"]
        await tab.close()
        reconnected = WebClient(bot.url)
        await reconnected.sio.connect(reconnected.url, socketio_path="/socket.io", transports=["polling"])
        await reconnected.say(token, DESCRIPTION)  # no session request on this connection yet
        replies = await reconnected.replies_until("Is that right?")
        await reconnected.close()
        return replies

    assert "Is that right?" in run(scenario())[-1]["text"]


def test_a_message_sent_again_with_its_id_after_a_lost_connection_is_handled_once(bot):
    """The page re-sends, with the same id, a message the server had not confirmed before the
    connection dropped; the server may already have taken it, and must not handle it twice."""
    async def scenario():
        tab = WebClient(bot.url)
        token = (await tab.connect())["token"]
        await tab.say(token, DESCRIPTION, message_id="a1b2c3d4e5f6")
        first = [await tab.next()]  # "received" comes first, then the turn's replies
        first += await tab.replies_until("Is that right?")
        await tab.close()
        again = WebClient(bot.url)
        resumed = await again.connect(token)
        await again.say(token, DESCRIPTION, message_id="a1b2c3d4e5f6")
        second = [await again.next()] + await again.quiet()
        await again.close()
        return first, resumed, second

    first, resumed, second = run(scenario())
    assert first[0] == ("received", {"id": "a1b2c3d4e5f6"})
    assert second == [("received", {"id": "a1b2c3d4e5f6"})]  # confirmed again, not handled again
    assert [m["text"] for m in resumed["history"] if m["from"] == "user"] == [DESCRIPTION]


def test_a_forged_token_is_refused_and_reaches_no_conversation(bot):
    async def scenario():
        tab = WebClient(bot.url)
        real = (await tab.connect())["token"]
        session_id = real.split(".")[0]
        _, key_id, signature = real.split(".")
        forged = f"{SESSION_PREFIX}{'0' * 32}.{key_id}.{signature}"  # someone else's id, our signature
        await tab.say(forged, "hello")
        await tab.say(f"{session_id}.{key_id}.not-the-signature", "hello")
        await tab.say("", "hello")
        got = await tab.quiet()
        await tab.close()
        return got

    got = run(scenario())
    assert [event for event, _ in got] == ["error_message"] * 3
    assert all("could not be verified" in data["message"] for _, data in got)


def test_one_browser_cannot_read_or_write_another_browsers_conversation(bot):
    async def scenario():
        alice, mallory = WebClient(bot.url), WebClient(bot.url)
        alice_token = (await alice.connect())["token"]
        await alice.say(alice_token, DESCRIPTION)
        await alice.replies_until("Is that right?")
        mallory_session = await mallory.connect()  # a session of her own
        # a valid token, but not the one this connection was given: refused
        await mallory.say(alice_token, "no")
        refused = await mallory.quiet()
        # and nothing of Alice's reached Mallory's connection, nor did Alice get any reply
        alice_extra = await alice.quiet(0.5)
        await alice.close()
        await mallory.close()
        return mallory_session, refused, alice_extra

    mallory_session, refused, alice_extra = run(scenario())
    assert mallory_session["history"] == []
    assert [event for event, _ in refused] == ["error_message"]
    assert "could not be verified" in refused[0][1]["message"]
    assert alice_extra == []


def test_messages_too_long_for_the_chat_get_a_clear_reply(bot):
    async def scenario():
        tab = WebClient(bot.url)
        token = (await tab.connect())["token"]
        await tab.say(token, "the rota is impossible " * 400)
        event, data = await tab.next()
        await tab.close()
        return event, data

    event, data = run(scenario())
    assert event == "bot_uttered" and "very long" in data["text"]


def test_the_conversation_survives_a_restart_of_the_rasa_server(bot):
    async def before():
        tab = WebClient(bot.url)
        token = (await tab.connect())["token"]
        await tab.say(token, DESCRIPTION)
        await tab.replies_until("Is that right?")
        await tab.close()
        return token

    async def after(token):
        tab = WebClient(bot.url)
        resumed = await tab.connect(token)
        await tab.say(token, "/affirm", display="Yes, that's it")
        replies = await tab.replies_until("Was this useful?")
        await tab.close()
        return resumed, replies

    token = run(before())
    bot.restart_rasa()
    resumed, replies = run(after(token))
    assert [m["from"] for m in resumed["history"]][:2] == ["user", "bot"]
    assert any("*Evidence:*" in (r.get("text") or "") for r in replies)
