"""T4's chosen hyper-parameters, written by a ``tune``-profile build of T4 (its
``artefacts/tuned.py``) and read by the full profile (``t4.tuned = "committed"``).
See :mod:`lazy_artist.methods.tuning`; do not edit by hand. Empty until a tune build's values
are committed: the full profile then trains the defaults and its T4 check ``tuning_applies``
fails, saying so."""

from typing import Any

TUNED: dict[str, Any] = {}
