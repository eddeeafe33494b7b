"""Bounded reading of snapshot bytes: a cap on what a compressed file may expand to, a cap on the
length of one line, and the reader-level rejects (rows the readers could not even decode), so
that neither a decompression bomb nor one enormous line can exhaust memory or stop good rows."""

from __future__ import annotations

import io
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.errors import IngestError

#: longest piece of a rejected line or cell kept in its reject (the quarantine's `value`)
REJECT_VALUE_BYTES = 256


@dataclass(frozen=True)
class ReaderLimits:
    """What one snapshot file may cost the readers.

    A compressed file (`.gz`) may expand to at most `max_decompressed_bytes`, and to at most
    `max_compression_ratio` times its own size once past RATIO_FLOOR_BYTES; past either it is
    refused as a whole (IngestError naming file and limit) — the defence against decompression
    bombs, whose ratios (~1000:1) no real export reaches. `max_line_bytes`: a longer line is
    skipped without being held in memory and its row goes to the quarantine (rule
    `line_too_long`); the rest of the file is read.
    """

    max_decompressed_bytes: int = 4 << 30
    max_compression_ratio: int = 100
    max_line_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        if self.max_decompressed_bytes < 1 or self.max_compression_ratio < 1 or self.max_line_bytes < 64:
            raise IngestError(
                f"reader limits too small: max_decompressed_bytes={self.max_decompressed_bytes}, "
                f"max_compression_ratio={self.max_compression_ratio}, max_line_bytes={self.max_line_bytes} "
                "(at least 1, 1 and 64)"
            )

    def decompressed_limit(self, compressed_bytes: int) -> tuple[int, str]:
        """What a compressed file of this size may expand to, and the setting that says so."""
        by_ratio = max(RATIO_FLOOR_BYTES, self.max_compression_ratio * compressed_bytes)
        if by_ratio < self.max_decompressed_bytes:
            return by_ratio, f"{self.max_compression_ratio}x its size, CRUMBGRAPH_INGEST_MAX_COMPRESSION_RATIO"
        return self.max_decompressed_bytes, "CRUMBGRAPH_INGEST_MAX_DECOMPRESSED_BYTES"


#: a compressed file may always expand to this much, whatever its ratio
RATIO_FLOOR_BYTES = 64 << 20


@dataclass(frozen=True)
class ReaderReject:
    """A row the reader could not turn into text: its file, 1-based row (as the file's other
    rows count them) and physical line, the rule, the reason, and what could be kept of it."""

    file: str
    row: int
    rule: str  # encoding | line_too_long | json | not_object
    reason: str
    line: int | None = None
    field: str | None = None
    value: str | None = None
    data: dict[str, Any] | None = None


def shown(raw: bytes) -> str:
    """At most REJECT_VALUE_BYTES of raw bytes as text; undecodable bytes as \\xNN."""
    text = raw[:REJECT_VALUE_BYTES].decode("utf-8", "backslashreplace")
    return text + ("…" if len(raw) > REJECT_VALUE_BYTES else "")


class DecompressionBudget:
    """Counts the bytes a compressed file expands to; IngestError past its limit."""

    def __init__(self, name: str, compressed_bytes: int | None, limits: ReaderLimits) -> None:
        self.name = name
        self.total = 0
        self.limit, self.setting = limits.decompressed_limit(compressed_bytes or 0)
        self.active = compressed_bytes is not None

    def add(self, n: int) -> None:
        self.total += n
        if self.active and self.total > self.limit:
            raise IngestError(
                f"{self.name}: expands to more than {self.limit:,} bytes when decompressed (limit: "
                f"{self.setting}); the file is refused as a possible decompression bomb",
                file=self.name,
            )


#: the first field of a placeholder row that stands in for an over-long CSV line
PLACEHOLDER = b"\x00crumbgraph-line-too-long:"


class GuardedCsvStream(io.RawIOBase):
    """The decompressed bytes of a CSV file with two guards on the way to pyarrow's CSV reader.

    - More than a compressed file's DecompressionBudget raises IngestError.
    - A physical line longer than `max_line_bytes` is never passed on, nor held: it becomes a
      placeholder row (PLACEHOLDER + line number, then empty fields up to `columns`), so that
      the parser's row count stays aligned and the reader can reject that row by name.
    The header (line 1) is never replaced: an over-long header is an IngestError. With
    `header_only` the stream ends after the header.
    """

    def __init__(
        self,
        source: Any,
        name: str,
        limits: ReaderLimits,
        *,
        columns: int,
        compressed_bytes: int | None,
        header_only: bool = False,
    ) -> None:
        self._src = source
        self._name = name
        self._limits = limits
        self._columns = max(columns, 1)
        self._budget = DecompressionBudget(name, compressed_bytes, limits)
        self._line = 1  # physical line number of the first byte of `_carry`
        self._carry = b""  # the current, unfinished line (never longer than max_line_bytes)
        self._skipping = False  # inside an over-long line, dropping bytes up to its end
        self._ready: deque[bytes | memoryview] = deque()  # bytes passed on, not yet read
        self._ready_bytes = 0
        self._eof = False
        self._header_only = header_only
        #: physical line number -> the first bytes of each over-long line replaced so far
        self.overlong: dict[int, bytes] = {}

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """`size` bytes, fewer only at the end (pyarrow's CSV reader wants whole blocks); all
        that is left for -1."""
        if size is None or size < 0:
            whole = []
            while block := self.read(1 << 24):
                whole.append(block)
            return b"".join(whole)
        while self._ready_bytes < size and not self._eof:
            self._fill(max(size - self._ready_bytes, 1 << 20))
        parts: list[bytes | memoryview] = []
        got = 0
        while self._ready and got < size:
            piece = self._ready.popleft()
            if got + len(piece) > size:
                self._ready.appendleft(piece[size - got :])
                piece = piece[: size - got]
            parts.append(piece)
            got += len(piece)
        self._ready_bytes -= got
        return parts[0].tobytes() if len(parts) == 1 and isinstance(parts[0], memoryview) else b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._src.close()
        finally:
            super().close()

    # -- internals ------------------------------------------------------------------------
    def _fill(self, size: int) -> None:
        chunk = self._src.read(size)
        if not chunk:
            self._eof = True
            if not self._skipping and self._carry:
                self._emit(self._carry)
            self._carry = b""
            return
        self._budget.add(len(chunk))
        self._scan(bytes(chunk))
        if self._header_only and self._line > 1:  # the header is complete: end the stream there
            data = b"".join(self._ready)
            cut = min(i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0)
            self._ready, self._ready_bytes = deque(), 0
            self._emit(data[: cut + 1])
            self._carry, self._eof = b"", True

    def _emit(self, piece: bytes | memoryview) -> None:
        if len(piece):
            self._ready.append(piece)
            self._ready_bytes += len(piece)

    def _scan(self, chunk: bytes) -> None:
        """Pass complete lines of `chunk` on, replacing over-long ones; keep the unfinished tail.
        A line ends at LF or CR (pyarrow accepts both); line numbers count LFs."""
        last = self._last_end_if_all_short(chunk)
        if last is None:
            arr = np.frombuffer(chunk, np.uint8)
            self._scan_slowly(chunk, [int(e) for e in np.flatnonzero((arr == 0x0A) | (arr == 0x0D))])
        elif last < 0:  # no line end in this chunk, and the line is still short enough
            self._carry += chunk
        else:  # the common case: every line is short; pass them on as they are
            if self._carry:
                self._emit(self._carry)
            self._emit(memoryview(chunk)[: last + 1])
            self._line += chunk.count(b"\n", 0, last + 1)
            self._carry = chunk[last + 1 :]

    def _last_end_if_all_short(self, chunk: bytes) -> int | None:
        """The index of the last line end in `chunk` (-1: none) if no line of it, the unfinished
        one carried in included, is longer than the limit; None otherwise. Hops one limit at a
        time (about len/limit searches) instead of looking at every line."""
        if self._skipping:
            return None
        limit, n = self._limits.max_line_bytes, len(chunk)
        has_cr = b"\r" in chunk

        def last_end(lo: int, hi: int) -> int:
            nl = chunk.rfind(b"\n", lo, hi)
            return max(nl, chunk.rfind(b"\r", lo, hi)) if has_cr else nl

        start = -len(self._carry)  # where the current line starts, relative to the chunk
        while start + limit + 1 < n:
            end = last_end(max(start, 0), start + limit + 1)
            if end < 0:
                return None
            start = end + 1
        last = last_end(max(start, 0), n) if start < n else n - 1
        if last < 0:
            last = last_end(0, n)
            if last < 0:
                return -1 if len(self._carry) + n <= limit else None
        return last if n - last - 1 <= limit else None

    def _scan_slowly(self, chunk: bytes, ends: list[int]) -> None:
        start = 0
        for end in [*ends, None]:
            piece = chunk[start:end]
            if not self._skipping and len(self._carry) + len(piece) > self._limits.max_line_bytes:
                self._replace_line(self._carry + piece[: REJECT_VALUE_BYTES + 1])
            if end is None:
                if not self._skipping:
                    self._carry += piece
                return
            if self._skipping:
                self._skipping = False
            else:
                self._emit(self._carry + piece + chunk[end : end + 1])
                self._carry = b""
            self._line += chunk[end] == 0x0A
            start = end + 1

    def _replace_line(self, head: bytes) -> None:
        if self._line == 1:
            raise IngestError(
                f"{self._name}: the header line is longer than {self._limits.max_line_bytes:,} bytes "
                "(the limit CRUMBGRAPH_INGEST_MAX_LINE_BYTES)",
                file=self._name,
                row=1,
            )
        self.overlong[self._line] = head[: REJECT_VALUE_BYTES + 1]
        self._emit(PLACEHOLDER + str(self._line).encode() + b"," * (self._columns - 1) + b"\n")
        self._carry = b""
        self._skipping = True
