"""A reply the platform refuses is retried, and a lasting failure never stops the turn."""

from __future__ import annotations

import asyncio

from qi_coach.channels import delivery
from qi_coach.channels.delivery import Permanent, deliver


def attempts_of(failures: list[Exception | None]) -> tuple[bool, int]:
    calls = []

    async def send():
        calls.append(1)
        failure = failures[len(calls) - 1]
        if failure:
            raise failure

    delivery.BACKOFF_SECONDS = (0.0, 0.0)
    return asyncio.run(deliver(send, "Test")), len(calls)


def test_a_send_that_fails_once_is_retried_and_gets_through():
    assert attempts_of([ConnectionError("reset"), None]) == (True, 2)


def test_a_send_that_keeps_failing_gives_up_without_raising(caplog):
    assert attempts_of([TimeoutError()] * 3) == (False, 3)
    assert "could not be sent after 3 attempts" in caplog.text


def test_a_permanent_refusal_is_not_retried():
    assert attempts_of([Permanent("400 bad request"), None]) == (False, 1)
