"""The report folder, written whole or not at all.

Publishing writes the new report (report.qmd, HTML, PDF, summary.json, figures, notebooks,
style files) into a fresh folder beside ``report/`` and swaps it into place only once all of
it is rendered: a render that fails leaves the previous report as it was, never a new
``report.html`` beside an old ``report.pdf``. What the builder did not write there
(``report/README.md``, tracked by git, or a user's own files) is carried into the new folder.
A folder that cannot be written is an :class:`OutputPathError`: one line naming the path and
the fix (the CLI exits 3).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lazy_artist.builder.project import REPORT_MANIFEST, Project
from lazy_artist.builder.render import RenderError
from lazy_artist.fileio import atomic_write_json, make_temp_dir, replace_dir


class OutputPathError(RenderError):
    """The report's folder cannot be written: one line naming the path and the fix."""


def output_path_error(error: OSError, path: Path, profile: str | None = None) -> OutputPathError:
    """An :class:`OSError` met while writing the report, as one line a user can act on."""
    where = Path(error.filename) if getattr(error, "filename", None) else path
    again = (
        f"; the build's results are kept: run `python -m lazy_artist render --profile {profile}`"
        if profile
        else ""
    )
    if isinstance(error, (NotADirectoryError, FileExistsError)):
        # The file in the way is the first part of the path that exists and is no folder.
        where = next(
            (part for part in [where, *where.parents] if part.exists() and not part.is_dir()),
            where,
        )
        it = "it" if where == path else str(where)
        fix = f"{it} is a file, not a folder: move or delete it"
    elif isinstance(error, PermissionError):
        fix = f"permission denied on {where}: make it writable (chmod -R u+w {where}) or delete it"
    elif error.errno == errno.ENOSPC:
        fix = f"no space left on the disk holding {where}: free some space"
    elif error.errno == errno.EROFS:
        fix = f"{where} is on a read-only file system: build in a writable checkout"
    else:
        fix = f"{error.strerror or error} ({where}): check that folder"
    return OutputPathError(f"cannot write the report to {path}: {fix}{again}")


def check_report_dir(path: Path, profile: str | None = None) -> None:
    """Fail before any work when the report folder cannot be written: it is a file, it or the
    folder holding it (where the new report is staged) is not writable. Publishing calls it
    first and maps an error met while writing the same way."""
    if path.exists() and not path.is_dir():
        error = NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
        raise output_path_error(error, path, profile)
    for folder in (path, path.parent):
        if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
            error = PermissionError(errno.EACCES, "not writable", str(folder))
            raise output_path_error(error, path, profile)


@contextmanager
def staged_report(project: Project, profile: str | None = None) -> Iterator[Path]:
    """A fresh folder to write the whole report into; swapped in for ``report/`` when the
    block ends without an error, deleted (``report/`` untouched) when it raises."""
    report_dir = project.report_dir
    check_report_dir(report_dir, profile)
    try:
        staging = make_temp_dir(report_dir.parent, prefix=f".{report_dir.name}-new-")
    except OSError as error:
        raise output_path_error(error, report_dir, profile) from None
    try:
        yield staging
        # The manifest lists what publishing wrote, for `clean`; then what the builder did not
        # write (README.md, a user's files) is copied over from the current report.
        generated = sorted(entry.name for entry in staging.iterdir())
        atomic_write_json(staging / REPORT_MANIFEST, [*generated, REPORT_MANIFEST])
        _carry_over(project, staging)
        replace_dir(staging, report_dir)
    except OSError as error:
        raise output_path_error(error, report_dir, profile) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _carry_over(project: Project, staging: Path) -> None:
    report_dir = project.report_dir
    if not report_dir.is_dir():
        return
    generated = {path.name for path in project.generated_report_entries()}
    for entry in report_dir.iterdir():
        if entry.name in generated or (staging / entry.name).exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, staging / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, staging / entry.name, follow_symlinks=False)
