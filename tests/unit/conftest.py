"""Fixtures of the evidence tests: a hand-made run folder, a signing key and a package of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from evidence.package import build_package
from evidence.selection import Selection
from evidence.signing import SigningKey
from tests.evidence_support import T0, make_run


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "runs")


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def package(run_dir: Path, key: SigningKey, tmp_path: Path) -> Path:
    build_package(run_dir, tmp_path / "pkg", Selection(pathways=("p1",)), key, exported_by="tester", now=T0)
    return tmp_path / "pkg"
