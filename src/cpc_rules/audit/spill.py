"""What an audit must keep per contract, kept on disk: a sqlite3 database in a temporary folder.

De-duplication, lot linking and the splitting leads need to see every record before they can
answer; held in dicts, they grew by about 1 KB per record (bench/README.md, "Audit"). Here they
are rows of a throw-away database (stdlib sqlite3, no journal, a bounded page cache), written in
batches during the first pass and read back in input order during the second: the memory of an
audit no longer grows with the number of records. The folder is deleted on `close`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

BATCH = 20_000  # rows buffered before one executemany
CACHE_KIB = 16_384  # sqlite page cache, per connection (the memory it may take, whatever the input size)


class Store:
    """A temporary sqlite3 database (in `where`, or the system's temporary folder), deleted on `close`."""

    def __init__(self, where: str | Path | None = None) -> None:
        if where is not None:
            Path(where).mkdir(parents=True, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="cpc-audit-tmp-", dir=where)
        self.db = sqlite3.connect(os.path.join(self.dir, "audit.sqlite"), isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", f"cache_size=-{CACHE_KIB}", "locking_mode=EXCLUSIVE"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute("BEGIN")
        self._buffers: dict[str, tuple[str, list[Sequence[Any]]]] = {}

    def table(self, name: str, columns: str) -> None:
        """Create a table whose rows are added with `add` (buffered)."""
        self.db.execute(f"CREATE TABLE {name} ({columns})")
        n = len(columns.split(","))
        self._buffers[name] = (f"INSERT INTO {name} VALUES ({', '.join('?' * n)})", [])

    def add(self, name: str, row: Sequence[Any]) -> None:
        sql, rows = self._buffers[name]
        rows.append(row)
        if len(rows) >= BATCH:
            self.db.executemany(sql, rows)
            rows.clear()

    def flush(self, name: str) -> None:
        sql, rows = self._buffers[name]
        if rows:
            self.db.executemany(sql, rows)
            rows.clear()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, params)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """The rows of a query, fetched a batch at a time (a cursor of its own)."""
        cur = self.db.execute(sql, params)
        try:
            while True:
                part = cur.fetchmany(4096)
                if not part:
                    return
                yield from part
        finally:
            cur.close()

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Ordered:
    """Rows keyed by a position, read while the positions asked for only increase (a merge, not a lookup).

    `get(pos)` returns the row whose first column is `pos`, or None; asking for an earlier position
    restarts the read from there (correct in any order, fast in input order).
    """

    def __init__(self, store: Store, sql: str) -> None:
        self.store, self.sql = store, sql  # sql: SELECT pos, … FROM … WHERE pos >= ? ORDER BY pos
        self._it: Iterator[Any] | None = None
        self._head: Any = None
        self._last = -1

    def get(self, pos: int) -> Any:
        if self._it is None or pos < self._last:
            self._it = self.store.rows(self.sql, (pos,))
            self._head = next(self._it, None)
        self._last = pos
        while self._head is not None and self._head[0] < pos:
            self._head = next(self._it, None)
        if self._head is not None and self._head[0] == pos:
            return self._head
        return None

    def close(self) -> None:
        """Let go of the read (its statement), e.g. before the database is changed or closed."""
        if self._it is not None:
            self._it.close()  # type: ignore[attr-defined]
        self._it = self._head = None
        self._last = -1
