"""``qi-coach serve``: start the action server, the Rasa server and the check-in scheduler, then
chat in the terminal.

Both servers listen on 127.0.0.1 only and log to ``var/logs/`` (rotated: ``LOG_BYTES`` a
file, ``LOG_BACKUPS`` old files kept). Everything they write (databases, the web chat key,
logs) is readable by this user only (mode 600). Before they start, what is past the retention
period is purged (``qi_coach.retention``) and the web chat key is checked. When standard
input is a terminal, a small REST client lets the user chat (``rasa shell``'s console channel
would stop the server when it ends); otherwise the servers run until interrupted. Ctrl-C
stops everything this started. Rasa's telemetry is off in every process.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from qi_coach.channels.charts import chart_in
from qi_coach.channels.formatting import WEBCHAT_PATH, to_plain
from qi_coach.paths import PROJECT_ROOT

HOST = "127.0.0.1"
RASA_PORT = int(os.environ.get("QI_COACH_RASA_PORT", "5005"))
ACTIONS_PORT = int(os.environ.get("QI_COACH_ACTIONS_PORT", "5055"))
MODEL = PROJECT_ROOT / "models" / "qi-coach.tar.gz"
LOGS = PROJECT_ROOT / "var" / "logs"
SENDER_FILE = PROJECT_ROOT / "var" / "terminal-sender-id"
READY_TIMEOUT = 180.0
LOG_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 5
#: Files the servers create are this user's alone: conversations, records, keys and logs.
PRIVATE_UMASK = 0o077


def server_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env["SANIC_HOST"] = HOST  # `rasa run actions` has no --host; Sanic reads this
    return env


def start_actions(env: dict | None = None, port: int = ACTIONS_PORT, logs: Path = LOGS) -> subprocess.Popen:
    """The action server, in its own process group, logging to ``logs/actions.log``."""
    return start_process([str(Path(sys.executable).parent / "rasa"), "run", "actions", "--actions", "actions",
                   "--port", str(port)], env, logs / "actions.log")


def start_rasa(model: Path = MODEL, endpoints: Path | None = None, env: dict | None = None,
               port: int = RASA_PORT, logs: Path = LOGS) -> subprocess.Popen:
    """The Rasa server (no HTTP API, loopback only), logging to ``logs/rasa.log``."""
    return start_process([str(Path(sys.executable).parent / "rasa"), "run", "--model", str(model), "--interface", HOST,
                   "--port", str(port), "--credentials", str(PROJECT_ROOT / "credentials.yml"),
                   "--endpoints", str(endpoints or PROJECT_ROOT / "endpoints.yml")], env, logs / "rasa.log")


def start_process(command: list[str], env: dict | None, log: Path) -> subprocess.Popen:
    """A server in its own process group (so stopping it stops its children), its output going
    to ``log`` through a rotating writer."""
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env or server_environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, umask=PRIVATE_UMASK)
    threading.Thread(target=_copy_to_log, args=(process, log), daemon=True, name=f"log {log.name}").start()
    return process


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """A rotating log file created with mode 600 (the user's own, whatever the umask)."""

    def _open(self):
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(descriptor, "a", encoding=self.encoding or "utf-8", errors="replace")


def _copy_to_log(process: subprocess.Popen, log: Path) -> None:
    """Copy a server's output, line by line, into its rotating log until it exits."""
    handler = _PrivateRotatingFile(log, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    assert process.stdout is not None
    try:
        for raw in iter(process.stdout.readline, b""):
            handler.emit(logging.makeLogRecord({"msg": raw.decode("utf-8", "replace").rstrip("\n")}))
    finally:
        handler.close()


def start_scheduler(server_url: str, env: dict | None = None, logs: Path = LOGS,
                    interval: float = 30) -> subprocess.Popen:
    """The check-in scheduler (``qi-coach checkins run``), sending through ``server_url``."""
    return start_process([str(Path(sys.executable).parent / "qi-coach"), "checkins", "run", "--url", server_url,
                          "--interval", str(interval)], env, logs / "checkins.log")


def start_servers(model: Path = MODEL, endpoints: Path | None = None, env: dict | None = None,
                  rasa_port: int = RASA_PORT, actions_port: int = ACTIONS_PORT,
                  logs: Path = LOGS) -> list[subprocess.Popen]:
    """Start the action server and the Rasa server: ``[actions, rasa]``."""
    return [start_actions(env, actions_port, logs), start_rasa(model, endpoints, env, rasa_port, logs)]


def stop(processes: list[subprocess.Popen], grace: float = 10) -> None:
    """Stop every process group started here: SIGTERM, then SIGKILL after ``grace`` seconds."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_ready(processes: list[subprocess.Popen], rasa_port: int = RASA_PORT,
                     actions_port: int = ACTIONS_PORT, timeout: float = READY_TIMEOUT,
                     logs: Path = LOGS) -> None:
    """Wait until both servers answer; fail early (with the log's tail) if one dies."""
    actions, rasa = processes
    wait_for([(actions, actions_health(actions_port), logs / "actions.log"),
              (rasa, rasa_health(rasa_port), logs / "rasa.log")], timeout)


def actions_health(port: int) -> str:
    return f"http://{HOST}:{port}/health"


def rasa_health(port: int) -> str:
    """A channel's own route: it answers once the model is loaded and the channels are up."""
    return f"http://{HOST}:{port}/webhooks/rest/"


def wait_for(servers: list[tuple[subprocess.Popen, str, Path]], timeout: float = READY_TIMEOUT) -> None:
    """Wait until every ``(process, health URL, log)`` answers 200; fail early, with the end of
    its log, if one of the processes exits."""
    waiting = {url: (process, log) for process, url, log in servers}
    deadline = time.monotonic() + timeout
    while waiting:
        for url, (process, log) in list(waiting.items()):
            if process.poll() is not None:
                tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
                raise RuntimeError(f"{log.name}: the server exited with {process.returncode}:\n" + "\n".join(tail))
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.status == 200:
                        del waiting[url]
            except (urllib.error.URLError, OSError):
                pass
        if waiting and time.monotonic() > deadline:
            logs = sorted({str(log.parent) for _, log in waiting.values()})
            raise RuntimeError(f"servers not ready after {timeout:.0f} s; see {', '.join(logs)}")
        if waiting:
            time.sleep(0.5)


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def send(text: str, sender: str, rasa_port: int = RASA_PORT) -> list[dict]:
    """One user message through the REST channel; the bot's replies."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"http://{HOST}:{rasa_port}/webhooks/rest/webhook", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.loads(reply.read() or b"[]")
    except urllib.error.HTTPError as refusal:  # 429 (slow down) still carries the reply to show
        body = json.loads(refusal.read() or b"null")
        if isinstance(body, list):
            return body
        raise


def _sender_id() -> str:
    """The terminal user's conversation id, kept across runs so a restart continues it."""
    if SENDER_FILE.exists():
        return SENDER_FILE.read_text().strip()
    SENDER_FILE.parent.mkdir(parents=True, exist_ok=True)
    sender = f"terminal-{uuid.uuid4().hex[:12]}"
    SENDER_FILE.write_text(sender)
    return sender


def waiting(sender: str, rasa_port: int = RASA_PORT) -> list[dict]:
    """What the bot said while the terminal was away (a check-in), each message once."""
    url = f"http://{HOST}:{rasa_port}/webhooks/rest/waiting?" + urllib.parse.urlencode({"sender": sender})
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return json.loads(reply.read() or b"[]")
    except (urllib.error.URLError, OSError, json.JSONDecodeError):
        return []


def chat(sender: str) -> None:
    """A minimal terminal chat: numbered buttons, type the number to press one; an empty line
    shows what came while you were away (a check-in)."""
    print("\nqi-coach is ready. Type a message (or a button's number); press Enter on an empty line to see "
          "new messages; Ctrl-C or /quit to stop.\n")
    buttons: list[dict] = []
    show(waiting(sender) or send("hello", sender), buttons)
    while True:
        try:
            text = input("\nYou: ").strip()
        except EOFError:
            return
        if text in ("/quit", "/exit"):
            return
        if not text:
            news = waiting(sender)
            if news:
                show(news, buttons)
            else:
                print("     (nothing new)")
            continue
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            print(f"     [{buttons[int(text) - 1]['title']}]")
            text = buttons[int(text) - 1]["payload"]
        show(send(text, sender) + waiting(sender), buttons)


def show(replies: list[dict], buttons: list[dict]) -> None:
    buttons.clear()
    for reply in replies:
        if reply.get("text"):
            print("\nqi-coach: " + to_plain(reply["text"]).replace("\n", "\n          "))
        chart = chart_in(reply.get("custom"))
        if chart:  # a terminal shows no pictures: the chart's words, and where to open it
            print(f"\nqi-coach: [{chart.title}] {chart.alt}\n          Open it: "
                  f"http://{HOST}:{RASA_PORT}{WEBCHAT_PATH}{chart.url}")
        for b in reply.get("buttons") or []:
            buttons.append(b)
            print(f"   {len(buttons)}. {b['title']}")


def prepare() -> None:
    """What a server start does first: private files, a usable web chat key, and the purge of
    what is past the retention period. ``ValueError`` says what to fix."""
    from qi_coach import retention
    from qi_coach.channels.webchat_sessions import load_keys
    from qi_coach.paths import VAR_DIR

    load_keys()
    os.umask(PRIVATE_UMASK)
    make_private(VAR_DIR)
    print(retention.purge().summary(), flush=True)


def make_private(folder: Path) -> None:
    """Make what is already in ``folder`` this user's alone (files 600, folders 700)."""
    if not folder.exists():
        return
    folder.chmod(0o700)
    for path in folder.rglob("*"):
        if path.is_symlink():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Stop cleanly on Ctrl-C, on `kill`, and when the terminal closes; and even when started
    # from a shell that ignores SIGINT (a background job), which Python would inherit.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    if not MODEL.exists():
        print(f"No trained model at {MODEL}: run `make run`, which trains it.", file=sys.stderr)
        return 1
    try:
        prepare()
    except ValueError as error:  # a settings mistake, said plainly, before anything starts
        print(f"error: {error}", file=sys.stderr)
        return 1
    busy = [port for port in (ACTIONS_PORT, RASA_PORT) if port_in_use(port)]
    if busy:
        print(f"error: port {', '.join(map(str, busy))} on {HOST} is already in use (is qi-coach already "
              "running?). Stop it, or set QI_COACH_RASA_PORT / QI_COACH_ACTIONS_PORT.", file=sys.stderr)
        return 1
    print(f"Starting the action server (:{ACTIONS_PORT}) and the Rasa server (:{RASA_PORT}) on {HOST}; "
          f"logs in {LOGS} ...", flush=True)
    processes = start_servers()
    try:
        started = time.monotonic()
        wait_until_ready(processes)
        processes.append(start_scheduler(f"http://{HOST}:{RASA_PORT}"))
        print(f"Ready in {time.monotonic() - started:.0f} s.\n"
              f"  Web chat: http://{HOST}:{RASA_PORT}/webhooks/webchat/  (open it in your browser)\n"
              f"  REST:     http://{HOST}:{RASA_PORT}/webhooks/rest/webhook\n"
              f"  Insights: http://{HOST}:{RASA_PORT}/webhooks/webchat/insights  (for the QI lead: "
              + ("signed in with QI_COACH_LEAD_TOKEN)" if os.environ.get("QI_COACH_LEAD_TOKEN") else
                 "off until QI_COACH_LEAD_TOKEN is set; qi-coach insights --demo --out DIR shows an example)"),
              flush=True)
        if sys.stdin.isatty():
            chat(_sender_id())
        else:
            print("Standard input is not a terminal, so no chat here. Press Ctrl-C to stop.", flush=True)
            while all(p.poll() is None for p in processes):
                time.sleep(1)
            print("A server stopped; see the logs in var/logs/.", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("\nStopping ...")
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(processes)
    return 0
