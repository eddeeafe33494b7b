"""The whole generator: same params give byte-identical files (another seed does not), progress
reports every step, and `synth` writes what generating and writing give."""

from __future__ import annotations

from pathlib import Path

from synth import SynthParams, generate_snapshot, synth, write_snapshot
from synth.generate import STEPS
from tests.unit.synth.support import SEED, N


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    for name in ("a", "b"):
        write_snapshot(generate_snapshot(SynthParams(accounts=N, seed=SEED)), tmp_path / name, "parquet")
    write_snapshot(generate_snapshot(SynthParams(accounts=N, seed=SEED + 1)), tmp_path / "c", "parquet")
    a, b, c = (_files(tmp_path / x) for x in "abc")
    assert a == b
    assert sorted(a) == [
        "README.txt",
        "accounts.parquet",
        "content.parquet",
        "follows.parquet",
        "links.parquet",
        "truth.json",
    ]
    assert a["links.parquet"] != c["links.parquet"]


def test_progress_reports_each_step_in_order_then_each_file_written(tmp_path):
    seen = []
    synth(
        tmp_path / "s",
        accounts=1000,
        seed=2,
        progress=lambda stage, done, total=None: seen.append((stage, done, total)),
    )
    steps = [s for s in seen if s[0] != "write"]
    assert [s[0] for s in steps] == [s for s in STEPS if s != "background mix"]
    assert [s[1] for s in steps] == list(range(len(steps))) and {s[2] for s in steps} == {len(steps)}
    writes = [s[1:] for s in seen if s[0] == "write"]
    assert writes == [(0, 6), (1, 6), (2, 6), (3, 6), (6, 6)]
    mixed = []
    generate_snapshot(SynthParams(accounts=1000, seed=2, background_mix=0.5), lambda *a: mixed.append(a[0]))
    assert mixed == list(STEPS)


def test_synth_writes_exactly_what_generate_and_write_give(tmp_path):
    """The library call and its two steps are the same code path: identical bytes."""
    synth(tmp_path / "a", accounts=1000, seed=4, fmt="csv", background_mix=0.5)
    write_snapshot(generate_snapshot(SynthParams(accounts=1000, seed=4, background_mix=0.5)), tmp_path / "b", "csv")
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
