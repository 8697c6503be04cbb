"""``qi-coach checkins run``: the loop that sends check-ins when they fall due.

Each round claims what is due (``FollowUps.claim_due``: one conditional UPDATE per row, so two
loops, or ten, never take the same check-in) and posts each claimed id, signed, to a Rasa
server's check-in route (``qi_coach.channels.checkins``), which sends it on the person's channel.
A check-in the server could not deliver (down, a channel not configured, a platform error) is
released and tried again with back-off; after ``followup.MAX_ATTEMPTS`` it is marked failed. A
loop that dies holding claims leaves them to be taken again after ``followup.STALE_CLAIM``.

The loop keeps nothing in memory between rounds: it can be stopped, restarted or run on
several machines at once. ``make run`` starts one beside the servers; ``make cluster`` one per
Rasa server, all posting through the balancer.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from qi_coach.channels.checkins import signed_request
from qi_coach.followup import FAILED, FollowUps

logger = logging.getLogger(__name__)

INTERVAL = 30.0  # seconds between rounds
HTTP_TIMEOUT = 60.0  # a check-in turn runs the dialogue, like a message


@dataclass
class Round:
    """What one round did, by check-in id."""

    sent: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)  # another loop or server had sent it
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.sent)} sent, {len(self.already)} already sent, {len(self.retrying)} to retry, "
                f"{len(self.failed)} failed")


class Scheduler:
    """Sends due check-ins through the Rasa server at ``server_url``."""

    def __init__(self, server_url: str, key: bytes, followups: FollowUps | None = None, worker: str | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.deliver_url = server_url.rstrip("/") + "/webhooks/checkins/deliver"
        self.key = key
        self.followups = followups or FollowUps()
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock or self.followups.clock

    def run_once(self, now: datetime | None = None) -> Round:
        """Claim and send everything due by ``now`` (the clock's now by default)."""
        done = Round()
        for checkin in self.followups.claim_due(self.worker, now or self.clock()):
            status, reason = self._post(checkin.id)
            if status == 200:
                done.sent.append(checkin.id)
            elif status == 409:
                done.already.append(checkin.id)
            else:
                state = self.followups.release(checkin.id, reason)
                (done.failed if state == FAILED else done.retrying).append(checkin.id)
                logger.warning("check-in %s not delivered (%s); %s", checkin.id, reason,
                               "given up" if state == FAILED else "will retry")
        return done

    def run(self, interval: float = INTERVAL, stop: threading.Event | None = None) -> None:
        """Rounds every ``interval`` seconds until ``stop`` is set."""
        stop = stop or threading.Event()
        logger.info("check-in scheduler %s sending through %s every %.0f s", self.worker, self.deliver_url, interval)
        while not stop.is_set():
            try:
                done = self.run_once()
                if done.sent or done.retrying or done.failed:
                    logger.info("check-ins: %s", done.summary())
            except Exception:  # the database away for a moment: say so, and try next round
                logger.exception("check-in round failed; trying again in %.0f s", interval)
            stop.wait(interval)

    def _post(self, checkin_id: int) -> tuple[int, str]:
        body, headers = signed_request(self.key, checkin_id)
        request = urllib.request.Request(self.deliver_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as reply:
                return reply.status, "sent"
        except urllib.error.HTTPError as error:
            try:
                reason = json.loads(error.read() or b"{}").get("error") or error.reason
            except (json.JSONDecodeError, AttributeError):
                reason = str(error.reason)
            return error.code, f"{error.code}: {reason}"
        except (urllib.error.URLError, OSError) as error:
            return 0, f"the server did not answer: {getattr(error, 'reason', error)}"


def main(server_url: str, interval: float, once: bool, as_of: datetime | None = None) -> int:
    """``qi-coach checkins run``; ``as_of`` (with ``once``) sends what is due by then."""
    from qi_coach.channels.webchat_sessions import load_keys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scheduler = Scheduler(server_url, load_keys()[0])
    if as_of is not None and not once:
        print("error: --as-of goes with --once (a loop runs on the real clock)", file=sys.stderr)
        return 2
    if once:
        done = scheduler.run_once(as_of)
        print(f"Check-ins: {done.summary()}.", flush=True)
        return 1 if done.failed or done.retrying else 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.run(interval, stop)
    return 0

