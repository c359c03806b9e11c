"""Prediction (paper §2.2): from K measured steps to N steps, E = P × t × N (× PUE).

Synthesis adds a fixed cost per sample (noise, decoding, writing): for S samples of T
denoising steps each, E = S × (E_fixed + T × E_step) (:func:`predict_synthesis`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, Footprint, footprint
from lpm.energy._stats import t_quantile_975
from lpm.energy.results import Provenanced, StepStats
from lpm.errors import LpmError
from lpm.provenance import Provenance
from lpm.units import J_PER_KWH


@dataclass(frozen=True)
class Prediction(Provenanced):
    """Predicted IT energy of N steps, mean ± std, 95 % interval of the mean, and CO2e.

    ``energy_*`` is IT energy (P × t × N); facility energy (× PUE) and CO2e are in
    ``footprint``. The ± is the paper's: the spread of one step's energy scaled by N. The
    95 % interval is for the mean: N × (mean ± t(0.975, K-1) × std / √K) over K steps.
    ``fixed_energy_j_mean`` is the part of ``energy_j_mean`` that does not scale with steps
    (the per-sample fixed cost of :func:`predict_synthesis`; 0.0 for :func:`predict`).
    ``provenance`` is that of the measurements the prediction rests on.
    """

    n: int
    energy_j_mean: float
    energy_j_std: float
    energy_kwh_mean: float
    energy_kwh_std: float
    duration_s_mean: float
    duration_s_std: float
    ci95_kwh: tuple[float, float]
    footprint: Footprint
    provenance: Provenance = Provenance.ESTIMATED
    measured_steps: int = 0
    power_w_mean: float = 0.0
    power_w_std: float = 0.0
    fixed_energy_j_mean: float = 0.0

    @property
    def facility_energy_kwh_mean(self) -> float:
        """Predicted facility energy (× PUE)."""
        return self.footprint.facility_energy_kwh

    @property
    def co2e_kg_mean(self) -> float:
        """Predicted CO2e in kg."""
        return self.footprint.co2e_kg

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "n": self.n,
            "measured_steps": self.measured_steps,
            "power_w_mean": self.power_w_mean,
            "power_w_std": self.power_w_std,
            "energy_j_mean": self.energy_j_mean,
            "energy_j_std": self.energy_j_std,
            "energy_kwh_mean": self.energy_kwh_mean,
            "energy_kwh_std": self.energy_kwh_std,
            "duration_s_mean": self.duration_s_mean,
            "duration_s_std": self.duration_s_std,
            "ci95_kwh": list(self.ci95_kwh),
            "fixed_energy_j_mean": self.fixed_energy_j_mean,
            "facility_energy_kwh_mean": self.footprint.facility_energy_kwh,
            "facility_energy_kwh_std": self.footprint.facility_energy_kwh_std,
            "co2e_kg_mean": self.footprint.co2e_kg,
            "co2e_kg_std": self.footprint.co2e_kg_std,
            "provenance": self.provenance.value,
            "estimated": self.estimated,
            "footprint": self.footprint.to_dict(),
        }


def predict(
    stats: StepStats,
    n: int,
    *,
    pue: float = DEFAULT_PUE,
    region: str = DEFAULT_REGION,
    **carbon_kw: Any,
) -> Prediction:
    """Predict N steps from measured per-step statistics.

    ``carbon_kw`` go to :func:`lpm.carbon.footprint` (year, month, hour, source, basis,
    intensity, ...). Duration mean ± std is for all N steps (N × per-step).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise LpmError(f"n must be a whole number of steps >= 1, not {n!r}")
    if stats.count < 1:
        raise LpmError(
            "no measured steps to predict from: call t.step() once per iteration or sample, "
            "and measure more steps than the warm-up"
        )
    return _scaled(
        n,
        stats,
        one_j=stats.energy_j_mean,
        one_j_std=stats.energy_j_std,
        half_j=_half_ci(stats.energy_j_std, stats.count),
        one_s=stats.duration_s_mean,
        one_s_std=stats.duration_s_std,
        provenance=stats.provenance,
        pue=pue,
        region=region,
        carbon_kw=carbon_kw,
    )


def _half_ci(std: float, count: int) -> float:
    """Half the 95 % t-interval of a mean of ``count`` measurements of spread ``std``."""
    if count < 2:
        return 0.0
    return t_quantile_975(count - 1) * std / math.sqrt(count)


def _scaled(
    n: int,
    stats: StepStats,
    *,
    one_j: float,
    one_j_std: float,
    half_j: float,
    one_s: float,
    one_s_std: float,
    provenance: Provenance,
    pue: float,
    region: str,
    carbon_kw: dict[str, Any],
    fixed_energy_j_mean: float = 0.0,
) -> Prediction:
    """``n`` times one unit (a step, a sample) of ``one_j`` ± ``one_j_std`` J, with CO2e.

    ``half_j`` is half the 95 % interval of the unit's mean energy; ``stats`` gives the
    measured step count and power.
    """
    e_mean = one_j * n
    e_std = one_j_std * n
    fp = footprint(
        e_mean / J_PER_KWH,
        it_energy_kwh_std=e_std / J_PER_KWH,
        pue=pue,
        region=region,
        **carbon_kw,
    )
    return Prediction(
        n=n,
        energy_j_mean=e_mean,
        energy_j_std=e_std,
        energy_kwh_mean=e_mean / J_PER_KWH,
        energy_kwh_std=e_std / J_PER_KWH,
        duration_s_mean=one_s * n,
        duration_s_std=one_s_std * n,
        ci95_kwh=(max(one_j - half_j, 0.0) * n / J_PER_KWH, (one_j + half_j) * n / J_PER_KWH),
        footprint=fp,
        provenance=provenance,
        measured_steps=stats.count,
        power_w_mean=stats.power_w_mean,
        power_w_std=stats.power_w_std,
        fixed_energy_j_mean=fixed_energy_j_mean,
    )


def _check_count(label: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LpmError(f"{label} must be a whole number >= 1, not {value!r}")
    return value


def _check_amount(label: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LpmError(f"{label} must be a number >= 0, not {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise LpmError(f"{label} must be a finite number >= 0, not {value!r}")
    return v


def predict_synthesis(
    per_step: StepStats,
    *,
    steps: int,
    samples: int,
    fixed_j_mean: float,
    fixed_j_std: float,
    fixed_s_mean: float = 0.0,
    fixed_s_std: float = 0.0,
    pue: float = DEFAULT_PUE,
    region: str = DEFAULT_REGION,
    fixed_count: int | None = None,
    fixed_provenance: Provenance | str | None = None,
    **carbon_kw: Any,
) -> Prediction:
    """Predict ``samples`` samples of ``steps`` denoising steps each, fixed costs included.

    Per sample: E = E_fixed + steps × E_step (duration likewise); the total is ``samples``
    times that, so ``Prediction.n`` is ``samples`` and ``fixed_energy_j_mean`` is
    ``samples × fixed_j_mean``. The ± follows :func:`predict`: the spread of one sample,
    √(σ_fixed² + (steps × σ_step)²) (the two parts independent), scaled by ``samples``.
    The 95 % interval of the mean combines both parts' intervals the same way: the steps'
    from ``per_step.count``, the fixed part's from ``fixed_count`` measurements
    (t(0.975, K-1) × σ / √K), or — when ``fixed_count`` is not given — conservatively
    1.96 × σ_fixed. ``fixed_provenance`` (default: that of ``per_step``) is combined with
    the steps' provenance. ``carbon_kw`` go to :func:`lpm.carbon.footprint`.
    """
    steps = _check_count("steps", steps)
    samples = _check_count("samples", samples)
    fixed_j_mean = _check_amount("fixed_j_mean", fixed_j_mean)
    fixed_j_std = _check_amount("fixed_j_std", fixed_j_std)
    fixed_s_mean = _check_amount("fixed_s_mean", fixed_s_mean)
    fixed_s_std = _check_amount("fixed_s_std", fixed_s_std)
    if fixed_count is not None:
        fixed_count = _check_count("fixed_count", fixed_count)
    if per_step.count < 1:
        raise LpmError(
            "no measured denoising steps to predict from: call t.step() once per denoising "
            "step, and measure more steps than the warm-up"
        )
    one_j = fixed_j_mean + steps * per_step.energy_j_mean
    one_j_std = math.hypot(fixed_j_std, steps * per_step.energy_j_std)
    one_s = fixed_s_mean + steps * per_step.duration_s_mean
    one_s_std = math.hypot(fixed_s_std, steps * per_step.duration_s_std)
    if fixed_count is None:
        half_fixed = 1.959964 * fixed_j_std
    else:
        half_fixed = _half_ci(fixed_j_std, fixed_count)
    half_step = _half_ci(per_step.energy_j_std, per_step.count)
    parts = [per_step.provenance]
    if fixed_provenance is not None:
        parts.append(Provenance.parse(fixed_provenance))
    return _scaled(
        samples,
        per_step,
        one_j=one_j,
        one_j_std=one_j_std,
        half_j=math.hypot(half_fixed, steps * half_step),
        one_s=one_s,
        one_s_std=one_s_std,
        provenance=Provenance.combine(parts),
        pue=pue,
        region=region,
        carbon_kw=carbon_kw,
        fixed_energy_j_mean=samples * fixed_j_mean,
    )
