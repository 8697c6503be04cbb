"""Commitments and check-ins in the database: scheduled, claimed once, sent, answered, retried,
snoozed or cancelled; and the reports the ranking learns from. A frozen clock throughout."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from knowledge.ranking import Reports
from knowledge.repository import StoreError
from qi_coach.followup import (
    ANSWERED,
    CANCELLED,
    FAILED,
    MAX_ATTEMPTS,
    SCHEDULED,
    SENDING,
    SENT,
    STALE_CLAIM,
    Chosen,
    FollowUps,
)
from qi_coach.records import UserRecords

PROTECTED = Chosen("protected_time", "Protect time for improvement work", "time_pressure")
HUDDLE = Chosen("safety_huddles", "Short daily huddles", "time_pressure")


def schedule(followups: FollowUps, clock, conversation: str = "c-1", days: int = 14, chosen=(PROTECTED, HUDDLE),
             channel: str = "rest"):
    return followups.schedule(conversation, channel, {}, clock.now + timedelta(days=days), list(chosen))


def test_a_check_in_is_due_only_on_its_day_and_is_claimed_once(followups, clock):
    checkin = schedule(followups, clock)
    assert checkin.state == SCHEDULED and [c.title for c in checkin.commitments] == [PROTECTED.title, HUDDLE.title]
    assert followups.claim_due("loop-a", clock.advance(days=13, hours=23)) == []
    claimed = followups.claim_due("loop-a", clock.advance(hours=1))
    assert [c.id for c in claimed] == [checkin.id] and claimed[0].state == SENDING
    assert followups.claim_due("loop-b", clock.now) == []  # taken, and not stale
    followups.mark_sent(checkin.id)
    assert followups.get(checkin.id).state == SENT
    assert followups.claim_due("loop-b", clock.advance(days=1)) == []  # sent is never sent again


def test_a_claim_whose_loop_died_is_taken_again_after_it_goes_stale(followups, clock):
    checkin = schedule(followups, clock, days=1)
    assert followups.claim_due("dies", clock.advance(days=1))
    assert followups.claim_due("other", clock.advance(seconds=STALE_CLAIM.total_seconds() - 1)) == []
    assert [c.id for c in followups.claim_due("other", clock.advance(seconds=2))] == [checkin.id]


def test_many_loops_at_once_take_each_check_in_exactly_once(engine, clock):
    for n in range(12):
        schedule(FollowUps(engine, clock=clock), clock, conversation=f"c-{n}", days=1)
    clock.advance(days=2)
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(6)

    def loop(name: str) -> None:
        mine = FollowUps(engine, clock=clock)  # each loop its own store, as in its own process
        start.wait()
        taken[name] = [c.id for c in mine.claim_due(name, clock.now)]

    threads = [threading.Thread(target=loop, args=(f"loop-{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in taken.values() for i in ids]
    assert sorted(every) == sorted(set(every)) and len(every) == 12


def test_a_check_in_not_delivered_is_retried_with_back_off_then_given_up(followups, clock):
    checkin = schedule(followups, clock, days=1)
    clock.advance(days=1)
    for attempt in range(1, MAX_ATTEMPTS):
        assert followups.claim_due("loop", clock.now), attempt
        assert followups.release(checkin.id, "server down") == SCHEDULED
        assert followups.claim_due("loop", clock.now) == []  # not straight away
        clock.now = followups.get(checkin.id).due_at
    assert followups.claim_due("loop", clock.now)
    assert followups.release(checkin.id, "server down") == FAILED
    assert followups.claim_due("loop", clock.advance(days=30)) == []


def test_remind_me_later_and_stop_reminding_me(followups, clock):
    checkin = schedule(followups, clock, days=1)
    followups.claim_due("loop", clock.advance(days=1))
    followups.mark_sent(checkin.id)
    followups.snooze(checkin.id, clock.now + timedelta(days=3))
    assert followups.get(checkin.id).state == SCHEDULED
    assert followups.claim_due("loop", clock.advance(days=2)) == []
    assert followups.claim_due("loop", clock.advance(days=1))
    later = schedule(followups, clock, days=5)
    assert followups.cancel("c-1") == 2
    assert {followups.get(checkin.id).state, followups.get(later.id).state} == {CANCELLED}
    assert followups.claim_due("loop", clock.advance(days=10)) == []
    assert followups.cancel("c-1") == 0


def test_reports_count_who_tried_and_who_said_it_helped(followups, clock):
    answers = [("done", 5), ("partly", 4), ("done", 2), ("not_started", None), ("done", 4)]
    for n, (progress, helped) in enumerate(answers):
        checkin = schedule(followups, clock, conversation=f"c-{n}", chosen=[PROTECTED])
        followups.report(checkin.commitments[0].id, progress, helped, "the rota changed" if n == 2 else None)
        followups.mark_answered(checkin.id)
        assert followups.get(checkin.id).state == ANSWERED
    assert followups.reports() == {("protected_time", "time_pressure"): Reports(tried=4, helped=3)}
    assert followups.reports(["team_working"]) == {}
    with pytest.raises(StoreError):
        followups.report(1, "maybe", 3, None)
    with pytest.raises(StoreError):
        followups.report(1, "done", 6, None)


def test_what_is_kept_survives_a_restart_and_is_deleted_with_the_conversation(engine, clock, followups):
    checkin = schedule(followups, clock, days=1)
    restarted = FollowUps(engine, clock=clock)  # a new process on the same database
    assert [c.id for c in restarted.claim_due("after-restart", clock.advance(days=1))] == [checkin.id]
    assert UserRecords(engine).forget("c-1") == 3  # the check-in and its two commitments
    assert restarted.get(checkin.id) is None


def test_replies_for_a_client_that_cannot_be_pushed_to_are_given_once(followups, clock):
    checkin = schedule(followups, clock, days=1)
    followups.claim_due("loop", clock.advance(days=1))
    followups.mark_sent(checkin.id, waiting=[{"text": "Hello again!"}])
    assert followups.take_waiting("c-1") == [{"text": "Hello again!"}]
    assert followups.take_waiting("c-1") == []


@pytest.mark.parametrize("bad, says", [
    ({"conversation_id": " "}, "conversation id"),
    ({"channel": "fax"}, "unknown channel"),
    ({"chosen": []}, "at least one"),
])
def test_a_check_in_that_makes_no_sense_is_refused(followups, clock, bad, says):
    args = {"conversation_id": "c-1", "channel": "rest", "reply_to": {}, "due_at": clock.now, "chosen": [PROTECTED],
            **bad}
    with pytest.raises(StoreError, match=says):
        followups.schedule(**args)
