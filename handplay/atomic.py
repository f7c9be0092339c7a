"""Atomic file writes, and the clean-up of what a killed write leaves behind.

Every file handplay and its tools rewrite in place (the calibration, a clip's labels, training
checkpoints) is written to a temporary file beside it, flushed to disk and renamed over the old
one, so a crash mid-write leaves the old file whole. A process killed between the write and the
rename leaves its temporary file, ``.NAME.PID.tmp``; :func:`remove_stale_temporaries`, called
when the file is next opened, deletes those whose process is gone.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# A temporary file whose writer cannot be checked (another platform, unreadable pid) counts as
# stale after this long: no write of these files takes anywhere near an hour.
STALE_AFTER_S = 3600.0


def temporary_path(path: str | os.PathLike[str]) -> Path:
    """The temporary file a write of ``path`` goes through: ``.NAME.PID.tmp`` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temporary file, which is then flushed
    to disk and renamed over ``path``.

    Args:
        path: the file to (re)write.
        write: writes the whole content to the path it is given (e.g.
            ``lambda p: p.write_text(text)`` or ``lambda p: torch.save(state, p)``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OSError: the folder is not writable; an exception from ``write`` propagates. Either way
            the old file is left as it was and the temporary file is removed.
    """
    path = Path(path)
    tmp = temporary_path(path)
    try:
        write(tmp)
        with tmp.open("rb+") as f:  # the rename must not reach the disk before the data
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _pid_alive(pid: int) -> bool | None:
    """True/False if process ``pid`` runs; None when this platform cannot tell safely."""
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return None
    return True


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that killed writes of ``path`` left beside it.

    A ``.NAME.PID.tmp`` is stale when process PID no longer runs (or, where that cannot be
    checked, when it is older than an hour); the writes of this process are never touched.
    ``NAME.tmp`` and ``STEM.tmp``, the names earlier versions used, are always stale. Files that
    cannot be deleted (a read-only folder) are left and logged.

    Returns:
        The files deleted.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        return []
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.tmp")
    legacy = {path.name + ".tmp", path.stem + ".tmp"}
    removed = []
    for candidate in folder.iterdir():
        match = pattern.fullmatch(candidate.name)
        if match is not None:
            pid = int(match.group(1))
            if pid == os.getpid():
                continue
            alive = _pid_alive(pid)
            if alive is None:
                try:
                    alive = time.time() - candidate.stat().st_mtime < STALE_AFTER_S
                except OSError:
                    continue
            if alive:
                continue
        elif candidate.name not in legacy:
            continue
        try:
            candidate.unlink()
        except OSError as e:
            log.warning("cannot remove the stale temporary file %s: %s", candidate, e)
            continue
        log.info("removed %s, left by an interrupted save of %s", candidate, path.name)
        removed.append(candidate)
    return removed
