"""What ``make cluster`` writes and starts with, checked without starting it (the running cluster
is tested in ``tests/e2e/test_two_servers.py``)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from qi_coach import cluster
from qi_coach.cluster import Cluster, Layout, cluster_environment, find_haproxy, haproxy_config
from qi_coach.paths import PROJECT_ROOT


def haproxy_accepts(config: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    return subprocess.run([find_haproxy(), "-c", "-f", str(path)], capture_output=True, text=True)


@pytest.mark.parametrize("servers", [1, 2, 5])
def test_the_balancer_configuration_is_valid_haproxy_with_one_pinned_server_line_per_server(servers, tmp_path):
    layout = Layout(servers=servers, actions=2)
    config = haproxy_config(layout)

    checked = haproxy_accepts(config, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rasa = re.findall(r"server (rasa-\d+) 127\.0\.0\.1:(\d+) cookie (rasa-\d+) check", config)
    assert [(name, int(port)) for name, port, _ in rasa] == [(f"rasa-{i + 1}", p) for i, p in
                                                            enumerate(layout.rasa_ports)]
    assert all(name == cookie for name, _, cookie in rasa)  # the cookie names the server it pins to
    assert len(re.findall(r"server actions-\d+ 127\.0\.0\.1:\d+ check", config)) == 2
    assert f"bind 127.0.0.1:{layout.balancer_port}" in config  # loopback only, on make run's address


def test_a_broken_configuration_is_refused_by_haproxy_so_the_check_above_can_fail(tmp_path):
    assert haproxy_accepts(haproxy_config(Layout()).replace("balance roundrobin", "balance nonsense"),
                           tmp_path).returncode != 0


def test_the_containers_balancer_configuration_is_valid_haproxy(tmp_path):
    checked = haproxy_accepts((PROJECT_ROOT / "deploy" / "haproxy.cfg").read_text(), tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_containers_endpoints_differ_from_the_projects_only_in_where_the_actions_are():
    project = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
    containers = yaml.safe_load((PROJECT_ROOT / "deploy" / "endpoints.yml").read_text())
    assert containers["action_endpoint"] == {"url": "http://haproxy:5055/webhook"}
    assert {k: v for k, v in containers.items() if k != "action_endpoint"} == \
        {k: v for k, v in project.items() if k != "action_endpoint"}


def test_the_compose_file_gives_every_server_the_clusters_settings():
    compose = yaml.safe_load((PROJECT_ROOT / "deploy" / "compose.yml").read_text())
    for service in ("rasa", "actions", "knowledge-load"):
        environment = compose["services"][service]["environment"]
        assert environment["RASA_TELEMETRY_ENABLED"] == "false"
        assert environment["QI_COACH_REDIS_URL"].startswith("redis://")
        assert all(environment[name] == value for name, value in cluster.ONE_THREAD_EACH.items())
        assert environment["SANIC_PROXIES_COUNT"] == "1"


def test_every_server_shares_the_databases_trusts_one_proxy_and_keeps_to_one_thread(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("QI_COACH_REDIS_URL", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    env = cluster_environment()
    assert env["DATABASE_URL"] == cluster.DEFAULT_DATABASE_URL
    assert env["QI_COACH_REDIS_URL"] == cluster.DEFAULT_REDIS_URL
    assert env["RASA_TELEMETRY_ENABLED"] == "false" and env["SANIC_PROXIES_COUNT"] == "1"
    assert env["OMP_NUM_THREADS"] == "1"

    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/qi")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # an operator's own choice wins
    env = cluster_environment()
    assert env["DATABASE_URL"] == "postgresql://elsewhere/qi" and env["OMP_NUM_THREADS"] == "2"


def test_the_cluster_writes_endpoints_whose_actions_go_through_the_balancer(tmp_path):
    running = Cluster(Layout(actions_balancer_port=6055), {}, tmp_path)
    endpoints = yaml.safe_load(running._write_endpoints().read_text())
    assert endpoints["action_endpoint"]["url"] == "http://127.0.0.1:6055/webhook"
    assert endpoints["lock_store"]["type"] == "qi_coach.locks.ConfiguredLockStore"


def test_a_port_in_use_stops_the_start_with_a_clear_message(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = Cluster(Layout(balancer_port=port, actions_balancer_port=port + 1 if port < 65535 else port - 1),
                          {}, tmp_path)
        with pytest.raises(RuntimeError, match=f"port {port}.*already in use"):
            running.start()
    assert not running.rasa and not running.actions and running.balancer is None  # nothing was started
