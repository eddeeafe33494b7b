"""Fixtures of the generator's tests: one 3,000-account classic-world snapshot (seed 11) with and
without background mix, as written Parquet, rows, edges and truth (generated once per session);
the adversarial world of the same seed (`adv`); and a small world with only the ordinary
platform built, fresh for each test that plants into it."""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq
import pytest

from synth import TABLES, Snapshot, SynthParams, generate_snapshot, write_snapshot
from synth.generate import build_world
from synth.world import World
from tests.unit.synth.support import MIX, SEED, N, edges_of


@pytest.fixture(scope="session")
def snap():
    return generate_snapshot(SynthParams(accounts=N, seed=SEED, world="classic"))


@pytest.fixture(scope="session")
def written(tmp_path_factory, snap):
    out = tmp_path_factory.mktemp("synth") / "parquet"
    write_snapshot(snap, out, "parquet")
    return out


@pytest.fixture(scope="session")
def rows(written):
    """The tables as read back from the written Parquet files, as Python dicts of columns."""
    return {t: pq.read_table(written / f"{t}.parquet").to_pydict() for t in TABLES}


@pytest.fixture(scope="session")
def truth(written):
    return json.loads((written / "truth.json").read_text())


@pytest.fixture(scope="session")
def edges(rows):
    """Every relationship of the snapshot as (src_kind, src_id, type, dst_kind, dst_id)."""
    return edges_of(rows)


@pytest.fixture(scope="session")
def author(rows):
    return dict(zip(rows["content"]["content_id"], rows["content"]["account_id"]))


@pytest.fixture(scope="session")
def mix_snap():
    return generate_snapshot(SynthParams(accounts=N, seed=SEED, background_mix=MIX, world="classic"))


@pytest.fixture(scope="session")
def mix(mix_snap):
    """rows, truth, edges and content authors of the background-mix snapshot (same seed as `snap`)."""
    rows = {t: mix_snap.tables[t].to_pydict() for t in TABLES}
    c = rows["content"]
    return {
        "rows": rows,
        "truth": mix_snap.truth,
        "edges": edges_of(rows),
        "author": dict(zip(c["content_id"], c["account_id"])),
        "label": dict(zip(c["content_id"], c["label"])),
    }


@pytest.fixture
def world() -> World:
    """A 2,000-account world with its ordinary platform and nothing planted yet (seed 5)."""
    return build_world(SynthParams(accounts=2000, seed=5))


def _view(snapshot: Snapshot) -> dict[str, Any]:
    rows = {t: snapshot.tables[t].to_pydict() for t in TABLES}
    c = rows["content"]
    return {
        "rows": rows,
        "truth": snapshot.truth,
        "edges": edges_of(rows),
        "author": dict(zip(c["content_id"], c["account_id"])),
        "label": dict(zip(c["content_id"], c["label"])),
    }


@pytest.fixture(scope="session")
def adv_snap() -> Snapshot:
    """The adversarial world (the default) of the same size and seed, background mix 1."""
    return generate_snapshot(SynthParams(accounts=N, seed=SEED, background_mix=1.0))


@pytest.fixture(scope="session")
def adv(adv_snap: Snapshot) -> dict[str, Any]:
    """rows, truth, edges, content authors and labels of the adversarial snapshot."""
    return _view(adv_snap)
