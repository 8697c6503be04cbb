"""Run one long set-up step quietly, with a progress line instead of pages of output.

``make`` calls it as a plain script (standard library only: it runs before qi-coach is
installed) for the install and training steps. Everything the command prints goes to a log
file under ``var/logs/``; the terminal shows one line: the step, a bar when the number of
items is known (packages from ``constraints.txt``, components in ``config.yml``), the time
taken and what is happening now. If the command fails, the end of its log is printed.

    python qi_coach/progress.py "Training the model" --log var/logs/train.log \\
        --count 'Starting to train component' --total 12 --status 'Embedding .*' -- rasa train
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

WIDTH = 24  # characters of bar
TAIL_LINES = 40  # of the log, shown when the step fails
QUIET_SECONDS = 30  # without a terminal, a line at most this often (CI logs stay short)


def _bar(done: int, total: int) -> str:
    filled = min(WIDTH, WIDTH * done // max(total, 1))
    return f"[{'#' * filled}{'.' * (WIDTH - filled)}] {min(done, total)}/{total} "


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """What the step has done so far, and the one line that says so."""

    def __init__(self, title: str, count: re.Pattern | None, total: int, status: re.Pattern | None,
                 tty: bool):
        self.title, self.count, self.total, self.status, self.tty = title, count, total, status, tty
        self.done, self.now, self.started = 0, "", time.monotonic()
        self._last_draw = 0.0

    def feed(self, line: str) -> None:
        if self.count is not None and self.count.search(line):
            self.done += 1
        if self.status is not None and (found := self.status.search(line)):
            self.now = (found.group(1) if found.groups() else found.group(0)).strip()
        self.draw()

    def line(self) -> str:
        bar = _bar(self.done, self.total) if self.count is not None and self.total else ""
        return f"==> {self.title} {bar}{_elapsed(time.monotonic() - self.started)}" + \
            (f"  {self.now}" if self.now else "")

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < (0.2 if self.tty else QUIET_SECONDS):
            return
        self._last_draw = now
        if self.tty:
            columns = max(40, os.get_terminal_size(sys.stdout.fileno()).columns - 1)
            sys.stdout.write("\r" + self.line()[:columns].ljust(columns))
        else:
            sys.stdout.write(self.line() + "\n")
        sys.stdout.flush()


def run(command: list[str], log: Path, progress: Progress) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8", errors="replace") as out:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        fd, pending = process.stdout.fileno(), b""
        for chunk in iter(lambda: os.read(fd, 65536), b""):
            out.write(chunk.decode("utf-8", "replace"))
            out.flush()  # someone may be following the log
            pending += chunk
            *lines, pending = re.split(rb"[\r\n]", pending)  # progress bars end their lines with \r
            for raw in lines:
                progress.feed(raw.decode("utf-8", "replace"))
        if pending:
            progress.feed(pending.decode("utf-8", "replace"))
        return process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], usage="%(prog)s TITLE --log FILE [options] -- COMMAND...")
    parser.add_argument("title")
    parser.add_argument("--log", required=True, type=Path, help="where the command's whole output goes")
    parser.add_argument("--count", help="a regular expression: each matching line is one item done")
    parser.add_argument("--total", type=int, default=0, help="how many items there are")
    parser.add_argument("--status", help="a regular expression: the latest match is shown as what is happening")
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("give the command to run after --")
    command = argv[argv.index("--") + 1:]
    args = parser.parse_args(argv[:argv.index("--")])
    progress = Progress(args.title, re.compile(args.count) if args.count else None, args.total,
                        re.compile(args.status) if args.status else None, sys.stdout.isatty())
    progress.draw(force=True)
    try:
        code = run(command, args.log, progress)
    except KeyboardInterrupt:
        code = 130
    except OSError as exc:  # the command could not start at all
        print(f"\n{args.title}: cannot run {command[0]}: {exc}", file=sys.stderr)
        return 127
    if code == 0:
        progress.count = None  # the bar's job is done; the line says so
        progress.now = f"done (full output: {args.log})"
        progress.draw(force=True)
        if progress.tty:
            sys.stdout.write("\n")
        return 0
    tail = args.log.read_text(encoding="utf-8", errors="replace").splitlines()[-TAIL_LINES:]
    print(f"\n{args.title} failed (exit {code}). The end of {args.log}:", file=sys.stderr)
    print("\n".join(tail), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
