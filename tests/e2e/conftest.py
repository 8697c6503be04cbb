"""One real Rasa server and action server for the whole test session, on free loopback
ports, with their own knowledge and conversation databases in a temporary folder.

The model is the project's trained model (``make test`` trains it when stale); without one
these tests fail with a clear message rather than skip.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from knowledge.db import create_engine_for
from knowledge.load import load_content
from qi_coach import serve
from qi_coach.classify import DEFAULT_MODEL
from qi_coach.paths import PROJECT_ROOT
from tests.e2e import fakes


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything here is end-to-end: `make check` (the fast lane) leaves it out by marker."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Bot:
    """The running servers, and a way to talk to them like a channel would."""

    folder: Path
    env: dict
    rasa_port: int
    actions_port: int
    endpoints: Path
    processes: list = field(default_factory=list)

    def start(self) -> None:
        self.processes = serve.start_servers(DEFAULT_MODEL, self.endpoints, self.env, self.rasa_port,
                                             self.actions_port, self.folder / "logs")
        try:
            serve.wait_until_ready(self.processes, self.rasa_port, self.actions_port, timeout=240,
                                   logs=self.folder / "logs")
        except BaseException:  # never leave servers running behind a failed start
            serve.stop(self.processes)
            raise

    def stop(self) -> None:
        serve.stop(self.processes)

    def restart_rasa(self) -> None:
        """Stop and start the Rasa server only (the action server keeps running)."""
        actions, rasa = self.processes
        serve.stop([rasa])
        self.processes = [actions, serve.start_rasa(DEFAULT_MODEL, self.endpoints, self.env, self.rasa_port,
                                                    self.folder / "logs")]
        serve.wait_until_ready(self.processes, self.rasa_port, self.actions_port, timeout=240,
                               logs=self.folder / "logs")

    def stop_actions(self) -> None:
        """Stop the action server only (the Rasa server keeps running)."""
        serve.stop(self.processes[:1])

    def start_actions(self) -> None:
        actions = serve.start_actions(self.env, self.actions_port, self.folder / "logs")
        self.processes = [actions, self.processes[1]]
        serve.wait_until_ready(self.processes, self.rasa_port, self.actions_port, timeout=240,
                               logs=self.folder / "logs")

    def say(self, text: str, sender: str) -> list[dict]:
        return serve.send(text, sender, self.rasa_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def post_raw(self, body: bytes, path: str = "/webhooks/rest/webhook",
                 headers: dict | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, data=body,
                                         headers=headers or {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


SCREENSHOTS = PROJECT_ROOT / "reports" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# As root in a sandbox without a network: no sandboxing, no background connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's package, driven by Playwright); screenshots go to ``SCREENSHOTS``."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: `make test` installs it (make browser)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def describe_on_the_page(page, url: str, description: str):
    """Open the web chat at ``url``, wait for the greeting, type ``description`` and wait for the
    coach's reading ("Is that right?"); the conversation's log."""
    from playwright.sync_api import expect

    page.goto(f"{url}/webhooks/webchat/")
    log = page.get_by_role("log", name="Conversation")
    expect(log.locator(".message.bot").first).to_contain_text("quality-improvement")
    box = page.get_by_label("Your message")
    box.fill(description)
    box.press("Enter")
    expect(log).to_contain_text("Is that right?")
    return log


@pytest.fixture(scope="session")
def slack_api() -> Iterator[fakes.FakeService]:
    service = fakes.fake_slack()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def microsoft() -> Iterator[fakes.FakeMicrosoft]:
    service = fakes.FakeMicrosoft()
    yield service
    service.stop()


PUBLIC_URL = "https://coach.example.nhs.uk"
LEAD_TOKEN = "lead-token-for-the-e2e-tests-0123456789"  # QI_COACH_LEAD_TOKEN: the insights page
RATE_PER_CONVERSATION = "40/minute"


def channel_environment(slack_api: fakes.FakeService, microsoft: fakes.FakeMicrosoft) -> dict[str, str]:
    """Slack and Teams switched on, every address they call pointing at the stand-ins."""
    return {
        "SLACK_BOT_TOKEN": fakes.SLACK_TOKEN, "SLACK_SIGNING_SECRET": fakes.SLACK_SECRET,
        "SLACK_API_URL": f"{slack_api.url}/api/",
        "MICROSOFT_APP_ID": fakes.TEAMS_APP_ID, "MICROSOFT_APP_PASSWORD": fakes.TEAMS_APP_PASSWORD,
        "MICROSOFT_APP_TENANT_ID": fakes.TEAMS_TENANT, "TEAMS_OPENID_URL": f"{microsoft.url}/openid",
        "TEAMS_TOKEN_URL": f"{microsoft.url}/{{tenant}}/oauth2/v2.0/token", "TEAMS_SERVICE_URL_HOSTS": "127.0.0.1",
        "QI_COACH_PUBLIC_URL": PUBLIC_URL,
    }


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory, slack_api, microsoft) -> Iterator[Bot]:
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make train` (make test does it)")
    folder = tmp_path_factory.mktemp("e2e")
    knowledge_url = f"sqlite:///{folder / 'knowledge.db'}"
    load_content(create_engine_for(knowledge_url))
    rasa_port, actions_port = free_port(), free_port()
    endpoints = folder / "endpoints.yml"
    endpoints.write_text(json.dumps({
        "action_endpoint": {"url": f"http://127.0.0.1:{actions_port}/webhook"},
        "tracker_store": {"type": "qi_coach.stores.ConfiguredSQLTrackerStore"},
    }))
    env = {**serve.server_environment(), "DATABASE_URL": knowledge_url,
           "TRACKER_DATABASE_URL": f"sqlite:///{folder / 'conversations.db'}",
           "QI_COACH_WEBCHAT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
           # every test talks from 127.0.0.1; one conversation's limit is tested (test_privacy.py)
           "QI_COACH_RATE_PER_ADDRESS": "100000/minute", "QI_COACH_RATE_PER_CONVERSATION": RATE_PER_CONVERSATION,
           "QI_COACH_LEAD_TOKEN": LEAD_TOKEN, **channel_environment(slack_api, microsoft)}
    running = Bot(folder, env, rasa_port, actions_port, endpoints)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def payloads(replies: list[dict]) -> list[str]:
    return [b["payload"] for r in replies for b in r.get("buttons") or []]

