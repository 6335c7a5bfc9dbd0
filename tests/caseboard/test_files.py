"""The content-addressed file store: one copy per content, never half-written, durable."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from caseboard import files
from caseboard.db import Database, migrate
from caseboard.files import FileStore


def test_the_same_bytes_are_stored_once_under_their_hash(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = store.put(b"scan of a letter")
    again = store.put(b"scan of a letter")
    assert first == again == hashlib.sha256(b"scan of a letter").hexdigest()
    assert store.get(first) == b"scan of a letter"
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert stored == [store.path_for(first)]  # no temporary file left behind


def test_a_name_that_is_not_a_hash_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        FileStore(tmp_path).path_for("../../etc/passwd")


@pytest.mark.parametrize("durable", [True, False])
def test_a_durable_store_syncs_the_file_and_its_folder_before_returning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool) -> None:
    synced = _recording_fsync(monkeypatch)
    store = FileStore(tmp_path, durable=durable)
    digest = store.put(b"an email the citizen sent")
    target = store.path_for(digest)
    if durable:
        assert any(".incoming-" in path for path in synced)  # the data, before the rename
        assert str(target.parent) in synced  # the rename itself
    else:
        assert synced == []


def test_new_folders_are_synced_into_their_parents(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file in a folder made for it survives a power cut only if the folder's own entry
    (ab/ in the root, cd/ in ab/) is on disk too."""
    store = FileStore(tmp_path / "files")
    synced = _recording_fsync(monkeypatch)
    target = store.path_for(store.put(b"the first attachment"))
    shard, root = target.parent.parent, target.parent.parent.parent
    assert [str(target.parent), str(shard), str(root)] == [p for p in synced
                                                           if ".incoming-" not in p]


def test_a_file_found_already_there_has_its_folder_synced_before_put_returns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process may have just renamed the same content into place without syncing
    the folder yet: this caller's database row must not point at a name that can vanish."""
    store = FileStore(tmp_path)
    digest = store.put(b"the same mail delivered twice")
    synced = _recording_fsync(monkeypatch)
    assert store.put(b"the same mail delivered twice") == digest
    assert synced == [str(store.path_for(digest).parent)]
    assert FileStore(tmp_path, durable=False).put(b"the same mail delivered twice") == digest
    assert len(synced) == 1  # a store that is not durable syncs nothing


def _recording_fsync(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", recording_fsync)
    return synced


def test_content_kept_in_the_database_is_read_back_by_hash(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'cc.db'}")
    migrate(database)
    store = FileStore(tmp_path / "files", engine=database.engine, inline_max_bytes=100)
    data = b"From: ann@mail.example\r\n\r\nMy bin was not collected"
    assert store.keeps_inline(data) and not store.keeps_inline(b"x" * 101)
    always_files = FileStore(tmp_path / "files", engine=database.engine, inline_max_bytes=0)
    assert not always_files.keeps_inline(b"")
    digest = store.digest(data)
    with database.engine.begin() as connection:
        store.put_inline(connection, [(digest, data)])
        store.put_inline(connection, [(digest, data)])  # the same content again: no error
    assert store.get(digest) == data
    assert not (tmp_path / "files").exists()
    with pytest.raises(FileNotFoundError):
        store.get(store.digest(b"never stored"))
    database.dispose()


def test_a_store_without_a_database_keeps_nothing_inline(tmp_path: Path) -> None:
    store = FileStore(tmp_path, inline_max_bytes=100)
    assert not store.keeps_inline(b"small")
    assert not store.keeps_inline(b"")
    with pytest.raises(FileNotFoundError):
        store.get(store.digest(b"small"))
