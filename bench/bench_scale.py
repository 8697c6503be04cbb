"""Benchmark: one Rasa server, then two, behind HAProxy under the same load (not a test).

    make bench-scale                       # about 6 minutes
    .venv/bin/python bench/bench_scale.py --users 10 --seconds 60

Each setup is a real cluster (``qi_coach.cluster``: HAProxy, the Rasa servers, two action
servers, PostgreSQL and Redis, all on loopback) in a schema of its own. Simulated users play
multi-turn conversations as fast as the replies come (closed loop): most over REST, some over
the web chat's socket.io (each message acknowledged when its turn is over). Turns per second,
p50 and p95 are measured over the same window in both setups.

During the two-server run it also:

* sends bursts: several messages of one conversation at once, half straight to each server;
* stops one Rasa server (SIGTERM, as a deployment would) after the measured window, and keeps
  the load going on the other (the one most web chat conversations are on); those pages
  reconnect through the balancer and carry on in the same conversation, sending again, with the
  same id, a message whose turn they had not seen end (as the page does; the server handles an
  id once).

Afterwards it reads every conversation's stored events and counts messages lost (acknowledged
but not stored), duplicated, out of order (a message sent after the reply to another stored
before it) and turns interleaved (a message whose replies are not all before the next message).

Writes ``reports/bench/scale.json`` and ``reports/bench/scale.png``. Targets (issue 16): two
servers at least 1.5x the turns per second of one, p95 no worse, nothing lost, duplicated or out
of order, and the web chat continuing after its server stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import socketio  # noqa: E402
from sqlalchemy import text  # noqa: E402

from knowledge.db import create_engine_for  # noqa: E402
from qi_coach.cluster import DEFAULT_DATABASE_URL, ONE_THREAD_EACH, Cluster, Layout, cluster_environment  # noqa: E402
from qi_coach.paths import PROJECT_ROOT, VAR_DIR  # noqa: E402

REPORT = PROJECT_ROOT / "reports" / "bench"
TARGET_RATIO = 1.5
BURST_SIZE = 6
BURST_EVERY = 6.0
WEBCHAT_SHARE = 0.2

#: What a stalled team might say first (written for this benchmark).
OPENINGS = [
    "The ward sisters like the idea but nobody has time to collect the audit data on a busy shift.",
    "Our consultant lead left in the summer and the project has just drifted since.",
    "We can't get the numbers out of the electronic record without waiting weeks for the analysts.",
    "Half the team think the new handover sheet is pointless and they keep using the old one.",
    "The board signed it off but there is no money for backfill so staff can't come to the meetings.",
    "We tried three changes at once and now we don't know which one made any difference.",
    "The pharmacists and the nurses each think the other group should own the new checks.",
    "Managers keep changing the priorities so our falls project keeps getting pushed down the list.",
    "Nobody told the night staff about the change so it only happens during the day.",
    "Our run chart has been flat for months and the team is losing heart.",
]
FOLLOW_UPS = ["yes", "that's right"]


@dataclass
class Turn:
    setup: str
    channel: str
    sender: str
    started: float
    seconds: float
    ok: bool
    phase: str = "measured"


@dataclass
class Sent:
    """What the users sent to one conversation, and what each was told."""

    sequential: bool = True
    texts: list[str] = field(default_factory=list)
    acknowledged: list[bool] = field(default_factory=list)


@dataclass
class Run:
    setup: str
    started: float = 0.0
    stop_at: float = 0.0
    measured: tuple[float, float] = (0.0, 0.0)
    turns: list[Turn] = field(default_factory=list)
    sent: dict[str, Sent] = field(default_factory=dict)
    webchat_on: dict[str, str] = field(default_factory=dict)  # open web chat conversations: their server
    webchat_moved: list[str] = field(default_factory=list)
    webchat_continued: list[str] = field(default_factory=list)

    def phase(self, at: float) -> str:
        start, end = self.measured
        return "warm-up" if at < start else "measured" if at < end else "after-stop"


# --- users -------------------------------------------------------------------------------------

async def rest_user(run: Run, http: aiohttp.ClientSession, url: str, until: float, rng: random.Random) -> None:
    while time.monotonic() < until:
        sender = f"bench-{run.setup}-rest-{uuid.uuid4().hex[:10]}"
        run.sent[sender] = Sent()
        message = "hello"
        for step in range(4):
            if time.monotonic() >= until:
                break
            replies = await rest_turn(run, http, url, sender, message, "rest")
            if replies is None:
                break
            buttons = [b["payload"] for r in replies for b in r.get("buttons") or []]
            message = rng.choice(OPENINGS) if step == 0 else (buttons[0] if buttons and step == 2
                                                              else rng.choice(FOLLOW_UPS))


async def rest_turn(run: Run, http: aiohttp.ClientSession, url: str, sender: str, message: str,
                    channel: str) -> list[dict] | None:
    started = time.monotonic()
    run.sent[sender].texts.append(message)
    try:
        async with http.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                             timeout=aiohttp.ClientTimeout(total=60)) as reply:
            ok = reply.status == 200
            replies = await reply.json() if ok else None
    except (aiohttp.ClientError, asyncio.TimeoutError):
        ok, replies = False, None
    run.sent[sender].acknowledged.append(ok)
    run.turns.append(Turn(run.setup, channel, sender, started, time.monotonic() - started, ok, run.phase(started)))
    return replies


async def webchat_user(run: Run, url: str, until: float, rng: random.Random) -> None:
    while time.monotonic() < until:
        await webchat_conversation(run, url, until, rng)


async def webchat_conversation(run: Run, url: str, until: float, rng: random.Random) -> None:
    """A page's conversation over socket.io, through the balancer; each message is acknowledged
    when its turn is over. After a disconnect it reconnects and asks for its session again, as
    the page does (``webchat_turn`` says what happens to the message that was in flight)."""
    # Long-polling, as a browser falls back to (this aiohttp predates the websocket client
    # python-engineio needs), so the balancer's cookie must pin the page to one server: a jar
    # that keeps cookies from an IP address, as a browser's does.
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    client = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1,
                                  http_session=http)
    confirmed: asyncio.Queue = asyncio.Queue()
    state: dict[str, Any] = {"token": None, "moved": False, "dropped": asyncio.Event()}

    async def on_connect() -> None:
        await client.emit("session_request", {"token": state["token"]})

    async def on_disconnect(*_: Any) -> None:
        state["moved"] = True
        state["dropped"].set()

    client.on("session_confirm", confirmed.put_nowait)
    client.on("connect", on_connect)
    client.on("disconnect", on_disconnect)
    await client.connect(url, socketio_path="/socket.io", transports=["polling"])
    session = await asyncio.wait_for(confirmed.get(), 30)
    state["token"] = session["token"]
    sender = session["token"].split(".")[0]
    run.sent[sender] = Sent()
    message = "/greet"
    for step in range(4):
        if time.monotonic() >= until:
            break
        started = time.monotonic()
        run.sent[sender].texts.append(message)
        ok = await webchat_turn(client, state, confirmed, message)
        run.sent[sender].acknowledged.append(ok)
        run.turns.append(Turn(run.setup, "webchat", sender, started, time.monotonic() - started, ok,
                              run.phase(started)))
        pinned = next((c.value for c in http.cookie_jar if c.key == "QI_COACH_SERVER"), None)
        if pinned:
            run.webchat_on[sender] = pinned
        if state["moved"] and sender not in run.webchat_moved:
            run.webchat_moved.append(sender)
        if state["moved"] and ok and sender not in run.webchat_continued:
            run.webchat_continued.append(sender)
        message = rng.choice(OPENINGS) if step == 0 else rng.choice(FOLLOW_UPS)
    run.webchat_on.pop(sender, None)
    # abort: a polite disconnect waits for the open long-poll (up to the 25 s ping interval)
    await client.eio.disconnect(abort=True)
    await http.close()


async def webchat_turn(client: socketio.AsyncClient, state: dict, confirmed: asyncio.Queue, message: str) -> bool:
    """Send one message as the page does, with an id, and wait for its turn to end (the
    acknowledgement). If the connection drops first, wait for the page's session to come back
    (on whichever server) and send it again with the same id, as the page does: the server
    handles an id once."""
    payload = {"message": message, "token": state["token"], "id": uuid.uuid4().hex}
    for _ in range(3):
        state["dropped"].clear()
        call = asyncio.create_task(client.call("user_uttered", payload, timeout=60))
        dropped = asyncio.create_task(state["dropped"].wait())
        done, _ = await asyncio.wait({call, dropped}, return_when=asyncio.FIRST_COMPLETED)
        dropped.cancel()
        if call in done and call.exception() is None:
            return True
        call.cancel()
        try:
            await asyncio.wait_for(confirmed.get(), 30)  # reconnected, and the session is back
        except asyncio.TimeoutError:
            return False
    return False


async def burst(run: Run, http: aiohttp.ClientSession, servers: list[str], balancer: str, rng: random.Random) -> None:
    """One conversation's messages sent at once, half straight to each server."""
    sender = f"bench-{run.setup}-burst-{uuid.uuid4().hex[:10]}"
    run.sent[sender] = Sent(sequential=False)
    await rest_turn(run, http, balancer, sender, "hello", "burst")
    messages = rng.sample(OPENINGS, BURST_SIZE)
    await asyncio.gather(*(rest_turn(run, http, servers[i % len(servers)], sender, m, "burst")
                           for i, m in enumerate(messages)))


async def bursts(run: Run, http: aiohttp.ClientSession, servers: list[str], balancer: str, until: float,
                 rng: random.Random) -> None:
    while time.monotonic() + BURST_EVERY < until:
        await asyncio.sleep(BURST_EVERY)
        await burst(run, http, servers, balancer, rng)


# --- one setup -----------------------------------------------------------------------------------

async def load(cluster: Cluster, run: Run, users: int, warmup: float, seconds: float, after_stop: float,
               stop_one: bool) -> None:
    balancer = cluster.layout.url
    rng = random.Random(16)
    webchat_users = max(1, round(users * WEBCHAT_SHARE))
    run.started = time.monotonic()
    run.measured = (run.started + warmup, run.started + warmup + seconds)
    until = run.measured[1] + (after_stop if stop_one else 0)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        tasks = [rest_user(run, http, balancer, until, random.Random(rng.random())) for _ in range(users - webchat_users)]
        tasks += [webchat_user(run, balancer, until, random.Random(rng.random())) for _ in range(webchat_users)]
        if stop_one:
            servers = [cluster.server_url(i) for i in range(cluster.layout.servers)]
            tasks.append(bursts(run, http, servers, balancer, run.measured[1], random.Random(rng.random())))
            tasks.append(stop_later(cluster, run.measured[1], run))
        await asyncio.gather(*tasks)


async def stop_later(cluster: Cluster, at: float, run: Run) -> None:
    """Stop, with SIGTERM, the server most open web chat conversations are on (the last one when
    none is), so the run shows pages moving to another server."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    run.stop_at = time.monotonic()
    on = Counter(run.webchat_on.values())
    name = on.most_common(1)[0][0] if on else f"rasa-{cluster.layout.servers}"
    print(f"  stopping {name} (SIGTERM; {on[name]} web chat conversation(s) on it) with the load still running ...",
          flush=True)
    await asyncio.to_thread(cluster.stop_server, int(name.split("-")[1]) - 1)


def figures(turns: list[Turn], window: float) -> dict[str, Any]:
    done = [t for t in turns if t.ok]
    seconds = sorted(t.seconds for t in done)
    if not seconds:
        return {"turns": 0, "errors": len(turns)}
    return {"turns": len(done), "errors": len(turns) - len(done), "turns_per_second": round(len(done) / window, 2),
            "p50_s": round(statistics.median(seconds), 3),
            "p95_s": round(seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))], 3),
            "by_channel": dict(Counter(t.channel for t in done))}


# --- what was stored ----------------------------------------------------------------------------

def check_stored(database_url: str, run: Run) -> dict[str, Any]:
    """Compare what each conversation's users sent with what its stored events say."""
    engine = create_engine_for(database_url)
    result = Counter()
    problems: list[str] = []
    with engine.connect() as conn:
        for sender, sent in run.sent.items():
            rows = conn.execute(text("select type_name, data from events where sender_id = :s order by id"),
                                {"s": sender}).all()
            events = [(kind, json.loads(data)) for kind, data in rows]
            stored = [(e.get("metadata") or {}).get("display") or e.get("text") for k, e in events if k == "user"]
            acknowledged = [t for t, ok in zip(sent.texts, sent.acknowledged, strict=True) if ok]
            unsure = [t for t, ok in zip(sent.texts, sent.acknowledged, strict=True) if not ok]
            have, want = Counter(stored), Counter(acknowledged)
            lost = sum((want - have).values())
            extra = have - want
            # A message the sender was not told about may be stored once (it arrived) or not at all.
            duplicated = sum(max(0, n - Counter(unsure)[t]) for t, n in extra.items())
            out_of_order = 0
            if sent.sequential:
                kept = [t for t in stored if t in want]
                out_of_order = len(kept) - _longest_common(kept, acknowledged)
            interleaved = _interleaved(events)
            result.update(conversations=1, sent=len(sent.texts), acknowledged=len(acknowledged), stored=len(stored),
                          lost=lost, duplicated=duplicated, out_of_order=out_of_order, interleaved=interleaved,
                          not_acknowledged=len(unsure))
            if lost or duplicated or out_of_order or interleaved:
                problems.append(f"{sender}: lost {lost}, duplicated {duplicated}, out of order {out_of_order}, "
                                f"interleaved {interleaved}")
    engine.dispose()
    return {**{k: result[k] for k in ("conversations", "sent", "acknowledged", "stored", "not_acknowledged", "lost",
                                      "duplicated", "out_of_order", "interleaved")}, "problems": problems[:20]}


def _longest_common(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], previous + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def _interleaved(events: list[tuple[str, dict]]) -> int:
    """User messages whose turn did not end (a reply, then listening) before the next one."""
    count, open_turn, replied = 0, False, False
    for kind, event in events:
        if kind == "user":
            if open_turn:
                count += 1
            open_turn, replied = True, False
        elif kind == "bot":
            replied = True
        elif kind == "action" and event.get("name") == "action_listen" and open_turn and replied:
            open_turn = False
    return count


# --- the run ------------------------------------------------------------------------------------

def run_setup(servers: int, args: argparse.Namespace, stop_one: bool, one_thread: bool = True) -> tuple[Run, dict[str, Any]]:
    setup = f"{servers}-server{'s' if servers > 1 else ''}" + ("" if one_thread else "-all-threads")
    schema = f"qi_coach_bench_{setup.replace('-', '_')}"
    admin = create_engine_for(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f"drop schema if exists {schema} cascade"))
        conn.execute(text(f"create schema {schema}"))
    admin.dispose()
    database_url = f"{args.database_url}?options=-csearch_path%3D{schema}"
    env = cluster_environment(database_url)
    if not one_thread:  # the reference: one server as `make run` starts it, free to use every core
        for name in ONE_THREAD_EACH:
            env.pop(name, None)
    env.update({"QI_COACH_RATE_PER_CONVERSATION": "100000/minute", "QI_COACH_RATE_PER_ADDRESS": "1000000/minute"})
    layout = Layout(servers=servers, actions=2, balancer_port=5905, actions_balancer_port=5955, first_rasa_port=5911,
                    first_actions_port=5961, stats_port=5904)
    cluster = Cluster(layout, env, VAR_DIR / "bench-scale" / setup)
    print(f"{setup}: starting the cluster ...", flush=True)
    cluster.start()
    run = Run(setup)
    try:
        print(f"{setup}: {args.users} users for {args.warmup:.0f} s warm-up + {args.seconds:.0f} s measured"
              + (f" + {args.after_stop:.0f} s after stopping one server" if stop_one else "") + " ...", flush=True)
        asyncio.run(load(cluster, run, args.users, args.warmup, args.seconds, args.after_stop, stop_one))
    finally:
        cluster.stop()
    report: dict[str, Any] = {"servers": servers, "action_servers": layout.actions, "users": args.users,
                              "measured": figures([t for t in run.turns if t.phase == "measured"], args.seconds)}
    if stop_one:
        after = [t for t in run.turns if t.phase == "after-stop"]
        report["after_stop"] = figures(after, args.after_stop)
        report["bursts"] = figures([t for t in run.turns if t.channel == "burst"], args.seconds)
        report["webchat_users_moved"] = len(run.webchat_moved)
        report["webchat_users_continued"] = len(run.webchat_continued)
    report["stored"] = check_stored(database_url, run)
    return run, report


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    setups = report["setups"]
    names = [s["name"].replace(", ", ",\n").replace(" (", "\n(") for s in setups]
    rate = [s["measured"].get("turns_per_second", 0) for s in setups]
    colours = ["#b8c7d9"] * (len(setups) - 2) + ["#7a9cc6", "#2b5c8a"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.bar(names, rate, color=colours)
    left.axhline(rate[-2] * TARGET_RATIO, color="#c0392b", linestyle="--", linewidth=1,
                 label=f"target: {TARGET_RATIO}x one server")
    left.set_ylabel("turns per second")
    left.set_title(f"Throughput ({report['users']} users)")
    left.legend(loc="lower right", fontsize=8)
    for x, value in enumerate(rate):
        left.text(x, value, f"{value:.1f}", ha="center", va="bottom")
    width = 0.35
    for i, key in enumerate(("p50_s", "p95_s")):
        values = [s["measured"].get(key, 0) for s in setups]
        bars = right.bar([x + (i - 0.5) * width for x in range(len(names))], values, width, label=key[:3])
        right.bar_label(bars, fmt="%.2f", fontsize=8)
    right.set_xticks(range(len(names)), names)
    right.set_ylabel("seconds per turn")
    right.set_title("Latency")
    right.legend(fontsize=8)
    fig.suptitle(f"Two servers: {report['ratio']:.2f}x the turns per second of one", fontsize=11)
    two = setups[-1]
    stored = [s["stored"] for s in setups]
    after = two.get("after_stop", {})
    fig.text(0.5, 0.01,
             f"After one of the two servers stopped: {after.get('turns_per_second', 0):.1f} turns/s, "
             f"{after.get('errors', 0)} errors; web chat pages moved {two.get('webchat_users_moved', 0)}, "
             f"carried on {two.get('webchat_users_continued', 0)}. Of {sum(s['sent'] for s in stored):,} messages: "
             f"{sum(s['lost'] for s in stored)} lost, {sum(s['duplicated'] for s in stored)} duplicated, "
             f"{sum(s['out_of_order'] + s['interleaved'] for s in stored)} out of order.",
             ha="center", fontsize=8.5, color="#333333")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path, dpi=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--seconds", type=float, default=60, help="the measured window of each setup")
    parser.add_argument("--after-stop", type=float, default=30, help="load kept going after one server stops")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the reference run of one server free to use every core")
    args = parser.parse_args()
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    setups = []
    plan = [(1, False, True, "1 server, one thread"), (2, True, True, "2 servers, one thread each")]
    if not args.no_reference:
        plan.insert(0, (1, False, False, "1 server, all threads (as make run)"))
    for servers, stop_one, one_thread, name in plan:
        _, report = run_setup(servers, args, stop_one, one_thread)
        report["name"], report["one_thread_each"] = name, one_thread
        setups.append(report)
        print(json.dumps(report["measured"]), flush=True)
    one, two = (s["measured"] for s in setups[-2:])
    ratio = two.get("turns_per_second", 0) / max(one.get("turns_per_second", 0), 1e-9)
    reference = setups[0]["measured"] if not args.no_reference else None
    stored = [s["stored"] for s in setups]
    p95_before = min(s["measured"].get("p95_s", 1e9) for s in setups[:-1])
    report = {
        "cores": os.cpu_count(), "users": args.users, "seconds": args.seconds, "setups": setups,
        "ratio": round(ratio, 2),
        "ratio_to_all_threads": round(two.get("turns_per_second", 0) / max(reference.get("turns_per_second", 0), 1e-9), 2)
        if reference else None,
        "targets": {
            "ratio_at_least_1_5": ratio >= TARGET_RATIO,
            "p95_no_worse": two.get("p95_s", 1e9) <= p95_before,
            "nothing_lost_duplicated_or_out_of_order": all(
                s["lost"] == 0 and s["duplicated"] == 0 and s["out_of_order"] == 0 and s["interleaved"] == 0
                for s in stored),
            "webchat_continued_after_its_server_stopped": setups[-1].get("webchat_users_moved", 0) > 0
            and setups[-1]["webchat_users_moved"] == setups[-1]["webchat_users_continued"],
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(report, args.out / "scale.png")
    print(json.dumps({k: report[k] for k in ("ratio", "targets")}, indent=2))
    print(f"Report: {args.out / 'scale.json'} and scale.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
