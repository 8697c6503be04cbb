"""The set-up steps' progress line: the command's output goes to the log, the terminal gets one
line per step, and a failure shows the end of the log and keeps the command's exit code."""

from __future__ import annotations

import sys

from qi_coach import progress

COUNTING = "import time\nfor i in range(3):\n    print('Collecting pkg%d' % i, flush=True)\nprint('all done\\r', end='')"


def test_the_output_goes_to_the_log_and_the_terminal_sees_the_step_and_its_end(tmp_path, capsys):
    log = tmp_path / "logs" / "install.log"
    code = progress.main(["Installing", "--log", str(log), "--count", "^Collecting ", "--total", "3",
                          "--status", r"Collecting (\S+)", "--", sys.executable, "-c", COUNTING])
    shown = capsys.readouterr().out
    assert code == 0
    assert log.read_text().count("Collecting pkg") == 3 and "all done" in log.read_text()
    assert "Collecting" not in shown  # the command's own lines stay in the log
    assert shown.startswith("==> Installing [") and "0/3" in shown
    assert shown.rstrip().endswith(f"done (full output: {log})")


def test_the_bar_counts_matching_lines_and_the_status_is_the_latest_match():
    step = progress.Progress("Training", progress.re.compile("^n$"), 4, progress.re.compile(r"item (\d+)"), tty=False)
    for line in ["n", "item 1", "n", "noise", "item 2"]:
        step.feed(line)
    assert step.done == 2 and step.now == "2"
    assert "[############............] 2/4" in step.line()


def test_a_failing_step_shows_the_end_of_its_log_and_keeps_the_exit_code(tmp_path, capsys):
    log = tmp_path / "train.log"
    code = progress.main(["Training", "--log", str(log), "--", sys.executable, "-c",
                          "import sys; print('line one'); print('the real error'); sys.exit(3)"])
    err = capsys.readouterr().err
    assert code == 3 and "Training failed (exit 3)" in err and "the real error" in err


def test_a_command_that_cannot_start_is_reported_not_raised(tmp_path, capsys):
    code = progress.main(["Training", "--log", str(tmp_path / "x.log"), "--", str(tmp_path / "no-such-program")])
    assert code == 127 and "cannot run" in capsys.readouterr().err
