"""The one way a benchmark hands back its result: a JSON line on stdout, and in ``out``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(report: dict[str, Any], out: Path | None) -> dict[str, Any]:
    """Print ``report`` as one JSON line and, with ``out``, write it there too."""
    line = json.dumps(report)
    print(line)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(line + "\n")
    return report
