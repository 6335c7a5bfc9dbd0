"""Content-addressed storage: attachments, scans and letters are kept by SHA-256.

Files live under data/files by hash. Small content taken by intake (a mail's original, a small
attachment) can instead be kept in the database's stored_blob table, written in the same
transaction as the rows pointing at it: a durable file costs three or four disk syncs (the
file, its folder, new folders) before that transaction even starts, while a row rides on the
transaction's one sync, shared by every contact committed with it. `get` reads either.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from caseboard.fastsql import FastQuery

_INSERT_BLOB = FastQuery("INSERT INTO stored_blob (sha256, size, data)"
                         " VALUES (:sha256, :size, :data) ON CONFLICT (sha256) DO NOTHING")
_SELECT_BLOB = sa.text("SELECT data FROM stored_blob WHERE sha256 = :sha256")


class FileStore:
    """`durable`: sync each new file (and its folder entry) to disk before `put` returns, so a
    database row committed after it never points at a file a power cut took away.

    `engine` and `inline_max_bytes`: content up to that size may be kept in the database
    instead (`keeps_inline`, `put_inline`); 0 keeps everything in files."""

    def __init__(self, root: Path, durable: bool = True, engine: sa.Engine | None = None,
                 inline_max_bytes: int = 0) -> None:
        self.root = root
        self.durable = durable
        self.engine = engine
        self.inline_max_bytes = inline_max_bytes if engine is not None else 0

    def keeps_inline(self, data: bytes) -> bool:
        # 0 means always files: an empty attachment must not slip in as "within 0 bytes".
        return self.inline_max_bytes > 0 and len(data) <= self.inline_max_bytes

    @staticmethod
    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def put_inline(self, connection: sa.Connection, blobs: Sequence[tuple[str, bytes]]) -> None:
        """Store (digest, bytes) pairs in the caller's transaction; content already there
        (another mail with the same original) is left as it is."""
        for digest, data in blobs:  # usually one: the mail's original
            _INSERT_BLOB.execute(connection, {"sha256": digest, "size": len(data), "data": data})

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store the bytes (once, however often they arrive) and return their SHA-256."""
        digest = self.digest(data)
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
        """The content, from its file or else from the database; FileNotFoundError if
        neither has it."""
        path = self.path_for(sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            if self.engine is None:
                raise
        with self.engine.connect() as connection:
            data = connection.execute(_SELECT_BLOB, {"sha256": sha256}).scalar()
        if data is None:
            raise FileNotFoundError(f"no stored content {sha256}")
        return bytes(data)


def _sync_folder(folder: Path) -> None:
    """Make a rename inside `folder` survive a power cut (POSIX needs the folder synced too)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
