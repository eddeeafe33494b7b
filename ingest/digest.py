"""The snapshot digest: a sha256 over the normalised, deduplicated rows of each table that does
not depend on file format, file split or row order (definition in docs/ingest.md).

Rows are fed in key order; each column is hashed as three independent byte streams (null
flags, value lengths, value bytes), so the result does not depend on how rows are batched
and needs no Python loop over rows.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DIGEST_VERSION = b"crumbgraph-digest-v1"


class _ColumnHasher:
    def __init__(self) -> None:
        self.valid = hashlib.sha256()
        self.lengths = hashlib.sha256()
        self.data = hashlib.sha256()

    def update(self, arr: pa.Array | pa.ChunkedArray) -> None:
        if isinstance(arr, pa.ChunkedArray):
            for chunk in arr.chunks:
                self.update(chunk)
            return
        n = len(arr)
        if n == 0:
            return
        self.valid.update(arr.is_valid().to_numpy(zero_copy_only=False).astype(np.uint8).tobytes())
        t = arr.type
        if pa.types.is_timestamp(t):
            values = pc.fill_null(arr.cast(pa.timestamp("us", t.tz), safe=False), 0).cast(pa.int64())
            self.data.update(values.to_numpy().astype("<i8").tobytes())
        elif pa.types.is_floating(t):
            values = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy() + 0.0  # -0.0 -> 0.0
            self.data.update(values.astype("<f8").tobytes())
        else:
            strings = pc.fill_null(arr.cast(pa.large_string()), "")
            offsets = np.frombuffer(strings.buffers()[1], dtype="<i8", count=strings.offset + n + 1)[strings.offset :]
            self.lengths.update(np.diff(offsets).astype("<u8").tobytes())
            buf = strings.buffers()[2]
            if buf is not None and offsets[-1] > offsets[0]:
                self.data.update(memoryview(buf)[offsets[0] : offsets[-1]])

    def digest(self) -> bytes:
        return hashlib.sha256(self.valid.digest() + self.lengths.digest() + self.data.digest()).digest()


class TableDigest:
    """Streaming digest of one table's rows, fed in key order, batch by batch."""

    def __init__(self, table: str, columns: tuple[str, ...]) -> None:
        self.table = table
        self.columns = columns
        self.rows = 0
        self._hashers = {c: _ColumnHasher() for c in columns}

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        self.rows += batch.num_rows
        for c in self.columns:
            self._hashers[c].update(batch.column(c))

    def hexdigest(self) -> str:
        h = hashlib.sha256(DIGEST_VERSION)
        h.update(_field(self.table.encode()))
        h.update(struct.pack("<Q", self.rows))
        for c in self.columns:
            h.update(_field(c.encode()))
            h.update(self._hashers[c].digest())
        return h.hexdigest()


def _field(b: bytes) -> bytes:
    return struct.pack("<Q", len(b)) + b


def snapshot_digest(table_digests: dict[str, str]) -> str:
    """Combine per-table digests (hex) into the snapshot digest; tables in the given order."""
    h = hashlib.sha256(DIGEST_VERSION)
    for table, hexd in table_digests.items():
        h.update(_field(table.encode()))
        h.update(bytes.fromhex(hexd))
    return h.hexdigest()
