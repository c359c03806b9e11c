"""Small numeric helpers: bounded running statistics and Student-t quantiles."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class RunningStats:
    """Weighted mean and standard deviation in O(1) memory.

    Uses sums shifted by the first value seen (stable for values that sit far from zero),
    which also makes removing a value exact: needed to drop warm-up samples afterwards.
    """

    count: int = 0
    weight: float = 0.0
    _shift: float | None = None
    _sum: float = 0.0
    _sum_sq: float = 0.0

    def add(self, value: float, weight: float = 1.0) -> None:
        """Add one observation with a non-negative weight."""
        if self._shift is None:
            self._shift = value
        d = value - self._shift
        self.count += 1
        self.weight += weight
        self._sum += weight * d
        self._sum_sq += weight * d * d

    def remove(self, value: float, weight: float = 1.0) -> None:
        """Remove one observation added before with the same weight."""
        if self.count == 0 or self._shift is None:
            return
        d = value - self._shift
        self.count -= 1
        self.weight -= weight
        self._sum -= weight * d
        self._sum_sq -= weight * d * d
        if self.count == 0:
            self.weight = self._sum = self._sum_sq = 0.0

    def like(self) -> RunningStats:
        """An empty accumulator with the same shift, so that it can be subtracted later."""
        return RunningStats(_shift=self._shift)

    def subtract(self, other: RunningStats) -> None:
        """Remove everything ``other`` (made with :meth:`like`) accumulated."""
        if other.count == 0:
            return
        if other._shift != self._shift:
            raise ValueError("can only subtract an accumulator with the same shift")
        self.count -= other.count
        self.weight -= other.weight
        self._sum -= other._sum
        self._sum_sq -= other._sum_sq
        if self.count <= 0:
            self.count, self.weight, self._sum, self._sum_sq = 0, 0.0, 0.0, 0.0

    def copy(self) -> RunningStats:
        """An independent copy."""
        return RunningStats(self.count, self.weight, self._shift, self._sum, self._sum_sq)

    @property
    def mean(self) -> float:
        """Weighted mean (0.0 when empty)."""
        if self.count == 0 or self.weight <= 0 or self._shift is None:
            return 0.0
        return self._shift + self._sum / self.weight

    @property
    def std(self) -> float:
        """Weighted sample standard deviation (frequency weights scaled to the count).

        With unit weights this is the usual n-1 sample standard deviation.
        """
        if self.count < 2 or self.weight <= 0:
            return 0.0
        mean_d = self._sum / self.weight
        var_pop = self._sum_sq / self.weight - mean_d * mean_d
        var = max(var_pop, 0.0) * self.count / (self.count - 1)
        return math.sqrt(var)


# Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom.
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)
_T975_TAIL = ((40, 2.021), (60, 2.000), (120, 1.980))
_Z975 = 1.959964


def t_quantile_975(dof: int) -> float:
    """The 0.975 quantile of Student's t with ``dof`` degrees of freedom (>= 1)."""
    if dof < 1:
        raise ValueError("dof must be >= 1")
    if dof <= 30:
        return _T975[dof - 1]
    prev_n, prev_q = 30, _T975[-1]
    for n, q in _T975_TAIL:
        if dof <= n:
            # interpolate linearly in 1/dof, which is how the tables are meant to be read
            w = (1 / prev_n - 1 / dof) / (1 / prev_n - 1 / n)
            return prev_q + w * (q - prev_q)
        prev_n, prev_q = n, q
    w = (1 / 120 - 1 / dof) / (1 / 120)
    return prev_q + w * (_Z975 - prev_q)
