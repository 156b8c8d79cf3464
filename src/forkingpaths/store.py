"""The persistent response cache (SQLite, WAL) and run-directory writing.

Successful model responses are committed to the cache in small batches as they
arrive (the driver's ``AnswerWriter`` commits every few dozen answers or every few
tens of milliseconds, whichever comes first), so a run killed at any point (even
``kill -9``) loses at most the requests in flight and the one batch not yet committed. Failed requests are not cached:
a rerun retries them. Files in the run directory are written to a temporary
name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from forkingpaths.errors import UserError
from forkingpaths.models.base import InvalidResponseError, Response

CACHE_ENV = "FORKINGPATHS_CACHE_DIR"
#: How long a cache operation waits for another process's write lock before giving up.
LOCK_TIMEOUT_S = 30.0
_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model_identity TEXT NOT NULL,
    request_json TEXT NOT NULL,
    repeat INTEGER NOT NULL,
    response_json TEXT NOT NULL,
    created_at REAL NOT NULL
)
""",
    # One row per request some process is calling a model for right now (see claim()).
    "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL)",
)
T = TypeVar("T")


class CacheError(UserError):
    """The cache file cannot be used (locked too long, damaged, not a file); one line, exit 2."""

    exit_code = 2


def default_cache_dir() -> Path:
    """``$FORKINGPATHS_CACHE_DIR``, else ``$XDG_CACHE_HOME/forkingpaths``, else ``~/.cache/forkingpaths``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "forkingpaths"


@dataclass(frozen=True)
class CacheInfo:
    path: Path
    entries: int
    size_bytes: int
    by_model: dict[str, int]


def _is_lock(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class ResponseCache:
    """A SQLite file of responses keyed by :func:`forkingpaths.models.base.request_key`.

    Every operation retries with backoff while another process holds the write lock, for
    up to ``lock_timeout`` seconds, then fails with a one-line :class:`CacheError`; so do
    a damaged file (checked when it is opened) and a cache folder that is not a folder.
    Answers committed before such a failure stay in the cache.
    """

    def __init__(self, directory: Path | None = None, *, lock_timeout: float = LOCK_TIMEOUT_S) -> None:
        self.directory = Path(directory) if directory else default_cache_dir()
        self.path = self.directory / "cache.sqlite"
        self.lock_timeout = lock_timeout
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CacheError(
                f"cache folder {self.directory}: cannot be created ({error.strerror}); "
                f"point {CACHE_ENV} at a folder you can write"
            ) from None
        self._conn = self._guarded(self._open)

    def _open(self) -> sqlite3.Connection:
        """Connect, check the file is an intact database, and create the tables."""
        conn = sqlite3.connect(self.path, timeout=min(self.lock_timeout, 1.0), isolation_level=None)
        try:
            if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("database disk image is malformed")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                conn.execute(statement)
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _guarded(self, action: Callable[[], T], wait: float | None = None) -> T:
        """Run ``action``, retrying with backoff while the file is locked (for ``wait`` seconds,
        default ``lock_timeout``); SQLite errors become one line."""
        wait = self.lock_timeout if wait is None else wait
        deadline = time.monotonic() + wait
        delay = 0.02
        while True:
            try:
                return action()
            except sqlite3.Error as error:
                if not _is_lock(error):
                    raise self._damaged(error) from None
                if time.monotonic() >= deadline:
                    raise CacheError(
                        f"cache {self.path}: locked by another process for more than {wait:g} s; "
                        "answers saved before this are kept; stop the other process and run again"
                    ) from None
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 1.0)

    def _damaged(self, error: sqlite3.Error) -> CacheError:
        return CacheError(
            f"cache {self.path}: unreadable ({error}); move the file aside "
            f"(e.g. mv {self.path} {self.path}.broken): a new cache is created on the next run"
        )

    def get_many(self, keys: Iterable[str]) -> dict[str, Response]:
        """Cached responses for the keys that have a usable one.

        An entry that does not parse or fails :meth:`Response.validate` (written by an
        older version, or edited by hand) counts as missing, so the request is made again
        and the good answer replaces it.
        """
        found: dict[str, Response] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, response_json FROM responses WHERE key IN ({marks})"
            for key, raw in self._guarded(lambda: self._conn.execute(query, chunk).fetchall()):
                response = _usable(raw)
                if response is not None:
                    found[key] = response
        return found

    def put(self, key: str, backend: str, model_identity: str, request_json: str, repeat: int, response: Response) -> None:
        """Store one response in its own committed transaction."""
        row = (key, backend, model_identity, request_json, repeat, response.to_json(), time.time())
        self._guarded(lambda: self._conn.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)", row))

    def put_many(
        self,
        rows: list[tuple[str, str, str, str, int, Response]],
        wait: float | None = None,
        *,
        owner: str | None = None,
        release: Iterable[str] = (),
    ) -> None:
        """Store several responses in one committed transaction, waiting at most ``wait`` seconds for the lock.

        With ``owner``, the same transaction also drops that owner's leases on the stored keys
        and on ``release`` (requests that failed), so another process sees an answer and the
        end of its claim together, and a batch costs one commit however many rows it holds.
        """
        freed = [(key, owner) for key in [row[0] for row in rows] + list(release)] if owner else []

        def insert() -> None:
            stamp = time.time()
            values = [(k, b, i, r, n, response.to_json(), stamp) for k, b, i, r, n, response in rows]
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?)", values)
                self._conn.executemany("DELETE FROM leases WHERE key = ? AND owner = ?", freed)

        self._guarded(insert, wait)

    def claim_many(self, keys: list[str], owner: str, ttl: float) -> set[str]:
        """Take the leases on ``keys`` for ``ttl`` seconds where no other live owner holds them;
        returns the keys ``owner`` now holds.

        Each key is one statement, so two processes can never both hold it: the row is
        inserted, or taken over when its lease has expired (its owner died or hung), or
        renewed when ``owner`` already holds it. All keys go in one transaction (one commit).
        """
        statement = (
            "INSERT INTO leases VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, "
            "expires_at = excluded.expires_at WHERE leases.expires_at < ? OR leases.owner = excluded.owner"
        )

        def claim() -> set[str]:
            now = time.time()
            held: set[str] = set()
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(statement, [(key, owner, now + ttl, now) for key in keys])
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    query = f"SELECT key FROM leases WHERE owner = ? AND key IN ({','.join('?' * len(chunk))})"
                    held.update(key for (key,) in self._conn.execute(query, [owner, *chunk]))
            return held

        return self._guarded(claim)

    def renew(self, owner: str, ttl: float) -> None:
        """Extend every lease ``owner`` holds (its heartbeat while it works)."""
        row = (time.time() + ttl, owner)
        self._guarded(lambda: self._conn.execute("UPDATE leases SET expires_at = ? WHERE owner = ?", row))

    def release(self, keys: Iterable[str], owner: str) -> None:
        """Give up the leases on ``keys`` (after their answers are stored, or their calls failed)."""
        rows = [(key, owner) for key in keys]

        def delete() -> None:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("DELETE FROM leases WHERE key = ? AND owner = ?", rows)

        self._guarded(delete)

    def info(self) -> CacheInfo:
        entries = self._guarded(lambda: self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
        by_model = dict(
            self._guarded(
                lambda: self._conn.execute(
                    "SELECT backend || ' ' || model_identity, COUNT(*) FROM responses GROUP BY 1"
                ).fetchall()
            )
        )
        size = sum(p.stat().st_size for p in self.directory.glob("cache.sqlite*") if p.exists())
        return CacheInfo(self.path, entries, size, by_model)

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        count = self._guarded(lambda: self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
        self._guarded(lambda: self._conn.execute("DELETE FROM responses"))
        self._guarded(lambda: self._conn.execute("VACUUM"))
        return int(count)

    def integrity_ok(self) -> bool:
        return self._guarded(lambda: self._conn.execute("PRAGMA integrity_check").fetchone()[0]) == "ok"

    def close(self) -> None:
        self._conn.close()


def _usable(raw: str) -> Response | None:
    """The cached response in ``raw``, or ``None`` if it is unreadable or impossible."""
    try:
        response = Response.from_json(raw)
        response.validate()
    except (ValueError, TypeError, InvalidResponseError):
        return None
    return response


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically (temporary file, then rename)."""
    _atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(value: object) -> object:
    """Plain JSON types: numpy scalars become Python numbers, NaN and infinities become ``None``."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is pd.NA or value is None:
        return None
    return value


def write_json(path: Path, payload: object) -> None:
    """Write JSON atomically; NaN is written as ``null`` so any JSON reader can load it."""
    write_text(path, json.dumps(to_jsonable(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)



def write_arrow(path: Path, table: pa.Table) -> None:
    """Write an Arrow table as Parquet atomically, keeping its declared column types."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
