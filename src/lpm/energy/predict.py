"""Prediction (paper §2.2): from K measured steps to N steps, E = P × t × N (× PUE)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lpm.carbon import DEFAULT_PUE, DEFAULT_REGION, Footprint, footprint
from lpm.energy._stats import t_quantile_975
from lpm.energy.results import J_PER_KWH, StepStats
from lpm.errors import LpmError


@dataclass(frozen=True)
class Prediction:
    """Predicted IT energy of N steps, mean ± std, 95 % interval of the mean, and CO2e.

    ``energy_*`` is IT energy (P × t × N); facility energy (× PUE) and CO2e are in
    ``footprint``. The ± is the paper's: the spread of one step's energy scaled by N. The
    95 % interval is for the mean: N × (mean ± t(0.975, K-1) × std / √K) over K steps.
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
    estimated: bool
    measured_steps: int = 0
    power_w_mean: float = 0.0
    power_w_std: float = 0.0

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
            "facility_energy_kwh_mean": self.footprint.facility_energy_kwh,
            "facility_energy_kwh_std": self.footprint.facility_energy_kwh_std,
            "co2e_kg_mean": self.footprint.co2e_kg,
            "co2e_kg_std": self.footprint.co2e_kg_std,
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
    e_mean = stats.energy_j_mean * n
    e_std = stats.energy_j_std * n
    if stats.count >= 2:
        half = t_quantile_975(stats.count - 1) * stats.energy_j_std / math.sqrt(stats.count)
    else:
        half = 0.0
    lo = max(stats.energy_j_mean - half, 0.0) * n / J_PER_KWH
    hi = (stats.energy_j_mean + half) * n / J_PER_KWH
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
        duration_s_mean=stats.duration_s_mean * n,
        duration_s_std=stats.duration_s_std * n,
        ci95_kwh=(lo, hi),
        footprint=fp,
        estimated=stats.estimated,
        measured_steps=stats.count,
        power_w_mean=stats.power_w_mean,
        power_w_std=stats.power_w_std,
    )
