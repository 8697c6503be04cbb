"""The intake every channel uses: what reaches Rasa, and what the person hears when something fails."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.shared.core.events import UserUttered

from qi_coach.channels import intake
from qi_coach.channels.intake import Intake, Outcome, RateLimits
from qi_coach.stores import TrackerStoreFault

SENDER = "conversation-1"


class FakeStore:
    """The conversation so far, as the tracker store would give it back."""

    def __init__(self, events: list | None = None, fail: bool = False):
        self.events, self.fail = events or [], fail

    async def retrieve(self, sender_id: str):
        if self.fail:
            raise TrackerStoreFault("down")
        return SimpleNamespace(events=self.events)


class Rasa:
    """Stands in for ``agent.handle_message``: records what it was given, replies once."""

    def __init__(self, store: FakeStore | None = None, behaviour=None):
        self.seen: list[UserMessage] = []
        self.agent = SimpleNamespace(tracker_store=store or FakeStore(), lock_store=InMemoryLockStore())
        self.behaviour = behaviour

    async def __call__(self, message: UserMessage) -> None:
        self.seen.append(message)
        if self.behaviour:
            await self.behaviour(message)
        await message.output_channel.send_response(message.sender_id, {"text": "a reply"})


def send(text: str, rasa: Rasa, front: Intake | None = None, **kwargs) -> tuple[Outcome, list[str]]:
    out = CollectingOutputChannel()
    front = front or Intake(RateLimits("1000/minute", "1000/minute"))
    outcome = asyncio.run(front.receive(UserMessage(text, out, SENDER, metadata=kwargs.pop("metadata", None)),
                                        rasa, rasa.agent, **kwargs))
    return outcome, [m.get("text") or "" for m in out.messages]


def test_rasa_sees_only_the_redacted_text_and_the_person_is_told_what_was_taken_out():
    rasa = Rasa()
    outcome, replies = send("Mrs Smith (943 476 5919) fell, call 07700 900123", rasa,
                            metadata={"display": "jo@nhs.net"})
    assert outcome is Outcome.HANDLED
    seen = rasa.seen[0]
    assert seen.text == "[name] ([NHS number]) fell, call [phone number]"
    assert seen.metadata == {"display": "[email address]",
                             "redacted": ["[name]", "[NHS number]", "[phone number]", "[email address]"]}
    assert replies[0].startswith("I've taken a name, an NHS number, a phone number and an email address out")
    assert replies[1:] == ["a reply"]


def test_the_person_is_told_once_per_conversation():
    told_before = UserUttered("[NHS number] again", metadata={"redacted": ["[NHS number]"]})
    rasa = Rasa(FakeStore([UserUttered("hello"), told_before]))
    _, replies = send("NHS 943 476 5919 again", rasa)
    assert replies == ["a reply"]
    assert rasa.seen[0].text == "NHS [NHS number] again"


def test_a_message_with_nothing_identifying_passes_unchanged_without_a_notice():
    rasa = Rasa()
    _, replies = send("the consultants won't come to the meetings", rasa)
    assert rasa.seen[0].text == "the consultants won't come to the meetings" and rasa.seen[0].metadata is None
    assert replies == ["a reply"]


def test_a_message_over_the_limit_is_refused_with_a_clear_reply_before_rasa():
    rasa = Rasa()
    outcome, replies = send("x" * 5001, rasa)
    assert outcome is Outcome.TOO_LONG and "very long" in replies[0] and not rasa.seen


def test_ten_thousand_values_pasted_for_a_run_chart_are_refused_with_what_to_do_instead():
    rasa = Rasa()
    outcome, replies = send("daily waits: " + " ".join(str(10 + i % 7) for i in range(10_000)), rasa)
    assert outcome is Outcome.TOO_LONG and not rasa.seen
    assert "too many numbers" in replies[0] and "by week or month" in replies[0] and "CSV" in replies[0]


def test_a_conversation_sending_too_fast_is_asked_to_wait_and_rasa_is_not_called():
    rasa, front = Rasa(), Intake(RateLimits("2/minute", "1000/minute"))
    assert [send("hello", rasa, front)[0] for _ in range(2)] == [Outcome.HANDLED] * 2
    outcome, replies = send("hello", rasa, front)
    assert outcome is Outcome.RATE_LIMITED and "faster than I can read" in replies[0]
    assert len(rasa.seen) == 2


def test_one_address_sending_too_fast_is_limited_across_conversations():
    rasa, front = Rasa(), Intake(RateLimits("1000/minute", "3/minute"))
    outcomes = []
    for i in range(4):
        out = CollectingOutputChannel()
        outcomes.append(asyncio.run(front.receive(UserMessage("hi", out, f"c{i}"), rasa, rasa.agent,
                                                  address="10.0.0.9")))
    assert outcomes == [Outcome.HANDLED] * 3 + [Outcome.RATE_LIMITED]
    assert asyncio.run(front.receive(UserMessage("hi", CollectingOutputChannel(), "c9"), rasa, rasa.agent,
                                     address="10.0.0.10")) is Outcome.HANDLED


def test_a_failed_custom_action_gets_a_reply_saying_so():
    async def action_server_down(message):
        logging.getLogger("rasa.core.processor").error(
            "Encountered an exception while running action 'action_assess_barriers'.")

    outcome, replies = send("no time for QI", Rasa(behaviour=action_server_down))
    assert outcome is Outcome.FAILED
    assert replies == ["a reply", intake.ACTIONS_FAILED]


def test_an_action_failure_in_another_conversation_is_not_reported_here():
    logging.getLogger("rasa.core.processor").error("Encountered an exception while running action 'x'.")
    assert send("no time for QI", Rasa()) == (Outcome.HANDLED, ["a reply"])


def test_a_slow_turn_is_announced_and_still_answered():
    async def slow(message):
        await asyncio.sleep(0.4)

    outcome, replies = send("no time for QI", Rasa(behaviour=slow), Intake(RateLimits(), slow_after=0.1))
    assert outcome is Outcome.HANDLED and replies == [intake.SLOW, "a reply"]


def test_a_slow_turn_on_rest_answers_at_once_and_finishes_in_the_background():
    async def scenario():
        async def slow(message):
            await asyncio.sleep(0.4)

        rasa, out = Rasa(behaviour=slow), CollectingOutputChannel()
        front = Intake(RateLimits(), slow_after=0.1)
        outcome = await front.receive(UserMessage("no time", out, SENDER), rasa, rasa.agent, wait=False)
        early = [m["text"] for m in out.messages]
        await asyncio.sleep(0.6)
        return outcome, early, [m["text"] for m in out.messages]

    outcome, early, later = asyncio.run(scenario())
    assert outcome is Outcome.HANDLED and early == [intake.SLOW] and later == [intake.SLOW, "a reply"]


def test_a_stopping_server_finishes_the_turns_it_started_even_when_their_connection_is_gone():
    """The web chat's socket is cut when its server stops; the turn it carried runs on as a task,
    and the server waits for it (``attach`` runs this after Sanic's own drain)."""
    async def scenario():
        async def slow(message):
            await asyncio.sleep(0.3)

        rasa, out = Rasa(behaviour=slow), CollectingOutputChannel()
        front = Intake(RateLimits(), slow_after=0.05)
        receiving = asyncio.create_task(front.receive(UserMessage("no time", out, SENDER), rasa, rasa.agent))
        await asyncio.sleep(0.1)
        receiving.cancel()  # the connection that brought the message is gone
        running = await front.finish_running_turns(timeout=5)
        return running, [m["text"] for m in out.messages]

    running, replies = asyncio.run(scenario())
    assert running == 1 and replies == [intake.SLOW, "a reply"]


def test_a_turn_that_outlasts_the_wait_is_reported_not_waited_for_forever(caplog):
    async def scenario():
        async def stuck(message):
            await asyncio.sleep(30)

        rasa = Rasa(behaviour=stuck)
        front = Intake(RateLimits(), slow_after=0.01)
        await front.receive(UserMessage("no time", CollectingOutputChannel(), SENDER), rasa, rasa.agent, wait=False)
        return await front.finish_running_turns(timeout=0.1)

    with caplog.at_level(logging.ERROR, logger="qi_coach.channels.intake"):
        assert asyncio.run(scenario()) == 1
    assert "did not finish" in caplog.text


def test_a_conversation_store_fault_stops_the_turn_and_says_so():
    async def store_down(message):
        raise TrackerStoreFault("reading a conversation failed")

    rasa = Rasa(behaviour=store_down)
    outcome, replies = send("no time for QI", rasa)
    assert outcome is Outcome.FAILED and replies == [intake.STORE_FAILED]


def test_any_other_failure_gets_an_apology_not_silence():
    async def crash(message):
        raise RuntimeError("boom")

    assert send("no time for QI", Rasa(behaviour=crash)) == (Outcome.FAILED, [intake.FAILED])


def test_delete_my_data_is_confirmed_first_and_never_reaches_rasa(monkeypatch):
    forgotten = []
    monkeypatch.setattr("qi_coach.retention.forget", lambda conversation_id: forgotten.append(conversation_id))
    rasa = Rasa()
    out = CollectingOutputChannel()
    asyncio.run(Intake(RateLimits()).receive(UserMessage("Please delete my data", out, SENDER), rasa, rasa.agent))
    assert out.messages[0]["text"] == intake.FORGET_ASK
    assert [b["payload"] for b in out.messages[0]["buttons"]] == [intake.FORGET_CONFIRM, intake.FORGET_CANCEL]
    assert send(intake.FORGET_CANCEL, rasa) == (Outcome.HANDLED, [intake.KEPT]) and not forgotten
    assert send(intake.FORGET_CONFIRM, rasa) == (Outcome.FORGOTTEN, [intake.FORGOTTEN])
    assert forgotten == [SENDER] and not rasa.seen


def test_a_failed_deletion_says_nothing_was_changed(monkeypatch):
    def broken(conversation_id):
        raise OSError("disk")

    monkeypatch.setattr("qi_coach.retention.forget", broken)
    assert send(intake.FORGET_CONFIRM, Rasa()) == (Outcome.FAILED, [intake.FORGET_FAILED])


@pytest.mark.parametrize("text", ["we need to delete my data collection burden",
                                  "delete my data and also the staff are resistant"])
def test_a_description_that_mentions_deleting_is_read_as_a_description(text):
    rasa = Rasa()
    assert send(text, rasa)[0] is Outcome.HANDLED and rasa.seen


@pytest.mark.redis
def test_servers_sharing_redis_share_one_rate_limit():
    import uuid

    url = "redis://127.0.0.1:6379/0"
    one, two = RateLimits("3/minute", "1000/minute", url), RateLimits("3/minute", "1000/minute", url)
    conversation = f"rate-{uuid.uuid4().hex}"
    assert [one.allow(conversation), two.allow(conversation), one.allow(conversation)] == [True] * 3
    assert not two.allow(conversation) and not one.allow(conversation)
    assert one.allow(f"{conversation}-other")


def test_a_turn_that_ends_without_a_word_gets_a_reply_asking_again():
    async def silent(message):
        pass

    class Quiet(Rasa):
        async def __call__(self, message):
            self.seen.append(message)

    assert send("hmm", Quiet(behaviour=silent)) == (Outcome.HANDLED, [intake.NO_REPLY])
