"""The explicit registry of built-in detectors, in run order (a detector runs after those it requires)."""

from __future__ import annotations

from typing import Any

from detectors.accounts import BridgeDetector
from detectors.base import Detector
from detectors.clusters import ClusterDetector
from detectors.grooming import GroomingDetector
from detectors.pathways import PathwayDetector

DETECTORS: tuple[Detector[Any], ...] = (ClusterDetector(), PathwayDetector(), BridgeDetector(), GroomingDetector())


def _check(detectors: tuple[Detector[Any], ...]) -> None:
    names = [d.name for d in detectors]
    assert len(names) == len(set(names)), f"duplicate detector names: {names}"
    for i, d in enumerate(detectors):
        missing = set(d.requires) - set(names[:i])
        assert not missing, f"detector {d.name} requires {sorted(missing)} to run before it"


_check(DETECTORS)


def detector_names() -> list[str]:
    return [d.name for d in DETECTORS]
