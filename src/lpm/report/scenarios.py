"""One study record as a typed value: the scenario's settings and its predicted energy.

A record (docs/INTERFACES.md, "lpm.study results file") carries the predictions of the
training target (``targets.train_iterations``) and of the synthesis target
(``targets.samples`` × ``steps`` denoising steps). When a prediction is missing, the
energy is rebuilt from the per-step statistics: mean × n, std × n (the steps of one run
are not independent, so the spread is scaled like the mean, as in the paper).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

J_PER_KWH = 3.6e6
PHASES = ("training", "synthesis")
MODEL_ORDER = ("small", "medium", "large")


def size_label(size: tuple[int, ...]) -> str:
    """256² for a square, 64³ for a cube, 256²×192 for a stack of squares."""
    if not size:
        return "?"
    if len(set(size)) == 1:
        return f"{size[0]}{'²' if len(size) == 2 else '³' if len(size) == 3 else ''}"
    if len(size) == 3 and size[0] == size[1]:
        return f"{size[0]}²×{size[2]}"
    return "×".join(str(s) for s in size)


@dataclass(frozen=True)
class PhaseEnergy:
    """Predicted IT energy of one phase of a scenario, for its target."""

    phase: str
    n: int
    it_energy_kwh: float
    it_energy_kwh_std: float
    duration_s: float | None
    flops_per_step: float | None
    energy_per_step_j: float | None
    estimated: bool

    @property
    def flops_per_joule(self) -> float | None:
        if not self.flops_per_step or not self.energy_per_step_j:
            return None
        return self.flops_per_step / self.energy_per_step_j


@dataclass(frozen=True)
class Scenario:
    """A study scenario and the energy predicted for its training and synthesis targets."""

    scenario_id: str
    status: str
    dims: int
    size: tuple[int, ...]
    model: str
    processes: int
    sampler: str
    steps: int
    pue: float | None
    region: str | None
    estimated: bool
    training: PhaseEnergy | None
    synthesis: PhaseEnergy | None
    measured: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, Any] = field(default_factory=dict)
    hardware: dict[str, Any] = field(default_factory=dict)
    parameters: int | None = None
    finished_at: str | None = None
    error: str | None = None

    @property
    def size_label(self) -> str:
        return size_label(self.size)

    @property
    def voxels(self) -> int:
        return math.prod(self.size) if self.size else 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def phase(self, phase: str) -> PhaseEnergy | None:
        return self.training if phase == "training" else self.synthesis

    def value(self, name: str) -> Any:
        """A setting by name: dims, size, model, processes, sampler or steps."""
        return getattr(self, name)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _phase(part: Any, phase: str, n_default: int | None, estimated: bool) -> PhaseEnergy | None:
    if not isinstance(part, dict):
        return None
    stats = part.get("step_stats") if isinstance(part.get("step_stats"), dict) else {}
    pred = part.get("prediction") if isinstance(part.get("prediction"), dict) else {}
    flops = _num(part.get("flops_per_iteration", part.get("flops_per_step")))
    step_j = _num(stats.get("energy_j_mean"))
    n = pred.get("n", n_default)
    mean = _num(pred.get("energy_kwh_mean"))
    std = _num(pred.get("energy_kwh_std"))
    if mean is None and _num(pred.get("energy_j_mean")) is not None:
        mean = _num(pred.get("energy_j_mean")) / J_PER_KWH
        std = (_num(pred.get("energy_j_std")) or 0.0) / J_PER_KWH
    if mean is None and step_j is not None and n:
        mean = step_j * int(n) / J_PER_KWH
        std = (_num(stats.get("energy_j_std")) or 0.0) * int(n) / J_PER_KWH
    if mean is None:
        return None
    return PhaseEnergy(
        phase=phase,
        n=int(n or 0),
        it_energy_kwh=mean,
        it_energy_kwh_std=abs(std or 0.0),
        duration_s=_num(pred.get("duration_s_mean")),
        flops_per_step=flops,
        energy_per_step_j=step_j,
        estimated=bool(pred.get("estimated", stats.get("estimated", estimated))),
    )


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def scenario_from_record(record: dict[str, Any]) -> Scenario:
    """Parse one results record; missing parts become None rather than errors."""
    size_raw = record.get("size") or []
    size = tuple(_int(s, 0) for s in size_raw) if isinstance(size_raw, list | tuple) else ()
    dims = _int(record.get("dims"), len(size) or 0)
    targets = record.get("targets") if isinstance(record.get("targets"), dict) else {}
    steps = _int(record.get("steps"), 0)
    estimated = bool(record.get("estimated", True))
    train = record.get("train")
    samples = _int(targets.get("samples"), 0)
    return Scenario(
        scenario_id=str(record["scenario_id"]),
        status=str(record.get("status", "ok")),
        dims=dims,
        size=size,
        model=str(record.get("model", "?")),
        processes=_int(record.get("processes"), 1),
        sampler=str(record.get("sampler", "?")),
        steps=steps,
        pue=_num(record.get("pue")),
        region=str(record["region"]) if record.get("region") else None,
        estimated=estimated,
        training=_phase(train, "training", _int(targets.get("train_iterations"), 0), estimated),
        synthesis=_phase(record.get("sample"), "synthesis", samples * steps or None, estimated),
        measured=dict(record.get("measured") or {}),
        targets=dict(targets),
        hardware=dict(record.get("hardware") or {}),
        parameters=_int(train.get("parameters"), 0) or None if isinstance(train, dict) else None,
        finished_at=str(record["finished_at"]) if record.get("finished_at") else None,
        error=str(record["error"]) if record.get("error") else None,
    )


def model_rank(model: str) -> tuple[int, str]:
    """Sort key: small < medium < large, unknown names after, alphabetically."""
    return (MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER), model)


def sort_key(name: str, value: Any) -> Any:
    """How the values of one setting are ordered on an axis."""
    if name == "size":
        return (math.prod(value) if value else 0, tuple(value))
    if name == "model":
        return model_rank(value)
    return value


def label(name: str, value: Any) -> str:
    """A setting's value as shown on an axis."""
    if name == "size":
        return size_label(value)
    return str(value)
