"""Content-addressed file storage: attachments, scans and letters live under data/files by hash."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class FileStore:
    """`durable`: sync each new file (and its folder entry) to disk before `put` returns, so a
    database row committed after it never points at a file a power cut took away."""

    def __init__(self, root: Path, durable: bool = True) -> None:
        self.root = root
        self.durable = durable

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store the bytes (once, however often they arrive) and return their SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.exists():
            if self.durable:
                # Another process may have renamed it into place and not yet synced the
                # folder: our row must not point at a name a power cut can still take away.
                _sync_folder(target.parent)
            return digest
        new_folders = self._make_folders(target.parent)
        # Write then rename, so a crash never leaves a half-written file under its hash.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if self.durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if self.durable:
            # The rename, then each new folder's own entry in its parent (deepest first).
            for folder in (target.parent, *(f.parent for f in new_folders)):
                _sync_folder(folder)
        return digest

    def _make_folders(self, folder: Path) -> list[Path]:
        """Create `folder` and any missing parents below the root; the new ones, deepest
        first."""
        missing = []
        while not folder.is_dir() and folder != self.root:
            missing.append(folder)
            folder = folder.parent
        if folder == self.root:  # stopped at the root, not at a folder that exists
            self.root.mkdir(parents=True, exist_ok=True)
        for new in reversed(missing):
            new.mkdir(exist_ok=True)  # another process may make it at the same moment
        return missing

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()


def _sync_folder(folder: Path) -> None:
    """Make a rename inside `folder` survive a power cut (POSIX needs the folder synced too)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
