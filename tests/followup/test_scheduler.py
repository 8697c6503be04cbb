"""The scheduler's loop against a stand-in server: what it posts, how it signs, what it does when
delivery fails, and that two loops at once post each check-in once. A frozen clock throughout."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from qi_coach.channels.checkins import MAX_AGE, CheckinChannel, signature, signed_request
from qi_coach.checkin_scheduler import Scheduler
from qi_coach.followup import FAILED, MAX_ATTEMPTS, SCHEDULED, SENDING, SENT, Chosen, FollowUps
from tests.e2e.fakes import FakeService, Recorded

KEY = b"k" * 40


class Server:
    """A stand-in for the Rasa server's check-in route: checks the signature as the real one does,
    answers with ``status``, and marks the check-in sent when it answers 200."""

    def __init__(self, followups: FollowUps, status: int = 200):
        self.status, self.followups = status, followups
        self.channel = CheckinChannel(keys=[KEY], followups=followups)
        self.service = FakeService(routes={("POST", "/webhooks/checkins/deliver"): self.deliver}).start()

    def deliver(self, record: Recorded) -> tuple[int, dict]:
        data = self.channel.verified(record.body, record.headers.get("X-Qi-Coach-Signature"))
        if data is None:
            return 401, {"error": "invalid or stale signature"}
        if self.status == 200:
            if self.followups.get(data["checkin"]).state != SENDING:
                return 409, {"error": "not being sent"}
            self.followups.mark_sent(data["checkin"])
        return self.status, {}

    def posted(self) -> list[int]:
        return [json.loads(r.body)["checkin"] for r in self.service.received("POST", "/webhooks/checkins/deliver")]


@pytest.fixture
def due(followups, clock):
    """Three check-ins due tomorrow."""
    ids = [followups.schedule(f"c-{n}", "rest", {}, clock.now + timedelta(days=1),
                              [Chosen("protected_time", "Protect time", "time_pressure")]).id for n in range(3)]
    clock.advance(days=1)
    return ids


def test_a_round_posts_each_due_check_in_signed_and_it_is_sent(followups, clock, due):
    server = Server(followups)
    try:
        done = Scheduler(server.service.url, KEY, followups, clock=clock).run_once()
        assert sorted(done.sent) == sorted(due) and sorted(server.posted()) == sorted(due)
        assert {followups.get(i).state for i in due} == {SENT}
        assert Scheduler(server.service.url, KEY, followups, clock=clock).run_once().sent == []  # nothing twice
    finally:
        server.service.stop()


def test_a_server_that_refuses_or_is_down_gets_the_check_in_again_later(followups, clock, due):
    server = Server(followups, status=503)
    try:
        scheduler = Scheduler(server.service.url, KEY, followups, clock=clock)
        assert sorted(scheduler.run_once().retrying) == sorted(due)
        assert {followups.get(i).state for i in due} == {SCHEDULED}
        server.status = 200
        clock.advance(minutes=2)  # the first back-off
        assert sorted(scheduler.run_once().sent) == sorted(due)
    finally:
        server.service.stop()
    nobody = Scheduler("http://127.0.0.1:9", KEY, followups, clock=clock)  # nothing listens on port 9
    late = followups.schedule("c-9", "rest", {}, clock.now, [Chosen("a", "A")])
    for _ in range(MAX_ATTEMPTS):
        nobody.run_once()
        clock.advance(hours=2)
    assert followups.get(late.id).state == FAILED


def test_two_loops_at_once_post_each_check_in_once(engine, clock, due):
    server = Server(FollowUps(engine, clock=clock))
    start = threading.Barrier(2)

    def loop() -> None:
        scheduler = Scheduler(server.service.url, KEY, FollowUps(engine, clock=clock), clock=clock)
        start.wait()
        scheduler.run_once()

    try:
        threads = [threading.Thread(target=loop) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(server.posted()) == sorted(due)
    finally:
        server.service.stop()


def test_the_route_refuses_forged_stale_or_malformed_deliveries():
    channel = CheckinChannel(keys=[KEY])
    body, headers = signed_request(KEY, 7, now=1000)
    assert channel.verified(body, headers["X-Qi-Coach-Signature"], now=1000) == {"checkin": 7, "at": 1000}
    assert channel.verified(body, headers["X-Qi-Coach-Signature"], now=1000 + MAX_AGE + 1) is None
    assert channel.verified(body, signature(b"x" * 40, body), now=1000) is None
    assert channel.verified(body, None, now=1000) is None
    assert channel.verified(b"[]", signature(KEY, b"[]"), now=1000) is None
    forged = body.replace(b"7", b"8")
    assert channel.verified(forged, headers["X-Qi-Coach-Signature"], now=1000) is None
