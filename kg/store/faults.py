"""What the store raises: :class:`StoreError`, a failed write as a message that says what to do,
and the per-thread deadline that stops an embedded store's query (:class:`QueryCancelled`).

First module of :mod:`kg.store` after the protocol's limits; :mod:`kg.store.store` re-exports
every name here.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

from kg.errors import KgError

__all__ = ["StoreError", "QueryCancelled", "query_deadline", "check_deadline", "fault_kind", "write_error"]


class StoreError(KgError):
    """The store cannot be opened, read or written (the CLI exits with code 2)."""

    exit_code = 2


def fault_kind(exc: OSError) -> str | None:
    """``"full"`` for a full disk, ``"permission"`` for a folder that cannot be written, else None."""
    import errno

    text = str(exc)
    if exc.errno == errno.ENOSPC or "No space left" in text:
        return "full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) or "Permission denied" in text \
            or "Read-only file system" in text:
        return "permission"
    return None


def write_error(location: str, exc: OSError) -> StoreError:
    """A failed write as a :class:`StoreError` that says what happened and what to do.  The store
    keeps every update finished before it (each case is one update: whole or absent)."""
    text = str(exc)
    again = "then run the same command again: the cases already written are kept, the rest are written"
    kind = fault_kind(exc)
    if kind == "full":
        return StoreError(f"the disk holding the store at {location} is full: {text}. Free some space there "
                          f"(or give --store a folder on another disk), {again}")
    if kind == "permission":
        return StoreError(f"the store at {location} cannot be written (permission lost): {text}. Make its folder "
                          f"writable by this user again, {again}")
    return StoreError(f"cannot write to the store at {location}: {text}; {again}")


class QueryCancelled(StoreError):
    """A query passed the deadline :func:`query_deadline` set for its thread and was stopped."""


_DEADLINE = threading.local()

@contextmanager
def query_deadline(at: float | None) -> Iterator[None]:
    """Within the block, a :class:`LocalStore` query run by this thread stops with
    :class:`QueryCancelled` once ``time.monotonic()`` passes ``at`` (checked as each result row or
    triple is read: the embedded store computes results lazily, so the work stops there; a query
    that computes everything before its first row, such as one aggregate, finishes that first)."""
    before = getattr(_DEADLINE, "at", None)
    _DEADLINE.at = at
    try:
        yield
    finally:
        _DEADLINE.at = before


def check_deadline() -> None:
    at = getattr(_DEADLINE, "at", None)
    if at is not None and time.monotonic() > at:
        raise QueryCancelled("the query passed its deadline and was stopped")
