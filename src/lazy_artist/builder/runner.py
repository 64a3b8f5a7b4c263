"""Execute one task notebook with papermill: jupytext text -> .ipynb, parameters injected."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import papermill
from nbclient.exceptions import CellTimeoutError
from papermill.exceptions import PapermillExecutionError

SOURCE_NOTEBOOK = "notebook.source.ipynb"


@dataclass(frozen=True)
class NotebookFailure(Exception):
    """The notebook raised: which cell, what error, and the traceback tail."""

    cell: int | None
    error: str
    message: str
    traceback: str
    source: str = ""

    def __str__(self) -> str:
        where = f"cell {self.cell}" if self.cell is not None else "notebook"
        return f"{where}: {self.error}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "error": self.error,
            "message": self.message,
            "traceback": self.traceback,
            "source": self.source,
        }


class _TaskLogHandler(logging.Handler):
    """Streams the notebook's output lines to the terminal, prefixed with the task name."""

    PROGRESS = re.compile(r"\d+%\|")  # a tqdm bar
    PROGRESS_EVERY_S = 10.0

    def __init__(self, task: str) -> None:
        super().__init__(logging.INFO)
        self.task = task
        self.last_progress = 0.0
        # papermill logs to one global logger: with tasks running at once (one thread each),
        # each task's handler takes only the records of its own thread.
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        text = record.getMessage().rstrip()
        for line in text.splitlines():
            # tqdm redraws with carriage returns; show the latest state only.
            line = line.rsplit("\r", 1)[-1].strip()
            if not line or line.startswith("Ending Cell"):
                continue
            if self.PROGRESS.search(line) and "100%" not in line:
                # Progress bars update often; a line every few seconds is enough to show life.
                if time.monotonic() - self.last_progress < self.PROGRESS_EVERY_S:
                    continue
                self.last_progress = time.monotonic()
            print(f"  [{self.task}] {line}", file=sys.stderr, flush=True)


def to_ipynb(notebook_path: Path, destination: Path) -> Path:
    """Convert a jupytext percent-format notebook (or copy an .ipynb) to ``destination``."""
    notebook = jupytext.read(notebook_path)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, destination)
    return destination


def run_notebook(
    task: str,
    notebook_path: Path,
    staging: Path,
    parameters: dict[str, Any],
    kernel_name: str,
    cwd: Path,
    output_name: str,
    stream: bool = True,
    timeout_s: float | None = None,
    kernel_args: list[str] | None = None,
) -> Path:
    """Execute the notebook into ``staging/output_name``; raise :class:`NotebookFailure` on error,
    and when a cell runs longer than ``timeout_s`` (None: no limit; the kernel is stopped).
    ``kernel_args`` go to the kernel's launcher (the read trace, :mod:`lazy_artist.readtrace`)."""
    source = to_ipynb(notebook_path, staging / SOURCE_NOTEBOOK)
    executed = staging / output_name
    logger = logging.getLogger("papermill")
    handler = _TaskLogHandler(task)
    if stream:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        papermill.execute_notebook(
            str(source),
            str(executed),
            parameters=parameters,
            kernel_name=kernel_name,
            cwd=str(cwd),
            log_output=stream,
            progress_bar=False,
            report_mode=False,
            # nbclient's per-cell limit: a hung cell fails its task instead of holding the build.
            execution_timeout=None if timeout_s is None else max(1, round(timeout_s)),
            extra_arguments=list(kernel_args or ()),
        )
    except CellTimeoutError:
        cell = _running_cell(executed)
        raise NotebookFailure(
            cell=cell,
            error="CellTimeout",
            message=f"{'cell ' + str(cell) if cell else 'a cell'} exceeded the {timeout_s:g} s "
            f"timeout (raise it with --timeout-s SECONDS or --set {task}.timeout_s=SECONDS)",
            traceback="",
        ) from None
    except PapermillExecutionError as error:
        raise NotebookFailure(
            cell=error.exec_count,
            error=error.ename,
            message=str(error.evalue),
            traceback=_strip_ansi("\n".join(error.traceback[-12:])),
            source=error.source,
        ) from None
    except Exception as error:  # kernel death, bad notebook JSON, ...: still a task failure
        raise NotebookFailure(
            cell=None,
            error=type(error).__name__,
            message=str(error),
            traceback=traceback.format_exc(),
        ) from None
    finally:
        logger.removeHandler(handler)
        source.unlink(missing_ok=True)
    return executed


def _running_cell(executed: Path) -> int | None:
    """The execution count of the cell that was running (the last one started), as papermill
    numbers a failing cell; None when the executed notebook cannot be read."""
    try:
        cells = nbformat.read(executed, as_version=4).cells
    except Exception:
        return None
    counts = [cell.get("execution_count") for cell in cells if cell.cell_type == "code"]
    return max((count for count in counts if count), default=None)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
