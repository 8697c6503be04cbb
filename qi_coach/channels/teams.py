"""Microsoft Teams, through the Bot Framework: the project's connector, on top of Rasa 3.6's.

What Rasa's own ``BotFrameworkInput`` gets wrong for Teams today, and what this does instead:
- it fetched its outbound token from the multi-tenant ``botframework.com`` endpoint, which new
  single-tenant Azure bots cannot use; here the tenant's own token endpoint is used
  (``MICROSOFT_APP_TENANT_ID``), and multi-tenant remains possible by leaving it unset;
- it fetched Microsoft's signing keys over the network when constructed (so it could not even
  start offline); here they are fetched on the first request and cached for a day, and once
  more when a token names a key not yet seen;
- it checked signature and audience only; here also the issuer, the expiry, the key's
  endorsement of the channel, and the ``serviceUrl`` the reply will go to (it must equal the
  token's ``serviceurl`` claim or, without that claim, be on an allow-list of Microsoft hosts),
  so a forged request cannot make the bot post to an address of the sender's choosing;
- its HTTP calls were blocking (``requests``) inside the event loop; here they use aiohttp;
- it served any channel the key endorsed and any tenant; here only ``msteams``, only the bot's
  own tenant when ``MICROSOFT_APP_TENANT_ID`` is set (403 otherwise), and a replayed activity
  id is handled once (``dedupe.py``);
- every message goes through the project's intake (``intake.py``: length, rate, redaction,
  visible failures), and a reply the connector refuses is retried without losing the turn;
- every Microsoft address is a setting, so tests point them at loopback.

Inbound requests without a valid Bot Framework token get 401 and reach no conversation.

Settings (environment): ``MICROSOFT_APP_ID`` and ``MICROSOFT_APP_PASSWORD`` turn it on;
``MICROSOFT_APP_TENANT_ID`` (single-tenant bots; unset means multi-tenant);
``TEAMS_OPENID_URL``, ``TEAMS_TOKEN_URL``, ``TEAMS_ISSUER``, ``TEAMS_SERVICE_URL_HOSTS``
(comma-separated; ``*.`` matches subdomains) to override Microsoft's defaults.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import jwt
from jwt.algorithms import RSAAlgorithm
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from qi_coach.channels.charts import FILENAME, ChartReply, chart_in, picture
from qi_coach.channels.dedupe import ProcessedEvents
from qi_coach.channels.delivery import Permanent, deliver
from qi_coach.channels.formatting import WEBCHAT_PATH, public_base_url, teams_hero_card, to_teams_markdown
from qi_coach.channels.intake import IntakeBlueprint, Outcome, shared_intake

logger = logging.getLogger(__name__)

OPENID_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
MULTI_TENANT = "botframework.com"
TEAMS_CHANNEL = "msteams"  # the Bot Framework's id for Teams: other channels a key endorses are refused
ISSUER = "https://api.botframework.com"
TOKEN_SCOPE = "https://api.botframework.com/.default"
# Where Microsoft's Bot Connector service lives (public cloud and government clouds).
SERVICE_URL_HOSTS = ("smba.trafficmanager.net", "*.botframework.com", "*.botframework.us", "*.botframework.azure.us",
                     "*.teams.microsoft.com")
KEYS_TTL = 24 * 3600
KEYS_REFRESH_MIN_INTERVAL = 300  # an unknown key id refreshes the keys at most this often
CLOCK_SKEW = 300  # seconds of leeway on expiry, as the Bot Framework allows
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=15)


class Unauthorised(Exception):
    """The request's token or service URL did not check out."""


@dataclass(frozen=True)
class TeamsSettings:
    app_id: str
    app_password: str
    tenant: str = MULTI_TENANT
    openid_url: str = OPENID_URL
    token_url: str = ""
    issuer: str = ISSUER
    service_url_hosts: tuple[str, ...] = SERVICE_URL_HOSTS
    token_scope: str = TOKEN_SCOPE

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.app_password)

    @property
    def outbound_token_url(self) -> str:
        return (self.token_url or TOKEN_URL).replace("{tenant}", self.tenant)

    @classmethod
    def from_environment(cls) -> TeamsSettings:
        env = {k: (os.environ.get(k) or "").strip() for k in (
            "MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID", "TEAMS_OPENID_URL",
            "TEAMS_TOKEN_URL", "TEAMS_ISSUER", "TEAMS_SERVICE_URL_HOSTS")}
        hosts = tuple(h.strip().lower() for h in env["TEAMS_SERVICE_URL_HOSTS"].split(",") if h.strip())
        return cls(app_id=env["MICROSOFT_APP_ID"], app_password=env["MICROSOFT_APP_PASSWORD"],
                   tenant=env["MICROSOFT_APP_TENANT_ID"] or MULTI_TENANT,
                   openid_url=env["TEAMS_OPENID_URL"] or OPENID_URL, token_url=env["TEAMS_TOKEN_URL"],
                   issuer=env["TEAMS_ISSUER"] or ISSUER, service_url_hosts=hosts or SERVICE_URL_HOSTS)


def host_allowed(service_url: str, patterns: tuple[str, ...]) -> bool:
    parts = urlsplit(service_url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        return False
    for pattern in patterns:
        if pattern.startswith("*.") and host.endswith(pattern[1:]) or host == pattern:
            return parts.scheme == "https" or host in ("127.0.0.1", "localhost")
    return False


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


class SigningKeys:
    """Microsoft's token-signing keys, fetched when first needed and cached."""

    def __init__(self, openid_url: str):
        self.openid_url = openid_url
        self._keys: dict[str, dict] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> dict:
        now = time.monotonic()
        stale = now - self._fetched_at > KEYS_TTL
        unknown = kid not in self._keys and now - self._fetched_at > KEYS_REFRESH_MIN_INTERVAL
        if not self._keys or stale or unknown:
            async with self._lock:
                if time.monotonic() - self._fetched_at > KEYS_REFRESH_MIN_INTERVAL or not self._keys:
                    await self._fetch()
        if kid not in self._keys:
            raise Unauthorised(f"the token's signing key '{kid}' is not one of Microsoft's")
        return self._keys[kid]

    async def _fetch(self) -> None:
        try:
            async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
                async with session.get(self.openid_url) as reply:
                    reply.raise_for_status()
                    jwks_uri = (await reply.json(content_type=None))["jwks_uri"]
                async with session.get(jwks_uri) as reply:
                    reply.raise_for_status()
                    keys = (await reply.json(content_type=None))["keys"]
        except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, TypeError, ValueError) as error:
            if self._keys:
                logger.warning("Teams: could not refresh the signing keys (%s); keeping the cached ones", error)
                return
            raise Unauthorised(f"the signing keys could not be fetched: {error}") from error
        self._keys = {k["kid"]: k for k in keys if isinstance(k, dict) and k.get("kid")}
        self._fetched_at = time.monotonic()


class OutboundToken:
    """The bot's own access token for the Bot Connector service, from the tenant's endpoint."""

    def __init__(self, settings: TeamsSettings):
        self.settings = settings
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() > self._expires:
                form = {"grant_type": "client_credentials", "client_id": self.settings.app_id,
                        "client_secret": self.settings.app_password, "scope": self.settings.token_scope}
                async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
                    async with session.post(self.settings.outbound_token_url, data=form) as reply:
                        body = await reply.json(content_type=None)
                        if reply.status != 200 or "access_token" not in body:
                            raise RuntimeError(f"Teams: no token from {self.settings.outbound_token_url} "
                                               f"({reply.status}: {body.get('error_description') or body.get('error')})")
                self._token = body["access_token"]
                self._expires = time.monotonic() + max(60, int(body.get("expires_in", 3600)) - 300)
            return self._token


class TeamsOutput(OutputChannel):
    """Replies into the Teams conversation the message came from (its checked ``serviceUrl``), or,
    given a stored conversation reference instead of an activity, a proactive message into it."""

    @classmethod
    def name(cls) -> str:
        return "teams"

    def __init__(self, activity: dict, token: OutboundToken):
        self.activity, self.token = activity, token
        base = activity["serviceUrl"].rstrip("/")
        conversation = quote(str(activity["conversation"]["id"]), safe=":@;=")  # Teams ids carry ':', '@', ';'
        self.url = f"{base}/v3/conversations/{conversation}/activities"

    async def _send(self, extra: dict) -> None:
        """Post one reply, retried when the connector or the network stumbles (``delivery``)."""
        reply = {"type": "message", "from": self.activity.get("recipient"), "recipient": self.activity.get("from"),
                 "conversation": self.activity.get("conversation"), **extra}
        if self.activity.get("id"):  # a reply; without it, a proactive message (a check-in)
            reply["replyToId"] = self.activity["id"]

        async def post() -> None:
            headers = {"Authorization": f"Bearer {await self.token.get()}"}
            async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
                async with session.post(self.url, json=reply, headers=headers) as answer:
                    if answer.status >= 300:
                        refusal = f"the connector answered {answer.status}: {(await answer.text())[:200]}"
                        if 400 <= answer.status < 500 and answer.status != 429:
                            raise Permanent(refusal)
                        raise RuntimeError(refusal)

        await deliver(post, "Teams")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send({"textFormat": "markdown", "text": to_teams_markdown(text, public_base_url())})

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict], **kwargs: Any) -> None:
        await self._send({"textFormat": "markdown", "text": to_teams_markdown(text, public_base_url()),
                          "attachments": [teams_hero_card(buttons)]})

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: list[dict], **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send({"attachments": [{"contentType": "application/vnd.microsoft.card.hero",
                                           "content": {"images": [{"url": image}]}}]})

    async def send_custom_json(self, recipient_id: str, json_message: dict, **kwargs: Any) -> None:
        chart = chart_in(json_message)
        await self._send(await _chart_attachment(chart) if chart else json_message)


async def _chart_attachment(chart: ChartReply) -> dict:
    """A run chart as an image attachment. With a public address the picture is fetched from the
    web chat's chart URL; without one it travels inline, drawn small (a Teams message is limited
    to about 28 KB). Its text alternative is the attachment's name and the message's text."""
    base = public_base_url()
    if base:
        content_url = f"{base}{WEBCHAT_PATH}{chart.url}"
    else:
        found = await asyncio.to_thread(picture, chart.token, True)
        if found is None:
            return {"textFormat": "plain", "text": chart.alt}
        content_url = "data:image/png;base64," + base64.b64encode(found[0]).decode("ascii")
    return {"textFormat": "plain", "text": chart.alt, "attachments": [
        {"contentType": "image/png", "contentUrl": content_url, "name": FILENAME}]}


class TeamsChannel(InputChannel):
    """Bot Framework messages from Teams (credentials key ``qi_coach.channels.teams.TeamsChannel``)."""

    @classmethod
    def name(cls) -> str:
        return "teams"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TeamsChannel:
        return cls(TeamsSettings.from_environment())

    def __init__(self, settings: TeamsSettings, events: ProcessedEvents | None = None):
        self.settings = settings
        self.keys = SigningKeys(settings.openid_url)
        self.token = OutboundToken(settings)
        self.events = events or ProcessedEvents("teams")

    def tenant_allowed(self, activity: dict) -> bool:
        """With ``MICROSOFT_APP_TENANT_ID`` set, only activities from that tenant are served."""
        if self.settings.tenant == MULTI_TENANT:
            return True
        def part(container: Any, key: str) -> dict:
            value = container.get(key) if isinstance(container, dict) else None
            return value if isinstance(value, dict) else {}

        tenant = part(part(activity, "channelData"), "tenant").get("id") or part(activity, "conversation").get("tenantId")
        return tenant == self.settings.tenant

    def get_output_channel(self) -> OutputChannel | None:
        return None  # a reply needs the conversation and service URL of the message it answers

    async def verify_token(self, authorization: str | None, channel_id: Any) -> dict:
        """The claims of a valid Bot Framework token for this bot; ``Unauthorised`` otherwise.
        ``channel_id`` is the activity's (None when the body could not be read: it will be refused)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorised("no Bearer token")
        token = authorization[len("Bearer "):].strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthorised(f"malformed token: {error}") from error
        if header.get("alg") != "RS256" or not header.get("kid"):
            raise Unauthorised(f"unexpected token algorithm '{header.get('alg')}'")
        key = await self.keys.get(str(header["kid"]))
        endorsements = key.get("endorsements")
        if endorsements and channel_id is not None and channel_id not in endorsements:
            raise Unauthorised(f"the signing key does not endorse channel '{channel_id}'")
        try:
            public_key: Any = RSAAlgorithm.from_jwk(json.dumps(key))  # a JWK set holds public keys only
            return jwt.decode(token, key=public_key, algorithms=["RS256"],
                              audience=self.settings.app_id, issuer=self.settings.issuer, leeway=CLOCK_SKEW,
                              options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWTError as error:
            raise Unauthorised(f"token rejected: {error}") from error

    def check_service_url(self, claims: dict, service_url: str) -> None:
        """The reply address must be the token's ``serviceurl`` claim or, without one, a
        Microsoft host: a forged activity cannot send the bot's replies elsewhere."""
        claimed = claims.get("serviceurl") or claims.get("serviceUrl")
        if claimed:
            if not _same_url(claimed, service_url):
                raise Unauthorised("the activity's serviceUrl differs from the token's")
        elif not host_allowed(service_url, self.settings.service_url_hosts):
            raise Unauthorised(f"serviceUrl '{service_url}' is not a Bot Framework host")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        teams = IntakeBlueprint("qi_coach_teams", __name__)

        @teams.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.settings.configured else "not configured"})

        @teams.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.settings.configured:
                return response.json({"error": "Microsoft Teams is not configured on this server: set "
                                               "MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD"},
                                     status=HTTPStatus.NOT_FOUND)
            try:
                activity = json.loads(request.body or b"")
            except (json.JSONDecodeError, UnicodeDecodeError):
                activity = None
            try:
                claims = await self.verify_token(request.headers.get("Authorization"),
                                                 activity.get("channelId", "") if isinstance(activity, dict) else None)
                if isinstance(activity, dict):
                    self.check_service_url(claims, str(activity.get("serviceUrl") or ""))
            except Unauthorised as error:
                logger.warning("Teams: refused a request: %s", error)
                return response.json({"error": "unauthorised"}, status=HTTPStatus.UNAUTHORIZED)
            if not isinstance(activity, dict):
                return response.json({"error": "the body is not a Bot Framework activity"},
                                     status=HTTPStatus.BAD_REQUEST)
            if activity.get("channelId") != TEAMS_CHANNEL:
                logger.warning("Teams: refused an activity from channel %r", str(activity.get("channelId"))[:40])
                return response.json({"error": f"only Microsoft Teams ('{TEAMS_CHANNEL}') is served here"},
                                     status=HTTPStatus.FORBIDDEN)
            if activity.get("type") != "message":
                return response.json({}, status=HTTPStatus.OK)  # conversation updates, typing: nothing to do
            try:
                conversation_id = _conversation_id(activity)
                output = TeamsOutput(activity, self.token)
            except (KeyError, TypeError, AttributeError):
                return response.json({"error": "the activity lacks a conversation, sender or serviceUrl"},
                                     status=HTTPStatus.BAD_REQUEST)
            if not self.tenant_allowed(activity):
                logger.warning("Teams: refused an activity from another tenant")
                return response.json({"error": "this bot serves one organisation's tenant only"},
                                     status=HTTPStatus.FORBIDDEN)
            activity_id = f"{conversation_id}:{activity.get('id')}"
            if activity.get("id") and not await asyncio.to_thread(self.events.claim, activity_id):
                logger.info("Teams: activity already handled or being handled (a replay); acknowledged only")
                return response.json({}, status=HTTPStatus.OK)
            display = activity.get("value", {}).get("display") if isinstance(activity.get("value"), dict) else None
            metadata = {"reply_to": conversation_reference(activity),
                        **({"display": display} if isinstance(display, str) else {})}
            message = UserMessage(_without_bot_mention(activity), output, conversation_id, input_channel=self.name(),
                                  metadata=metadata)
            outcome = await shared_intake().receive(message, on_new_message, request.app.ctx.agent)
            if activity.get("id"):
                await asyncio.to_thread(self.events.complete, activity_id)
            if outcome is Outcome.RATE_LIMITED:
                return response.json({"error": "too many messages"}, status=HTTPStatus.TOO_MANY_REQUESTS)
            return response.json({}, status=HTTPStatus.OK)

        return teams

def conversation_reference(activity: dict) -> dict[str, Any]:
    """What a proactive message to this conversation needs (a check-in, days later): the Bot
    Framework's conversation reference, ids only. ``TeamsOutput`` takes it as an activity."""
    def part(key: str) -> dict:
        value = activity.get(key)
        return {k: v for k, v in value.items() if k in ("id", "name", "aadObjectId", "tenantId", "conversationType")} \
            if isinstance(value, dict) else {}

    return {"serviceUrl": activity.get("serviceUrl"), "channelId": activity.get("channelId"),
            "conversation": part("conversation"), "recipient": part("recipient"), "from": part("from")}


def _conversation_id(activity: dict) -> str:
    """One conversation per person per Teams conversation (a chat, or a channel thread)."""
    conversation, sender = activity["conversation"]["id"], activity["from"]
    who = sender.get("aadObjectId") or sender["id"]
    if not activity["serviceUrl"] or not conversation or not who:
        raise KeyError("serviceUrl")
    readable = f"teams:{conversation}:{who}"
    return readable if len(readable) <= 200 else "teams:" + hashlib.sha256(readable.encode()).hexdigest()


def _without_bot_mention(activity: dict) -> str:
    """The text without the ``<at>qi-coach</at>`` that addresses the bot in a channel."""
    text = str(activity.get("text") or "")
    bot_id = (activity.get("recipient") or {}).get("id")
    for entity in activity.get("entities") or []:
        if isinstance(entity, dict) and entity.get("type") == "mention" and \
                (entity.get("mentioned") or {}).get("id") == bot_id and entity.get("text"):
            text = text.replace(entity["text"], "")
    return " ".join(text.split())
