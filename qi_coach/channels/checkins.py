"""Check-ins, delivered into the conversation they follow up, on the channel it happened on.

The scheduler (``qi-coach checkins run``, ``qi_coach.checkin_scheduler``) claims a due check-in
in the database and posts its id here, signed. This server, which has the channels, then:

- rebuilds the way back to the person from what the channel kept when they committed: a Slack
  DM or thread (``SlackOutput``), a Teams conversation reference (a proactive ``TeamsOutput``),
  the web chat's session room (pushed live if the page is open, and in the history replayed on
  their next visit), or, for REST, replies kept until the client asks (``GET
  /webhooks/rest/waiting``);
- triggers ``EXTERNAL_checkin_due`` in the conversation under its lock, as Rasa's own
  ``trigger_intent`` endpoint does, so the dialogue (``checkin_form``) asks about each strategy;
- marks the check-in sent. A check-in no longer being sent (answered, cancelled, or sent by
  another server) is refused with 409, so each reaches the person once.

Requests carry ``X-Qi-Coach-Signature``: HMAC-SHA256 of the body under the server's web chat key
(``webchat_sessions.load_keys``; every server and scheduler of one deployment shares it), and
the body's ``at`` must be within ``MAX_AGE`` of now. Anything else gets 401.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from qi_coach.channels.intake import IntakeBlueprint
from qi_coach.followup import SENDING, CheckinView, FollowUps

logger = logging.getLogger(__name__)

TRIGGER = "EXTERNAL_checkin_due"
SIGNATURE_HEADER = "X-Qi-Coach-Signature"
MAX_AGE = 300  # seconds


def signature(key: bytes, body: bytes) -> str:
    return hmac.new(key, b"qi-coach-checkin:" + body, hashlib.sha256).hexdigest()


def signed_request(key: bytes, checkin_id: int, now: float | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers the scheduler posts for one check-in."""
    body = json.dumps({"checkin": checkin_id, "at": int(now if now is not None else time.time())}).encode()
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature(key, body)}


class NotReachable(Exception):
    """The channel the person used is not configured on this server (any more)."""


class CheckinChannel(InputChannel):
    """The route the scheduler delivers check-ins through (credentials key
    ``qi_coach.channels.checkins.CheckinChannel``); it takes no messages from people."""

    @classmethod
    def name(cls) -> str:
        return "checkins"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> CheckinChannel:
        return cls()

    def __init__(self, keys: list[bytes] | None = None, followups: FollowUps | None = None):
        self._keys = keys
        self.followups = followups or FollowUps()

    @property
    def keys(self) -> list[bytes]:
        if self._keys is None:
            from qi_coach.channels.webchat_sessions import load_keys

            self._keys = load_keys()
        return self._keys

    def verified(self, body: bytes, sent: str | None, now: float | None = None) -> dict | None:
        """The request's body when its signature is good and it is fresh; else None."""
        if not sent or not any(hmac.compare_digest(signature(k, body), sent) for k in self.keys):
            return None
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("checkin"), int) or not isinstance(data.get("at"), int):
            return None
        return data if abs((now if now is not None else time.time()) - data["at"]) <= MAX_AGE else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        checkins = IntakeBlueprint("qi_coach_checkins", __name__)

        @checkins.route("/deliver", methods=["POST"])
        async def deliver(request: Request) -> HTTPResponse:
            data = self.verified(request.body or b"", request.headers.get(SIGNATURE_HEADER))
            if data is None:
                logger.warning("check-ins: refused a delivery with a missing, forged or stale signature")
                return response.json({"error": "invalid or stale signature"}, status=HTTPStatus.UNAUTHORIZED)
            checkin = await asyncio.to_thread(self.followups.get, data["checkin"])
            if checkin is None:
                return response.json({"error": "no such check-in"}, status=HTTPStatus.NOT_FOUND)
            if checkin.state != SENDING:
                return response.json({"error": f"the check-in is {checkin.state}, not being sent"},
                                     status=HTTPStatus.CONFLICT)
            try:
                output = self.output_for(request.app, checkin)
            except NotReachable as error:
                return response.json({"error": str(error)}, status=HTTPStatus.SERVICE_UNAVAILABLE)
            agent = request.app.ctx.agent
            async with agent.lock_store.lock(checkin.conversation_id):
                current = await asyncio.to_thread(self.followups.get, checkin.id)  # a racing server may have sent it
                if current is None or current.state != SENDING:
                    return response.json({"error": "the check-in was sent meanwhile"}, status=HTTPStatus.CONFLICT)
                tracker = await agent.processor.fetch_tracker_and_update_session(checkin.conversation_id, output)
                await agent.trigger_intent(TRIGGER, [{"entity": "checkin", "value": str(checkin.id)}], output,
                                           tracker)
                waiting = output.messages if isinstance(output, CollectingOutputChannel) else None
                await asyncio.to_thread(self.followups.mark_sent, checkin.id, waiting)
            logger.info("check-ins: check-in %s delivered on %s", checkin.id, checkin.channel)
            return response.json({"sent": checkin.id})

        return checkins

    @staticmethod
    def output_for(app: Sanic, checkin: CheckinView) -> OutputChannel:
        """The way back to the person, on the channel they committed on."""
        channels = {c.name(): c for c in getattr(app.ctx, "input_channels", [])}
        if checkin.channel == "rest":
            return CollectingOutputChannel()
        channel = channels.get(checkin.channel)
        if checkin.channel == "webchat" and channel is not None:
            output = channel.get_output_channel()
            if output is not None:
                return output
        if checkin.channel == "slack" and channel is not None and channel.configured:
            from qi_coach.channels.slack import SlackOutput

            if checkin.reply_to.get("channel"):
                return SlackOutput(channel.token, checkin.reply_to["channel"], checkin.reply_to.get("thread_ts"),
                                   channel.api_url)
        if checkin.channel == "teams" and channel is not None and channel.settings.configured:
            from qi_coach.channels.teams import TeamsOutput

            reference = checkin.reply_to
            if reference.get("serviceUrl") and (reference.get("conversation") or {}).get("id"):
                return TeamsOutput(reference, channel.token)
        raise NotReachable(f"the {checkin.channel} channel is not configured on this server, or the check-in has "
                           "no address on it")
