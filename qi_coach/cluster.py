"""``qi-coach cluster`` (``make cluster``): several Rasa servers behind a load balancer, on one machine.

The production shape in miniature (``docs/deploy.md``), every part on 127.0.0.1:

* HAProxy (Debian's package) on ``BALANCER_PORT`` (5005, the address ``make run`` uses, so the
  web page, the terminal chat, Slack and Teams work unchanged) in front of N Rasa servers, and
  on ``ACTIONS_BALANCER_PORT`` (5055, the action endpoint of ``endpoints.yml``) in front of a
  pool of action servers. It checks every server each second and takes a stopped one out after
  two failed checks; requests that cannot connect are sent to another server.
* The web chat's socket.io needs every request of one connection on one server while it polls:
  HAProxy pins a browser to a server with a cookie, and moves it when that server stops.
  Replies reach a page whichever server it is on, through socket.io's Redis manager.
* PostgreSQL (``DATABASE_URL``, default the local ``test`` database) keeps the conversations,
  the content and the records; Redis (``QI_COACH_REDIS_URL``, default the local one) keeps the
  conversation locks (``qi_coach.locks``), the rate counts and socket.io's rooms.

Ctrl-C stops everything it started. ``Cluster`` is also what the two-server tests and
``make bench-scale`` start.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from qi_coach import serve
from qi_coach.channels.webchat_sessions import load_keys
from qi_coach.paths import PROJECT_ROOT, VAR_DIR

HOST = serve.HOST
BALANCER_PORT = 5005
ACTIONS_BALANCER_PORT = 5055
FIRST_RASA_PORT = 5101
FIRST_ACTIONS_PORT = 5151
STATS_PORT = 8404
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
FOLDER = VAR_DIR / "cluster"
#: Seconds between health checks, and failed checks before a server is taken out.
CHECK_EVERY_MS = 1000
DOWN_AFTER_CHECKS = 2
#: A stopping Rasa server's time to finish: Sanic's drain (15 s) and the intake's turns (30 s).
STOP_GRACE = 50


@dataclass(frozen=True)
class Layout:
    """Where each part listens."""

    servers: int = 2
    actions: int = 2
    balancer_port: int = BALANCER_PORT
    actions_balancer_port: int = ACTIONS_BALANCER_PORT
    first_rasa_port: int = FIRST_RASA_PORT
    first_actions_port: int = FIRST_ACTIONS_PORT
    stats_port: int = STATS_PORT

    @property
    def rasa_ports(self) -> list[int]:
        return [self.first_rasa_port + i for i in range(self.servers)]

    @property
    def actions_ports(self) -> list[int]:
        return [self.first_actions_port + i for i in range(self.actions)]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.balancer_port}"


def haproxy_config(layout: Layout) -> str:
    """HAProxy's configuration for ``layout`` (written to the cluster's folder at each start)."""
    check = f"check inter {CHECK_EVERY_MS} fall {DOWN_AFTER_CHECKS} rise 2"
    rasa = "\n".join(f"    server rasa-{i + 1} {HOST}:{port} cookie rasa-{i + 1} {check}"
                     for i, port in enumerate(layout.rasa_ports))
    actions = "\n".join(f"    server actions-{i + 1} {HOST}:{port} {check}" for i, port in enumerate(layout.actions_ports))
    return f"""# Written by qi-coach cluster (qi_coach/cluster.py) at each start: edit that, not this.
global
    log stdout format raw local0 info
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 2m
    timeout server 2m
    timeout tunnel 1h
    # A request that cannot connect (a stopped server) is sent to another one; a request that
    # reached a server is never sent twice.
    retries 3
    option redispatch
    # The servers see the person's address (rate limits per address), not the balancer's.
    option forwardfor
    # One request per server connection: a stopping server never receives a request on a
    # connection it is closing.
    option http-server-close

frontend rasa
    bind {HOST}:{layout.balancer_port}
    default_backend rasa

backend rasa
    balance roundrobin
    option httpchk GET /webhooks/rest/
    # socket.io polling needs one server per browser: a cookie pins it, and moves with redispatch.
    cookie QI_COACH_SERVER insert indirect nocache httponly
{rasa}

frontend actions
    bind {HOST}:{layout.actions_balancer_port}
    default_backend actions

backend actions
    balance leastconn
    option httpchk GET /health
{actions}

frontend stats
    bind {HOST}:{layout.stats_port}
    stats enable
    stats uri /
    stats refresh 2s
"""


#: One thread for the numerical work of each server (TensorFlow, and NumPy's BLAS under the
#: sentence encoder). Left alone, one server spreads a turn over every core and spends 1.7 cores
#: for at most about 10% more turns than on one; several servers then fight over the same cores.
#: One server per core, each on one thread, is what scales (``make bench-scale``).
ONE_THREAD_EACH = {name: "1" for name in ("TF_INTER_OP_PARALLELISM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS",
                                          "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def cluster_environment(database_url: str | None = None, redis_url: str | None = None) -> dict[str, str]:
    """Every server's environment: the shared PostgreSQL and Redis, telemetry off, one thread of
    numerical work each, and the balancer's X-Forwarded-For trusted (one proxy in front)."""
    env = serve.server_environment()
    env.update({name: os.environ.get(name, value) for name, value in ONE_THREAD_EACH.items()})
    env["DATABASE_URL"] = database_url or os.environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    env["QI_COACH_REDIS_URL"] = redis_url or os.environ.get("QI_COACH_REDIS_URL", "").strip() or DEFAULT_REDIS_URL
    env["SANIC_PROXIES_COUNT"] = "1"
    return env


def find_haproxy() -> str:
    found = os.environ.get("HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(found).exists():
        raise RuntimeError("HAProxy is not installed: `make cluster` installs it (Debian's package haproxy).")
    return found


@dataclass
class Cluster:
    """The processes of one cluster: action servers, Rasa servers, the balancer, and one check-in
    scheduler per Rasa server (they claim each due check-in in the database, so it goes once)."""

    layout: Layout = field(default_factory=Layout)
    env: dict[str, str] = field(default_factory=cluster_environment)
    folder: Path = FOLDER
    model: Path = serve.MODEL
    actions: list[subprocess.Popen] = field(default_factory=list)
    rasa: dict[int, subprocess.Popen] = field(default_factory=dict)
    balancer: subprocess.Popen | None = None
    schedulers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    def start(self, timeout: float = 300) -> None:
        """Load the content into the shared database, then start every part and wait until all
        answer. Anything started is stopped again if the start fails."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._check_free()
        if "QI_COACH_WEBCHAT_SECRET" not in self.env:  # the kept key, made once before any server reads it
            load_keys()
        self._load_knowledge()
        endpoints = self._write_endpoints()
        config = self.folder / "haproxy.cfg"
        config.write_text(haproxy_config(self.layout))
        try:
            self.actions = [serve.start_actions(self.env, port, self.logs / f"actions-{i + 1}")
                            for i, port in enumerate(self.layout.actions_ports)]
            for index in range(self.layout.servers):
                self.rasa[index] = serve.start_rasa(self.model, endpoints, self.env, self.layout.rasa_ports[index],
                                                    self.logs / f"rasa-{index + 1}")
            self.balancer = serve.start_process([find_haproxy(), "-db", "-f", str(config)], self.env,
                                                self.logs / "haproxy.log")
            serve.wait_for(self._health_checks(), timeout)
            self.schedulers = [serve.start_scheduler(f"http://{HOST}:{self.layout.balancer_port}", self.env,
                                                     self.logs / f"checkins-{i + 1}")
                               for i in range(self.layout.servers)]
        except BaseException:
            self.stop()
            raise

    def _health_checks(self) -> list[tuple[subprocess.Popen, str, Path]]:
        checks = [(p, serve.actions_health(port), self.logs / f"actions-{i + 1}" / "actions.log")
                  for i, (p, port) in enumerate(zip(self.actions, self.layout.actions_ports, strict=True))]
        checks += [(self.rasa[i], serve.rasa_health(self.layout.rasa_ports[i]), self.logs / f"rasa-{i + 1}" / "rasa.log")
                   for i in sorted(self.rasa)]
        assert self.balancer is not None
        checks.append((self.balancer, serve.rasa_health(self.layout.balancer_port), self.logs / "haproxy.log"))
        return checks

    def _check_free(self) -> None:
        ports = [self.layout.balancer_port, self.layout.actions_balancer_port, self.layout.stats_port,
                 *self.layout.rasa_ports, *self.layout.actions_ports]
        busy = [port for port in ports if serve.port_in_use(port)]
        if busy:
            raise RuntimeError(f"port {', '.join(map(str, busy))} on {HOST} is already in use (is qi-coach "
                               "running, with `make run` or `make cluster`?). Stop it first.")

    def _load_knowledge(self) -> None:
        """The content and every shared table, in the shared database, before any server starts."""
        result = subprocess.run([str(Path(sys.executable).parent / "qi-coach"), "knowledge", "load"], env=self.env,
                                cwd=PROJECT_ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError("loading the knowledge into the shared database failed:\n"
                               + (result.stderr or result.stdout)[-2000:])

    def _write_endpoints(self) -> Path:
        """The project's ``endpoints.yml`` with the action endpoint on the actions balancer."""
        endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
        endpoints["action_endpoint"]["url"] = f"http://{HOST}:{self.layout.actions_balancer_port}/webhook"
        path = self.folder / "endpoints.yml"
        path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
        return path

    def server_url(self, index: int) -> str:
        """One Rasa server's own address (0-based), bypassing the balancer."""
        return f"http://{HOST}:{self.layout.rasa_ports[index]}"

    def stop_server(self, index: int) -> None:
        """Stop one Rasa server as a deployment would: SIGTERM, and time to finish what it started
        (Sanic drains HTTP requests, the intake finishes web chat turns)."""
        serve.stop([self.rasa.pop(index)], grace=STOP_GRACE)

    def start_server(self, index: int, timeout: float = 300) -> None:
        endpoints = self.folder / "endpoints.yml"
        port = self.layout.rasa_ports[index]
        self.rasa[index] = serve.start_rasa(self.model, endpoints, self.env, port, self.logs / f"rasa-{index + 1}")
        serve.wait_for([(self.rasa[index], serve.rasa_health(port), self.logs / f"rasa-{index + 1}" / "rasa.log")],
                       timeout)

    def stopped(self) -> list[str]:
        """The parts that have exited by themselves."""
        parts = {f"rasa-{i + 1}": p for i, p in self.rasa.items()}
        parts.update({f"actions-{i + 1}": p for i, p in enumerate(self.actions)})
        parts.update({f"checkins-{i + 1}": p for i, p in enumerate(self.schedulers)})
        if self.balancer is not None:
            parts["haproxy"] = self.balancer
        return [name for name, process in parts.items() if process.poll() is not None]

    def stop(self) -> None:
        """Stop the schedulers and the balancer first (no new work), then the Rasa servers, then
        the actions."""
        serve.stop(self.schedulers)
        serve.stop([self.balancer] if self.balancer else [])
        serve.stop(list(self.rasa.values()), grace=STOP_GRACE)
        serve.stop(self.actions)
        self.balancer, self.rasa, self.actions, self.schedulers = None, {}, [], []


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(servers: int = 2, actions: int | None = None) -> int:
    """``qi-coach cluster``: start, report, and keep running until Ctrl-C."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    if servers < 1:
        print("error: a cluster needs at least one Rasa server.", file=sys.stderr)
        return 1
    if not serve.MODEL.exists():
        print(f"No trained model at {serve.MODEL}: run `make cluster`, which trains it.", file=sys.stderr)
        return 1
    cluster = Cluster(Layout(servers=servers, actions=actions or servers))
    os.environ.update({k: cluster.env[k] for k in ("DATABASE_URL", "QI_COACH_REDIS_URL")})
    try:
        _check_services(cluster.env)
        serve.prepare()
        print(f"Starting {servers} Rasa server(s), {cluster.layout.actions} action server(s) and HAProxy "
              f"on {HOST}; logs in {cluster.logs} ...", flush=True)
        started = time.monotonic()
        cluster.start()
    except (RuntimeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        cluster.stop()
        return 0
    layout = cluster.layout
    print(f"Ready in {time.monotonic() - started:.0f} s.\n"
          f"  Web chat:  {layout.url}/webhooks/webchat/  (open it in your browser)\n"
          f"  REST:      {layout.url}/webhooks/rest/webhook\n"
          f"  Servers:   " + ", ".join(cluster.server_url(i) for i in range(servers)) + "\n"
          f"  Balancer:  http://{HOST}:{layout.stats_port}/  (which servers are up)\n"
          "Ctrl-C stops everything.", flush=True)
    reported: set[str] = set()
    try:
        while True:
            for name in set(cluster.stopped()) - reported:
                reported.add(name)
                print(f"{name} stopped (see {cluster.logs}); the balancer sends its work to the others.",
                      file=sys.stderr, flush=True)
            if "haproxy" in reported or len([n for n in reported if n.startswith("rasa")]) == servers:
                print("error: nothing is left to answer; stopping.", file=sys.stderr)
                return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping ...")
    finally:
        cluster.stop()
    return 0


def _check_services(env: dict[str, str]) -> None:
    """Say plainly when the shared PostgreSQL or Redis cannot be reached."""
    import redis
    from sqlalchemy import text

    from knowledge.db import create_engine_for

    try:
        with create_engine_for(env["DATABASE_URL"]).connect() as conn:
            conn.execute(text("select 1"))
    except Exception as error:
        raise RuntimeError(f"cannot reach the database (DATABASE_URL): {type(error).__name__}") from error
    try:
        redis.Redis.from_url(env["QI_COACH_REDIS_URL"], socket_connect_timeout=2).ping()
    except Exception as error:
        raise RuntimeError(f"cannot reach Redis (QI_COACH_REDIS_URL): {type(error).__name__}") from error
