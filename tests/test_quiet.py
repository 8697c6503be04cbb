"""Known third-party warnings are dropped by their exact message; anything else still shows."""

from __future__ import annotations

import subprocess
import sys

from qi_coach import quiet

SHOW = "import warnings, qi_coach.quiet as q; q.install(); q.install(); warnings.simplefilter('always'); "


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", SHOW + code], capture_output=True, text=True, check=True).stderr


def test_a_known_warning_is_dropped_and_a_new_one_still_shows():
    err = run("warnings.warn(\"'setParseAction' deprecated - use 'set_parse_action'\", DeprecationWarning); "
              "warnings.warn('something new is deprecated', DeprecationWarning); "
              "warnings.warn(\"The intent 'inform' is not used in any story or rule.\", UserWarning)")
    assert "setParseAction" not in err and "inform" not in err
    assert "something new is deprecated" in err and err.count("Warning") == 1


def test_a_message_known_only_in_rasa_is_dropped_there_and_nowhere_else():
    message = "Deprecated API features detected! These feature(s) are not compatible with SQLAlchemy 2.0"
    assert quiet.is_known(message, DeprecationWarning, "/venv/site-packages/rasa/core/tracker_store.py")
    assert not quiet.is_known(message, DeprecationWarning, "/work/main/qi_coach/records.py")
    assert not quiet.is_known("pkg_resources is deprecated as an API", UserWarning)  # the category counts too

