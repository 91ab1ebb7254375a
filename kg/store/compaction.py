"""Compacting an on-disk store: :func:`compact_store` opens it, has it reorganise its files for
reading (:meth:`kg.store.store.Store.compact`) and reports the size on disk before and after."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from kg.store.store import open_store

__all__ = ["Compaction", "compact_store", "disk_size"]


def disk_size(location: str | Path) -> int:
    """Bytes under ``location`` if it is a folder (0 otherwise)."""
    root = Path(location)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


@dataclass(frozen=True)
class Compaction:
    """What :func:`compact_store` did: whether the store was compacted (only an on-disk embedded
    store is), how long it took and its size on disk before and after, in bytes."""

    location: str
    done: bool
    seconds: float
    size_before: int
    size_after: int


def compact_store(location: str | Path | None = None) -> Compaction:
    """Open the existing store at ``location`` (see :func:`open_store`, with ``create=False``),
    compact it (:meth:`Store.compact`) and close it.  Raises :class:`kg.errors.InputError` for a
    folder that holds no store and :class:`StoreError` when compaction fails."""
    with open_store(location, create=False) as store:
        where = store.location
        before = disk_size(where)
        start = time.perf_counter()
        done = store.compact()
        seconds = time.perf_counter() - start
    return Compaction(location=where, done=done, seconds=seconds, size_before=before,
                      size_after=disk_size(where) if done else before)
