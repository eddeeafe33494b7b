"""Vectorised string formatting for the generator: ids, ISO-8601 timestamps, made-up words and
code decoding, built straight from numpy byte matrices (no Python object per row)."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from synth.codes import DAY

logger = logging.getLogger(__name__)

_CONSONANTS = np.frombuffer(b"bcdfghjklmnprstvwxz", dtype=np.uint8)
_VOWELS = np.frombuffer(b"aeiou", dtype=np.uint8)
_DIGITS4 = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)
_DIGITS4_U32 = _DIGITS4.view(np.uint32).ravel()
_CHUNK = 1 << 20  # rows per step when formatting strings: bounds the temporary arrays


def strings_from_matrix(mat: np.ndarray) -> pa.Array:
    """Rows of an (n, w) uint8 matrix of ASCII bytes -> an Arrow string array (zero-copy, no Python objects)."""
    mat = np.ascontiguousarray(mat)
    n, w = mat.shape
    if n * w < 2**31:
        offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat))
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat)).cast(pa.string())


def _put_digits(mat: np.ndarray, start: int, values: np.ndarray, width: int) -> None:
    """Write `values` zero-padded to `width` into columns start..start+width of `mat` (4 digits a step)."""
    v = np.asarray(values, dtype=np.int64)
    end = start + width
    while end - start >= 4:
        mat[:, end - 4 : end] = _DIGITS4_U32[v % 10_000].view(np.uint8).reshape(-1, 4)
        v = v // 10_000
        end -= 4
    if end > start:
        mat[:, start:end] = _DIGITS4[v % 10_000][:, 4 - (end - start) :]


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """`prefix` + zero-padded numbers, e.g. a0000123."""
    p = np.frombuffer(prefix.encode(), dtype=np.uint8)
    numbers = np.asarray(numbers)
    mat = np.empty((len(numbers), len(p) + width), dtype=np.uint8)
    mat[:, : len(p)] = p
    for i in range(0, len(numbers), _CHUNK):
        _put_digits(mat[i : i + _CHUNK], len(p), numbers[i : i + _CHUNK], width)
    return strings_from_matrix(mat)


def account_ids(n: int) -> pa.Array:
    """The ids of accounts 0..n-1: `a` + at least 7 digits."""
    return ids("a", np.arange(n), max(7, len(str(n - 1))))


def iso(seconds: np.ndarray) -> pa.Array:
    """Unix seconds -> ISO-8601 UTC strings `YYYY-MM-DDTHH:MM:SSZ`, vectorised."""
    s_all = np.asarray(seconds, dtype=np.int64)
    mat = np.empty((len(s_all), 20), dtype=np.uint8)
    mat[:] = np.frombuffer(b"0000-00-00T00:00:00Z", dtype=np.uint8)
    for i in range(0, len(s_all), _CHUNK):
        s = s_all[i : i + _CHUNK]
        part = mat[i : i + _CHUNK]
        days = s // DAY
        rem = s - days * DAY
        d = days.astype("datetime64[D]")
        month_start = d.astype("datetime64[M]")
        _put_digits(part, 0, d.astype("datetime64[Y]").astype(np.int64) + 1970, 4)
        _put_digits(part, 5, month_start.astype(np.int64) % 12 + 1, 2)
        _put_digits(part, 8, (d - month_start.astype("datetime64[D]")).astype(np.int64) + 1, 2)
        _put_digits(part, 11, rem // 3600, 2)
        _put_digits(part, 14, (rem // 60) % 60, 2)
        _put_digits(part, 17, rem % 60, 2)
    return strings_from_matrix(mat)


def words(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """n distinct pronounceable lower-case words (consonant-vowel alternation) as an (n, length) matrix."""
    out = np.empty((0, length), dtype=np.uint8)
    while len(out) < n:
        m = 2 * (n - len(out)) + 16
        mat = np.empty((m, length), dtype=np.uint8)
        for pos in range(length):
            pool = _CONSONANTS if pos % 2 == 0 else _VOWELS
            mat[:, pos] = pool[rng.integers(0, len(pool), m)]
        allm = np.concatenate([out, mat])
        keys = np.ascontiguousarray(allm).view(f"S{length}").ravel()
        _, first = np.unique(keys, return_index=True)
        out = allm[np.sort(first)]  # keep draw order, drop repeats
    return out[:n]


def decode(names: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Small-integer codes -> strings (`names[code]`); negative codes -> null."""
    codes = np.asarray(codes)
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.array(names, pa.string()).take(idx)
