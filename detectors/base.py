"""The Detector extension point: a stable name, a version, a frozen parameter model and a pure
`run(projection, params, context)`; plus the small shared helpers detectors use for output."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from detectors.navigation import Navigation
from detectors.results import Sections
from graph.projection import Projection

#: significant digits of every float written to results.json (byte-identical reruns)
FLOAT_DIGITS = 12


def rnd(x: float) -> float:
    """Round to FLOAT_DIGITS significant digits (and make -0.0 plain 0.0)."""
    if x == 0 or not math.isfinite(x):
        return 0.0
    return float(f"{x:.{FLOAT_DIGITS}g}")


def short_hash(*parts: str, n: int = 12) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:n]


class DetectorParams(BaseModel):
    """Base of every detector's parameter model: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass
class DetectorContext:
    """What a detector may read besides the projection: the shared navigation model and the
    outputs of detectors that ran before it (by name)."""

    navigation: Navigation
    outputs: Mapping[str, DetectorOutput]


@dataclass
class DetectorOutput:
    """`sections`: typed result lists merged into results.json (detectors/results.py); `state`:
    in-memory values for later detectors (never written); `counts`: what it found, for run.json."""

    sections: Sections = field(default_factory=Sections)
    state: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


P = TypeVar("P", bound=DetectorParams)


class Detector(Generic[P]):
    """A detector. Subclasses (`Detector[TheirParams]`) set `name` (stable, never renamed once
    released), `version` (bumped when output for the same input can change), `Params` (their
    DetectorParams subclass) and `requires` (names of detectors whose output it reads), and
    implement `run` with no I/O."""

    name: ClassVar[str]
    version: ClassVar[str]
    Params: type[P]
    requires: ClassVar[tuple[str, ...]] = ()

    def run(self, projection: Projection, params: P, context: DetectorContext) -> DetectorOutput:
        raise NotImplementedError
