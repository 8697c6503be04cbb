"""The REST channel (``/webhooks/rest/webhook``): Rasa's, through the project's intake.

Rasa 3.6's ``RestInput`` hands the text straight to Rasa and, when handling fails, logs the
whole message; here every message goes through ``intake`` first (length, rate, redaction,
visible failures), a malformed request gets 400 with a reason, and no log line holds what was
typed. The request format is Rasa's own (``{"sender": ..., "message": ..., "metadata": ...}``)
and the answer is the list of replies, so every REST client works unchanged. A REST client has
no way to be called back, so what the bot says while it is away (a check-in) is kept and given
once at ``GET /webhooks/rest/waiting?sender=...`` (the terminal chat of ``make run`` asks).

It has no authentication and trusts the ``sender`` it is given: the Rasa server listens on
127.0.0.1 only, and a public deployment does not forward ``/webhooks/rest/``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from qi_coach.channels.intake import IntakeBlueprint, Outcome, shared_intake
from qi_coach.followup import FollowUps

MAX_SENDER_CHARS = 255  # the tracker store's sender_id column


class RestInput(InputChannel):
    """Rasa's REST channel with the intake (credentials key ``qi_coach.channels.rest.RestInput``)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @functools.cached_property
    def followups(self) -> FollowUps:
        return FollowUps()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest = IntakeBlueprint("qi_coach_rest", __name__)

        @rest.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = json.loads(request.body or b"")
            except (json.JSONDecodeError, UnicodeDecodeError):
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "the body must be a JSON object with 'sender' and 'message'"},
                                     status=HTTPStatus.BAD_REQUEST)
            sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata")
            if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
                return response.json({"error": f"'sender' must be a non-empty string of at most "
                                               f"{MAX_SENDER_CHARS} characters"}, status=HTTPStatus.BAD_REQUEST)
            if text is not None and not isinstance(text, str):
                return response.json({"error": "'message' must be a string"}, status=HTTPStatus.BAD_REQUEST)
            # Only the shown title of a pressed button is kept: other metadata would be stored unread.
            display = metadata.get("display") if isinstance(metadata, dict) else None
            collector = CollectingOutputChannel()
            message = UserMessage(text or "", collector, sender, input_channel=self.name(),
                                  metadata={"display": display[:200]} if isinstance(display, str) else None)
            outcome = await shared_intake().receive(message, on_new_message, request.app.ctx.agent,
                                                    address=request.remote_addr or request.ip, wait=False)
            status = HTTPStatus.TOO_MANY_REQUESTS if outcome is Outcome.RATE_LIMITED else HTTPStatus.OK
            return response.json(collector.messages, status=status)

        @rest.route("/waiting", methods=["GET"])
        async def waiting(request: Request) -> HTTPResponse:
            """Replies that came while the client was away (a check-in), each given once."""
            sender = request.args.get("sender")
            if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
                return response.json({"error": "give the conversation as ?sender=..."}, status=HTTPStatus.BAD_REQUEST)
            return response.json(await asyncio.to_thread(self.followups.take_waiting, sender))

        return rest
