"""Known third-party warnings, each named by the start of its exact message, kept off screen.

Rasa 3.6 and its dependencies warn about their own internals on every start (pkg_resources,
pyparsing's old names, SQLAlchemy 2.0 moves in Rasa's tracker store), and Rasa's data check
cannot see what forms and actions use. None of it is anything a qi-coach user can act on.

Warning *filters* cannot hide them: Sanic and Rasa put their own "once" filters in front of
any set at start-up. So the display is filtered instead: ``install`` wraps
``warnings.showwarning`` and drops exactly these messages; anything new still shows. The
virtualenv runs ``install`` at start-up (a ``.pth`` file the Makefile writes). pytest records
warnings itself, so its summary still lists those raised while it starts.
"""

from __future__ import annotations

import warnings

#: (category, start of the message). Categories match subclasses too.
KNOWN: tuple[tuple[type[Warning], str], ...] = (
    (DeprecationWarning, "pkg_resources is deprecated as an API"),
    (DeprecationWarning, "Deprecated call to `pkg_resources.declare_namespace"),
    (DeprecationWarning, "jax.xla_computation is deprecated"),
    (DeprecationWarning, "The ``declarative_base()`` function is now available"),  # Rasa's tracker store
    (DeprecationWarning, "'setParseAction' deprecated"),  # pyparsing, from matplotlib and packaging
    (DeprecationWarning, "'parseString' deprecated"),
    (DeprecationWarning, "'resetCache' deprecated"),
    (DeprecationWarning, "'originalTextFor' deprecated"),
    (DeprecationWarning, "'enablePackrat' deprecated"),  # pyparsing, from matplotlib's mathtext (charts)
    (DeprecationWarning, "'leaveWhitespace' deprecated"),
    (DeprecationWarning, "'oneOf' deprecated"),
    (DeprecationWarning, "'setName' deprecated"),
    (DeprecationWarning, "'unquoteResults' argument is deprecated"),
    # Rasa's data check: the form asks its own questions, actions send responses, and some
    # intents come only from buttons.
    (UserWarning, "The utterance 'utter_ask_triage_"),
    (UserWarning, "The utterance 'utter_triage_intro' is not used"),
    (UserWarning, "The utterance 'utter_default' is not used"),
    (UserWarning, "The intent 'choose_barrier' is listed in the domain file"),
    (UserWarning, "The intent 'prioritise_barrier' is listed in the domain file"),
    (UserWarning, "The intent 'inform' is listed in the domain file"),
    (UserWarning, "The intent 'inform' is not used in any story or rule"),
)


#: Known only where they come from, Rasa's own modules: SQLAlchemy 1.4's notice on Rasa's tracker
#: store when SQLALCHEMY_WARN_20 is not set (our code is held to 2.0 style by the tests).
KNOWN_IN_RASA: tuple[tuple[type[Warning], str], ...] = (
    (DeprecationWarning, "Deprecated API features detected! These feature(s) are not compatible with SQLAlchemy 2.0"),
)


def is_known(message: Warning | str, category: type[Warning], filename: str = "") -> bool:
    text = str(message)
    known = KNOWN + (KNOWN_IN_RASA if "/rasa/" in filename.replace("\\", "/") else ())
    return any(issubclass(category, kind) and text.startswith(start) for kind, start in known)


def install() -> None:
    """Drop the known warnings at display time (once per process; later calls do nothing)."""
    shown = warnings.showwarning
    if getattr(shown, "drops_known_warnings", False):
        return

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if not is_known(message, category, str(filename)):
            shown(message, category, filename, lineno, file, line)

    showwarning.drops_known_warnings = True  # type: ignore[attr-defined]
    warnings.showwarning = showwarning

