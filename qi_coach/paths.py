"""Where the project's files are: one owner for the checkout's root and its ``var/`` folder."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Databases, caches and other files made at run time (git-ignored).
VAR_DIR = PROJECT_ROOT / "var"
