"""The web chat: the project's page and a socket.io channel that cannot be talked into
another user's conversation.

Rasa 3.6's socket.io channel takes the ``session_id`` the browser sends with each message on
trust, and its ``jwt_key`` only gates the connection. Here the server issues the session: a
random id with an HMAC signature (the *token*). The browser keeps the token and sends it with
every message; a message whose token does not verify is refused and reaches no conversation.
The check needs no server memory, so any of several Rasa servers can answer (they share the
secret, ``QI_COACH_WEBCHAT_SECRET``; without it one is made and kept in ``var/``).

On (re)connecting with a valid token the history is replayed from the tracker store, so the
conversation survives a reload of the page and a restart of the server. Replies go to a
socket.io room named after the session, so every tab of one session sees them.

The page itself (``web/``) is served by the same server, from the same origin as the
connection, with a Content-Security-Policy that allows only its own scripts.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from qi_coach.limits import CHANNEL_MAX_CHARS, TOO_LONG
from qi_coach.paths import PROJECT_ROOT

logger = logging.getLogger(__name__)

WEB_ROOT = PROJECT_ROOT / "web"
SECRET_FILE = PROJECT_ROOT / "var" / "webchat-secret"
SESSION_PREFIX = "web-"
HISTORY_LIMIT = 200  # messages replayed on reconnect
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
                           "frame-ancestors 'none'")
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}


def load_secret(path: Path = SECRET_FILE) -> bytes:
    """The signing secret: ``QI_COACH_WEBCHAT_SECRET``, else one made once and kept (mode 600)."""
    configured = os.environ.get("QI_COACH_WEBCHAT_SECRET", "").strip()
    if configured:
        if len(configured) < 32:
            raise ValueError("QI_COACH_WEBCHAT_SECRET must be at least 32 characters")
        return configured.encode()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


class SessionSigner:
    """Issues session ids and checks the tokens that carry them."""

    def __init__(self, secret: bytes):
        self._secret = secret

    def _signature(self, session_id: str) -> str:
        digest = hmac.new(self._secret, f"webchat-session:{session_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self) -> tuple[str, str]:
        """A new session: ``(session_id, token)``."""
        session_id = SESSION_PREFIX + secrets.token_hex(16)
        return session_id, f"{session_id}.{self._signature(session_id)}"

    def verify(self, token: Any) -> str | None:
        """The session id a token carries, or None if it is missing, malformed or forged."""
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 200:
            return None
        session_id, signature = token.split(".")
        if not session_id.startswith(SESSION_PREFIX):
            return None
        return session_id if hmac.compare_digest(signature, self._signature(session_id)) else None


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
        await self._emit(recipient_id, {"custom": json_message})


def _buttons(buttons: list[dict] | None) -> list[dict]:
    return [{"title": str(b.get("title") or ""), "payload": str(b.get("payload") or b.get("title") or "")}
            for b in buttons or []]


def history_messages(events: list[dict], limit: int = HISTORY_LIMIT) -> list[dict]:
    """What the user saw, from a tracker's events: their messages (a pressed button shows its
    title, as it did at the time) and the bot's replies with their buttons."""
    shown = []
    for event in events:
        if event.get("event") == "user":
            text = ((event.get("metadata") or {}).get("display") or event.get("text") or "").strip()
            if text and not (text.startswith("/") and text == (event.get("text") or "").strip()):
                # an intent sent by the page itself (the opening /greet) was never shown as typed
                shown.append({"from": "user", "text": text})
        elif event.get("event") == "bot":
            data = event.get("data") or {}
            if event.get("text") or data.get("buttons"):
                shown.append({"from": "bot", "text": event.get("text") or "", "buttons": _buttons(data.get("buttons"))})
    return shown[-limit:]


class _AppBlueprint(SocketBlueprint):
    """Rasa's socket.io blueprint, remembering the app so handlers can reach the agent."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.app = app
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

    def __init__(self, socketio_path: str = "/socket.io", secret: bytes | None = None, web_root: Path = WEB_ROOT):
        self.socketio_path = socketio_path
        self.signer = SessionSigner(secret or load_secret())
        self.web_root = web_root
        self.sio: AsyncServer | None = None

    def get_output_channel(self) -> OutputChannel | None:
        return WebChatOutput(self.sio) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=64 * 1024,
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

        @webchat.route("/plan", methods=["GET"])
        async def plan(request: Request) -> HTTPResponse:
            """The session's latest action plan as a Markdown file (token in X-Session-Token)."""
            session_id = self.signer.verify(request.headers.get("X-Session-Token"))
            if session_id is None:
                return response.json({"error": "this chat session could not be verified"}, status=401)
            from qi_coach.records import UserRecords

            saved = await asyncio.to_thread(UserRecords().latest_plan, session_id)
            if saved is None:
                return response.json({"error": "no action plan yet: the guided triage makes one"}, status=404)
            return response.text(saved.markdown + "\n", content_type="text/markdown; charset=utf-8", headers={
                **_security_headers(), "Content-Disposition": 'attachment; filename="qi-coach-action-plan.md"'})

        @webchat.route("/sources", methods=["GET"])
        async def sources(_: Request) -> HTTPResponse:
            from qi_coach.channels.sources_page import sources_html

            return response.html(sources_html(), headers=_security_headers())

        @sio.on("session_request")
        async def session_request(sid: str, data: Any) -> None:
            token = data.get("token") if isinstance(data, dict) else None
            session_id = self.signer.verify(token)
            history: list[dict] = []
            if session_id:
                history = await self._history(webchat.ctx.app, session_id)
            else:
                session_id, token = self.signer.issue()
            await sio.save_session(sid, {"session_id": session_id})
            await sio.enter_room(sid, session_id)
            await sio.emit("session_confirm", {"token": token, "history": history}, room=sid)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                await sio.emit("error_message", {"message": "That message could not be read."}, room=sid)
                return
            session_id = self.signer.verify(data.get("token"))
            connected = (await sio.get_session(sid)).get("session_id")
            if session_id is None or session_id != connected:
                logger.warning("web chat: refused a message whose session token did not verify")
                await sio.emit("error_message", {"message": "This chat session could not be verified. "
                                                            "Reload the page to start again."}, room=sid)
                return
            text = data.get("message")
            if not isinstance(text, str):
                text = ""
            if len(text) > CHANNEL_MAX_CHARS:
                await sio.emit("bot_uttered", {"text": TOO_LONG}, room=sid)
                return
            display = data.get("display")
            metadata = {"display": display[:200]} if isinstance(display, str) and display.strip() else {}
            await on_new_message(UserMessage(text, WebChatOutput(sio), session_id, input_channel=self.name(),
                                             metadata=metadata))

        return webchat

    async def _static(self, name: str) -> HTTPResponse:
        path = (self.web_root / name).resolve()
        if (self.web_root.resolve() not in path.parents or not path.is_file()
                or path.suffix not in STATIC_TYPES):
            return response.text("Not found", status=404)
        return await response.file(path, mime_type=STATIC_TYPES[path.suffix], headers=_security_headers())

    @staticmethod
    async def _history(app: Sanic, session_id: str) -> list[dict]:
        try:
            tracker = await app.ctx.agent.tracker_store.retrieve(session_id)
        except Exception:  # a history that cannot be read must not stop the chat
            logger.exception("web chat: could not read the history of a session")
            return []
        return history_messages([e.as_dict() for e in tracker.events]) if tracker else []


def _security_headers() -> dict[str, str]:
    return {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


def _client_manager():
    """Several Rasa servers behind a load balancer share socket.io rooms through Redis when
    ``QI_COACH_REDIS_URL`` is set; one server keeps them itself."""
    url = os.environ.get("QI_COACH_REDIS_URL", "").strip()
    if not url:
        return None
    from socketio import AsyncRedisManager

    return AsyncRedisManager(url)
