"""The web chat: the project's page and a socket.io channel that cannot be talked into
another user's conversation.

Rasa 3.6's socket.io channel takes the ``session_id`` the browser sends with each message on
trust, and its ``jwt_key`` only gates the connection. Here the server issues the session: a
random id with an HMAC signature (the *token*; ``webchat_sessions.py``). The browser keeps the
token and sends it with every message; a message whose token does not verify, or whose session
expired or was revoked, is refused and reaches no conversation. Sessions live in the database,
so any of several Rasa servers can answer (they share the keys, ``QI_COACH_WEBCHAT_SECRET``;
without it one is made and kept in ``var/``). The socket.io Origin check is on: only this
page's own origin, or ``QI_COACH_PUBLIC_URL``'s, may connect from a browser.

Every message goes through the project's intake (``intake.py``: length, rate, redaction,
visible failures). "Start a new conversation" revokes the old session on the server; "Delete
my data" (``POST /forget``) deletes the conversation and its records and revokes the session.

On (re)connecting with a valid token the history is replayed from the tracker store, so the
conversation survives a reload of the page and a restart of the server.

Nothing the person sends is lost on the way, even when the server the page is connected to
stops: the page gives each message an id and keeps it until the server says ``received``; after
a reconnection (to any server) it sends again whatever was not confirmed. The server claims each
id once (``dedupe.ProcessedEvents``, in the shared database), so a message sent twice is handled
once. Replies go to a
socket.io room named after the session, so every tab of one session sees them.

The page itself (``web/``) is served by the same server, from the same origin as the
connection, with a Content-Security-Policy that allows only its own scripts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from sqlalchemy.exc import SQLAlchemyError

from qi_coach.channels.charts import TOKEN, chart_in, picture, run_charts
from qi_coach.channels.dedupe import ProcessedEvents
from qi_coach.channels.formatting import public_base_url
from qi_coach.channels.intake import Outcome, attach, forget_conversation, shared_intake
from qi_coach.channels.webchat_sessions import Check, SessionSigner, WebChatSessions, load_keys
from qi_coach.paths import PROJECT_ROOT
from qi_coach.shared_state import redis_url
from qi_coach.stores import TrackerStoreFault

logger = logging.getLogger(__name__)

WEB_ROOT = PROJECT_ROOT / "web"
HISTORY_LIMIT = 200  # messages replayed on reconnect
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'none'")
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}


class WebChatOutput(OutputChannel):
    """Replies to every tab of one session, one bubble per reply (Markdown kept whole)."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def __init__(self, sio: AsyncServer, event: str = "bot_uttered"):
        self.sio, self.event = sio, event

    async def _emit(self, session_id: str, message: dict) -> None:
        await self.sio.emit(self.event, message, room=session_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._emit(recipient_id, {"text": text})

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict], **kwargs: Any) -> None:
        await self._emit(recipient_id, {"text": text, "buttons": _buttons(buttons)})

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: list[dict], **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._emit(recipient_id, {"text": f"![]({image})"})

    async def send_custom_json(self, recipient_id: str, json_message: dict, **kwargs: Any) -> None:
        chart = chart_in(json_message)
        await self._emit(recipient_id, {"chart": chart.as_dict()} if chart else {"custom": json_message})


def _buttons(buttons: list[dict] | None) -> list[dict]:
    return [{"title": str(b.get("title") or ""), "payload": str(b.get("payload") or b.get("title") or "")}
            for b in buttons or []]


def history_messages(events: list[dict], limit: int = HISTORY_LIMIT) -> list[dict]:
    """What the user saw, from a tracker's events: their messages (a pressed button shows its
    title, as it did at the time) and the bot's replies with their buttons."""
    shown = []
    for event in events:
        if event.get("event") == "user":
            if (event.get("metadata") or {}).get("is_external"):
                continue  # a check-in's trigger, not something the person said
            text = ((event.get("metadata") or {}).get("display") or event.get("text") or "").strip()
            if text and not (text.startswith("/") and text == (event.get("text") or "").strip()):
                # an intent sent by the page itself (the opening /greet) was never shown as typed
                shown.append({"from": "user", "text": text})
        elif event.get("event") == "bot":
            data = event.get("data") or {}
            chart = chart_in(data.get("custom"))
            if chart:
                shown.append({"from": "bot", "chart": chart.as_dict()})
            elif event.get("text") or data.get("buttons"):
                shown.append({"from": "bot", "text": event.get("text") or "", "buttons": _buttons(data.get("buttons"))})
    return shown[-limit:]


class _AppBlueprint(SocketBlueprint):
    """Rasa's socket.io blueprint, remembering the app so handlers can reach the agent."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.app = app
        attach(app)
        super().register(app, options)


class WebChatInput(InputChannel):
    """The web chat channel (credentials key ``qi_coach.channels.webchat.WebChatInput``)."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebChatInput:
        credentials = credentials or {}
        return cls(socketio_path=credentials.get("socketio_path", "/socket.io"))

    def __init__(self, socketio_path: str = "/socket.io", keys: list[bytes] | None = None,
                 web_root: Path = WEB_ROOT, sessions: WebChatSessions | None = None):
        self.socketio_path = socketio_path
        self.sessions = sessions or WebChatSessions(SessionSigner(keys or load_keys()))
        self.web_root = web_root
        self.sio: AsyncServer | None = None
        self.received = ProcessedEvents("webchat")  # the page's message ids: each message handled once

    def get_output_channel(self) -> OutputChannel | None:
        return WebChatOutput(self.sio) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=origin_allowed, max_http_buffer_size=64 * 1024,
                          client_manager=_client_manager())
        self.sio = sio
        webchat = _AppBlueprint(sio, self.socketio_path, "webchat", __name__)

        @webchat.route("/", methods=["GET"])
        async def page(_: Request) -> HTTPResponse:
            return await self._static("index.html")

        @webchat.route("/static/<name:str>", methods=["GET"])
        async def static(_: Request, name: str) -> HTTPResponse:
            return await self._static(name)

        @webchat.route("/static/vendor/<name:str>", methods=["GET"])
        async def vendored(_: Request, name: str) -> HTTPResponse:
            return await self._static(f"vendor/{name}")

        async def open_session(request: Request) -> str | HTTPResponse:
            """The open session named by the request's X-Session-Token, or the refusal to send."""
            verdict = await asyncio.to_thread(self.sessions.check, request.headers.get("X-Session-Token"), False)
            if not verdict.open or verdict.session_id is None:
                return response.json({"error": _REFUSED[verdict.check]}, status=401)
            if not shared_intake().rate_limits.allow(verdict.session_id, _address(request)):
                return response.json({"error": "too many requests: wait a few seconds"}, status=429)
            return verdict.session_id

        @webchat.route("/plan", methods=["GET"])
        async def plan(request: Request) -> HTTPResponse:
            """The session's latest action plan as a Markdown file (token in X-Session-Token)."""
            session_id = await open_session(request)
            if isinstance(session_id, HTTPResponse):
                return session_id
            from qi_coach.records import UserRecords

            saved = await asyncio.to_thread(UserRecords().latest_plan, session_id)
            if saved is None:
                return response.json({"error": "no action plan yet: the guided triage makes one"}, status=404)
            return response.text(saved.markdown + "\n", content_type="text/markdown; charset=utf-8", headers={
                **security_headers(), "Content-Disposition": 'attachment; filename="qi-coach-action-plan.md"'})

        @webchat.route("/forget", methods=["POST"])
        async def forget(request: Request) -> HTTPResponse:
            """Delete the session's conversation and records, and end the session ("Delete my data")."""
            session_id = await open_session(request)
            if isinstance(session_id, HTTPResponse):
                return session_id
            deleted = await forget_conversation(request.app.ctx.agent, session_id)
            await sio.emit("session_ended", {"reason": "deleted"}, room=session_id)  # the session's other tabs
            return response.json({"deleted": {"events": deleted.events, "records": deleted.records}})

        @webchat.route("/charts/<name:str>", methods=["GET"])
        async def chart(_: Request, name: str) -> HTTPResponse:
            """A run chart's picture, by the random token in its name (an ``<img>`` sends no header)."""
            token = name.removesuffix(".png")
            found = await asyncio.to_thread(picture, token) if name.endswith(".png") and TOKEN.match(token) else None
            if found is None:
                return response.text("Not found", status=404, headers=security_headers())
            return response.raw(found[0], content_type="image/png",
                                headers={**security_headers(), "Cache-Control": "private, max-age=3600"})

        @webchat.route("/measure", methods=["POST"])
        async def measure(request: Request) -> HTTPResponse:
            """A measure uploaded as a CSV file on the page: read and kept for the conversation, or
            refused saying what is wrong with it. The page then asks for the chart
            (``/give_measure{"run_chart": token}``), so the drawing happens in the conversation."""
            session_id = await open_session(request)
            if isinstance(session_id, HTTPResponse):
                return session_id
            from qi_coach.runcharts.measure import MeasureError

            try:
                text = (request.body or b"").decode("utf-8-sig")
            except UnicodeDecodeError:
                return response.json({"error": "That file isn't text I can read. Save it as CSV (UTF-8) and try "
                                               "again."}, status=400)
            try:
                token, read = await asyncio.to_thread(run_charts().upload, session_id, text)
            except MeasureError as error:
                return response.json({"error": str(error)}, status=400)
            return response.json({"token": token, "points": len(read.values), "name": read.name},
                                 headers=security_headers())

        @webchat.route("/sources", methods=["GET"])
        async def sources(_: Request) -> HTTPResponse:
            from qi_coach.channels.sources_page import sources_html

            return response.html(sources_html(), headers=security_headers())

        from qi_coach.channels.insights_page import add_insights_routes  # imports this module: here, not on top

        add_insights_routes(webchat)  # the QI lead's barrier insights (/insights, /insights.csv)

        @sio.on("session_request")
        async def session_request(sid: str, data: Any) -> None:
            """Continue the session the page holds if it is still open, else start a new one.
            ``restart`` ("Start a new conversation") revokes the old one first."""
            data = data if isinstance(data, dict) else {}
            verdict = await asyncio.to_thread(self.sessions.check, data.get("token"))
            if verdict.open and data.get("restart") and verdict.session_id:
                await asyncio.to_thread(self.sessions.revoke, verdict.session_id)
                await sio.emit("session_ended", {"reason": "restarted"}, room=verdict.session_id)
            history: list[dict] = []
            if verdict.open and not data.get("restart") and verdict.session_id and verdict.token:
                session_id, token = verdict.session_id, verdict.token
                history = await self._history(webchat.ctx.app, session_id)
            else:
                session_id, token = await asyncio.to_thread(self.sessions.start)
            previous = (await sio.get_session(sid)).get("session_id")
            if previous and previous != session_id:
                await sio.leave_room(sid, previous)  # this tab no longer hears the session it left
            await sio.save_session(sid, {"session_id": session_id})
            await sio.enter_room(sid, session_id)
            ended = verdict.check.value if data.get("token") and verdict.check in (Check.EXPIRED, Check.REVOKED) \
                else None
            await sio.emit("session_confirm", {"token": token, "history": history, "ended": ended}, room=sid)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                await sio.emit("error_message", {"message": "That message could not be read."}, room=sid)
                return
            verdict = await asyncio.to_thread(self.sessions.check, data.get("token"))
            connected = (await sio.get_session(sid)).get("session_id")
            if verdict.open and verdict.session_id and connected is None:
                # A message that overtook its tab's session request: after a reconnection (its
                # server stopped, say) the page sends both at once, and they are handled at once.
                # The token proves the session, as the request would have.
                connected = verdict.session_id
                await sio.save_session(sid, {"session_id": connected})
                await sio.enter_room(sid, connected)
            if not verdict.open or verdict.session_id != connected:
                refusal = verdict.check if not verdict.open else Check.UNKNOWN  # another tab's session
                logger.warning("web chat: refused a message on a session that is %s", refusal.value)
                await sio.emit("error_message", {"message": _REFUSED[refusal], "reason": refusal.value}, room=sid)
                return
            delivery = _delivery_key(connected, data.get("id"))
            try:
                first_time = not delivery or await asyncio.to_thread(self.received.claim, delivery)
            except SQLAlchemyError:  # the database is down: the turn will say so; never drop the message
                logger.exception("web chat: could not record a message's id")
                delivery, first_time = None, True
            if not first_time:
                await sio.emit("received", {"id": data["id"]}, room=sid)  # a re-send of one already taken
                return
            if delivery:
                await sio.emit("received", {"id": data["id"]}, room=sid)
            text = data.get("message")
            display = data.get("display")
            metadata = {"display": display[:200]} if isinstance(display, str) and display.strip() else None
            message = UserMessage(text if isinstance(text, str) else "", WebChatOutput(sio), connected,
                                  input_channel=self.name(), metadata=metadata)
            request = sio.get_environ(sid).get("sanic.request")
            try:
                outcome = await shared_intake().receive(message, on_new_message, webchat.ctx.app.ctx.agent,
                                                        address=_address(request) if request else None)
            finally:
                if delivery:
                    await asyncio.to_thread(self.received.complete, delivery)
            if outcome is Outcome.FORGOTTEN:
                await sio.emit("session_ended", {"reason": "deleted"}, room=connected)

        return webchat

    async def _static(self, name: str) -> HTTPResponse:
        path = (self.web_root / name).resolve()
        if (self.web_root.resolve() not in path.parents or not path.is_file()
                or path.suffix not in STATIC_TYPES):
            return response.text("Not found", status=404)
        return await response.file(path, mime_type=STATIC_TYPES[path.suffix], headers=security_headers())

    @staticmethod
    async def _history(app: Sanic, session_id: str) -> list[dict]:
        try:
            tracker = await app.ctx.agent.tracker_store.retrieve(session_id)
        except (Exception, TrackerStoreFault):  # a history that cannot be read must not stop the chat
            logger.exception("web chat: could not read the history of a session")
            return []
        return history_messages([e.as_dict() for e in tracker.events]) if tracker else []


_REFUSED = {
    Check.EXPIRED: "This conversation has ended because it was not used for a while. A new one is starting.",
    Check.REVOKED: "This conversation was ended. A new one is starting.",
    Check.UNKNOWN: "This chat session could not be verified. Reload the page to start again.",
}


def _delivery_key(session_id: str, message_id: Any) -> str | None:
    """The key a page's message is claimed under (its session and the id the page gave it), or
    None when it has no usable id (then it is handled as it comes, as before ids existed)."""
    if not isinstance(message_id, str) or not 8 <= len(message_id) <= 64 or not message_id.isalnum():
        return None
    return f"{session_id}:{message_id}"


def origin_allowed(origin: str | None, environ: dict) -> bool:
    """The socket.io Origin check: a browser may connect only from the page's own origin or from
    ``QI_COACH_PUBLIC_URL``'s (behind a proxy that rewrites the Host). A client that sends no
    Origin is not a browser page, and is let through to the token checks."""
    if not origin:
        return True
    allowed = {f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"}
    public = public_base_url()
    if public:
        parts = urlsplit(public)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin.rstrip("/") in allowed


def _address(request: Request) -> str | None:
    return request.remote_addr or request.ip


def security_headers() -> dict[str, str]:
    return {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def _client_manager():
    """Several Rasa servers behind a load balancer share socket.io rooms through Redis when
    ``QI_COACH_REDIS_URL`` is set; one server keeps them itself."""
    url = redis_url()
    if not url:
        return None
    from socketio import AsyncRedisManager

    return AsyncRedisManager(url)
