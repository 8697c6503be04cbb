"""What every message goes through, from every channel, before and after Rasa handles it.

One owner for the rules a channel must not get wrong:

- **length**: a message over ``limits.CHANNEL_MAX_CHARS`` is refused with a clear reply;
- **rate**: a conversation, or an address, sending faster than a person types is asked to
  slow down (``RateLimits``; Redis holds the counts when ``QI_COACH_REDIS_URL`` is set, so
  several servers share them);
- **privacy**: the text (and a pressed button's title) is redacted (``qi_coach.redaction``)
  before the classifier, the tracker store, the records or a log sees it, and the person is
  told once per conversation, kindly, what was taken out;
- **the person's data**: "delete my data" is answered here, with a confirmation, and never
  reaches the model or the conversation store (``qi_coach.retention`` deletes);
- **visible failures**: the person always hears something. A turn still running after
  ``SLOW_AFTER`` seconds gets a "still working" reply; a custom action that failed (the action
  server down, or crashing) gets a reply saying so; a conversation store that cannot be read
  or written stops the turn (``TrackerStoreFault``) and the person is told, instead of Rasa
  carrying on with an empty conversation; a turn that ends without a reply gets one asking again.

Channels call ``Intake.receive`` with the message and act on its ``Outcome`` (the HTTP
channels answer 429 when it is ``RATE_LIMITED``). Each channel attaches the intake to the Sanic
app once (``attach``): an oversized body is answered 413 before it is read, let alone parsed or
authenticated; and a server that is stopped (one of several behind a load balancer, say)
finishes the turns it has started before it exits, so no message it took is lost. Sanic drains
HTTP requests itself but cuts web chat sockets, whose turns run on as tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, Sanic

from qi_coach import limits
from qi_coach.redaction import SPOKEN, redact
from qi_coach.runcharts.measure import looks_like_measure
from qi_coach.shared_state import redis_url
from qi_coach.stores import TrackerStoreFault

logger = logging.getLogger(__name__)

#: Seconds before the person is told a reply is taking longer than usual (the brief: within 10).
SLOW_AFTER = 8.0
#: How long a stopping server waits for the turns it has started (Rasa's action timeout is 10 s).
FINISH_TURNS_WITHIN = 30.0

REDACTED_KEY = "redacted"  # message metadata: the placeholders used in this message

NOTICE = ("I've taken {what} out of your message before keeping it. There's no need to share anyone's "
          "personal details here: describing the situation is enough.")
SLOW = ("This is taking me longer than usual: my knowledge store is slow to answer. Your message is "
        "kept, and I'll reply here as soon as I can.")
ACTIONS_FAILED = ("I can't reach my knowledge store just now, so I couldn't finish that reply. Your "
                  "message is kept: please try again in a minute.")
STORE_FAILED = ("I can't open our conversation just now (my conversation store isn't answering), so I "
                "haven't acted on that message. Please try again in a minute.")
FAILED = "Something went wrong on my side and I couldn't answer that. Please try again in a minute."
NO_REPLY = "I didn't have an answer for that. Could you tell me again, in other words, what is getting in the way?"
FORGET_ASK = ("Do you want me to delete this conversation and everything kept from it: the barriers you "
              "confirmed, your feedback and your action plan? This can't be undone.")
FORGET_CONFIRM, FORGET_CANCEL = "/forget_my_data", "/keep_my_data"
FORGET_BUTTONS = [{"title": "Yes, delete it all", "payload": FORGET_CONFIRM},
                  {"title": "No, keep it", "payload": FORGET_CANCEL}]
FORGOTTEN = ("Done: I've deleted this conversation and everything kept from it. If you write again, "
             "I'll start afresh.")
KEPT = "Fine, I've kept everything. Carry on whenever you're ready."
FORGET_FAILED = "I couldn't delete your data just now. Nothing was changed: please try again in a minute."
#: "delete my data", "please erase our conversation", "forget me": a short request, nothing more.
FORGET_REQUEST = re.compile(
    r"^\W*(?:please\s+|can you\s+|could you\s+)?(?:(?:delete|erase|remove|wipe|clear)\s+(?:all\s+)?(?:of\s+)?"
    r"(?:my|our|this)\s+(?:data|conversation|chat|history|details|information|info|plan)|forget\s+me)"
    r"(?:\s+(?:please|now|thanks|thank you))?\W*$", re.IGNORECASE)
RATE_LIMITED = "You're sending messages faster than I can read them. Please wait a few seconds and try again."

class Outcome(enum.Enum):
    HANDLED = "handled"
    TOO_LONG = "too long"
    RATE_LIMITED = "rate limited"
    FAILED = "failed"
    FORGOTTEN = "forgotten"


# --- the turn being handled: what went wrong in it -------------------------------------------

@dataclass
class _Turn:
    replies: int = 0
    action_failures: list[str] = field(default_factory=list)


_current_turn: contextvars.ContextVar[_Turn | None] = contextvars.ContextVar("qi_coach_turn", default=None)


class _ActionFailureHandler(logging.Handler):
    """Rasa's processor logs a failed custom action and carries on with no reply. This notes
    the failure on the turn being handled (the log call runs in the turn's own task)."""

    def emit(self, record: logging.LogRecord) -> None:
        turn = _current_turn.get()
        if turn is not None and record.levelno >= logging.ERROR and "running action" in record.getMessage():
            turn.action_failures.append(record.getMessage()[:200])


_failure_handler = _ActionFailureHandler()


def _watch_rasa_processor() -> None:
    processor_logger = logging.getLogger("rasa.core.processor")
    if _failure_handler not in processor_logger.handlers:
        processor_logger.addHandler(_failure_handler)


class _CountingOutput(OutputChannel):
    """The channel's output, counting what reaches the person."""

    def __init__(self, inner: OutputChannel, turn: _Turn):
        self.inner, self.turn = inner, turn

    def name(self) -> str:  # Rasa declares it a classmethod; the inner channel's name is wanted
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.turn.replies += 1
        await self.inner.send_response(recipient_id, message)


# --- rate limits -----------------------------------------------------------------------------

class RateLimits:
    """Moving-window limits per conversation and per address (``limits``, a maintained library
    with memory and Redis storage). Settings: ``QI_COACH_RATE_PER_CONVERSATION`` (default
    "20/minute") and ``QI_COACH_RATE_PER_ADDRESS`` (default "300/minute": a whole trust can sit
    behind one address)."""

    def __init__(self, per_conversation: str | None = None, per_address: str | None = None,
                 storage_url: str | None = None):
        from limits import parse, storage, strategies

        url = storage_url or redis_url() or "memory://"
        self._storage = storage.storage_from_string(url)  # the limiter holds it by a weak reference only
        self._limiter = strategies.MovingWindowRateLimiter(self._storage)
        self._conversation = parse(per_conversation or os.environ.get("QI_COACH_RATE_PER_CONVERSATION")
                                   or "20/minute")
        self._address = parse(per_address or os.environ.get("QI_COACH_RATE_PER_ADDRESS") or "300/minute")

    def allow(self, conversation_id: str, address: str | None = None) -> bool:
        """Count one message; False when either limit is already spent."""
        try:
            allowed = self._limiter.hit(self._conversation, "conversation", conversation_id)
            if address:
                allowed = self._limiter.hit(self._address, "address", address) and allowed
            return allowed
        except Exception:  # a rate limit that cannot be counted must not stop the chat
            logger.exception("rate limits could not be counted; letting the message through")
            return True


# --- the intake ------------------------------------------------------------------------------

def _notice(removed: tuple[str, ...]) -> str:
    words = [SPOKEN.get(p, p) for p in removed]
    what = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return NOTICE.format(what=what)


def screen(message: UserMessage) -> tuple[UserMessage, tuple[str, ...]]:
    """The message with its text and shown title redacted, and the placeholders used."""
    text = redact(message.text or "")
    metadata = dict(message.metadata or {})
    removed = list(text.removed)
    if isinstance(metadata.get("display"), str):
        display = redact(metadata["display"])
        metadata["display"] = display.text
        removed += [p for p in display.removed if p not in removed]
    if removed:
        metadata[REDACTED_KEY] = removed
    screened = UserMessage(text.text, message.output_channel, message.sender_id,
                           input_channel=message.input_channel, message_id=message.message_id,
                           metadata=metadata or None)
    return screened, tuple(removed)


class Intake:
    """The rules above, for one server (shared by its channels)."""

    def __init__(self, rate_limits: RateLimits | None = None, slow_after: float = SLOW_AFTER):
        self.rate_limits = rate_limits or RateLimits()
        self.slow_after = slow_after
        self._running: set[asyncio.Task] = set()  # also keeps background turns from being collected
        _watch_rasa_processor()

    async def receive(self, message: UserMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      agent: Any = None, address: str | None = None, wait: bool = True) -> Outcome:
        """Check, redact and handle one message; the person hears something in every case.

        ``wait=False`` (the REST channel, whose caller waits for the HTTP answer) returns
        after ``SLOW_AFTER`` seconds and lets the turn finish in the background."""
        out = message.output_channel
        if len(message.text or "") > limits.CHANNEL_MAX_CHARS:
            numbers = looks_like_measure(message.text or "")  # a pasted column, meant for a run chart
            await _say(out, message.sender_id, limits.TOO_LONG_TO_CHART if numbers else limits.TOO_LONG)
            return Outcome.TOO_LONG
        if not self.rate_limits.allow(message.sender_id, address):
            logger.warning("rate limit reached for a conversation or address; message refused")
            await _say(out, message.sender_id, RATE_LIMITED)
            return Outcome.RATE_LIMITED
        command = await self._data_command(message, agent)
        if command is not None:
            return command
        message, removed = screen(message)
        if removed and not await _told_before(agent, message.sender_id):
            await _say(out, message.sender_id, _notice(removed))
        turn = _Turn()
        message.output_channel = _CountingOutput(out, turn)
        task = asyncio.create_task(self._handle(message, on_new_message, out, turn))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        done, _ = await asyncio.wait({task}, timeout=self.slow_after)
        if not done:
            await _say(out, message.sender_id, SLOW)
            if not wait:
                return Outcome.HANDLED
        # Shielded: if whatever brought the message goes away (a socket cut as its server stops),
        # the turn still finishes, so a message taken is never dropped half-handled.
        return await asyncio.shield(task)

    async def finish_running_turns(self, timeout: float = FINISH_TURNS_WITHIN) -> int:
        """Wait (up to ``timeout`` s) for every turn this server has started; how many were still
        running when asked."""
        running = set(self._running)
        if running:
            logger.info("stopping: finishing %d turn(s) already started", len(running))
            _, unfinished = await asyncio.wait(running, timeout=timeout)
            if unfinished:
                logger.error("stopping: %d turn(s) did not finish within %.0f s", len(unfinished), timeout)
        return len(running)

    @staticmethod
    async def _data_command(message: UserMessage, agent: Any) -> Outcome | None:
        """"Delete my data" and its confirmation, answered here: they never reach the model or the
        conversation store (storing the request would keep what it asks to delete)."""
        text, out, sender = (message.text or "").strip(), message.output_channel, message.sender_id
        if FORGET_REQUEST.match(text):
            await out.send_text_with_buttons(sender, FORGET_ASK, FORGET_BUTTONS)
            return Outcome.HANDLED
        if text == FORGET_CANCEL:
            await _say(out, sender, KEPT)
            return Outcome.HANDLED
        if text != FORGET_CONFIRM:
            return None
        try:
            await forget_conversation(agent, sender)
        except Exception:
            logger.exception("deleting a conversation's data failed")
            await _say(out, sender, FORGET_FAILED)
            return Outcome.FAILED
        await _say(out, sender, FORGOTTEN)
        return Outcome.FORGOTTEN

    @staticmethod
    async def _handle(message: UserMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      out: OutputChannel, turn: _Turn) -> Outcome:
        """Run the turn; ``out`` is the channel's own output, for what the intake itself says."""
        _current_turn.set(turn)  # this task's own context: the log handler sees this turn only
        try:
            await on_new_message(message)
        except TrackerStoreFault as fault:
            logger.error("conversation store fault; the turn was stopped: %s", fault)
            await _say(out, message.sender_id, STORE_FAILED)
            return Outcome.FAILED
        except Exception:
            logger.exception("a message could not be handled")
            await _say(out, message.sender_id, FAILED)
            return Outcome.FAILED
        if turn.action_failures:
            await _say(out, message.sender_id, ACTIONS_FAILED)
            return Outcome.FAILED
        if turn.replies == 0:  # the dialogue chose to listen without a word: never leave silence
            logger.warning("a turn ended without a reply; the person was asked again")
            await _say(out, message.sender_id, NO_REPLY)
        return Outcome.HANDLED


async def forget_conversation(agent: Any, conversation_id: str) -> Any:
    """Delete one conversation and everything kept from it (``retention.forget``), holding the
    conversation's lock so none of its turns is being saved meanwhile; what was deleted."""
    from qi_coach.retention import forget

    lock_store = getattr(agent, "lock_store", None)
    async with lock_store.lock(conversation_id) if lock_store is not None else contextlib.nullcontext():
        return await asyncio.to_thread(forget, conversation_id)


async def _say(out: OutputChannel, recipient_id: str, text: str) -> None:
    try:
        await out.send_text_message(recipient_id, text)
    except Exception:
        logger.exception("could not send a reply to %s", out.name())


async def _told_before(agent: Any, sender_id: str) -> bool:
    """Whether an earlier message of this conversation already had something taken out (and so
    the person was told). Unknown (no store, or it cannot be read) counts as not told."""
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return False
    try:
        tracker = await store.retrieve(sender_id)
    except (Exception, TrackerStoreFault):
        return False
    if tracker is None:
        return False
    return any(isinstance(e, UserUttered) and (e.metadata or {}).get(REDACTED_KEY) for e in tracker.events)


class IntakeBlueprint(Blueprint):
    """A channel's blueprint: registering it attaches the intake to the server (``attach``)."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        attach(app)
        super().register(app, options)


def attach(app: Sanic) -> None:
    """What the intake needs of the server, set once however many channels call it: the body
    limit, and finishing started turns when the server stops."""
    limit_request_bodies(app)
    if not getattr(app.ctx, "qi_coach_intake_attached", False):
        app.ctx.qi_coach_intake_attached = True
        app.register_listener(_finish_turns, "after_server_stop")


async def _finish_turns(app: Sanic, _loop: Any) -> None:
    await shared_intake().finish_running_turns()


def limit_request_bodies(app: Sanic) -> None:
    """Answer a body over ``limits.REQUEST_BODY_BYTES`` with 413 before reading it (Sanic's
    default would read 100 MB, before any signature or token is checked)."""
    if app.config.REQUEST_MAX_SIZE != limits.REQUEST_BODY_BYTES:
        app.config.REQUEST_MAX_SIZE = limits.REQUEST_BODY_BYTES


_shared: Intake | None = None


def shared_intake() -> Intake:
    """The server's one intake, shared by its channels (so one rate limit covers them all)."""
    global _shared
    if _shared is None:
        _shared = Intake()
    return _shared
