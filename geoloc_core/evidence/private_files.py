"""Owner-only folders and files for what geoloc writes about an analyst's work.

Why: the case log, the settings file and the caches name cases, files and models; on a
shared machine other accounts must not read them (nor swap a cache under a user). Folders
are created 0700 and files 0600, whatever the umask. It lives at the bottom of the
package so every group that writes (the model's caches, the case log) uses the one path.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | Path) -> Path:
    """``path`` and any missing parents created owner-only (0700; existing folders are left as they are)."""
    path = Path(path)
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: str | Path) -> None:
    """Create ``path`` owner-only if missing; tighten it if it is ours and readable by others."""
    path = Path(path)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(descriptor)
    status = path.stat()
    if status.st_uid == os.getuid() and status.st_mode & 0o077:
        os.chmod(path, FILE_MODE)


def tighten_if_present(path: str | Path) -> None:
    """Make ``path`` owner-only if it exists, is ours and others may read it; never create it.

    For files another program creates and deletes on its own, SQLite's ``-wal`` and ``-shm`` beside the case
    log: they come and go with the connections (the last one to close deletes them), so between a check and a
    chmod one may vanish. That is no error here: a file that is gone needs no tightening, and creating it again
    (as ``private_file`` would) leaves a stray empty file behind another connection's back."""
    try:
        status = os.stat(path)
        if status.st_uid == os.getuid() and status.st_mode & 0o077:
            os.chmod(path, FILE_MODE)
    except FileNotFoundError:
        pass


def write_private(path: str | Path, data: bytes) -> Path:
    """Replace ``path`` atomically with ``data``, owner-only (0600) in an owner-only folder: a temporary file
    in the same folder (``mkstemp`` creates it 0600), then ``os.replace``, so a reader never sees half a file
    and a file left 0644 by an older version is replaced by a private one."""
    path = Path(path)
    private_dir(path.parent)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
