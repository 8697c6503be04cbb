"""Rasa servers behind HAProxy, sharing PostgreSQL and Redis (``qi_coach.cluster``).

One conversation is handed from server to server, sent to two at once, and carried on through
the balancer after the server it was on stops (by a socket.io client, then by the page in
Chromium): every turn must land once, in order, with the dialogue state the other server left.
Three servers, so that one is still up after each of the two stops.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
import socketio
from playwright.sync_api import expect
from sqlalchemy import text

from knowledge.db import create_engine_for
from qi_coach import serve
from qi_coach.classify import DEFAULT_MODEL
from qi_coach.cluster import Cluster, Layout, cluster_environment
from qi_coach.followup import SENT, Chosen, FollowUps
from tests.e2e.conftest import SCREENSHOTS, describe_on_the_page, free_port, payloads, texts

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DESCRIPTION = "The consultants won't come to the meetings and we can't get data out of the EPR."
PER_ADDRESS = 40


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make train` (make test does it)")
    schema = f"qi_cluster_{uuid.uuid4().hex[:10]}"
    admin = create_engine_for(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f"create schema {schema}"))
    env = cluster_environment(f"{POSTGRES}?options=-csearch_path%3D{schema}", "redis://127.0.0.1:6379/0")
    env.update({"QI_COACH_WEBCHAT_SECRET": uuid.uuid4().hex * 2,
                # every test here talks from 127.0.0.1, well under this; the rate test uses other addresses
                "QI_COACH_RATE_PER_CONVERSATION": "1000/minute", "QI_COACH_RATE_PER_ADDRESS": f"{PER_ADDRESS}/minute"})
    layout = Layout(servers=3, actions=1, balancer_port=free_port(), actions_balancer_port=free_port(),
                    first_rasa_port=_three_free_ports(), first_actions_port=free_port(), stats_port=free_port())
    running = Cluster(layout, env, tmp_path_factory.mktemp("cluster"))
    running.start()
    yield running
    running.stop()
    with admin.begin() as conn:
        conn.execute(text(f"drop schema {schema} cascade"))
    admin.dispose()


def _three_free_ports() -> int:
    """A port whose next two are free too (the layout numbers servers consecutively)."""
    for _ in range(50):
        port = free_port()
        if not serve.port_in_use(port + 1) and not serve.port_in_use(port + 2):
            return port
    raise RuntimeError("no three consecutive free ports")


def say(url: str, sender: str, message: str) -> list[dict]:
    request = urllib.request.Request(f"{url}/webhooks/rest/webhook", method="POST",
                                     data=json.dumps({"sender": sender, "message": message}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def stored(cluster: Cluster, sender: str) -> list[tuple[str, dict]]:
    engine = create_engine_for(cluster.env["DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(text("select type_name, data from events where sender_id = :s order by id"),
                            {"s": sender}).all()
    engine.dispose()
    return [(kind, json.loads(data)) for kind, data in rows]


def user_texts(events: list[tuple[str, dict]]) -> list[str]:
    return [e["text"] for kind, e in events if kind == "user"]


def turns_are_whole(events: list[tuple[str, dict]]) -> bool:
    """Every user message is followed by its replies and the bot listening again, before the next."""
    open_turn = replied = False
    for kind, event in events:
        if kind == "user":
            if open_turn:
                return False
            open_turn, replied = True, False
        elif kind == "bot":
            replied = True
        elif kind == "action" and event.get("name") == "action_listen" and open_turn and replied:
            open_turn = False
    return not open_turn


def test_one_conversation_alternating_between_the_servers_carries_its_state_and_order(cluster):
    sender = f"cluster-{uuid.uuid4().hex[:10]}"
    first, second = cluster.server_url(0), cluster.server_url(1)

    assert "qi-coach" in texts(say(first, sender, "hello"))
    asked = say(second, sender, DESCRIPTION)
    assert "Is that right?" in texts(asked) and "/affirm" in payloads(asked)
    strategies = say(first, sender, "/affirm")  # the question was asked by the other server
    assert "Here are strategies that fit" in texts(strategies)
    more = next(p for p in payloads(strategies) if "more" in p.lower())
    assert say(second, sender, more)

    events = stored(cluster, sender)
    assert user_texts(events) == ["hello", DESCRIPTION, "/affirm", more]
    assert turns_are_whole(events)


def test_a_burst_sent_to_two_servers_at_once_is_handled_one_turn_at_a_time(cluster):
    sender = f"cluster-{uuid.uuid4().hex[:10]}"
    say(cluster.layout.url, sender, "hello")
    burst = [f"{DESCRIPTION} (message {i})" for i in range(8)]

    async def send_all() -> list[int]:
        async with aiohttp.ClientSession() as http:
            async def one(i: int, message: str) -> int:
                url = cluster.server_url(i % 2)
                async with http.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}) as r:
                    return r.status
            return await asyncio.gather(*(one(i, m) for i, m in enumerate(burst)))

    assert asyncio.run(send_all()) == [200] * len(burst)
    events = stored(cluster, sender)
    assert sorted(user_texts(events)[1:]) == sorted(burst)  # each once, none lost
    assert turns_are_whole(events)  # no turn began before the one ahead of it ended


def test_behind_the_balancer_each_persons_address_has_its_own_rate_limit(cluster):
    """The servers see the address HAProxy saw (X-Forwarded-For, trusted once), not the
    balancer's own: one address sending too fast is slowed down, another is not."""
    def status_from(address: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", cluster.layout.balancer_port, timeout=60,
                                                source_address=(address, 0))
        connection.request("POST", "/webhooks/rest/webhook", headers={"Content-Type": "application/json"},
                           body=json.dumps({"sender": f"rate-{uuid.uuid4().hex[:10]}", "message": "hello"}))
        status = connection.getresponse().status
        connection.close()
        return status

    busy = [status_from("127.0.0.2") for _ in range(PER_ADDRESS + 1)]
    assert busy == [200] * PER_ADDRESS + [429]
    assert status_from("127.0.0.3") == 200


def test_the_web_chat_carries_on_through_the_balancer_after_its_server_stops(cluster):
    """The page's protocol through HAProxy (long-polling, pinned by the balancer's cookie); its
    server stops between two messages; the page reconnects, asks for its session again and the
    conversation continues where it was. REST through the balancer keeps answering too."""

    async def scenario() -> tuple[str, list[str], list[dict]]:
        jar = aiohttp.CookieJar(unsafe=True)  # keeps the balancer's cookie for 127.0.0.1, as a browser does
        http = aiohttp.ClientSession(cookie_jar=jar)
        page = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2, http_session=http)
        inbox: asyncio.Queue = asyncio.Queue()
        token: dict[str, str | None] = {"value": None}

        async def on_connect() -> None:
            await page.emit("session_request", {"token": token["value"]})

        page.on("connect", on_connect)
        page.on("session_confirm", lambda data: inbox.put_nowait(("session_confirm", data)))
        page.on("bot_uttered", lambda data: inbox.put_nowait(("bot_uttered", data)))
        await page.connect(cluster.layout.url, socketio_path="/socket.io", transports=["polling"])
        event, session = await asyncio.wait_for(inbox.get(), 30)
        token["value"] = session["token"]
        await page.call("user_uttered", {"token": token["value"], "message": DESCRIPTION}, timeout=60)
        pinned = next(c.value for c in jar if c.key == "QI_COACH_SERVER")

        await asyncio.to_thread(cluster.stop_server, int(pinned.split("-")[1]) - 1)
        event, session = await asyncio.wait_for(_next_of(inbox, "session_confirm"), 60)  # reconnected elsewhere
        history = [m["text"] for m in session["history"] if m["from"] == "user"]
        while not inbox.empty():
            inbox.get_nowait()
        await page.call("user_uttered", {"token": token["value"], "message": "/affirm"}, timeout=60)
        # replies travel through Redis to whichever server holds the page, so may trail the acknowledgement
        _, reply = await asyncio.wait_for(_next_of(inbox, "bot_uttered"), 30)
        replies = [reply]
        while not inbox.empty():
            replies.append(inbox.get_nowait()[1])
        moved_to = next(c.value for c in jar if c.key == "QI_COACH_SERVER")
        await page.eio.disconnect(abort=True)
        await http.close()
        assert moved_to != pinned
        return session["token"].split(".")[0], history, replies

    sender, history, replies = asyncio.run(scenario())
    assert history == [DESCRIPTION]  # the same conversation, read from the shared store
    assert "Here are strategies that fit" in (replies[0].get("text") or "")
    assert user_texts(stored(cluster, sender)) == [DESCRIPTION, "/affirm"]
    rest = f"cluster-{uuid.uuid4().hex[:10]}"
    assert all(say(cluster.layout.url, rest, "hello") for _ in range(4))  # no request lost to the stopped one


async def _next_of(inbox: asyncio.Queue, wanted: str) -> tuple[str, dict]:
    while True:
        event, data = await inbox.get()
        if event == wanted:
            return event, data


def test_the_page_in_a_browser_carries_on_after_its_server_stops(cluster, browser):
    """The real page (websocket first, as browsers connect) through the balancer: the server
    the balancer pinned it to stops mid-conversation, and the next button press is answered by
    another server, in the same conversation, with nothing shown twice or lost."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log = describe_on_the_page(page, cluster.layout.url, DESCRIPTION)
    pinned = next(c["value"] for c in context.cookies() if c["name"] == "QI_COACH_SERVER")

    cluster.stop_server(int(pinned.split("-")[1]) - 1)
    page.get_by_role("button", name="Yes, that's it").click()
    expect(log).to_contain_text("Was this useful?")
    expect(log.locator(".message.bot .markdown", has_text="First step:")).to_have_count(3)
    expect(log.locator(".message.user")).to_have_count(2)  # the description and the button, once each
    page.screenshot(path=SCREENSHOTS / "webchat-8-after-its-server-stopped.png", full_page=True)
    moved_to = next(c["value"] for c in context.cookies() if c["name"] == "QI_COACH_SERVER")
    context.close()
    assert moved_to != pinned and not errors


def test_every_servers_scheduler_runs_and_a_due_check_in_is_sent_once(cluster):
    """``make cluster`` starts one check-in loop per server, all on the shared database: a check-in
    that falls due is claimed by one of them and reaches the conversation once."""
    assert len(cluster.schedulers) == 3 and not [name for name in cluster.stopped() if name.startswith("checkins")]
    sender = f"cluster-checkin-{uuid.uuid4().hex[:8]}"
    followups = FollowUps(create_engine_for(cluster.env["DATABASE_URL"]))
    checkin = followups.schedule(sender, "rest", {}, datetime.now(timezone.utc) - timedelta(minutes=1),
                                 [Chosen("protected_time_for_qi", "Negotiate protected time", "time_pressure")])
    deadline = time.monotonic() + 120  # the loops run every 30 s
    while followups.get(checkin.id).state != SENT and time.monotonic() < deadline:
        time.sleep(1)
    assert followups.get(checkin.id).state == SENT
    triggers = [data for kind, data in stored(cluster, sender)
                if kind == "user" and data.get("text") == "EXTERNAL: EXTERNAL_checkin_due"]
    assert len(triggers) == 1
    balancer = f"http://127.0.0.1:{cluster.layout.balancer_port}"
    with urllib.request.urlopen(f"{balancer}/webhooks/rest/waiting?sender={sender}", timeout=30) as reply:
        waiting = json.loads(reply.read())
    assert "Hello again" in texts(waiting) and "How did **Negotiate protected time** go?" in texts(waiting)
