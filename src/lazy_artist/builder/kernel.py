"""A Jupyter kernelspec pinned to the interpreter running the builder.

papermill would otherwise pick whatever ``python3`` kernel Jupyter finds first, which on a
machine with several environments may lack this project's packages.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

KERNEL_NAME = "lazy-artist"


def ensure_kernel(jupyter_dir: Path) -> str:
    """Write the kernelspec under ``jupyter_dir`` and put it on JUPYTER_PATH; return its name."""
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        # The launcher runs ipykernel as ipykernel_launcher does, tracing upstream reads first
        # when the builder passes --trace-log/--trace-root (lazy_artist.readtrace).
        "argv": [sys.executable, "-m", "lazy_artist.readtrace", "-f", "{connection_file}"],
        "display_name": "lazy-artist (builder interpreter)",
        "language": "python",
        "env": {"MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=2))
    paths = [str(jupyter_dir.resolve())]
    if os.environ.get("JUPYTER_PATH"):
        paths.append(os.environ["JUPYTER_PATH"])
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))
    return KERNEL_NAME
