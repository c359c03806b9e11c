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
    ``quality`` (``lpm sample --evaluate``) is :func:`quality_summary` of the samples'
    quality report: its metrics, the copy rate and the energy per useful sample.
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
    quality: dict[str, Any] | None = None

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


def quality_summary(report: Any, *, report_file: str = "quality.json") -> dict[str, Any]:
    """The part of a :class:`lpm.quality.QualityReport` a sampling summary keeps: each
    metric (value, 95 % CI, floor, sample sizes), the copy rate and, per sample that is not
    a copy, the IT energy and CO2e (energy / (n x (1 - copy rate)))."""
    memo = report.memorisation
    energy = report.energy
    copy = report.metrics.get("copy_rate")
    return {
        "report": report_file,
        "metrics": {
            name: {
                "value": m.value,
                "ci": list(m.ci),
                "floor": m.floor,
                "n": dict(m.n),
                "unit": m.unit,
                "better": m.better,
            }
            for name, m in report.metrics.items()
        },
        "copy_rate": None if copy is None else copy.value,
        "copies": None if memo is None else memo.copies,
        "copy_threshold": None if memo is None else memo.threshold,
        "useful_samples": None if energy is None else energy.useful_samples,
        "it_energy_kwh_per_useful_sample": _of(energy, "it_energy_kwh_per_useful_sample"),
        "it_energy_j_per_useful_sample": _of(energy, "it_energy_j_per_useful_sample"),
        "co2e_kg_per_useful_sample": _of(energy, "co2e_kg_per_useful_sample"),
    }


def _of(obj: Any, name: str) -> Any:
    return None if obj is None else getattr(obj, name)


def summary_data(result: Any) -> dict[str, Any]:
    """result.to_dict() with `extra` flattened: what summary.json and `--json` hold."""
    data = result.to_dict()
    data.update(data.pop("extra", {}))
    return data


def write_summary(result: Any, path: str | Path) -> Path:
    """Write :func:`summary_data` of the result as JSON, atomically."""
    path = Path(path)
    return atomic_write_text(path, json.dumps(summary_data(result), indent=2, default=str) + "\n")


__all__ = [
    "AutoencoderResult",
    "SampleResult",
    "TrainResult",
    "asdict",
    "quality_summary",
    "summary_data",
    "write_summary",
]
