"""Results of the training and sampling runs (frozen; also written as summary.json)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
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
class AutoencoderResult(_ToDict):
    """Stage 1 run: energy, time and reconstruction error."""

    out: Path
    iterations: int
    duration_s: float
    it_energy_kwh: float
    co2e_kg: float
    energy_per_iteration_j: float
    flops_per_iteration: int
    parameters: int
    step_stats: Any
    world_size: int
    estimated: bool
    recon_l1_first: float
    recon_l1_last: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainResult(_ToDict):
    """Stage 2 run (the diffusion UNet): energy, time, FLOPs, parameters."""

    out: Path
    iterations: int
    duration_s: float
    it_energy_kwh: float
    co2e_kg: float
    energy_per_iteration_j: float
    flops_per_iteration: int
    parameters: int
    step_stats: Any
    world_size: int
    estimated: bool
    loss_first: float = float("nan")
    loss_last: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleResult(_ToDict):
    """A sampling run: energy per sample and per denoising step."""

    out: Path
    samples: int
    steps: int
    duration_s: float
    it_energy_kwh: float
    co2e_kg: float
    energy_per_sample_j: float
    energy_per_step_j: float
    flops_per_step: int
    step_stats: Any
    estimated: bool
    files: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def write_summary(result: Any, path: str | Path) -> Path:
    """Write result.to_dict() (flattening `extra`) as JSON, atomically."""
    path = Path(path)
    data = result.to_dict()
    data.update(data.pop("extra", {}))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


__all__ = ["AutoencoderResult", "SampleResult", "TrainResult", "asdict", "write_summary"]
