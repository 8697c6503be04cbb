"""What a server start does for privacy: private files, rotated logs, a checked key."""

from __future__ import annotations

import stat
import sys
import time

import pytest

from qi_coach import serve


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_servers_output_goes_to_a_private_log_that_rotates(tmp_path, monkeypatch):
    monkeypatch.setattr(serve, "LOG_BYTES", 2000)
    monkeypatch.setattr(serve, "LOG_BACKUPS", 2)
    log = tmp_path / "logs" / "server.log"
    process = serve.start_process([sys.executable, "-c", "for i in range(400): print(f'line {i:04d} ' + 'x' * 40)"],
                           {"PATH": "/usr/bin:/bin"}, log)
    process.wait(timeout=30)
    for _ in range(50):  # the copying thread finishes after the process
        if log.exists() and "line 0399" in log.read_text():
            break
        time.sleep(0.1)
    files = sorted(log.parent.glob("server.log*"))
    assert [f.name for f in files] == ["server.log", "server.log.1", "server.log.2"]  # older ones dropped
    assert all(f.stat().st_size <= 2000 + 100 for f in files)
    assert "line 0399" in log.read_text() and "line 0000" not in "".join(f.read_text() for f in files)
    assert all(mode(f) == 0o600 for f in files)


def test_what_a_server_creates_is_private_whatever_the_callers_umask(tmp_path):
    made = tmp_path / "made-by-the-server.db"
    process = serve.start_process([sys.executable, "-c", f"open({str(made)!r}, 'w').write('x')"],
                           {"PATH": "/usr/bin:/bin"}, tmp_path / "logs" / "s.log")
    process.wait(timeout=30)
    assert mode(made) == 0o600


def test_files_already_in_var_are_made_private(tmp_path):
    (tmp_path / "logs").mkdir()
    for name in ("qi_coach.db", "webchat-secret", "logs/rasa.log"):
        (tmp_path / name).write_text("x")
        (tmp_path / name).chmod(0o644)
    serve.make_private(tmp_path)
    assert {mode(p) for p in tmp_path.rglob("*") if p.is_file()} == {0o600}
    assert mode(tmp_path / "logs") == 0o700 and mode(tmp_path) == 0o700


def test_the_terminal_client_shows_a_refusal_that_carries_a_reply(monkeypatch):
    import io
    import urllib.error

    def refused(request, timeout):
        raise urllib.error.HTTPError(request.full_url, 429, "Too Many Requests", {},
                                     io.BytesIO(b'[{"recipient_id": "t", "text": "Please wait"}]'))

    monkeypatch.setattr(serve.urllib.request, "urlopen", refused)
    assert serve.send("hi", "t") == [{"recipient_id": "t", "text": "Please wait"}]


@pytest.mark.parametrize("secret", ["", "x" * 31])
def test_a_weak_web_chat_key_stops_the_start_with_a_clear_message(monkeypatch, capsys, secret):
    monkeypatch.setenv("QI_COACH_WEBCHAT_SECRET", secret)
    monkeypatch.setattr(serve, "MODEL", serve.PROJECT_ROOT / "pyproject.toml")  # any file: "a model exists"
    started = []
    monkeypatch.setattr(serve, "start_servers", lambda *a, **k: started.append(1))
    monkeypatch.setattr(serve, "make_private", lambda folder: None)
    monkeypatch.setattr(serve.signal, "signal", lambda *args: None)  # keep pytest's own handlers
    assert serve.main() == 1
    assert "at least 32 bytes" in capsys.readouterr().err and not started
