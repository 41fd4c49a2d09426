"""Atomic file replacement: a reader (or a crash) sees the old file or the new one, never a
half-written one.

The data goes to a temporary file in the target's own directory (so the final rename never
crosses file systems), is flushed and fsync'ed, renamed over the target with `os.replace`,
and then the directory itself is fsync'ed so the rename survives a power cut. If anything
fails before the rename, the temporary file is removed and the old file is untouched; a
process killed outright may leave a `.NAME.*.tmp` file behind, never a damaged NAME.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def _default_mode(path: str) -> int:
    """Permissions for the new file: the old file's, else what `open()` would give."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def fsync_dir(directory: str) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path):
    """`with atomic_write(path) as f: f.write(...)` writes `path` atomically (binary mode)."""
    path = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(path)
    mode = _default_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if hasattr(os, "fchmod"):  # mkstemp makes 0600 files; give the usual mode
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(directory)
