"""Web chat sessions expire, can be revoked, survive a key change, and refuse a weak key."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from qi_coach.channels.webchat_sessions import (
    Check,
    SecretError,
    SessionSigner,
    WebChatSessions,
    load_keys,
)
from tests.knowledge.conftest import BACKENDS, _make_engine, postgres_admin  # noqa: F401  (a fixture)

OLD_KEY, NEW_KEY = b"o" * 40, b"n" * 40


class Clock:
    def __init__(self):
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    """An empty database per test, on SQLite and on PostgreSQL (the production path)."""
    yield from _make_engine(request.param, request, tmp_path)


def sessions(engine, clock, keys=(NEW_KEY,)) -> WebChatSessions:
    return WebChatSessions(SessionSigner(list(keys)), engine, clock=clock, idle=timedelta(hours=12),
                           lifetime=timedelta(days=7))


def test_a_session_used_within_twelve_hours_stays_open_and_each_use_keeps_it_alive(engine):
    clock = Clock()
    store = sessions(engine, clock)
    session_id, token = store.start()
    for _ in range(5):  # used every 11 hours: 55 hours in all, never idle for 12
        clock.advance(hours=11)
        verdict = store.check(token)
        assert verdict.open and verdict.session_id == session_id and verdict.token == token


def test_a_session_left_unused_for_twelve_hours_has_expired(engine):
    clock = Clock()
    store = sessions(engine, clock)
    _, token = store.start()
    clock.advance(hours=12, seconds=1)
    assert store.check(token).check is Check.EXPIRED
    clock.advance(hours=1)
    assert store.check(token).check is Check.EXPIRED  # checking it does not revive it


def test_no_session_lasts_more_than_seven_days_however_often_it_is_used(engine):
    clock = Clock()
    store = sessions(engine, clock)
    _, token = store.start()
    while clock.now < Clock().now + timedelta(days=7) - timedelta(hours=1):
        clock.advance(hours=6)
        assert store.check(token).open
    clock.advance(hours=2)
    assert store.check(token).check is Check.EXPIRED


def test_a_revoked_session_is_refused_and_others_are_not_affected(engine):
    clock = Clock()
    store = sessions(engine, clock)
    first, first_token = store.start()
    _, second_token = store.start()
    store.revoke(first)
    assert store.check(first_token).check is Check.REVOKED
    assert store.check(second_token).open


def test_a_forged_or_purged_session_is_unknown(engine):
    clock = Clock()
    store = sessions(engine, clock)
    session_id, token = store.start()
    assert store.check(token.replace(session_id, "web-" + "0" * 32)).check is Check.UNKNOWN
    assert store.check("web-abc.1234.sig").check is Check.UNKNOWN
    clock.advance(days=8)
    assert store.purge(before=clock.now - timedelta(days=7)) == 1
    assert store.check(token).check is Check.UNKNOWN


def test_rotating_the_key_logs_nobody_out_and_moves_each_session_to_the_new_key(engine):
    clock = Clock()
    _, old_token = sessions(engine, clock, keys=(OLD_KEY,)).start()
    rotated = sessions(engine, clock, keys=(NEW_KEY, OLD_KEY))  # the new key signs, the old one still checks
    verdict = rotated.check(old_token)
    assert verdict.open and verdict.token != old_token
    assert rotated.check(verdict.token).open
    assert sessions(engine, clock, keys=(NEW_KEY,)).check(old_token).check is Check.UNKNOWN  # old key retired
    assert sessions(engine, clock, keys=(NEW_KEY,)).check(verdict.token).open


@pytest.mark.parametrize("secret", ["", "   ", "short", "x" * 31])
def test_a_secret_shorter_than_32_bytes_is_refused_with_a_clear_message(monkeypatch, tmp_path, secret):
    monkeypatch.setenv("QI_COACH_WEBCHAT_SECRET", secret)
    with pytest.raises(SecretError, match="at least 32 bytes"):
        load_keys(tmp_path / "webchat-secret")


def test_an_empty_secret_file_is_refused_and_a_missing_one_is_made_private(monkeypatch, tmp_path):
    monkeypatch.delenv("QI_COACH_WEBCHAT_SECRET", raising=False)
    kept = tmp_path / "webchat-secret"
    keys = load_keys(kept)
    assert len(keys[0]) >= 32 and kept.stat().st_mode & 0o777 == 0o600
    assert load_keys(kept) == keys  # the same key every start
    kept.write_text("")
    with pytest.raises(SecretError, match="webchat-secret is 0 bytes"):
        load_keys(kept)


def test_previous_keys_come_from_the_environment_and_are_checked_too(monkeypatch, tmp_path):
    monkeypatch.setenv("QI_COACH_WEBCHAT_SECRET", "n" * 40)
    monkeypatch.setenv("QI_COACH_WEBCHAT_PREVIOUS_SECRETS", "o" * 40 + ", " + "p" * 40)
    assert load_keys(tmp_path / "unused") == [b"n" * 40, b"o" * 40, b"p" * 40]
    monkeypatch.setenv("QI_COACH_WEBCHAT_PREVIOUS_SECRETS", "tooshort")
    with pytest.raises(SecretError):
        load_keys(tmp_path / "unused")


def test_a_session_with_a_check_in_to_come_stays_open_until_a_week_after_it(engine):
    from qi_coach.followup import CANCELLED, Chosen, FollowUps

    clock = Clock()
    store = sessions(engine, clock)
    session_id, token = store.start()
    _, other_token = store.start()
    followups = FollowUps(engine, clock=clock)
    checkin = followups.schedule(session_id, "webchat", {}, clock() + timedelta(days=14), [Chosen("a", "A")])
    clock.advance(days=20)  # well past the 12 hours idle and the 7 days
    assert store.check(token).open and store.check(other_token).check is Check.EXPIRED
    clock.advance(days=1, seconds=1)  # a week after the check-in's day
    assert store.check(token).check is Check.EXPIRED
    clock.advance(days=-10)
    store.revoke(session_id)  # "Start a new conversation": nobody could answer it any more
    assert store.check(token).check is Check.REVOKED and followups.get(checkin.id).state == CANCELLED
