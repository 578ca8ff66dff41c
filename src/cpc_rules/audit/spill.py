"""What an audit must keep per contract, kept on disk: a sqlite3 database in a temporary folder.

De-duplication, lot linking and the splitting leads need to see every record before they can
answer; held in dicts, they grew by about 1 KB per record (bench/README.md, "Audit"). Here they
are rows of a throw-away database (stdlib sqlite3, no journal, a bounded page cache), written in
batches during the first pass and read back in input order during the second: the memory of an
audit no longer grows with the number of records. The folder is deleted on `close`.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

BATCH = 20_000  # rows buffered before one executemany
FETCH = 4096  # rows of a query read at a time
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
                part = cur.fetchmany(FETCH)
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


def _plain(o: Any) -> Any:
    """What report.dumps writes for an object JSON does not know."""
    if isinstance(o, Rows):
        return list(o)
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class Rows(Sequence[Any]):
    """The rows of a long list of the summary (a splitting lead, a buyer and year…), kept in a JSON Lines
    file rather than in memory: a national file has hundreds of thousands of them, and held as dicts
    until the summary was written they were the audit's last per-record growth (bench/README.md,
    "Audit"). Written once (`append`, then `seal`), then read as a sequence (`len`, iteration,
    indexing and slicing read the file again), equal to a list of the same rows; report.dump_json
    writes it a row at a time. A row comes back as JSON reads it (a tuple as a list, a Decimal as its
    text: what the summary would say of it anyway). The file, in the system's temporary folder (or
    `where`), is deleted when the Rows is collected, at exit, or by `discard`.
    """

    def __init__(self, where: str | Path | None = None) -> None:
        fd, self.path = tempfile.mkstemp(prefix="cpc-audit-rows-", suffix=".jsonl", dir=where)
        self._sink: Any = os.fdopen(fd, "w", encoding="utf-8")
        self._n = 0
        self._gone = weakref.finalize(self, _unlink, self.path)

    @classmethod
    def of(cls, rows: Iterable[Any], where: str | Path | None = None) -> Rows:
        out = cls(where)
        try:
            for r in rows:
                out.append(r)
        except BaseException:
            out.discard()
            raise
        return out.seal()

    def append(self, row: Any) -> None:
        self._sink.write(json.dumps(row, ensure_ascii=False, default=_plain) + "\n")
        self._n += 1

    def seal(self) -> Rows:
        """The last row is written: the rows can be read."""
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        return self

    def discard(self) -> None:
        """Delete the file now (an audit stopped before its summary was returned)."""
        self.seal()
        self._gone()

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Any]:
        self.seal()
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            start, stop, step = i.indices(self._n)
            if step < 0:
                return list(self)[i]
            return list(itertools.islice(self, start, stop, step))
        k = i + self._n if i < 0 else i
        if not 0 <= k < self._n:
            raise IndexError("Rows index out of range")
        return next(itertools.islice(self, k, None))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (Rows, list, tuple)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to a list, which is not hashable either

    def __repr__(self) -> str:
        return f"Rows({self._n} lignes, {self.path})"
