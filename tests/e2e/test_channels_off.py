"""With no channel settings in the environment, the Rasa server starts (offline) and Slack and
Teams stay off: their webhooks say what to set, and nothing reaches a conversation."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from qi_coach import serve
from qi_coach.classify import DEFAULT_MODEL
from tests.e2e.conftest import free_port

CHANNEL_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "MICROSOFT_APP_ID",
                     "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID", "TEAMS_OPENID_URL", "TEAMS_TOKEN_URL",
                     "QI_COACH_PUBLIC_URL", "QI_COACH_WEBCHAT_SECRET")


def fetch(url: str, body: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError):
        return 0, b""  # not listening yet


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory):
    """The Rasa server alone, with none of the channels' variables set."""
    folder = tmp_path_factory.mktemp("bare")
    env = {k: v for k, v in serve.server_environment().items() if k not in CHANNEL_VARIABLES}
    env["TRACKER_DATABASE_URL"] = f"sqlite:///{folder / 'conversations.db'}"
    port = free_port()
    endpoints = folder / "endpoints.yml"
    endpoints.write_text(json.dumps({"tracker_store": {"type": "qi_coach.stores.ConfiguredSQLTrackerStore"}}))
    process = serve.start_rasa(DEFAULT_MODEL, endpoints, env, port, folder / "logs")
    url = f"http://127.0.0.1:{port}"
    try:  # whatever happens, the server does not outlive the tests
        deadline = time.monotonic() + 240
        while fetch(url + "/webhooks/rest/")[0] != 200:
            if process.poll() is not None:
                pytest.fail("the Rasa server exited:\n" + (folder / "logs" / "rasa.log").read_text()[-3000:])
            if time.monotonic() > deadline:
                pytest.fail("the Rasa server did not start in 240 s")
            time.sleep(0.5)
        yield url
    finally:
        serve.stop([process])


def test_slack_and_teams_are_off_until_their_variables_are_set(bare_server):
    status, body = fetch(bare_server + "/webhooks/slack/webhook", b"{}")
    assert status == 404 and b"SLACK_BOT_TOKEN" in body
    status, body = fetch(bare_server + "/webhooks/teams/webhook", b"{}")
    assert status == 404 and b"MICROSOFT_APP_ID" in body
    assert json.loads(fetch(bare_server + "/webhooks/slack/")[1]) == {"status": "not configured"}


def test_the_web_chat_is_always_on(bare_server):
    status, page = fetch(bare_server + "/webhooks/webchat/")
    assert status == 200 and b"<title>qi-coach" in page
