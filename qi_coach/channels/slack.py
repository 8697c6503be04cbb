"""Slack: the project's connector, on top of Rasa 3.6's.

What Rasa's own ``SlackInput`` gets wrong for us, and what this does instead:
- a bad signature got 400; here a missing, forged or stale (over 5 minutes) signature gets
  401 and reaches no conversation;
- a retry was handled again unless Slack's reason was a timeout; here every event is handled
  once, by ``event_id``, in the database (``dedupe.py``), whichever server receives it, and
  is marked done only after it was handled (a turn that takes over 2.5 s is acknowledged
  first, as Slack demands, and finishes in the background);
- every message goes through the project's intake (``intake.py``: length, rate, redaction,
  visible failures), and a reply Slack refuses is retried and never loses the turn
  (``delivery.py``);
- replies were split on blank lines and text beside buttons went as plain text; here each
  reply is one Block Kit message (``mrkdwn`` sections and an actions block of buttons);
- replies stay in the user's thread: a message in a thread is answered there, a mention in a
  channel is answered in a thread under it, and a direct message is answered in the DM;
- the Web API address was hard-coded; here ``SLACK_API_URL`` sets it (tests point it at a
  fake Slack on loopback).

Settings (environment): ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET`` turn it on;
``SLACK_API_URL`` (default ``https://slack.com/api/``); ``SLACK_CHANNEL``, a channel id where
the bot answers every message (elsewhere it answers direct messages and mentions).
Slack's Events API and interactivity both post to ``/webhooks/slack/webhook``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from qi_coach.channels.charts import FILENAME, ChartReply, chart_in, picture
from qi_coach.channels.dedupe import ProcessedEvents
from qi_coach.channels.delivery import deliver
from qi_coach.channels.formatting import public_base_url, slack_blocks, to_plain
from qi_coach.channels.intake import IntakeBlueprint, Outcome, shared_intake
from qi_coach.stores import TrackerStoreFault

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
MAX_AGE_SECONDS = 5 * 60  # Slack's own advice: refuse requests older than five minutes
ACKNOWLEDGE_WITHIN = 2.5  # seconds: Slack retries what it has not had an answer to in 3


def verify_signature(secret: str, timestamp: str | None, signature: str | None, body: bytes,
                     now: float | None = None) -> bool:
    """Slack's v0 request signature: HMAC-SHA256 of ``v0:<timestamp>:<body>``, and a fresh timestamp."""
    if not secret or not timestamp or not signature:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - sent) > MAX_AGE_SECONDS:
        return False
    expected = "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class SlackOutput(OutputChannel):
    """Posts each reply as one Block Kit message, in the conversation's thread."""

    @classmethod
    def name(cls) -> str:
        return "slack"

    def __init__(self, token: str, channel: str, thread_ts: str | None, api_url: str = DEFAULT_API_URL):
        self.client = AsyncWebClient(token=token, base_url=api_url)
        self.channel, self.thread_ts = channel, thread_ts

    async def _post_message(self, **message: Any) -> None:
        """One ``chat.postMessage`` in this conversation's thread, retried (``delivery``)."""
        if self.thread_ts:
            message.setdefault("thread_ts", self.thread_ts)
        await deliver(lambda: self.client.chat_postMessage(channel=self.channel, **message), "Slack")

    async def _post(self, text: str, buttons: list[dict] | None = None) -> None:
        blocks = slack_blocks(text, buttons or [], public_base_url())
        fallback = to_plain(text)[:3000] or "qi-coach"  # notifications and screen readers
        await self._post_message(text=fallback, blocks=blocks)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._post(text)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict], **kwargs: Any) -> None:
        await self._post(text, buttons)

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: list[dict], **kwargs: Any) -> None:
        await self._post(text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._post_message(text=image, blocks=[{"type": "image", "image_url": image, "alt_text": "image"}])

    async def send_custom_json(self, recipient_id: str, json_message: dict, **kwargs: Any) -> None:
        chart = chart_in(json_message)
        if chart:
            await self._upload_chart(chart)
            return
        await self._post_message(**{k: v for k, v in json_message.items() if k != "channel"})

    async def _upload_chart(self, chart: ChartReply) -> None:
        """A run chart as a file in this conversation (Slack's ``files.uploadV2``): Slack shows it
        inline, and its ``alt_txt`` is what a screen reader says. Without the picture (deleted),
        its text alternative is posted instead."""
        found = await asyncio.to_thread(picture, chart.token)
        if found is None:
            await self._post(chart.alt)
            return
        png, alt = found
        await deliver(lambda: self.client.files_upload_v2(
            channel=self.channel, thread_ts=self.thread_ts, file=png, filename=FILENAME, title=chart.title,
            alt_txt=alt[:1000]), "Slack")


class SlackChannel(InputChannel):
    """Slack Events API and interactivity (credentials key ``qi_coach.channels.slack.SlackChannel``)."""

    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackChannel:
        return cls(token=os.environ.get("SLACK_BOT_TOKEN", "").strip(),
                   signing_secret=os.environ.get("SLACK_SIGNING_SECRET", "").strip(),
                   api_url=os.environ.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL,
                   listen_channel=os.environ.get("SLACK_CHANNEL", "").strip() or None)

    def __init__(self, token: str, signing_secret: str, api_url: str = DEFAULT_API_URL,
                 listen_channel: str | None = None, events: ProcessedEvents | None = None):
        self.token, self.signing_secret = token, signing_secret
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.listen_channel = listen_channel
        self.events = events or ProcessedEvents("slack")
        self._tasks: set[asyncio.Task] = set()

    @property
    def configured(self) -> bool:
        return bool(self.token and self.signing_secret)

    def get_output_channel(self) -> OutputChannel | None:
        return None  # a reply needs the Slack channel and thread of the message it answers

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack = IntakeBlueprint("qi_coach_slack", __name__)

        @slack.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.configured else "not configured"})

        @slack.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.configured:
                return response.json({"error": "Slack is not configured on this server: set SLACK_BOT_TOKEN "
                                               "and SLACK_SIGNING_SECRET"}, status=HTTPStatus.NOT_FOUND)
            if not verify_signature(self.signing_secret, request.headers.get("X-Slack-Request-Timestamp"),
                                    request.headers.get("X-Slack-Signature"), request.body or b""):
                logger.warning("Slack: refused a request with a missing, forged or stale signature")
                return response.json({"error": "invalid or stale Slack signature"}, status=HTTPStatus.UNAUTHORIZED)
            try:
                kind, body = self._parse(request)
            except ValueError as error:
                return response.json({"error": str(error)}, status=HTTPStatus.BAD_REQUEST)
            if kind == "url_verification":
                return response.json({"challenge": body.get("challenge")})
            message = self._user_message(kind, body)
            if message is None:
                return response.text("ignored")
            event_id, text, conversation_id, channel, thread_ts, metadata, only_if_ongoing = message
            try:
                if only_if_ongoing and not await request.app.ctx.agent.tracker_store.exists(conversation_id):
                    return response.text("ignored")  # a thread the bot is not part of
            except TrackerStoreFault:
                return response.json({"error": "the conversation store is unavailable"},
                                     status=HTTPStatus.SERVICE_UNAVAILABLE)  # Slack retries later
            if not await asyncio.to_thread(self.events.claim, event_id):
                logger.info("Slack: event %s already handled or being handled (a retry); acknowledged only", event_id)
                return response.text("duplicate", headers={"X-Slack-No-Retry": "1"})
            out = SlackOutput(self.token, channel, thread_ts, self.api_url)
            user_message = UserMessage(text, out, conversation_id, input_channel=self.name(), metadata=metadata)
            task = asyncio.create_task(self._handle(on_new_message, user_message, event_id, request.app.ctx.agent))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            # Slack wants an answer within 3 seconds. Most turns finish sooner and are marked done
            # before the answer; a longer one is answered now and finishes in the background.
            done, _ = await asyncio.wait({task}, timeout=ACKNOWLEDGE_WITHIN)
            if done and task.result() is Outcome.RATE_LIMITED:
                return response.text("rate limited", status=HTTPStatus.TOO_MANY_REQUESTS,
                                     headers={"X-Slack-No-Retry": "1"})
            return response.text("")

        return slack

    async def _handle(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage,
                      event_id: str, agent: Any) -> Outcome:
        """Through the intake; the event is marked done only once it was handled."""
        outcome = await shared_intake().receive(message, on_new_message, agent)
        await asyncio.to_thread(self.events.complete, event_id)
        return outcome

    @staticmethod
    def _parse(request: Request) -> tuple[str, dict]:
        """``(kind, body)``: an Events API callback (JSON) or an interactivity payload (form)."""
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
        raw = request.body or b""
        try:
            if content_type == "application/json":
                body = json.loads(raw)
            elif content_type == "application/x-www-form-urlencoded":
                body = json.loads(parse_qs(raw.decode())["payload"][0])
            else:
                raise ValueError(f"unsupported content type '{content_type}'")
        except (KeyError, IndexError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError("the request body is not a Slack event or interaction") from error
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise ValueError("the request body is not a Slack event or interaction")
        return body["type"], body

    def _user_message(self, kind: str, body: dict) -> tuple[str, str, str, str, str | None, dict, bool] | None:
        """``(event_id, text, conversation_id, channel, thread_ts, metadata, only_if_ongoing)`` for
        a message from a person that the bot may answer; None for anything else."""
        if kind == "event_callback":
            event = body.get("event") or {}
            if (event.get("type") not in ("message", "app_mention") or event.get("bot_id") or event.get("subtype")
                    or not event.get("user") or not event.get("channel") or not body.get("event_id")):
                return None
            direct = event.get("channel_type") == "im"
            text = _without_mentions(str(event.get("text") or ""), body)
            thread_ts = event.get("thread_ts") or (None if direct else event.get("ts"))
            channel = event["channel"]
            # In a channel, a mention starts a conversation (in a thread under it); after that,
            # replies in that thread need no mention. Other channel chatter is not for the bot.
            only_if_ongoing = (event["type"] == "message" and not direct and channel != self.listen_channel)
            if only_if_ongoing and (not event.get("thread_ts") or "<@" in str(event.get("text") or "")):
                return None  # not in a thread, or a mention (which also arrives as app_mention)
            return (str(body["event_id"]), text, _conversation_id(event["user"], channel, thread_ts), channel,
                    thread_ts, {"slack_team": body.get("team_id"), "reply_to": reply_to(channel, thread_ts)},
                    only_if_ongoing)
        if kind == "block_actions":
            actions = body.get("actions") or []
            user = (body.get("user") or {}).get("id")
            channel = (body.get("channel") or {}).get("id")
            if not actions or not user or not channel or actions[0].get("type") != "button":
                return None
            action = actions[0]
            message = body.get("message") or {}
            thread_ts = message.get("thread_ts")
            title = ((action.get("text") or {}).get("text")) or ""
            event_id = f"action:{user}:{action.get('action_ts') or body.get('trigger_id')}"
            return (event_id, str(action.get("value") or title), _conversation_id(user, channel, thread_ts),
                    channel, thread_ts, {"display": title, "reply_to": reply_to(channel, thread_ts)}, False)
        return None


def _without_mentions(text: str, body: dict) -> str:
    """The text without the ``<@U123>`` mention of the bot that started it."""
    bot_users = [a.get("user_id") for a in body.get("authorizations") or [] if a.get("is_bot")]
    for user in bot_users + list(body.get("authed_users") or []):
        if user:
            text = text.replace(f"<@{user}>", "")
    return " ".join(text.split())


def reply_to(channel: str, thread_ts: str | None) -> dict[str, str | None]:
    """Where a later message to this conversation goes (a check-in): the DM or the thread."""
    return {"channel": channel, "thread_ts": thread_ts}


def _conversation_id(user: str, channel: str, thread_ts: str | None) -> str:
    """One conversation per person and place: a DM, or a thread in a channel."""
    return f"slack:{user}:{channel}" + (f":{thread_ts}" if thread_ts else "")
