"""Results of the training and sampling runs (frozen; also written as summary.json)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from lpm.io import atomic_write_text
from lpm.provenance import Provenance


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (plain types)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class _StageResult(_ToDict):
    """What every training stage's result holds (its own fields follow)."""

    out: Path
    iterations: int
    duration_s: float
    it_energy_kwh: float
    co2e_kg: float
    energy_per_iteration_j: float
    flops_per_iteration: int | None
    parameters: int
    step_stats: Any
    world_size: int
    estimated: bool
    provenance: Provenance


@dataclass(frozen=True)
class AutoencoderResult(_StageResult):
    """Stage 1 run: energy, time and reconstruction error (FLOPs None = unknown)."""

    recon_l1_first: float
    recon_l1_last: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainResult(_StageResult):
    """Stage 2 run (the diffusion UNet): energy, time, FLOPs (None = unknown), parameters."""

    loss_first: float = float("nan")
    loss_last: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleResult(_ToDict):
    """A sampling run: energy per sample, per denoising step and per sample besides its steps.

    ``energy_per_sample_j`` is the run's average (every batch, warm-up included);
    ``energy_per_sample_j_mean/_std`` is the measured total per sample and
    ``fixed_per_sample_j_mean/_std`` (``_s_`` for time) what a sample costs besides its
    denoising steps (noise draw, decoding, writing its files), both mean ± std over the
    ``samples_measured`` samples after warm-up. ``flops_per_step`` None means unknown.
    """

    out: Path
    samples: int
    steps: int
    duration_s: float
    it_energy_kwh: float
    co2e_kg: float
    energy_per_sample_j: float
    energy_per_step_j: float
    flops_per_step: int | None
    step_stats: Any
    estimated: bool
    provenance: Provenance
    samples_measured: int
    fixed_per_sample_j_mean: float
    fixed_per_sample_j_std: float
    fixed_per_sample_s_mean: float
    fixed_per_sample_s_std: float
    energy_per_sample_j_mean: float
    energy_per_sample_j_std: float
    files: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fixed_per_sample_share(self) -> float | None:
        """The fixed per-sample cost's share (0-1) of a sample's measured energy; None if 0 J."""
        if not self.energy_per_sample_j_mean > 0:
            return None
        return self.fixed_per_sample_j_mean / self.energy_per_sample_j_mean

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``fixed_per_sample_share`` added."""
        data = super().to_dict()
        data["fixed_per_sample_share"] = self.fixed_per_sample_share
        return data


def write_summary(result: Any, path: str | Path) -> Path:
    """Write result.to_dict() (flattening `extra`) as JSON, atomically."""
    path = Path(path)
    data = result.to_dict()
    data.update(data.pop("extra", {}))
    return atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


__all__ = ["AutoencoderResult", "SampleResult", "TrainResult", "asdict", "write_summary"]
