"""Local stand-ins for Slack's Web API and Microsoft's Bot Framework services, on loopback.

Each is a small threaded HTTP server that answers like the real service for the calls the
connectors make, and records every request so tests can assert on what the bot sent.
The Microsoft stand-in also holds an RSA key the tests sign Bot Framework tokens with, and
publishes it through an OpenID metadata document, as Microsoft does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from qi_coach.paths import PROJECT_ROOT

TRANSCRIPTS = PROJECT_ROOT / "reports" / "channels"


def save_transcript(name: str, turns: list[dict]) -> None:
    """What a stand-in recorded for one conversation, for a person to read (reports/channels/)."""
    TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
    (TRANSCRIPTS / f"{name}.json").write_text(json.dumps(turns, indent=2, ensure_ascii=False) + "\n")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def params(self) -> dict[str, str]:
        """The query string's parameters and the form's (slack_sdk sends some calls' in the URL)."""
        query = urlsplit(self.path).query
        return {**{k: v[0] for k, v in parse_qs(query).items()}, **self.form()}


@dataclass
class FakeService:
    """A loopback HTTP server; ``routes`` maps (method, path prefix) to a reply function."""

    routes: dict = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def start(self) -> FakeService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                record = Recorded(self.command, self.path, dict(self.headers), body)
                with service.lock:
                    service.requests.append(record)
                for (method, prefix), reply in service.routes.items():
                    if method == self.command and self.path.startswith(prefix):
                        status, payload = reply(record)
                        break
                else:
                    status, payload = 404, {"error": "no such route"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()

    def received(self, method: str, prefix: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def wait_for(self, method: str, prefix: str, count: int, timeout: float = 60.0,
                 where=lambda r: True) -> list[Recorded]:
        """The matching requests once there are at least ``count`` (replies are sent in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.received(method, prefix) if where(r)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


# --- Slack -----------------------------------------------------------------------------------

SLACK_TOKEN = "xoxb-test-token"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def fake_slack() -> FakeService:
    def post_message(record: Recorded) -> tuple[int, dict]:
        if record.headers.get("Authorization") != f"Bearer {SLACK_TOKEN}":
            return 200, {"ok": False, "error": "invalid_auth"}
        body = record.json()
        return 200, {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}

    service = FakeService()

    def upload_url(record: Recorded) -> tuple[int, dict]:  # files.uploadV2, step 1: where to send the bytes
        if record.headers.get("Authorization") != f"Bearer {SLACK_TOKEN}":
            return 200, {"ok": False, "error": "invalid_auth"}
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        return 200, {"ok": True, "upload_url": f"{service.url}/upload/{file_id}", "file_id": file_id}

    def upload(record: Recorded) -> tuple[int, dict]:  # step 2: the bytes themselves
        return 200, {"ok": True}

    def complete(record: Recorded) -> tuple[int, dict]:  # step 3: share the file in the channel
        return 200, {"ok": True, "files": [{"id": f["id"]} for f in json.loads(record.params()["files"])]}

    service.routes = {("POST", "/api/chat.postMessage"): post_message,
                      ("POST", "/api/files.getUploadURLExternal"): upload_url,
                      ("POST", "/upload/"): upload,
                      ("POST", "/api/files.completeUploadExternal"): complete}
    return service.start()


def slack_uploads(slack_api: FakeService, channel: str) -> list[tuple[dict, bytes]]:
    """The files the bot shared in a Slack channel: the completion's form and the bytes sent."""
    done = [r.params() for r in slack_api.received("POST", "/api/files.completeUploadExternal")]
    sent = {r.path.rsplit("/", 1)[1]: r.body for r in slack_api.received("POST", "/upload/")}
    return [(form, sent.get(json.loads(form["files"])[0]["id"], b"")) for form in done
            if form.get("channel_id") == channel]


def slack_headers(body: bytes, secret: str = SLACK_SECRET, timestamp: int | None = None,
                  content_type: str = "application/json") -> dict:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


# --- Microsoft -------------------------------------------------------------------------------

TEAMS_APP_ID = "00000000-aaaa-bbbb-cccc-000000000001"
TEAMS_APP_PASSWORD = "test-app-password"
TEAMS_TENANT = "11111111-2222-3333-4444-555555555555"
TEAMS_ISSUER = "https://api.botframework.com"
OUTBOUND_TOKEN = "outbound-token-from-the-tenant"


class FakeMicrosoft:
    """OpenID metadata and signing keys, the tenant's token endpoint and a Bot Connector service."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-signing-key"
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        # Microsoft's keys endorse several channels: the connector must still serve Teams alone
        jwk.update({"kid": self.kid, "use": "sig", "endorsements": ["msteams", "webchat"]})
        self.service = FakeService()
        self.service.routes = {
            ("GET", "/openid"): lambda r: (200, {"issuer": TEAMS_ISSUER, "jwks_uri": f"{self.url}/keys",
                                                 "id_token_signing_alg_values_supported": ["RS256"]}),
            ("GET", "/keys"): lambda r: (200, {"keys": [jwk]}),
            ("POST", f"/{TEAMS_TENANT}/oauth2/v2.0/token"): self._token,
            ("POST", "/v3/conversations/"): lambda r: (200, {"id": uuid.uuid4().hex}),
        }
        self.service.start()

    @property
    def url(self) -> str:
        return self.service.url

    def _token(self, record: Recorded) -> tuple[int, dict]:
        form = record.form()
        if form.get("client_id") != TEAMS_APP_ID or form.get("client_secret") != TEAMS_APP_PASSWORD:
            return 401, {"error": "invalid_client"}
        return 200, {"token_type": "Bearer", "expires_in": 3600, "access_token": OUTBOUND_TOKEN}

    def token(self, *, audience: str = TEAMS_APP_ID, issuer: str = TEAMS_ISSUER, expires_in: int = 3600,
              service_url: str | None = None, key=None, kid: str | None = None, algorithm: str = "RS256") -> str:
        now = int(time.time())
        claims = {"aud": audience, "iss": issuer, "iat": now - 10, "nbf": now - 10, "exp": now + expires_in}
        if service_url:
            claims["serviceurl"] = service_url
        if algorithm == "none":
            return jwt.encode(claims, None, algorithm="none", headers={"kid": kid or self.kid})
        return jwt.encode(claims, key or self.key, algorithm=algorithm, headers={"kid": kid or self.kid})

    def activity(self, text: str, conversation: str, user: str = "29:user-one", **extra) -> dict:
        return {"type": "message", "id": uuid.uuid4().hex, "channelId": "msteams", "serviceUrl": self.url,
                "from": {"id": user, "name": "A Nurse", "aadObjectId": f"aad-{user}"},
                "recipient": {"id": "28:qi-coach-bot", "name": "qi-coach"},
                "conversation": {"id": conversation, "conversationType": "personal", "tenantId": TEAMS_TENANT},
                "text": text, **extra}

    def replies(self, conversation: str) -> list[Recorded]:
        return self.service.received("POST", f"/v3/conversations/{conversation}/activities")

    def stop(self) -> None:
        self.service.stop()
