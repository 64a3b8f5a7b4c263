"""lazy-artist: regenerate the 'Lazy Artist' shortcut-learning report from fresh runs."""

__version__ = "0.1.0"
