"""One build per profile at a time: an exclusive ``flock`` on ``build/<profile>/.lock``.

Two builds of the same profile would wipe each other's staging and could commit a task
directory holding files from both runs. Every command that writes a profile's build
directory (build, run, clean) or reads it to write the report (render) holds this lock. The
file records the holder (pid, command, start time) so a second process can say whom it waits
for. The kernel drops a ``flock`` when its holder dies, so a killed build never blocks the next.

Within one process the lock is re-entrant and stays held until :func:`release_all` (the CLI
calls it when a command ends) or the process exits: ``build()`` takes it, and the report it
publishes afterwards is still covered.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from lazy_artist.builder.params import BuildInputError

LOCK_FILE = ".lock"
POLL_S = 0.2


class BuildLockedError(BuildInputError):
    """Another live process holds the profile's lock (and we were told not to wait longer)."""


class BuildLock:
    """The exclusive lock on one profile's build directory, held by this process."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_FILE
        self._fd: int | None = None
        self._count = 0

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> dict:
        """Who holds the lock, as recorded in the file (best effort: it may be mid-write)."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(
        self,
        wait: bool = True,
        timeout_s: float | None = None,
        say: Callable[[str], None] | None = None,
        command: str | None = None,
    ) -> BuildLock:
        """Take the lock (re-entrant); wait for a live holder, or raise :class:`BuildLockedError`
        naming it when ``wait`` is false or ``timeout_s`` passes."""
        if self._fd is not None:
            self._count += 1
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        announced = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o664)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = self.holder()
                if not wait or (deadline is not None and time.monotonic() >= deadline):
                    raise BuildLockedError(
                        f"{self.root} is in use by {_describe(holder)}: wait for it to finish "
                        "(run again without --no-wait) or stop that process"
                    ) from None
                if not announced and say is not None:
                    say(f"waiting for {_describe(holder)} to finish")
                    announced = True
                time.sleep(POLL_S)
                continue
            # ``clean`` may have unlinked the file we opened: a lock on a deleted inode
            # excludes no one, so take it again on the file that is there now.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            break
        self._fd, self._count = fd, 1
        record = {
            "pid": os.getpid(),
            "command": command or _command_line(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        return self

    def release(self) -> None:
        """Give back one acquisition; the lock is dropped when the last one is given back."""
        if self._fd is None:
            return
        self._count -= 1
        if self._count <= 0:
            fd, self._fd, self._count = self._fd, None, 0
            try:
                os.ftruncate(fd, 0)  # no stale holder for the next reader to name
            except OSError:
                pass
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> BuildLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


_HELD: dict[Path, BuildLock] = {}


def build_lock(
    root: Path,
    wait: bool = True,
    timeout_s: float | None = None,
    say: Callable[[str], None] | None = None,
) -> BuildLock:
    """Acquire (re-entrantly, per process) the lock of the profile directory ``root``."""
    key = Path(root).resolve()
    lock = _HELD.get(key)
    if lock is None:
        lock = _HELD[key] = BuildLock(key)
    return lock.acquire(wait=wait, timeout_s=timeout_s, say=say)


def release_all() -> None:
    """Drop every lock this process holds (the CLI calls this when a command ends)."""
    for lock in list(_HELD.values()):
        while lock.held:
            lock.release()
    _HELD.clear()


def _command_line() -> str:
    # ``python -m lazy_artist`` leaves __main__.py's path (or "-c") in argv[0].
    head = sys.argv[0] if sys.argv else ""
    if head in ("-c", "") or head.endswith("__main__.py"):
        head = "python -m lazy_artist"
    return " ".join([head, *sys.argv[1:]])


def _describe(holder: dict) -> str:
    if not holder.get("pid"):
        return "another build (its pid is not recorded yet)"
    about = [f"started {holder['started_at']}"] if holder.get("started_at") else []
    if holder.get("command"):
        about.append(f"`{holder['command']}`")
    return f"build pid {holder['pid']}" + (f" ({', '.join(about)})" if about else "")
