"""Each inbound event is handled once, and a lost one is handled when the platform retries it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from knowledge.db import create_engine_for
from qi_coach.channels.dedupe import STALE_AFTER, ProcessedEvents


class Clock:
    def __init__(self):
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


def events(tmp_path, clock) -> ProcessedEvents:
    return ProcessedEvents("slack", create_engine_for(f"sqlite:///{tmp_path / 'events.db'}"), clock=clock)


def test_a_retry_of_a_handled_event_is_not_handled_again(tmp_path):
    clock = Clock()
    store = events(tmp_path, clock)
    assert store.claim("Ev1")
    store.complete("Ev1")
    clock.now += timedelta(minutes=5)
    assert not store.claim("Ev1")


def test_a_retry_while_the_event_is_being_handled_is_not_handled_twice(tmp_path):
    clock = Clock()
    store = events(tmp_path, clock)
    assert store.claim("Ev1")
    clock.now += STALE_AFTER / 2
    assert not store.claim("Ev1")


def test_an_event_whose_server_stopped_mid_way_is_handled_when_retried(tmp_path):
    clock = Clock()
    store = events(tmp_path, clock)
    assert store.claim("Ev1")  # claimed, never completed: the server stopped
    clock.now += STALE_AFTER + timedelta(seconds=1)
    assert store.claim("Ev1")
    assert not store.claim("Ev1")  # taken over once, not by every retry


def test_many_servers_claiming_one_event_at_once_handle_it_once(tmp_path):
    clock = Clock()
    store = events(tmp_path, clock)
    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(lambda _: store.claim("Ev-race"), range(16)))
    assert wins.count(True) == 1


def test_old_events_are_forgotten_and_channels_are_kept_apart(tmp_path):
    clock = Clock()
    store = events(tmp_path, clock)
    store.claim("Ev1")
    teams = ProcessedEvents("teams", store.engine, clock=clock)
    assert teams.claim("Ev1")  # the same id on another channel is another event
    clock.now += timedelta(days=2)
    assert store.purge() == 2
